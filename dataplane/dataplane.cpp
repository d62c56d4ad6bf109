#include "dataplane/dataplane.hpp"

#include <rte_launch.h>
#include <rte_lcore.h>

#include <pthread.h>

namespace actorstack::dataplane {

namespace {
std::string device_of(const dataplane_config& cfg) {
  if (!cfg.device.empty()) return cfg.device;
  if (cfg.vdevs.empty()) return {};
  const std::string& v = cfg.vdevs.front();
  return v.substr(0, v.find(','));
}

struct launch_arg {
  core_loop* core;
  const std::atomic<bool>* stop;
};
}  // namespace

result<std::unique_ptr<dataplane>> dataplane::create(const dataplane_config& cfg,
                                                     std::uint32_t workers) {
  if (cfg.cores == 0) return unexpected{errc::invalid_argument, "dataplane: cores must be at least 1"};
  if (cfg.address.ip == 0) return unexpected{errc::invalid_argument, "dataplane: no IPv4 address"};
  const std::string dev = device_of(cfg);
  if (dev.empty()) return unexpected{errc::invalid_argument, "dataplane: no port (give a vdev)"};
  if (workers == 0) return unexpected{errc::invalid_argument, "dataplane: no session workers"};

  eal_options eo;
  eo.cores = cfg.cores;
  eo.lcores = cfg.lcores;
  eo.vdevs = cfg.vdevs;
  eo.mbufs = cfg.mbufs;
  eo.file_prefix = cfg.file_prefix;
  eo.extra_args = cfg.eal_args;
  auto eal = eal_init(eo);
  if (!eal) return unexpected{eal.error()};

  port_options po;
  po.device = dev;
  po.queues = static_cast<std::uint16_t>(cfg.cores);
  po.mbufs = cfg.mbufs;
  auto p = port::open(po);
  if (!p) return unexpected{p.error()};

  std::unique_ptr<dataplane> dp{new dataplane};
  dp->cfg_ = cfg;
  dp->eal_ = std::move(*eal);
  dp->port_ = std::move(*p);
  dp->links_.resize(cfg.cores);
  for (auto& per_core : dp->links_) {
    per_core.resize(workers);
    for (auto& l : per_core) {
      l.commands = std::make_unique<channel<command>>(command_ring_size);
      l.events = std::make_unique<channel<event>>(event_ring_size);
    }
  }
  dp->direct_tx_ = std::make_shared<direct_tx_inboxes>(cfg.cores);
  dp->handoffs_.resize(cfg.cores);
  for (unsigned from = 0; from < cfg.cores; ++from) {
    dp->handoffs_[from].resize(cfg.cores);
    for (unsigned to = 0; to < cfg.cores; ++to)
      if (to != from) dp->handoffs_[from][to] = std::make_unique<channel<handoff>>(handoff_ring_size);
  }
  return dp;
}

dataplane::~dataplane() { stop(); }

void dataplane::set_doorbell(std::uint32_t w, doorbell* bell) {
  for (auto& per_core : links_) per_core[w].bell = bell;
}

result<void> dataplane::launch(core_host* host) {
  if (launched_) return {};
  for (unsigned c = 0; c < links_.size(); ++c) {
    core_setup s;
    s.index = c;
    s.port_id = port_.id();
    s.queue = static_cast<std::uint16_t>(c);
    s.pool = port_.pool();
    s.mac = port_.mac();
    s.address = cfg_.address;
    s.mode = cfg_.mode;
    s.impair = cfg_.impair;
    s.tcp = cfg_.tcp;
    s.direct_tx = &direct_tx_->core(c);
    for (auto& l : links_[c]) s.workers.push_back({l.commands.get(), l.events.get(), l.bell});
    if (links_.size() > 1) {
      for (unsigned other = 0; other < links_.size(); ++other) {
        s.to_cores.push_back(handoffs_[c][other].get());
        s.from_cores.push_back(handoffs_[other][c].get());
      }
    }
    cores_.push_back(std::make_unique<core_loop>(std::move(s)));
  }
  stop_.store(false);
  if (host != nullptr && host->can_host(static_cast<unsigned>(cores_.size()))) {
    host_ = host;
    for (unsigned c = 0; c < cores_.size(); ++c) {
      auto h = std::make_unique<hosted_core>();
      h->core = cores_[c].get();
      h->lcore = eal_.worker_lcores[c];
      hosted_.push_back(std::move(h));
      host_->host(c, &dataplane::hosted_pass, hosted_.back().get(), cores_[c]->busy_polling());
    }
    launched_ = true;
    return {};
  }
  for (unsigned c = 0; c < cores_.size(); ++c) {
    // The argument outlives the loop: it lives in the core object's slot.
    auto* arg = new launch_arg{cores_[c].get(), &stop_};
    if (int rc = rte_eal_remote_launch(&dataplane::lcore_main, arg, eal_.worker_lcores[c]); rc != 0) {
      delete arg;
      stop();
      return unexpected{errc::dataplane, "rte_eal_remote_launch failed", -rc};
    }
  }
  launched_ = true;
  return {};
}

int dataplane::lcore_main(void* p) {
  std::unique_ptr<launch_arg> arg{static_cast<launch_arg*>(p)};
  arg->core->run(*arg->stop);
  return 0;
}

bool dataplane::hosted_pass(void* p) {
  auto* h = static_cast<hosted_core*>(p);
  if (!h->pinned) {
    // The host's thread takes the CPUs the lcore was given (dataplane.lcores),
    // so a hosted core sits where an lcore of its own would have.
    h->pinned = true;
    rte_cpuset_t cpus = rte_lcore_cpuset(h->lcore);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
    // A thread DPDK does not know has no lcore id, and so no per-lcore
    // mempool cache: every mbuf alloc and free would be a CAS on the
    // pool's shared ring (a sixth of a UDP echo's profile). Registered,
    // it gets an id of its own and the cache (and keeps its CPUs). If no
    // id is left, the core still works, only slower.
    if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
    if (const unsigned id = rte_lcore_id(); id != LCORE_ID_ANY) h->registered.store(static_cast<int>(id));
  }
  return h->core->pass();
}

std::optional<unsigned> dataplane::registered_lcore(unsigned c) const {
  if (host_ == nullptr || c >= hosted_.size()) return std::nullopt;
  const int id = hosted_[c]->registered.load();
  if (id < 0) return std::nullopt;
  return static_cast<unsigned>(id);
}

void dataplane::stop() {
  stop_.store(true);
  if (launched_ && host_ != nullptr) {
    for (unsigned c = 0; c < cores_.size(); ++c) host_->unhost(c);
    host_ = nullptr;
    hosted_.clear();
    launched_ = false;
  }
  if (launched_) {
    for (unsigned c = 0; c < cores_.size(); ++c) rte_eal_wait_lcore(eal_.worker_lcores[c]);
    launched_ = false;
  }
  // No pass drains the inboxes any more: app workers go back to telling
  // the session workers.
  for (unsigned c = 0; c < cores_.size(); ++c) direct_tx_->core(c).set_dozing(true);
}

core_counters_snapshot dataplane::counters(unsigned core) const {
  return snapshot(cores_.at(core)->counters(), core);
}

}  // namespace actorstack::dataplane
