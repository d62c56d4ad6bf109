#pragma once
/// \file
/// The data plane of one stack: the EAL, one port, and one core loop per
/// data-plane core, plus the channels that join each core to each session
/// worker. Created by the stack before its workers start taking sessions;
/// the cores run once launch() is called and stop in stop() (or the
/// destructor) — after which nobody touches a session fifo from here.
///
/// Several cores: the port spreads frames over one queue per core by its
/// own rule; each connection has one owner core (its fifos have one
/// producer and one consumer), and a core hands frames of connections it
/// does not own to their owner over a core-to-core ring
/// (dataplane/core_handoff.hpp, docs/architecture.md §6).

#include "dataplane/impairment.hpp"
#include "dataplane/tcp/config.hpp"
#include "dataplane/boundary.hpp"
#include "dataplane/core_counters.hpp"
#include "dataplane/core_loop.hpp"
#include "dataplane/direct_tx.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"

#include <actorstack/result.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actorstack::dataplane {

struct dataplane_config {
  /// EAL `--vdev` arguments ("net_tap0,iface=as0"); the port is the first
  /// one's device unless `device` names another.
  std::vector<std::string> vdevs;
  std::string device;
  interface_address address;
  unsigned cores = 1;
  poll_mode mode = poll_mode::adaptive;
  std::uint32_t mbufs = 8191;
  std::string lcores;       ///< explicit EAL --lcores; empty = computed
  std::string file_prefix;  ///< empty = per process
  std::vector<std::string> eal_args;
  impairment_config impair;  ///< faults on demand on every core (dataplane.impair)
  tcp::config tcp;           ///< every core's TCP engine ([tcp] keys)
};

/// Threads someone else already runs, on which the cores' passes can run
/// between their own work: the stack's scheduler threads
/// (actors/core_hosting_scheduler.hpp). A core hosted so needs no thread of
/// its own, and what it hands to a session worker is taken up by the same
/// thread without a wake-up.
class core_host {
 public:
  virtual ~core_host() = default;
  /// Can run `cores` cores, core c on its thread c.
  virtual bool can_host(unsigned cores) const = 0;
  /// Runs `pass(ctx)` on thread `core` between its other work until
  /// unhost(core); `busy`: that thread never yields or sleeps meanwhile.
  virtual void host(unsigned core, bool (*pass)(void*), void* ctx, bool busy) = 0;
  /// Stops running core `core`; returns once no pass of it is under way.
  virtual void unhost(unsigned core) = 0;
};

class dataplane {
 public:
  static constexpr std::size_t command_ring_size = 4096;
  static constexpr std::size_t event_ring_size = 8192;
  static constexpr std::size_t handoff_ring_size = 4096;

  /// Starts the EAL and opens the port; the cores do not run yet.
  /// Errors: invalid_argument (no port, no address, no cores),
  /// already_initialized (a data plane already ran in this process),
  /// dataplane (a DPDK call failed).
  static result<std::unique_ptr<dataplane>> create(const dataplane_config& cfg,
                                                   std::uint32_t workers);
  ~dataplane();
  dataplane(const dataplane&) = delete;
  dataplane& operator=(const dataplane&) = delete;

  /// Worker `w`'s channels to core `c`, and its doorbell (before launch).
  channel<command>& commands(std::uint32_t w, std::uint32_t c) { return *links_[c][w].commands; }
  channel<event>& events(std::uint32_t w, std::uint32_t c) { return *links_[c][w].events; }
  void set_doorbell(std::uint32_t w, doorbell* bell);

  /// Starts every core loop: on `host`'s threads when it can take them
  /// all, else each on its lcore. Errors: dataplane.
  result<void> launch(core_host* host = nullptr);
  /// Stops the cores and waits for them; idempotent.
  void stop();

  unsigned cores() const noexcept { return static_cast<unsigned>(links_.size()); }
  core_counters_snapshot counters(unsigned core) const;
  std::uint64_t connections(unsigned core) const { return cores_[core]->connections(); }
  /// The core's TCP counters and impairment counters, by name (core_loop.hpp).
  std::vector<std::pair<std::string, std::uint64_t>> tcp_counters(unsigned core) const {
    return cores_.at(core)->tcp_counters();
  }
  std::vector<std::pair<std::string, std::uint64_t>> impairment(unsigned core) const {
    return cores_.at(core)->impairment_counters_published();
  }
  const port& device() const noexcept { return port_; }
  const interface_address& address() const noexcept { return cfg_.address; }
  const dataplane_config& config() const noexcept { return cfg_; }
  bool running() const noexcept { return launched_; }
  /// The cores run on a core_host's threads (not on lcores of their own).
  bool hosted() const noexcept { return host_ != nullptr; }
  /// Where app workers in this process post "data written" for a
  /// connection of a core (direct_tx.hpp); shared with them.
  std::shared_ptr<actorstack::detail::direct_tx> direct_tx() const { return direct_tx_; }
  /// The EAL lcore core `c` runs on when not hosted.
  unsigned lcore(unsigned c) const { return eal_.worker_lcores.at(c); }
  /// The lcore id DPDK gave the thread hosting core `c` at its first pass
  /// (rte_thread_register: what gives it a mempool cache); nullopt when
  /// not hosted, before that pass, or when no id was left.
  std::optional<unsigned> registered_lcore(unsigned c) const;

 private:
  struct link_storage {
    std::unique_ptr<channel<command>> commands;
    std::unique_ptr<channel<event>> events;
    doorbell* bell = nullptr;
  };
  dataplane() = default;
  static int lcore_main(void* arg);
  // A hosted core's pass; its first pass takes the lcore's CPUs.
  struct hosted_core {
    core_loop* core = nullptr;
    unsigned lcore = 0;
    bool pinned = false;
    std::atomic<int> registered{-1};  // written by the host thread, read by inspection
  };
  static bool hosted_pass(void* arg);

  dataplane_config cfg_;
  eal_info eal_;
  port port_;
  std::vector<std::vector<link_storage>> links_;  // [core][worker]
  std::vector<std::vector<std::unique_ptr<channel<handoff>>>> handoffs_;  // [from][to]
  std::shared_ptr<direct_tx_inboxes> direct_tx_;  // one inbox per core
  std::vector<std::unique_ptr<core_loop>> cores_;
  std::vector<std::unique_ptr<hosted_core>> hosted_;
  core_host* host_ = nullptr;
  std::atomic<bool> stop_{false};
  bool launched_ = false;
};

}  // namespace actorstack::dataplane
