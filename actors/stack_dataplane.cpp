#include "actors/stack_dataplane.hpp"

#include "actors/messages.hpp"

#include <cstdio>
#include <string>

namespace actorstack {

namespace {

// "10.0.0.2/24" -> address and prefix (validate() checked the form).
result<dataplane::interface_address> interface_of(const stack_config& cfg) {
  dataplane::interface_address a;
  const std::string& text = cfg.dataplane_ip;
  const auto slash = text.find('/');
  auto ip = ip_address::parse(std::string_view{text}.substr(0, slash));
  if (!ip || !ip->is_v4() || slash == std::string::npos)
    return unexpected{errc::bad_config, intern("dataplane.ip: '" + text + "' is not ADDR/PREFIX")};
  a.ip = ip->v4_host_order();
  a.prefix_len = static_cast<unsigned>(std::stoul(text.substr(slash + 1)));
  if (!cfg.dataplane_gateway.empty()) {
    auto gw = ip_address::parse(cfg.dataplane_gateway);
    if (!gw || !gw->is_v4())
      return unexpected{errc::bad_config, intern("dataplane.gateway: '" + cfg.dataplane_gateway + "'")};
    a.gateway = gw->v4_host_order();
  }
  return a;
}

std::string mac_text(const dataplane::mac_address& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

}  // namespace

result<std::unique_ptr<dataplane::dataplane>> make_dataplane(const stack_config& cfg) {
  if (cfg.dataplane_port.empty()) return std::unique_ptr<dataplane::dataplane>{};
  auto addr = interface_of(cfg);
  if (!addr) return unexpected{addr.error()};
  dataplane::dataplane_config dc;
  dc.vdevs = {cfg.dataplane_port};
  dc.address = *addr;
  dc.cores = cfg.dataplane_cores;
  dc.mode = cfg.dataplane_poll_mode == "busy" ? dataplane::poll_mode::busy : dataplane::poll_mode::adaptive;
  dc.mbufs = cfg.dataplane_mbufs;
  dc.lcores = cfg.dataplane_lcores;
  if (auto impair = dataplane::parse_impairment(cfg.dataplane_impair)) dc.impair = *impair;
  else return unexpected{impair.error()};
  dc.tcp = tcp_config_of(cfg);
  return dataplane::dataplane::create(dc, effective_workers(cfg));
}

tcp::config tcp_config_of(const stack_config& cfg) {
  tcp::config t;
  t.mss = static_cast<std::uint16_t>(cfg.tcp_mss);
  t.initial_window_segments = cfg.tcp_initial_window;
  t.rto.min_us = cfg.tcp_rto_min_ms * 1000;
  t.rto.initial_us = cfg.tcp_rto_initial_ms * 1000;
  t.rto.max_us = cfg.tcp_rto_max_ms * 1000;
  t.syn_retries = cfg.tcp_syn_retries;
  t.data_retries = cfg.tcp_data_retries;
  t.delayed_ack_us = cfg.tcp_delayed_ack_ms * 1000;
  t.fin_wait_2_us = cfg.tcp_fin_wait_2_s * 1'000'000;
  t.time_wait_us = cfg.tcp_time_wait_s * 1'000'000;
  t.backlog = cfg.tcp_backlog;
  t.nagle = cfg.tcp_nagle != 0;
  t.window_scaling = cfg.tcp_window_scaling != 0;
  t.timestamps = cfg.tcp_timestamps != 0;
  t.sack = cfg.tcp_sack != 0;
  t.congestion = cfg.tcp_congestion;
  if (auto ports = parse_port_range(cfg.tcp_ephemeral_ports)) {  // validated with the config
    t.ephemeral_first = ports->first;
    t.ephemeral_last = ports->second;
  }
  return t;
}

void actor_doorbell::ring() noexcept { caf::anon_send(worker_, dataplane_atom_v); }

std::vector<dataplane_core_stats> core_stats(const dataplane::dataplane& dp) {
  std::vector<dataplane_core_stats> out;
  if (!dp.running()) return out;
  const auto& a = dp.address();
  for (unsigned c = 0; c < dp.cores(); ++c) {
    const auto x = dp.counters(c);
    dataplane_core_stats d;
    d.core = c;
    d.port = dp.device().device();
    d.mac = mac_text(dp.device().mac());
    d.address = ip_address::v4(a.ip).to_string() + "/" + std::to_string(a.prefix_len);
    d.thread = (dp.hosted() ? "worker " : "lcore ") + std::to_string(dp.hosted() ? c : dp.lcore(c));
    if (const auto id = dp.registered_lcore(c)) d.thread += " (lcore " + std::to_string(*id) + ")";
    d.connections = dp.connections(c);
    d.rx_packets = x.rx_packets;
    d.rx_bytes = x.rx_bytes;
    d.tx_packets = x.tx_packets;
    d.tx_bytes = x.tx_bytes;
    d.arp_replies = x.arp_replies_sent;
    d.arp_requests = x.arp_requests_sent;
    d.icmp_echo_replies = x.icmp_echo_replies;
    d.udp_rx_datagrams = x.udp_rx_datagrams;
    d.udp_tx_datagrams = x.udp_tx_datagrams;
    d.busy_polls = x.busy_polls;
    d.idle_polls = x.idle_polls;
    d.events_lost = x.events_lost;
    d.frames_forwarded = x.frames_forwarded;
    d.flows_taken = x.flows_taken;
    d.rx_to_apps = x.rx_to_apps;
    for (std::size_t r = 0; r < dataplane::drop_reason_count; ++r)
      d.drops[std::string{dataplane::to_string(static_cast<dataplane::drop_reason>(r))}] = x.drops[r];
    for (auto& [name, value] : dp.tcp_counters(c)) d.tcp[name] = value;
    if (dp.config().impair.enabled())
      for (auto& [name, value] : dp.impairment(c)) d.impaired[name] = value;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace actorstack
