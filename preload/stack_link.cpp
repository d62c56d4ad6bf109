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

thread_local int inside = 0;          // this thread holds the lock
thread_local bool thread_noted = false;

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

}  // namespace

void say(const std::string& line) {
  const std::string text = "actorstack-preload: " + line + "\n";
  (void)!libc().write(2, text.data(), text.size());
}

bool passthrough() noexcept { return inside > 0 || client::is_library_thread(); }

stack_link::guard::guard(stack_link& link) : link_(link), lock_(link.mutex_) {
  link_.owner_.store(::pthread_self(), std::memory_order_relaxed);
  ++inside;
}
stack_link::guard::~guard() {
  if (!lock_.owns_lock()) return;
  --inside;
  link_.owner_.store(0, std::memory_order_relaxed);
}
void stack_link::guard::unlock() {
  --inside;
  link_.owner_.store(0, std::memory_order_relaxed);
  lock_.unlock();
}
void stack_link::guard::lock() {
  lock_.lock();
  link_.owner_.store(::pthread_self(), std::memory_order_relaxed);
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

void stack_link::note_thread() {
  if (thread_noted) return;
  thread_noted = true;
  threads_.fetch_add(1, std::memory_order_relaxed);
}

bool stack_link::serving(guard&) {
  if (state_ == state::unattached) attach();
  return state_ == state::serving;
}

void stack_link::attach() {
  const char* path = std::getenv("ACTORSTACK_SOCKET");
  const char* fallback = std::getenv("ACTORSTACK_FALLBACK");
  const bool to_kernel = fallback != nullptr && std::strcmp(fallback, "kernel") == 0;
  std::string why;
  if (path == nullptr || *path == '\0') {
    why = "ACTORSTACK_SOCKET is not set (actorstack-run --attach PATH sets it)";
  } else {
    client::attach_options opts;
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
    auto app = client::app::attach(opts);
    if (app) {
      app_ = std::move(*app);
      state_ = state::serving;
      return;
    }
    why = "cannot attach to the stack at " + std::string{path} + ": " + app.error().message();
  }
  if (to_kernel) {
    say(why + "; AF_INET stream sockets go to the kernel (ACTORSTACK_FALLBACK=kernel)");
    state_ = state::kernel;
    return;
  }
  say(why + "; exiting (ACTORSTACK_FALLBACK=kernel would use the kernel's sockets instead)");
  ::_exit(1);
}

result<std::size_t> stack_link::wait(guard& g, std::span<client::poll_entry> entries, std::span<pollfd> kernel,
                                     int timeout_ms) {
  using clock = std::chrono::steady_clock;
  const bool forever = timeout_ms < 0;
  const auto deadline = clock::now() + std::chrono::milliseconds(forever ? 0 : timeout_ms);
  auto left_ms = [&]() -> int {
    if (forever) return -1;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    return static_cast<int>(std::max<long long>(0, left));
  };
  for (;;) {
    const int left = left_ms();
    if (threads_.load(std::memory_order_relaxed) <= 1) {
      const int slice = left < 0 ? single_thread_slice_ms : std::min(left, single_thread_slice_ms);
      auto n = app_->poll(entries, kernel, std::chrono::milliseconds(slice));
      if (!n || *n > 0 || left == 0 || (!forever && left <= slice)) return n;
    } else {
      // A look that finds nothing also tells the stack this app is about
      // to sleep (client.hpp): the next news rings the eventfd.
      auto n = app_->poll(entries, kernel, std::chrono::milliseconds(0));
      if (!n || *n > 0 || left == 0) return n;
      sleep_on_.assign(kernel.begin(), kernel.end());
      sleep_on_.push_back(pollfd{app_->event_fd(), POLLIN, 0});
      std::vector<pollfd> mine = sleep_on_;  // sleep_on_ is shared: copy before unlocking
      g.unlock();
      (void)libc().poll(mine.data(), mine.size(), left < 0 ? shared_sleep_slice_ms : std::min(left, shared_sleep_slice_ms));
      g.lock();
      if (auto r = app_->process_events(); !r) return unexpected{r.error()};
      continue;
    }
    g.unlock();  // between slices: a thread that just turned up gets its turn
    g.lock();
  }
}

void stack_link::before_fork() { get().mutex_.lock(); }
void stack_link::after_fork_parent() { get().mutex_.unlock(); }

void stack_link::after_fork_child() {
  stack_link& link = get();
  link.mutex_.unlock();
  // The parent's attachment (its actor system's threads, its Unix
  // connection) is not the child's: leave it be, attach afresh if the
  // child opens a socket of its own.
  if (link.state_ == state::serving) (void)link.app_.release();
  if (link.state_ == state::serving) link.state_ = state::unattached;
  link.threads_.store(0);
  thread_noted = false;
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
// written: so do we, then detach.
void stack_link::at_exit() {
  stack_link& link = get();
  // Exiting from a signal handler that interrupted this thread inside the
  // preload: the lock is this thread's own, the app mid-call. Leave it to
  // the stack, which resets the sessions when the process's connection
  // hangs up.
  if (link.owner_.load(std::memory_order_relaxed) == ::pthread_self()) return;
  guard g(link);
  if (link.state_ != state::serving) return;
  std::unordered_set<const stack_socket*> closed;  // dup'd fds name one socket
  link.fds.for_each([&](int, std::shared_ptr<stack_socket>& s) {
    if (!s->inherited && s->sock >= 0 && closed.insert(s.get()).second) (void)link.app_->close(s->sock);
  });
  (void)link.app_->detach();
}

}  // namespace actorstack::preload
