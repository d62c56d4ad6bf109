// actorstack-stackd: the stack as a daemon (the VPP model). Applications in
// other processes attach through its Unix socket (libactorstack-client,
// include/actorstack/client.hpp); actorstack-ctl inspects it on that
// socket (--socket) or on --inspect-port, Prometheus scrapes --metrics-port. Stops cleanly on
// SIGINT/SIGTERM.
#include "tools/cli/cli.hpp"

#include <actorstack/config.hpp>
#include <actorstack/stack.hpp>

#include <grp.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <string_view>
#include <thread>

namespace {

std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested.store(true); }

int fail(const std::string& why) {
  std::fprintf(stderr, "actorstack-stackd: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, config_file, socket_mode = "0660", socket_group;
  std::vector<std::uint32_t> allowed_uids;
  int inspect_port = -1, metrics_port = -1;
  std::uint32_t workers = 0, fifo_size = 0, cores = 0;
  std::string dp_port, dp_ip, dp_gateway, poll_mode, dp_threads, lcores, impair;
  std::string inspect_bind, tls_cert, tls_key, tls_ca;
  CLI::App app{"The actorstack host stack as a daemon: applications in other processes attach through its Unix\n"
               "socket (libactorstack-client); actorstack-ctl inspects it there (--socket) or on --inspect-port.\n"
               "Stops cleanly on SIGINT/SIGTERM.",
               "actorstack-stackd"};
  app.option_defaults()->always_capture_default();
  app.add_option("--socket", socket_path, "Unix socket apps attach through")->required();
  app.add_option("--socket-mode", socket_mode, "Permission bits of the socket file (octal)")
      ->check([](const std::string& m) {
        return !m.empty() && m.size() <= 4 && m.find_first_not_of("01234567") == std::string::npos
                   ? std::string{}
                   : std::string{"an octal mode such as 0660"};
      });
  app.add_option("--socket-group", socket_group, "Group of the socket file (name or gid)")->default_str("the daemon's");
  app.add_option("--allow-uid", allowed_uids, "Only processes of this uid may attach (repeatable)")
      ->default_str("any uid the socket's mode admits");
  app.add_option("--config", config_file, "Stack configuration file (docs: include/actorstack/config.hpp)")
      ->check(CLI::ExistingFile);
  app.add_option("--inspect-port", inspect_port,
                 "Publish the inspector for actorstack-ctl on ADDR:P (0: any): show requests only (with --tls-*:\n"
                 "CAF's middleman over TLS); --socket needs no port")
      ->check(CLI::Range(0, 65535))
      ->default_str("off");
  app.add_option("--inspect-bind", inspect_bind,
                 "ADDR of --inspect-port (inspect.bind); anything but loopback needs --tls-cert/key/ca")
      ->check(CLI::ValidIPV4)
      ->default_str("127.0.0.1");
  app.add_option("--metrics-port", metrics_port, "Serve Prometheus metrics on 127.0.0.1:Q/metrics (0: any)")
      ->check(CLI::Range(0, 65535))
      ->default_str("off");
  app.add_option("--workers", workers, "Session workers (0: from the configuration, else one per core)")
      ->check(CLI::Range(0u, 64u));
  actorstack::cli::add_size(app, "--fifo-size", fifo_size, "Default session fifo size (0: from the configuration)", 0,
                            1u << 30);
  const std::string dataplane = "Data plane (udp:// and tcp:// for attached apps; each overrides its dataplane.* key)";
  app.add_option("--port", dp_port, "DPDK virtual device, e.g. net_tap0,iface=as0 or net_memif0,role=server")
      ->group(dataplane);
  app.add_option("--ip", dp_ip, "The stack's address on the port, ADDR/PREFIX")->group(dataplane);
  app.add_option("--gateway", dp_gateway, "Next hop for off-link peers")->group(dataplane);
  app.add_option("--cores", cores, "Data-plane cores (one port queue pair each)")->check(CLI::Range(1u, 64u))->group(dataplane);
  app.add_option("--poll-mode", poll_mode, "Data-plane polling: busy or adaptive")
      ->check(CLI::IsMember({"busy", "adaptive"}))
      ->group(dataplane);
  app.add_option("--dataplane-threads", dp_threads,
                 "Where the cores run: shared (on the session workers' threads, the default) or own (an lcore each)")
      ->check(CLI::IsMember({"shared", "own"}))
      ->group(dataplane);
  app.add_option("--lcores", lcores, "EAL lcore list for the data-plane cores")->group(dataplane);
  app.add_option("--impair", impair,
                 "Faults on every frame each core receives and sends (tests): loss=P,dup=P,reorder=P,\n"
                 "corrupt=P,truncate=P,delay=MS,seed=S (P as 0.01 or 1%)")
      ->group(dataplane);
  actorstack::cli::add_tls(app, tls_cert, tls_key, tls_ca);
  actorstack::cli::add_standard(app, "  0  stopped cleanly after SIGINT/SIGTERM\n"
                                     "  1  could not start (configuration, socket, ports), or did not stop cleanly\n"
                                     "  2  bad command line\n");
  if (const int rc = actorstack::cli::parse(app, argc, argv); rc >= 0) return rc;

  actorstack::stack_config cfg;
  if (!config_file.empty()) {
    std::ifstream in{config_file};
    if (!in) return fail("cannot read " + config_file);
    std::stringstream text;
    text << in.rdbuf();
    auto loaded = actorstack::parse_config(text.str());
    if (!loaded) return fail(config_file + ": " + loaded.error().message());
    cfg = *loaded;
  }
  if (workers > 0) cfg.workers = workers;
  if (fifo_size > 0) cfg.rx_fifo_size = cfg.tx_fifo_size = fifo_size;
  if (!dp_port.empty()) cfg.dataplane_port = dp_port;
  if (!dp_ip.empty()) cfg.dataplane_ip = dp_ip;
  if (!dp_gateway.empty()) cfg.dataplane_gateway = dp_gateway;
  if (cores > 0) cfg.dataplane_cores = cores;
  if (!poll_mode.empty()) cfg.dataplane_poll_mode = poll_mode;
  if (!dp_threads.empty()) cfg.dataplane_threads = dp_threads;
  if (!lcores.empty()) cfg.dataplane_lcores = lcores;
  if (!impair.empty()) cfg.dataplane_impair = impair;
  if (!inspect_bind.empty()) cfg.inspect_bind = inspect_bind;
  if (!tls_cert.empty()) cfg.tls_certificate = tls_cert, cfg.tls_key = tls_key, cfg.tls_ca = tls_ca;
  // The overrides obey the configuration's rules (a port needs an address...).
  if (auto valid = actorstack::validate(cfg); !valid) return fail(valid.error().message());
  auto st = actorstack::stack::create(cfg);
  if (!st) {
    std::fprintf(stderr, "actorstack-stackd: %s\n", st.error().message().c_str());
    return 1;
  }
  if (inspect_port >= 0) {
    auto p = (*st)->publish_inspector(static_cast<std::uint16_t>(inspect_port));
    if (!p) return std::fprintf(stderr, "actorstack-stackd: %s\n", p.error().message().c_str()), 1;
    std::fprintf(stderr, "actorstack-stackd: inspector on %s:%u%s\n", cfg.inspect_bind.c_str(), static_cast<unsigned>(*p),
                 cfg.tls_certificate.empty() ? "" : " (TLS)");
  }
  if (metrics_port >= 0) {
    auto p = (*st)->serve_metrics(static_cast<std::uint16_t>(metrics_port));
    if (!p) return std::fprintf(stderr, "actorstack-stackd: %s\n", p.error().message().c_str()), 1;
    std::fprintf(stderr, "actorstack-stackd: metrics on http://127.0.0.1:%u/metrics\n", static_cast<unsigned>(*p));
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);  // an app that vanished must not take the daemon with it
  actorstack::remote_apps_options remote;
  remote.socket_path = socket_path;
  remote.socket_mode = static_cast<std::uint32_t>(std::stoul(socket_mode, nullptr, 8));
  remote.allowed_uids = allowed_uids;
  if (!socket_group.empty()) {
    if (socket_group.find_first_not_of("0123456789") == std::string::npos) {
      remote.socket_group = std::stoll(socket_group);
    } else if (const group* g = ::getgrnam(socket_group.c_str())) {
      remote.socket_group = g->gr_gid;
    } else {
      return fail("--socket-group: no group " + actorstack::quoted(socket_group));
    }
  }
  if (auto served = (*st)->serve_remote_apps(remote); !served) {
    std::fprintf(stderr, "actorstack-stackd: %s\n", served.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "actorstack-stackd: serving apps on %s, %u worker(s)\n", socket_path.c_str(),
               (*st)->workers());
  while (!stop_requested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto stuck = (*st)->stop(std::chrono::seconds(5));
  std::fprintf(stderr, "actorstack-stackd: stopped%s\n", stuck.empty() ? "" : " (some actors did not stop)");
  return stuck.empty() ? 0 : 1;
}
