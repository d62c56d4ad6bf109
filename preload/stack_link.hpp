#pragma once
// The process's one attachment to actorstack-stackd, made on the first
// socket the stack serves: the client library's app, the fd table, the
// epoll sets, and the lock that serialises them.
//
// The client library's app belongs to one thread at a time; a program's
// threads take turns through one lock, held only while the app is used,
// never while a thread sleeps — except in a program only one thread of
// which ever used a stack socket: that thread waits inside the client
// library (it spins while data flows, then sleeps on its eventfd) in
// slices of at most 50 ms, so a second thread that turns up waits at most
// one slice. Once two threads have used the stack, a waiting thread asks
// the app whether anything is ready, and sleeps with the lock released on
// the app's eventfd and its own kernel fds (docs/preload.md).
//
// Calls made while the lock is held (the client library's own) and calls
// on the client library's threads go straight to the C library: the
// preload never sees itself.

#include "preload/fd_table.hpp"
#include "preload/stack_socket.hpp"

#include <actorstack/client.hpp>

#include <poll.h>
#include <pthread.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace actorstack::preload {

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
  std::size_t kernel_fds = 0;                     ///< fds in the kernel's set
  std::size_t next = 0;                           ///< where the next report starts (fairness)
};

/// One line on stderr, "actorstack-preload: " first (through the C
/// library's write: stdio may call back into the preload).
void say(const std::string& line);

/// True while this thread holds the lock, or is one of the client
/// library's: its calls go to the kernel untouched.
bool passthrough() noexcept;

class stack_link {
 public:
  static stack_link& get();

  /// The lock, held: marks this thread as inside the preload.
  class guard {
   public:
    explicit guard(stack_link& link);
    ~guard();
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    void unlock();
    void lock();

   private:
    stack_link& link_;
    std::unique_lock<std::mutex> lock_;
  };

  /// Whether AF_INET stream sockets go to the stack: false when the stack
  /// was absent and ACTORSTACK_FALLBACK=kernel said to use the kernel.
  /// Attaches on first use (under the lock); without fallback, a failed
  /// attach ends the program with a message (exit status 1).
  bool serving(guard&);
  /// The app (only after serving() said true).
  client::app& app() { return *app_; }

  fd_table fds;
  std::unordered_map<int, epoll_set> epolls;  ///< under the lock
  std::array<std::atomic<bool>, fd_table::capacity> is_epoll{};

  /// Waits (lock held on entry and on return) until one of `entries` or
  /// `kernel` is ready or `timeout_ms` passes (negative: forever).
  /// Returns how many are ready (revents set on both).
  result<std::size_t> wait(guard& g, std::span<client::poll_entry> entries, std::span<pollfd> kernel,
                           int timeout_ms);

  /// The calling thread uses stack sockets (counted once per thread).
  void note_thread();

 private:
  stack_link();
  void attach();
  static void before_fork();
  static void after_fork_parent();
  static void after_fork_child();
  static void at_exit();

  std::mutex mutex_;
  /// The thread that holds mutex_ (0: none). A signal handler that ends
  /// the program from inside a wait (iperf3 does, with siglongjmp and
  /// exit) runs the exit handler on a thread that still holds the lock.
  std::atomic<pthread_t> owner_{0};
  enum class state : std::uint8_t { unattached, serving, kernel } state_ = state::unattached;
  std::unique_ptr<client::app> app_;
  std::atomic<int> threads_{0};
  std::vector<pollfd> sleep_on_;
};

}  // namespace actorstack::preload
