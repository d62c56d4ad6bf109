#include "preload/stack_link.hpp"

#include "preload/libc_calls.hpp"

#include "base/size.hpp"

#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>

namespace actorstack::preload {

namespace {

thread_local int inside = 0;               // this thread holds a worker's lock
thread_local std::uint64_t threads_noted = 0;  // workers whose sockets this thread used (bit per index)
thread_local worker* my_worker = nullptr;      // the worker this thread opens sockets on

std::string program_name() {
  char name[17] = {};
  if (::prctl(PR_GET_NAME, name, 0, 0, 0) != 0) return "program";
  return name;
}

// A single-threaded program's waits run inside the client library (it
// spins while data flows); this bounds how long a second thread that turns
// up waits for the lock.
constexpr int single_thread_slice_ms = 50;
// Several threads may sleep on the app's one eventfd; the first to wake
// drains it, and another's sleep on it would only end on its own timeout:
// so a sleep among several is cut into these.
constexpr int shared_sleep_slice_ms = 20;

constexpr std::uint32_t default_fifo_size = 1u << 20;

// When a wait of `timeout_ms` (negative: for ever) started now ends.
class wait_deadline {
 public:
  explicit wait_deadline(int timeout_ms)
      : forever_(timeout_ms < 0), at_(clock::now() + std::chrono::milliseconds(forever_ ? 0 : timeout_ms)) {}
  bool forever() const noexcept { return forever_; }
  /// Milliseconds left (0 once it passed); -1 for ever.
  int left() const {
    if (forever_) return -1;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - clock::now()).count();
    return static_cast<int>(std::max<long long>(0, ms));
  }

 private:
  using clock = std::chrono::steady_clock;
  bool forever_;
  clock::time_point at_;
};

}  // namespace

void say(const std::string& line) {
  const std::string text = "actorstack-preload: " + line + "\n";
  (void)!libc().write(2, text.data(), text.size());
}

bool passthrough() noexcept { return inside > 0; }

stack_link::guard::guard(worker& w) : w_(w), lock_(w.mutex) {
  w_.owner.store(::pthread_self(), std::memory_order_relaxed);
  ++inside;
}
stack_link::guard::~guard() {
  if (!lock_.owns_lock()) return;
  --inside;
  w_.owner.store(0, std::memory_order_relaxed);
}
void stack_link::guard::unlock() {
  --inside;
  w_.owner.store(0, std::memory_order_relaxed);
  lock_.unlock();
}
void stack_link::guard::lock() {
  lock_.lock();
  w_.owner.store(::pthread_self(), std::memory_order_relaxed);
  ++inside;
}

stack_link& stack_link::get() {
  // Never destroyed: the program's own static destructors and atexit
  // handlers may still close sockets after ours ran.
  static stack_link* link = new stack_link();
  return *link;
}

stack_link::stack_link() {
  ::pthread_atfork(&stack_link::before_fork, &stack_link::after_fork_parent, &stack_link::after_fork_child);
  std::atexit(&stack_link::at_exit);
}

void stack_link::note_thread(worker& w) {
  if (w.index >= 64 || (threads_noted & (std::uint64_t{1} << w.index)) != 0) return;
  threads_noted |= std::uint64_t{1} << w.index;
  w.threads.fetch_add(1, std::memory_order_relaxed);
}

worker* stack_link::worker_of_this_thread() {
  if (my_worker != nullptr) return my_worker;
  ++inside;  // attach and worker add run the client library: its calls are its own
  std::unique_lock lock(control_);
  worker* w = nullptr;
  if (state_ == state::unattached) {
    if (attach()) w = workers_[0].get();  // the first thread's; else attach() said why, the kernel serves
  } else if (state_ == state::serving) {
    const std::uint32_t n = worker_count_.load(std::memory_order_relaxed);
    if (n < max_workers) {
      // Another thread's first socket: a worker of its own, added through
      // the first one (under its lock: the app is one thread's at a time).
      auto added = std::make_unique<worker>();
      added->index = n;
      {
        guard g(*workers_[0]);
        auto app = workers_[0]->app->add_worker();
        if (app) added->app = std::move(*app);
      }
      if (added->app) {
        w = added.get();
        workers_[n] = std::move(added);
        worker_count_.store(n + 1, std::memory_order_release);
      }
    }
    if (w == nullptr) w = workers_[next_shared_++ % worker_count_.load(std::memory_order_relaxed)].get();
  }
  lock.unlock();
  --inside;
  my_worker = w;
  return w;
}

bool stack_link::attach_options_of_env(client::attach_options& opts, std::string& why) {
  const char* path = std::getenv("ACTORSTACK_SOCKET");
  if (path == nullptr || *path == '\0') {
    why = "ACTORSTACK_SOCKET is not set (actorstack-run --attach PATH sets it)";
    return false;
  }
  opts.socket_path = path;
  opts.name = program_name();
  opts.interruptible = true;  // a signal ends a wait with EINTR, as the kernel's would
  // A socket's buffers: Linux grows a TCP socket's to megabytes, and
  // programs written for it (iperf3's 128 KiB writes) expect room of that
  // order. Fifos take memory as data arrives (chunks), not up front.
  opts.rx_fifo_size = opts.tx_fifo_size = default_fifo_size;
  if (const char* size = std::getenv("ACTORSTACK_FIFO_SIZE"); size != nullptr && *size != '\0') {
    auto bytes = parse_size(size);
    if (!bytes || *bytes > (1ull << 30)) {
      say(std::string{"ACTORSTACK_FIFO_SIZE="} + size + ": not a size up to 1G; 1M is used");
    } else {
      opts.rx_fifo_size = opts.tx_fifo_size = static_cast<std::uint32_t>(*bytes);  // 0: the stack's default
    }
  }
  return true;
}

bool stack_link::attach() {
  const char* fallback = std::getenv("ACTORSTACK_FALLBACK");
  const bool to_kernel = fallback != nullptr && std::strcmp(fallback, "kernel") == 0;
  std::string why;
  client::attach_options opts;
  if (attach_options_of_env(opts, why)) {
    auto app = client::app::attach(opts);
    if (app) {
      auto first = std::make_unique<worker>();
      first->app = std::move(*app);
      // The first thread's worker; the thread itself takes it on return.
      workers_[0] = std::move(first);
      worker_count_.store(1, std::memory_order_release);
      state_ = state::serving;
      return true;
    }
    why = "cannot attach to the stack at " + opts.socket_path + ": " + app.error().message();
  }
  if (to_kernel) {
    say(why + "; AF_INET stream sockets go to the kernel (ACTORSTACK_FALLBACK=kernel)");
    state_ = state::kernel;
    return false;
  }
  say(why + "; exiting (ACTORSTACK_FALLBACK=kernel would use the kernel's sockets instead)");
  ::_exit(1);
}

void stack_link::listening(const endpoint& local, bool reuse_port, const std::shared_ptr<stack_socket>& socket) {
  std::lock_guard lock(listening_mutex_);
  listening_.push_back({local, reuse_port, socket});
}

void stack_link::not_listening(const endpoint& local) {
  std::lock_guard lock(listening_mutex_);
  auto it = std::find_if(listening_.begin(), listening_.end(), [&](const listening_entry& e) { return e.local == local; });
  if (it != listening_.end()) listening_.erase(it);
}

std::shared_ptr<stack_socket> stack_link::reuse_port_listener(const endpoint& local) {
  std::lock_guard lock(listening_mutex_);
  for (const auto& e : listening_)
    if (e.reuse_port && e.local == local)
      if (auto s = e.socket.lock()) return s;
  return nullptr;
}

bool stack_link::own_listener(const endpoint& to) {
  // Listening on exactly that address, or on any address and asked on
  // loopback (on another address a wildcard listener may or may not be the
  // one meant: the destination may be another host).
  std::lock_guard lock(listening_mutex_);
  return std::any_of(listening_.begin(), listening_.end(), [&](const listening_entry& e) {
    const endpoint& l = e.local;
    return l.port == to.port && (l.ip == to.ip || (l.ip.is_any() && to.ip.is_loopback()));
  });
}

worker* stack_link::self_connect_worker() {
  ++inside;  // the attach runs the client library: its calls are its own
  std::unique_lock lock(control_);
  if (self_connects_ == nullptr && state_ == state::serving) {
    const std::uint32_t n = worker_count_.load(std::memory_order_relaxed);
    std::string why;
    client::attach_options opts;
    if (n < max_workers && attach_options_of_env(opts, why)) {
      opts.name += "-self";  // shows in actorstack-ctl beside the program's own app
      auto app = client::app::attach(opts);
      if (app) {
        auto added = std::make_unique<worker>();
        added->index = n;
        added->app = std::move(*app);
        self_connects_ = added.get();
        workers_[n] = std::move(added);
        worker_count_.store(n + 1, std::memory_order_release);
      } else {
        say("cannot attach a second app for connects to this program's own listeners: " + app.error().message());
      }
    }
  }
  worker* w = self_connects_;
  lock.unlock();
  --inside;
  return w;
}

result<std::size_t> stack_link::wait(guard& g, std::span<client::poll_entry> entries, std::span<pollfd> kernel,
                                     int timeout_ms) {
  worker& w = g.held();
  const wait_deadline deadline{timeout_ms};
  const bool forever = deadline.forever();
  if (&w == self_connects_) return wait_self(g, entries, kernel, timeout_ms);
  std::vector<pollfd> sleep_on;
  for (;;) {
    const int left = deadline.left();
    if (w.threads.load(std::memory_order_relaxed) <= 1) {
      const int slice = left < 0 ? single_thread_slice_ms : std::min(left, single_thread_slice_ms);
      auto n = w.app->poll(entries, kernel, std::chrono::milliseconds(slice));
      if (!n || *n > 0 || left == 0 || (!forever && left <= slice)) return n;
      g.unlock();  // between slices: a thread that just turned up gets its turn
      g.lock();
      continue;
    }
    // A look that finds nothing also tells the stack this app is about to
    // sleep (client.hpp): the next news rings the eventfd.
    auto n = w.app->poll(entries, kernel, std::chrono::milliseconds(0));
    if (!n || *n > 0 || left == 0) return n;
    sleep_on.assign(kernel.begin(), kernel.end());
    sleep_on.push_back(pollfd{w.app->event_fd(), POLLIN, 0});
    g.unlock();
    (void)libc().poll(sleep_on.data(), sleep_on.size(),
                      left < 0 ? shared_sleep_slice_ms : std::min(left, shared_sleep_slice_ms));
    g.lock();
    if (auto r = w.app->process_events(); !r) return unexpected{r.error()};
  }
}

result<std::size_t> stack_link::wait_self(guard& g, std::span<client::poll_entry> entries, std::span<pollfd> kernel,
                                          int timeout_ms) {
  worker& w = g.held();
  const wait_deadline deadline{timeout_ms};
  std::vector<pollfd> sleep_on;
  for (;;) {
    // The others first: an accept they take now is a connect of ours done.
    sleep_on.assign(kernel.begin(), kernel.end());
    sleep_on.push_back(pollfd{w.app->event_fd(), POLLIN, 0});
    const std::uint32_t n = worker_count_.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < n; ++i) {
      worker& other = *workers_[i];
      if (&other == &w) continue;
      std::unique_lock other_lock(other.mutex, std::try_to_lock);
      if (!other_lock.owns_lock()) continue;  // its thread is in a call: it takes its own news
      ++inside;
      (void)other.app->process_events();
      (void)other.app->poll({}, {}, std::chrono::milliseconds(0));  // arms its eventfd for the sleep below
      sleep_on.push_back(pollfd{other.app->event_fd(), POLLIN, 0});
      --inside;
    }
    auto ready = w.app->poll(entries, kernel, std::chrono::milliseconds(0));
    if (!ready || *ready > 0) return ready;
    const int left = deadline.left();
    if (left == 0) return ready;
    g.unlock();
    (void)libc().poll(sleep_on.data(), sleep_on.size(),
                      left < 0 ? shared_sleep_slice_ms : std::min(left, shared_sleep_slice_ms));
    g.lock();
    if (auto r = w.app->process_events(); !r) return unexpected{r.error()};
  }
}

result<std::size_t> stack_link::wait_many(std::span<worker*> workers, std::span<std::vector<client::poll_entry>> groups,
                                          std::span<pollfd> kernel, int timeout_ms) {
  const wait_deadline deadline{timeout_ms};
  std::vector<pollfd> sleep_on;
  for (;;) {
    std::size_t ready = 0;
    sleep_on.assign(kernel.begin(), kernel.end());
    for (std::size_t i = 0; i < workers.size(); ++i) {
      guard g(*workers[i]);
      // Kernel fds are looked at once, with the first worker.
      auto n = workers[i]->app->poll(groups[i], i == 0 ? kernel : std::span<pollfd>{}, std::chrono::milliseconds(0));
      if (!n) return n;
      ready += *n;
      sleep_on.push_back(pollfd{workers[i]->app->event_fd(), POLLIN, 0});
    }
    const int left = deadline.left();
    if (ready > 0 || left == 0) return ready;
    (void)libc().poll(sleep_on.data(), sleep_on.size(),
                      left < 0 ? shared_sleep_slice_ms : std::min(left, shared_sleep_slice_ms));
    for (worker* w : workers) {
      guard g(*w);
      if (auto r = w->app->process_events(); !r) return unexpected{r.error()};
    }
  }
}

// Every lock, in one order, around a fork: the child gets them unheld.
void stack_link::before_fork() {
  stack_link& link = get();
  link.control_.lock();
  link.epoll_mutex.lock();
  for (std::uint32_t i = 0; i < link.worker_count_.load(); ++i) link.workers_[i]->mutex.lock();
}
void stack_link::after_fork_parent() {
  stack_link& link = get();
  for (std::uint32_t i = link.worker_count_.load(); i > 0; --i) link.workers_[i - 1]->mutex.unlock();
  link.epoll_mutex.unlock();
  link.control_.unlock();
}

void stack_link::after_fork_child() {
  stack_link& link = get();
  const std::uint32_t n = link.worker_count_.load();
  for (std::uint32_t i = n; i > 0; --i) link.workers_[i - 1]->mutex.unlock();
  link.epoll_mutex.unlock();
  link.control_.unlock();
  // The parent's attachment (its actor system's threads, its Unix
  // connections) is not the child's: leave it be (the workers stay
  // allocated, never used again), attach afresh if the child opens a
  // socket of its own.
  for (std::uint32_t i = 0; i < n; ++i) (void)link.workers_[i].release();
  link.worker_count_.store(0);
  link.self_connects_ = nullptr;
  {
    std::lock_guard lock(link.listening_mutex_);  // its listeners are the parent's
    link.listening_.clear();
  }
  if (link.state_ == state::serving) link.state_ = state::unattached;
  my_worker = nullptr;
  threads_noted = 0;
  // Its sockets are the parent's: the child may close them (or exec),
  // not use them (said at the first use: a child that execs is fine). A
  // listener is said at once: a pre-forking server (listen, fork, accept
  // in each child) is the pattern that does not work.
  std::size_t listeners = 0;
  link.fds.for_each([&](int, std::shared_ptr<stack_socket>& s) {
    if (!s->inherited && s->phase == socket_phase::listening) ++listeners;
    s->inherited = true;
  });
  if (listeners > 0)
    say("fork(): this child inherits " + std::to_string(listeners) +
        " listening stack socket(s) and cannot accept on them: not supported (the parent's attachment is "
        "not the child's); it may open sockets of its own, or exec");
}

// The kernel closes a process's sockets when it exits, sending what was
// written: so do we, then detach (the added workers first).
void stack_link::at_exit() {
  stack_link& link = get();
  const std::uint32_t n = link.worker_count_.load();
  if (link.state_ != state::serving || n == 0) return;
  // Exiting from a signal handler that interrupted this thread inside the
  // preload: a lock is this thread's own, an app mid-call. Leave it all to
  // the stack, which resets the sessions when the process's connections
  // hang up.
  for (std::uint32_t i = 0; i < n; ++i)
    if (link.workers_[i]->owner.load(std::memory_order_relaxed) == ::pthread_self()) return;
  std::unordered_set<const stack_socket*> closed;  // dup'd fds name one socket
  link.fds.for_each([&](int, std::shared_ptr<stack_socket>& s) {
    if (s->inherited || s->sock < 0 || s->owner == nullptr || !closed.insert(s.get()).second) return;
    guard g(*s->owner);
    (void)s->owner->app->close(s->sock);
  });
  for (std::uint32_t i = n; i > 0; --i) {
    guard g(*link.workers_[i - 1]);
    (void)link.workers_[i - 1]->app->detach();
  }
}

}  // namespace actorstack::preload
