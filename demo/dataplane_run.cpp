// What the echo runs over a DPDK port share (see dataplane_run.hpp).

#include "demo/dataplane_run.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

using namespace actorstack;

namespace echo {

namespace {
// "a":1,"b":2 (the members of a JSON object, without its braces).
void print_counts(const std::map<std::string, std::uint64_t>& m) {
  bool first = true;
  for (const auto& [name, n] : m) {
    std::printf("%s\"%s\":%llu", first ? "" : ",", name.c_str(), static_cast<unsigned long long>(n));
    first = false;
  }
}
}  // namespace

stack_config config_of(const options& opt) {
  stack_config cfg;
  cfg.workers = opt.workers;
  cfg.rx_fifo_size = cfg.tx_fifo_size = opt.fifo_size;
  cfg.max_fifo_size = std::max(cfg.max_fifo_size, opt.fifo_size);
  cfg.dataplane_port = opt.port;
  cfg.dataplane_ip = opt.ip;
  cfg.dataplane_gateway = opt.gateway;
  cfg.dataplane_poll_mode = opt.poll_mode;
  cfg.dataplane_threads = opt.dataplane_threads;
  cfg.dataplane_lcores = opt.lcores;
  cfg.dataplane_impair = opt.impair;
  cfg.dataplane_cores = opt.cores;
  cfg.inspect_bind = opt.inspect_bind;
  cfg.tls_certificate = opt.tls_cert;
  cfg.tls_key = opt.tls_key;
  cfg.tls_ca = opt.tls_ca;
  return cfg;
}

void print_dataplane(const stack& st, bool json) {
  const auto cores = st.dataplane_stats();
  if (json) std::printf(",\"dataplane\":[");
  for (const auto& d : cores) {
    if (json) {
      std::printf("%s{\"core\":%u,\"rx_packets\":%llu,\"tx_packets\":%llu,\"udp_rx\":%llu,"
                  "\"udp_tx\":%llu,\"arp_replies\":%llu,\"icmp_echo_replies\":%llu,\"frames_forwarded\":%llu,"
                  "\"flows_taken\":%llu,\"rx_to_apps\":%llu,\"drops\":{",
                  d.core == 0 ? "" : ",", d.core, (unsigned long long)d.rx_packets, (unsigned long long)d.tx_packets,
                  (unsigned long long)d.udp_rx_datagrams, (unsigned long long)d.udp_tx_datagrams,
                  (unsigned long long)d.arp_replies, (unsigned long long)d.icmp_echo_replies,
                  (unsigned long long)d.frames_forwarded, (unsigned long long)d.flows_taken,
                  (unsigned long long)d.rx_to_apps);
      print_counts(d.drops);
      std::printf("},\"tcp\":{");
      print_counts(d.tcp);
      std::printf("},\"impaired\":{");
      print_counts(d.impaired);
      std::printf("}}");
      continue;
    }
    std::printf("  data plane core %u on %s (%s, %s): rx %llu pkts / %llu B, tx %llu pkts / %llu B\n", d.core,
                d.port.c_str(), d.mac.c_str(), d.address.c_str(), (unsigned long long)d.rx_packets,
                (unsigned long long)d.rx_bytes, (unsigned long long)d.tx_packets, (unsigned long long)d.tx_bytes);
    std::printf("    udp rx %llu, udp tx %llu, arp replies %llu, icmp echo replies %llu\n",
                (unsigned long long)d.udp_rx_datagrams, (unsigned long long)d.udp_tx_datagrams,
                (unsigned long long)d.arp_replies, (unsigned long long)d.icmp_echo_replies);
    std::string drops;
    for (const auto& [reason, n] : d.drops)
      if (n > 0) drops += " " + reason + "=" + std::to_string(n);
    std::printf("    drops:%s\n", drops.empty() ? " none" : drops.c_str());
    std::string tcp;
    for (const auto& [name, n] : d.tcp)
      if (n > 0) tcp += " " + name + "=" + std::to_string(n);
    std::printf("    tcp:%s\n", tcp.empty() ? " none" : tcp.c_str());
    if (d.rx_to_apps > 0)
      std::printf("    tcp rx told straight to app workers %llu\n", (unsigned long long)d.rx_to_apps);
    if (cores.size() > 1)
      std::printf("    %llu frame(s) forwarded to their owner core, %llu connection(s) taken over\n",
                  (unsigned long long)d.frames_forwarded, (unsigned long long)d.flows_taken);
  }
  if (json) std::printf("]");
}

// --inspect-port / --metrics-port, as for the cut-through demo.
bool expose(stack& st, const options& opt) {
  if (opt.inspect_port >= 0) {
    auto port = st.publish_inspector(static_cast<std::uint16_t>(opt.inspect_port));
    if (!port) {
      std::fprintf(stderr, "actorstack-echo: %s\n", port.error().message().c_str());
      return false;
    }
    std::fprintf(stderr, "actorstack-echo: inspector on %s:%u%s\n", opt.inspect_bind.c_str(), static_cast<unsigned>(*port),
                 opt.tls_cert.empty() ? "" : " (TLS)");
  }
  if (opt.metrics_port >= 0) {
    auto port = st.serve_metrics(static_cast<std::uint16_t>(opt.metrics_port));
    if (!port) {
      std::fprintf(stderr, "actorstack-echo: %s\n", port.error().message().c_str());
      return false;
    }
    std::fprintf(stderr, "actorstack-echo: metrics on http://127.0.0.1:%u/metrics\n", static_cast<unsigned>(*port));
  }
  return true;
}

}  // namespace echo
