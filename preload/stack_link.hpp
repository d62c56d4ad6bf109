#pragma once
// The process's attachment to actorstack-stackd, made on the first socket
// the stack serves: its app workers (one per thread that opens sockets, up
// to max_workers), the fd table, the epoll sets.
//
// A client-library app belongs to one thread at a time, so each worker has
// a lock; a call on a socket takes the lock of the worker that holds the
// socket's session, for as long as it uses the app (a fifo copy), never
// while it sleeps. A thread that opens sockets gets a worker of its own
// (add_worker): threads that each use their own sockets never share a
// lock. Sockets a thread did not open (an accepted connection handed to
// another thread) stay with their worker, whose lock the threads then
// share. A worker only one thread ever used waits inside the client
// library (spinning while data flows, then asleep on its eventfd) in
// slices of at most 50 ms, so a second thread that turns up waits at most
// one slice; a worker several threads use is asked what is ready and slept
// on with its lock released (docs/preload.md).
//
// Calls made while a worker's lock is held (the client library's own) go
// straight to the C library: the preload never sees itself. (The client
// library starts no threads of its own.)

#include "preload/fd_table.hpp"
#include "preload/stack_socket.hpp"

#include <actorstack/client.hpp>

#include <poll.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace actorstack::preload {

/// One app worker of the process's application.
struct worker {
  std::unique_ptr<client::app> app;
  std::mutex mutex;
  /// The thread that holds `mutex` (0: none). A signal handler that ends
  /// the program from inside a wait (iperf3 does, with siglongjmp and
  /// exit) runs the exit handler on a thread that still holds it.
  std::atomic<pthread_t> owner{0};
  std::atomic<int> threads{0};  ///< threads that used its sockets
  std::uint32_t index = 0;      ///< in stack_link's workers
};

/// One epoll fd's stack sockets (its kernel fds sit in the kernel's epoll
/// set under the same fd).
struct epoll_interest {
  std::weak_ptr<stack_socket> socket;
  std::uint32_t events = 0;  ///< EPOLLIN | EPOLLOUT | EPOLLET | EPOLLONESHOT | ...
  std::uint64_t data = 0;
  bool disarmed = false;     ///< EPOLLONESHOT fired: silent until EPOLL_CTL_MOD
  /// Edge-triggered: what was reported and still holds, and the session's
  /// arrival and drain counters when it was (a new edge is new bytes
  /// arriving, or room freeing up, since then).
  std::uint32_t reported = 0;
  std::uint64_t arrived_at_report = 0;
  std::uint64_t drained_at_report = 0;
};
struct epoll_set {
  std::unordered_map<int, epoll_interest> stack;  ///< by fd
  std::size_t next = 0;                           ///< where the next report starts (fairness)
};

/// One line on stderr, "actorstack-preload: " first (through the C
/// library's write: stdio may call back into the preload).
void say(const std::string& line);

/// True while this thread holds a worker's lock: its calls (the client
/// library's) go to the kernel untouched.
bool passthrough() noexcept;

class stack_link {
 public:
  /// Workers one process opens at most; threads beyond share them.
  static constexpr std::uint32_t max_workers = 16;

  static stack_link& get();

  /// A worker's lock, held: marks this thread as inside the preload.
  class guard {
   public:
    explicit guard(worker& w);
    ~guard();
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    void unlock();
    void lock();
    worker& held() noexcept { return w_; }

   private:
    worker& w_;
    std::unique_lock<std::mutex> lock_;
  };

  /// The calling thread's worker: attaches on first use (a failed attach
  /// without ACTORSTACK_FALLBACK=kernel ends the program with a message,
  /// exit status 1); nullptr when the stack is absent and the fallback
  /// says to use the kernel.
  worker* worker_of_this_thread();

  fd_table fds;
  /// The epoll sets, under epoll_mutex (never held while a worker's lock
  /// is taken, nor the other way round).
  std::mutex epoll_mutex;
  std::unordered_map<int, epoll_set> epolls;
  std::array<std::atomic<bool>, fd_table::capacity> is_epoll{};

  /// Waits (the worker's lock held on entry and on return) until one of
  /// `entries` (sockets of that worker) or `kernel` is ready or
  /// `timeout_ms` passes (negative: forever). Returns how many are ready.
  result<std::size_t> wait(guard& g, std::span<client::poll_entry> entries, std::span<pollfd> kernel,
                           int timeout_ms);
  /// The same over sockets of several workers (`groups[i]` are
  /// `workers[i]`'s), no lock held on entry or return: each worker is asked
  /// in turn, and the thread sleeps on all their eventfds and `kernel`.
  result<std::size_t> wait_many(std::span<worker*> workers, std::span<std::vector<client::poll_entry>> groups,
                                std::span<pollfd> kernel, int timeout_ms);

  /// The calling thread uses `w`'s sockets (counted once per thread).
  void note_thread(worker& w);

  /// This process listens on `local` (a stream socket, `socket`, with
  /// SO_REUSEPORT or not) / no longer does.
  void listening(const endpoint& local, bool reuse_port, const std::shared_ptr<stack_socket>& socket);
  void not_listening(const endpoint& local);
  /// A listening socket of this process on exactly `local` that set
  /// SO_REUSEPORT, or nullptr.
  std::shared_ptr<stack_socket> reuse_port_listener(const endpoint& local);
  /// True when `to` is one of this process's own listeners. The session
  /// layer never lets an app connect to itself by cut-through (SPEC 6
  /// sends it to the global scope: refused on loopback, out on the wire
  /// otherwise), where Linux lets a process connect to its own listening
  /// socket: such connects go through self_connect_worker().
  bool own_listener(const endpoint& to);
  /// A second application of this process, attached on first use for
  /// connects to its own listeners; nullptr if that attach failed. Takes
  /// the control lock: call it holding no worker's lock.
  worker* self_connect_worker();

 private:
  stack_link();
  bool attach();
  /// wait() for the self-connect worker: the listener's app must take its
  /// accept while this thread waits on the connecting one (SPEC 6: the
  /// server app answers each accept), so the other workers' news is
  /// taken between looks — theirs whose lock is free — and their
  /// eventfds are slept on too.
  result<std::size_t> wait_self(guard& g, std::span<client::poll_entry> entries, std::span<pollfd> kernel,
                                int timeout_ms);
  /// Attach options from the environment (socket, fifo size); false and
  /// `why` when there is no socket to attach to.
  static bool attach_options_of_env(client::attach_options& opts, std::string& why);
  static void before_fork();
  static void after_fork_parent();
  static void after_fork_child();
  static void at_exit();

  std::mutex control_;  ///< attach, worker add
  enum class state : std::uint8_t { unattached, serving, kernel } state_ = state::unattached;
  std::array<std::unique_ptr<worker>, max_workers> workers_;
  std::atomic<std::uint32_t> worker_count_{0};
  std::uint32_t next_shared_ = 0;  ///< round robin once max_workers are out
  worker* self_connects_ = nullptr;  ///< the second application (connect_worker), in workers_
  std::mutex listening_mutex_;       ///< a leaf: taken under a worker's lock, nothing under it
  struct listening_entry {
    endpoint local;
    bool reuse_port = false;
    std::weak_ptr<stack_socket> socket;
  };
  std::vector<listening_entry> listening_;  ///< this process's listeners, one entry per listen
};

}  // namespace actorstack::preload
