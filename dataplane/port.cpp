// One DPDK Ethernet port with its own mbuf pool. See port.hpp.
#include "dataplane/port.hpp"

#include "dataplane/eal.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

namespace actorstack::dataplane {

namespace {

/// A dataplane error naming the DPDK call, the device and the error text.
/// `rc` is the call's negative errno-style return, or 0 to use rte_errno.
unexpected dpdk_failure(const std::string& what, const std::string& device, int rc = 0) {
  const int e = rc < 0 ? -rc : rte_errno;
  return unexpected{error{errc::dataplane, e,
                          intern(what + " failed for " + device + ": " + rte_strerror(e))}};
}

std::string known_ports() {
  std::string out;
  std::uint16_t p = 0;
  RTE_ETH_FOREACH_DEV(p) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(p, name) != 0) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out.empty() ? std::string{"none"} : out;
}

}  // namespace

result<port> port::open(const port_options& opts) {
  if (!eal_running())
    return unexpected{errc::dataplane, "port::open: the EAL is not running (call eal_init first)"};
  if (opts.queues == 0) return unexpected{errc::invalid_argument, "port::open: queues must be at least 1"};
  if (opts.mbufs == 0) return unexpected{errc::invalid_argument, "port::open: mbufs must be at least 1"};

  std::uint16_t id = 0;
  if (opts.device.empty() || rte_eth_dev_get_port_by_name(opts.device.c_str(), &id) != 0)
    return unexpected{errc::invalid_argument,
                      intern("port::open: no DPDK port '" + opts.device + "' (known: " + known_ports() + ")")};

  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0)
    return dpdk_failure("rte_eth_dev_info_get", opts.device, rc);
  if (opts.queues > info.max_rx_queues || opts.queues > info.max_tx_queues)
    return unexpected{errc::dataplane,
                      intern("rte_eth_dev_configure: " + opts.device + " supports at most " +
                             std::to_string(info.max_rx_queues) + " rx / " +
                             std::to_string(info.max_tx_queues) + " tx queues, " +
                             std::to_string(opts.queues) + " wanted")};

  // One pool per port; its name is per port id, so a second open of an
  // already open port is caught here rather than as a vague EEXIST.
  const std::string pool_name = "as_pool_" + std::to_string(id);
  if (rte_mempool_lookup(pool_name.c_str()) != nullptr)
    return unexpected{errc::dataplane, intern("port::open: " + opts.device + " is already open")};
  // The per-lcore cache may hold at most n / 1.5 mbufs (rte_mempool rule).
  const unsigned cache = std::min<unsigned>(256, opts.mbufs * 2 / 3);
  int socket = rte_eth_dev_socket_id(id);
  if (socket < 0) socket = SOCKET_ID_ANY;  // virtual devices have no NUMA node
  rte_mempool* pool = rte_pktmbuf_pool_create(pool_name.c_str(), opts.mbufs, cache, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) return dpdk_failure("rte_pktmbuf_pool_create(" + pool_name + ")", opts.device);

  // From here on a failure frees the pool; the device stays configured but
  // stopped, so a later open() (a memif client whose server was not up yet)
  // can configure it again.
  auto fail = [&](const std::string& what, int rc) {
    rte_mempool_free(pool);
    return dpdk_failure(what, opts.device, rc);
  };

  rte_eth_conf conf{};
  if (opts.queues > 1) {
    // Spread flows over the queues by IP addresses and UDP ports where the
    // device can hash them. Devices without RSS (net_ring, memif) keep
    // their own per-queue delivery, which is what the caller gets then.
    const std::uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    if (hf != 0) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = nullptr;  // the PMD's default key
      conf.rx_adv_conf.rss_conf.rss_hf = hf;
    }
  }
  if (int rc = rte_eth_dev_configure(id, opts.queues, opts.queues, &conf); rc != 0)
    return fail("rte_eth_dev_configure", rc);

  std::uint16_t rxd = opts.rx_descriptors;
  std::uint16_t txd = opts.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd); rc != 0)
    return fail("rte_eth_dev_adjust_nb_rx_tx_desc", rc);
  for (std::uint16_t q = 0; q < opts.queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(id, q, rxd, static_cast<unsigned>(socket), nullptr, pool); rc != 0)
      return fail("rte_eth_rx_queue_setup(queue " + std::to_string(q) + ")", rc);
    if (int rc = rte_eth_tx_queue_setup(id, q, txd, static_cast<unsigned>(socket), nullptr); rc != 0)
      return fail("rte_eth_tx_queue_setup(queue " + std::to_string(q) + ")", rc);
  }
  if (int rc = rte_eth_dev_start(id); rc != 0) return fail("rte_eth_dev_start", rc);

  // net_tap gives kernel and DPDK the same MAC, so frames for us arrive
  // only with promiscuous mode; some PMDs (net_ring) do not support it.
  (void)rte_eth_promiscuous_enable(id);

  port p;
  p.id_ = id;
  p.queues_ = opts.queues;
  p.device_ = opts.device;
  p.pool_ = pool;
  rte_ether_addr addr{};
  if (rte_eth_macaddr_get(id, &addr) == 0) std::memcpy(p.mac_.data(), addr.addr_bytes, p.mac_.size());

  // Not fatal: a memif client may still be connecting; the caller's loop
  // works once the link comes up.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.link_wait_ms);
  while (!p.link_up() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return p;
}

port::port(port&& other) noexcept
    : id_(other.id_),
      queues_(other.queues_),
      device_(std::move(other.device_)),
      mac_(other.mac_),
      pool_(std::exchange(other.pool_, nullptr)) {}

port& port::operator=(port&& other) noexcept {
  if (this != &other) {
    close();
    id_ = other.id_;
    queues_ = other.queues_;
    device_ = std::move(other.device_);
    mac_ = other.mac_;
    pool_ = std::exchange(other.pool_, nullptr);
  }
  return *this;
}

port::~port() { close(); }

void port::close() noexcept {
  if (pool_ == nullptr) return;
  // After the exit handler's rte_eal_cleanup the device is gone and the
  // pool's memory with it (eal.cpp): nothing left to release.
  if (!detail::eal_cleaned_up()) {
    (void)rte_eth_dev_stop(id_);
    (void)rte_eth_dev_close(id_);
    rte_mempool_free(pool_);
  }
  pool_ = nullptr;
}

bool port::link_up() const noexcept {
  if (pool_ == nullptr) return false;
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(id_, &link) != 0) return false;
  return link.link_status == RTE_ETH_LINK_UP;
}

}  // namespace actorstack::dataplane
