#include "actors/core_hosting_scheduler.hpp"

#include "dataplane/idle_backoff.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/logger.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <boost/lockfree/queue.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace actorstack {

namespace {

using dataplane::idle_backoff;

// A hosted core, as a scheduler thread sees it.
struct hosted {
  bool (*pass)(void*);
  void* ctx;
  bool busy;
};

// Scheduler threads that may host a core (more threads than this host none).
constexpr std::size_t max_hosting_threads = 64;

// One thread's hosted core. The thread marks itself inside a pass before it
// looks at `core`; unhost clears `core` and then waits until the thread is
// not inside a pass. Both sides' store-then-load are sequentially
// consistent, so at least one sees the other's store: the thread sees no
// core, or unhost sees the pass and waits it out.
struct host_slot {
  std::atomic<hosted*> core{nullptr};
  std::atomic<bool> in_pass{false};

  // What a pass saw. Copied inside the pass: once it ends, unhost may
  // free the hosted core, so nothing may read it afterwards.
  struct pass_result {
    bool hosting = false;  // a core was hosted
    bool busy = false;     // ...with busy polling
    bool work = false;     // ...and the pass found work
  };
  // One pass of the hosted core, if any.
  pass_result run_pass() {
    in_pass.store(true);
    const hosted* h = core.load();
    pass_result r;
    if (h != nullptr) r = {true, h->busy, h->pass(h->ctx)};
    in_pass.store(false, std::memory_order_release);
    return r;
  }
};

// CAF's work-sharing scheduler with three changes: the job queue is
// lock-free (the core's doorbell enqueues a session worker on every burst
// it hands over; the mutex below is taken only to sleep or to wake a
// sleeper); a thread makes a pass of its hosted core before every job and
// polls it while waiting, with the core's own idle policy; and the job an
// actor makes ready runs next on the same thread (worker_data::next).
class core_hosting_policy : public caf::policy::unprofiled {
 public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}

    boost::lockfree::queue<caf::resumable*> jobs{1024};
    std::array<host_slot, max_hosting_threads> slots;
    // Only for sleeping: a thread about to sleep counts itself here; an
    // enqueue that sees a sleeper wakes one.
    std::mutex sleep_lock;
    std::condition_variable wake;
    std::atomic<int> sleepers{0};

    void push(caf::resumable* job) {
      jobs.push(job);
      // Pairs with the fence in sleep(): the pusher sees the sleeper, or
      // the sleeper sees the job.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (sleepers.load() > 0) {
        std::lock_guard<std::mutex> guard{sleep_lock};
        wake.notify_one();
      }
    }
    void wake_all() {
      std::lock_guard<std::mutex> guard{sleep_lock};
      wake.notify_all();
    }
    // Sleeps until a job may be there: for `bound`, or (no bound: a thread
    // that hosts no core) until woken by a job or by host().
    void sleep(const host_slot* slot, const std::chrono::microseconds* bound) {
      std::unique_lock<std::mutex> guard{sleep_lock};
      sleepers.fetch_add(1);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (jobs.empty()) {
        if (bound != nullptr)
          wake.wait_for(guard, *bound);
        else if (slot == nullptr || slot->core.load() == nullptr)
          wake.wait(guard);
      }
      sleepers.fetch_sub(1);
    }
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    idle_backoff idle;
    unsigned dequeues = 0;
    // The job this thread's actor made ready last (a message from one
    // actor to another), run by this thread next: the receiver runs while
    // the message is still in cache, as with CAF's work stealing. One slot
    // only: an older one goes to the shared queue, where another thread
    // may take it. Only this thread touches it.
    caf::resumable* next = nullptr;
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    d(self).push(job);
  }
  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    d(self->parent()).push(job);
  }
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    if (caf::resumable* older = std::exchange(d(self).next, job); older != nullptr) d(self->parent()).push(older);
  }
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    d(self->parent()).push(job);
  }

  // This thread's next job, if any: the one its actors made ready, else
  // the shared queue's — the shared queue first every 64th time, so that
  // two actors of this thread that keep messaging each other cannot
  // starve it.
  template <class Worker>
  caf::resumable* next_job(Worker* self, coordinator_data& shared) {
    caf::resumable* job = nullptr;
    if ((++d(self).dequeues & 63) == 0 && shared.jobs.pop(job)) return job;
    if (d(self).next != nullptr) return std::exchange(d(self).next, nullptr);
    return shared.jobs.pop(job) ? job : nullptr;
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& shared = d(self->parent());
    auto& idle = d(self).idle;
    host_slot* slot = self->id() < max_hosting_threads ? &shared.slots[self->id()] : nullptr;
    for (;;) {
      // A pass before every job: actors that keep the thread busy do not
      // starve the core.
      const host_slot::pass_result pass = slot != nullptr ? slot->run_pass() : host_slot::pass_result{};
      if (caf::resumable* job = next_job(self, shared); job != nullptr) {
        idle.worked();
        return job;
      }
      if (pass.work) {
        idle.worked();
        continue;
      }
      // Idle: a thread with a core or without one backs off alike (spin,
      // yield, sleep in growing steps; a job ends a sleep at once). Only a
      // thread without a core, past the longest step, waits for a job (or
      // a host()) as long as it takes: an idle stack without a data plane
      // costs nothing.
      switch (idle.idle(pass.busy)) {
        case idle_backoff::step::poll:
          break;
        case idle_backoff::step::yield:
          std::this_thread::yield();
          break;
        case idle_backoff::step::sleep: {
          if (!pass.hosting && idle.sleeps_longest()) {
            shared.sleep(slot, nullptr);
            break;
          }
          const auto bound = idle.next_sleep();
          shared.sleep(slot, &bound);
          break;
        }
      }
    }
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    if (caf::resumable* job = std::exchange(d(self).next, nullptr); job != nullptr) f(job);
  }

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    caf::resumable* job = nullptr;
    while (d(self).jobs.pop(job)) f(job);
  }
};

}  // namespace
}  // namespace actorstack

// CAF's worker loop, minus its logger bookkeeping. The stock loop names
// every job to the logger as it resumes it — a dynamic_cast and two calls
// into the logger's per-thread map, whatever the log level (CAF 0.17 is
// built QUIET here, so nothing would ever be logged) — and sets the logger
// as the thread's, which makes every enqueue and resume on the thread do
// the same. Together about 4 % of a request/response turn (perf, tcp
// rr_64_32). actorstack logs through its own log_line, never CAF's logger.
template <>
void caf::scheduler::worker<actorstack::core_hosting_policy>::run() {
  caf::logger::set_current_actor_system(nullptr);
  for (;;) {
    resumable* job = policy_.dequeue(this);
    policy_.before_resume(this, job);
    const auto res = job->resume(this, max_throughput_);
    policy_.after_resume(this, job);
    switch (res) {
      case resumable::resume_later:
        policy_.resume_job_later(this, job);  // still in the loop: keep its reference
        break;
      case resumable::done:
        policy_.after_completion(this, job);
        intrusive_ptr_release(job);
        break;
      case resumable::awaiting_message:
        intrusive_ptr_release(job);  // enqueued again when a message arrives
        break;
      case resumable::shutdown_execution_unit:
        policy_.after_completion(this, job);
        policy_.before_shutdown(this);
        return;
    }
  }
}

namespace actorstack {
namespace {

using coordinator = caf::scheduler::coordinator<core_hosting_policy>;

caf::actor_system::module* make_coordinator(caf::actor_system& sys) { return new coordinator(sys); }
using module_maker = caf::actor_system::module* (*)(caf::actor_system&);

class scheduler_core_host final : public dataplane::core_host {
 public:
  explicit scheduler_core_host(coordinator& c) : c_(c) {}
  // Touches the scheduler only for cores still hosted (none once the data
  // plane stopped): it may go after its actor system.
  ~scheduler_core_host() override {
    for (std::size_t i = 0; i < max_hosting_threads; ++i)
      if (owned_[i]) unhost(static_cast<unsigned>(i));
  }

  bool can_host(unsigned cores) const override {
    return cores <= std::min(c_.num_workers(), max_hosting_threads);
  }
  void host(unsigned core, bool (*pass)(void*), void* ctx, bool busy) override {
    owned_[core] = std::make_unique<hosted>(hosted{pass, ctx, busy});
    c_.data().slots[core].core.store(owned_[core].get());
    c_.data().wake_all();  // a thread waiting for jobs only starts polling
  }
  void unhost(unsigned core) override {
    host_slot& slot = c_.data().slots[core];
    if (slot.core.exchange(nullptr) == nullptr) return;
    // From the hosting thread itself (between its jobs) no pass is under way.
    while (slot.in_pass.load()) std::this_thread::yield();
    owned_[core].reset();
  }

 private:
  coordinator& c_;
  std::array<std::unique_ptr<hosted>, max_hosting_threads> owned_;
};

}  // namespace

void install_core_hosting_scheduler(caf::actor_system_config& cfg, std::size_t threads) {
  cfg.set("scheduler.max-threads", static_cast<int>(std::max<std::size_t>(1, threads)));
  if (!installs_core_hosting_scheduler(cfg)) cfg.module_factories.emplace_back(&make_coordinator);
}

bool installs_core_hosting_scheduler(const caf::actor_system_config& cfg) {
  for (const auto& f : cfg.module_factories) {
    const auto* maker = f.target<module_maker>();
    if (maker != nullptr && *maker == &make_coordinator) return true;
  }
  return false;
}

std::unique_ptr<dataplane::core_host> core_host_of(caf::actor_system& sys) {
  auto* c = dynamic_cast<coordinator*>(&sys.scheduler());
  if (c == nullptr) return nullptr;
  return std::make_unique<scheduler_core_host>(*c);
}

}  // namespace actorstack
