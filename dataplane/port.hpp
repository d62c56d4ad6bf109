#pragma once
/// \file
/// One DPDK Ethernet port, configured with one rx/tx queue pair per
/// data-plane core and its own mbuf pool. Any DPDK port works; tests use
/// the virtual ones (net_ring, net_tap, net_af_packet, net_memif).
///
/// Threads: open/close run on the control thread; queue q is then used
/// only by the core loop that owns it (DPDK queues are not thread-safe).

#include "dataplane/packet/packet.hpp"

#include <actorstack/result.hpp>

#include <cstdint>
#include <string>

struct rte_mempool;

namespace actorstack::dataplane {

struct port_options {
  /// The DPDK device name: a vdev argument's part before the first comma
  /// ("net_tap0" for "net_tap0,iface=as0"), or a PCI address.
  std::string device;
  std::uint16_t queues = 1;      ///< rx/tx queue pairs (= data-plane cores)
  std::uint32_t mbufs = 8191;    ///< pool size (best 2^n - 1)
  std::uint16_t rx_descriptors = 1024;
  std::uint16_t tx_descriptors = 1024;
  /// How long open() waits for the link to come up before returning
  /// anyway (a memif client may still be connecting; the loop keeps going).
  std::uint32_t link_wait_ms = 2000;
};

class port {
 public:
  /// Finds the device, creates its mbuf pool, configures `queues` queue
  /// pairs, starts it, enables promiscuous mode where supported (net_tap
  /// gives kernel and DPDK the same MAC), waits for the link.
  /// Errors: invalid_argument (no such device: detail lists the ports
  /// DPDK knows), dataplane (pool, configure, queue setup or start failed:
  /// detail names the call and rte_errno's text). Needs a running EAL.
  static result<port> open(const port_options& opts);

  port() noexcept = default;
  port(port&&) noexcept;
  port& operator=(port&&) noexcept;
  port(const port&) = delete;
  port& operator=(const port&) = delete;
  /// Stops and closes the device, frees the pool.
  ~port();

  bool valid() const noexcept { return pool_ != nullptr; }
  std::uint16_t id() const noexcept { return id_; }
  std::uint16_t queues() const noexcept { return queues_; }
  const std::string& device() const noexcept { return device_; }
  const mac_address& mac() const noexcept { return mac_; }
  rte_mempool* pool() const noexcept { return pool_; }
  /// Current link state (rte_eth_link_get_nowait).
  bool link_up() const noexcept;

 private:
  void close() noexcept;

  std::uint16_t id_ = 0;
  std::uint16_t queues_ = 0;
  std::string device_;
  mac_address mac_{};
  rte_mempool* pool_ = nullptr;
};

}  // namespace actorstack::dataplane
