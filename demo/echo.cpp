// actorstack-echo: an echo server and N echo clients in one process, talking
// through the stack over cut-through (like VPP's builtin echo apps). Every
// byte is checked when --verify is on (the default); afterwards every
// session, fifo and segment must be gone. `--help` lists every option.
//
// Over udp:// and tcp:// the data plane (DPDK) carries the datagrams or the
// segments (udp_echo.cpp, tcp_echo.cpp);
// with --attach the server or the clients are apps attached to
// actorstack-stackd (attached_echo.cpp). --baseline runs the same echo over
// kernel TCP loopback in the same run (kernel_echo.cpp).
//
// SIGINT/SIGTERM end any run within a second: the summary says it was
// interrupted and what was moved so far, the clients detach (their sessions
// reset, the server closes its ends), and the exit status is 3.

#include "demo/dataplane_run.hpp"
#include "demo/echo_options.hpp"
#include "demo/kernel_echo.hpp"
#include "demo/stream_echo.hpp"
#include "tools/cli/cli.hpp"

#include <actorstack/stack.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;
using clock_type = std::chrono::steady_clock;

namespace {

using echo::options;
using echo::shared_state;
using echo::echo_server;
using echo::echo_client;
using echo::io_size;

}  // namespace

int main(int argc, char** argv) {
  options opt;
  CLI::App app{"An echo server and clients over actorstack: cut-through in one process (default), udp:// or\n"
               "tcp:// over a DPDK port, or as apps attached to actorstack-stackd (--attach). Every echoed byte is checked\n"
               "with --verify; afterwards every session, fifo and segment must be gone.",
               "actorstack-echo"};
  app.option_defaults()->always_capture_default();
  app.add_option("--uri", opt.uri, "Endpoint: ct://IP/PORT (cut-through), udp://IP/PORT or tcp://IP/PORT (data plane)");
  app.add_option("--clients", opt.clients, "Echo clients (sessions)")->check(CLI::PositiveNumber);
  cli::add_size(app, "--bytes", opt.bytes, "Bytes each client sends and gets back", 1);
  cli::add_size(app, "--fifo-size", opt.fifo_size, "Session rx/tx fifo size", 4096);
  app.add_option("--workers", opt.workers,
                 "Session workers (0: one per core); with --attach --role server: app workers (threads)");
  app.add_flag("--verify,!--no-verify", opt.verify, "Check every echoed byte against the sent pattern (default: on)")
      ->default_str("");
  app.add_flag("--json", opt.json, "Print the summary as one JSON object");
  app.add_flag("--baseline", opt.baseline,
               "ct only: also run the same echo over kernel TCP loopback (a writer and a reader thread per\n"
               "client, 64 KiB reads and writes) and print both rates and their ratio");
  app.add_option("--inspect-port", opt.inspect_port, "Publish the inspector for actorstack-ctl on ADDR:P (0: any)")
      ->check(CLI::Range(0, 65535))
      ->default_str("off");
  app.add_option("--inspect-bind", opt.inspect_bind,
                 "ADDR of --inspect-port; anything but loopback needs --tls-cert/key/ca")
      ->check(CLI::ValidIPV4);
  cli::add_tls(app, opt.tls_cert, opt.tls_key, opt.tls_ca);
  app.add_option("--metrics-port", opt.metrics_port, "Serve Prometheus metrics on 127.0.0.1:Q/metrics (0: any)")
      ->check(CLI::Range(0, 65535))
      ->default_str("off");
  app.add_option("--hold", opt.hold_s, "Keep the verified sessions open this long (seconds) for inspection");
  const std::string other = "udp:// and tcp:// over DPDK, and --attach";
  app.add_option("--role", opt.role, "server or client")->check(CLI::IsMember({"server", "client"}))->group(other);
  app.add_option("--port", opt.port, "DPDK virtual device, e.g. net_tap0,iface=as0")->group(other);
  app.add_option("--ip", opt.ip, "The stack's address on the port, ADDR/PREFIX")->group(other);
  app.add_option("--gateway", opt.gateway, "Next hop for off-link peers")->group(other);
  app.add_option("--datagram-size", opt.datagram_size, "Payload bytes per datagram")
      ->check(CLI::Range(16u, static_cast<unsigned>(max_datagram_payload)))
      ->group(other);
  app.add_option("--window", opt.window, "Datagrams in flight per client (0: from the fifo size)")->group(other);
  app.add_option("--poll-mode", opt.poll_mode, "Data-plane polling: busy or adaptive")
      ->check(CLI::IsMember({"busy", "adaptive"}))
      ->group(other);
  app.add_option("--dataplane-threads", opt.dataplane_threads,
                 "Where the cores run: shared (on the session workers' threads) or own (an lcore each)")
      ->check(CLI::IsMember({"shared", "own"}))
      ->group(other);
  app.add_option("--lcores", opt.lcores, "EAL lcore list for the data-plane cores")->group(other);
  app.add_option("--impair", opt.impair,
                 "Faults on every frame each core receives and sends (tests): loss=P,dup=P,reorder=P,\n"
                 "corrupt=P,truncate=P,delay=MS,seed=S (P as 0.01 or 1%)")
      ->group(other);
  app.add_option("--cores", opt.cores, "Data-plane cores (one port queue pair each)")
      ->check(CLI::PositiveNumber)
      ->group(other);
  app.add_option("--attach", opt.attach, "Run as an app attached to actorstack-stackd's Unix socket")->group(other);
  cli::add_standard(app, "  0  every byte echoed (and verified), nothing left behind\n"
                         "  1  a check failed: verify errors, failed connects, leftovers, or set-up\n"
                         "  2  bad command line\n"
                         "  3  interrupted by SIGINT/SIGTERM (the summary says what was moved)\n");
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  auto usage = [](const std::string& why) {
    std::fprintf(stderr, "actorstack-echo: %s\nRun with --help for the options.\n", why.c_str());
    return echo::exit_usage;
  };
  echo::watch_stop_signals();
  auto ep = parse_uri(opt.uri);
  if (!ep) return usage(ep.error().message());
  if (!opt.attach.empty() && ep->proto != transport_proto::udp) {
    // The daemon owns the port: ct:// and tcp:// apps only attach.
    if (opt.role != "server" && opt.role != "client") return usage("--attach needs --role server or --role client");
    if (opt.baseline) return usage("--baseline runs in-process over ct:// with at most 64 clients");
    return echo::run_attached(opt);
  }
  if (ep->proto == transport_proto::udp || ep->proto == transport_proto::tcp) {
    const std::string scheme{to_string(ep->proto)};
    if (opt.role != "server" && opt.role != "client") return usage(scheme + ":// needs --role server or --role client");
    if (opt.port.empty() || opt.ip.empty()) return usage(scheme + ":// needs --port VDEV and --ip ADDR/PREFIX");
    return ep->proto == transport_proto::udp ? echo::run_udp(opt, *ep) : echo::run_tcp(opt, *ep);
  }
  if (ep->proto != transport_proto::ct) return usage("the echo demo speaks ct://, udp:// and tcp://");
  if (opt.baseline && opt.clients > 64) return usage("--baseline runs in-process over ct:// with at most 64 clients");

  const stack_config cfg = config_of(opt);  // no port: cut-through only
  // Declared before the stack: handlers reference it until the stack stops.
  shared_state shared;
  shared.opt = opt;
  auto st = stack::create(cfg);
  if (!st) return usage(st.error().message());

  auto server = (*st)->attach({.name = "echo-server"}, [](std::uint32_t) { return std::make_unique<echo_server>(); });
  auto client = (*st)->attach({.name = "echo-client"},
                              [&](std::uint32_t) { return std::make_unique<echo_client>(shared); });
  if (!server || !client) {
    std::fprintf(stderr, "attach failed\n");
    return 1;
  }
  if (opt.inspect_port >= 0) {
    auto port = (*st)->publish_inspector(static_cast<std::uint16_t>(opt.inspect_port));
    if (!port) {
      std::fprintf(stderr, "actorstack-echo: %s\n", port.error().message().c_str());
      return 1;
    }
    std::fprintf(stderr, "actorstack-echo: inspector on %s:%u%s\n", opt.inspect_bind.c_str(), static_cast<unsigned>(*port),
                 opt.tls_cert.empty() ? "" : " (TLS)");
  }
  if (opt.metrics_port >= 0) {
    auto port = (*st)->serve_metrics(static_cast<std::uint16_t>(opt.metrics_port));
    if (!port) {
      std::fprintf(stderr, "actorstack-echo: %s\n", port.error().message().c_str());
      return 1;
    }
    std::fprintf(stderr, "actorstack-echo: metrics on http://127.0.0.1:%u/metrics\n", static_cast<unsigned>(*port));
  }
  auto listener = (*server)->listen(*ep);
  if (!listener) {
    std::fprintf(stderr, "listen %s: %s\n", opt.uri.c_str(), listener.error().message().c_str());
    return 1;
  }

  const auto t0 = clock_type::now();
  for (std::uint32_t c = 0; c < opt.clients; ++c) {
    if (auto r = (*client)->connect(*ep, c); !r) {
      std::fprintf(stderr, "connect: %s\n", r.error().message().c_str());
      return 1;
    }
  }
  {
    // On a terminal, long runs show one progress line, redrawn in place.
    const bool progress = !opt.json && ::isatty(STDOUT_FILENO) != 0;
    const auto deadline = clock_type::now() + std::chrono::minutes(10);
    std::unique_lock lock{shared.mu};
    auto all_done = [&] { return shared.finished.load() + shared.failed.load() >= opt.clients; };
    auto ticks = 0;
    while (!all_done() && !echo::stop_requested() && clock_type::now() < deadline) {
      shared.cv.wait_for(lock, std::chrono::milliseconds(100), all_done);
      if (!progress || all_done() || ++ticks % 5 != 0) continue;
      const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
      const auto sent = shared.bytes_progress.load();
      std::printf("\r  %llu MiB echoed, %.2f Gbit/s, %llu of %u clients done   ",
                  static_cast<unsigned long long>(sent >> 20), s > 0 ? sent * 8.0 / s / 1e9 : 0.0,
                  static_cast<unsigned long long>(shared.finished.load()), opt.clients);
      std::fflush(stdout);
    }
    if (progress) std::printf("\r%*s\r", 70, "");
    if (!all_done() && !echo::stop_requested()) std::fprintf(stderr, "timed out waiting for the clients\n");
  }
  const bool interrupted = echo::stop_requested() && shared.finished.load() + shared.failed.load() < opt.clients;
  const double duration = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double connect_s =
      std::chrono::duration<double>(clock_type::time_point{clock_type::duration{shared.last_connect_ns.load()}} - t0).count();

  if (interrupted) {
    (void)(*client)->detach();  // resets the clients' sessions; the server closes its ends
  } else if (opt.hold_s > 0) {
    std::fprintf(stderr, "actorstack-echo: holding %llu session(s) for %u s\n",
                 static_cast<unsigned long long>(2 * shared.finished.load()), opt.hold_s);
    const auto until = clock_type::now() + std::chrono::seconds(opt.hold_s);
    while (!echo::stop_requested() && clock_type::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (void)(*client)->detach();  // resets the held sessions; the server closes its ends
  }

  // Everything must drain: poll the stack's counters until nothing is left.
  (void)(*server)->stop_listen(*listener);
  stack_counters left;
  for (int i = 0; i < 500; ++i) {
    auto c = (*st)->counters();
    if (c) left = *c;
    if (c && left.sessions == 0 && left.ct_segments == 0 && left.fifos == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  // Interrupted: count what came back so far.
  const std::uint64_t total = interrupted ? shared.bytes_progress.load() : shared.bytes_echoed.load();
  const double gbps = duration > 0 ? total * 8.0 / duration / 1e9 : 0;
  const double cps = connect_s > 0 ? opt.clients / connect_s : 0;
  const auto workers = (*st)->workers();
  // The baseline runs after the stack's echo, on the same machine, with
  // the same clients, bytes, checks and read/write size.
  std::optional<echo::kernel_echo_result> base;
  if (opt.baseline && !interrupted) base = echo::run_kernel_echo(opt.clients, opt.bytes, opt.verify, io_size);
  const bool base_ok = !base || (base->error.empty() && base->verify_errors == 0 && !base->interrupted);
  const double ratio = base && base->gbps() > 0 ? gbps / base->gbps() : 0;
  if (opt.json) {
    nlohmann::ordered_json j{{"transport", "ct"},
                     {"clients", opt.clients},
                     {"workers", workers},
                     {"bytes_total", total},
                     {"duration_s", duration},
                     {"gbps", gbps},
                     {"connects_per_s", cps},
                     {"verify_errors", shared.verify_errors.load()},
                     {"connect_failures", shared.failed.load()},
                     {"sessions_left", left.sessions},
                     {"segments_left", left.ct_segments},
                     {"fifos_left", left.fifos},
                     {"verified", opt.verify},
                     {"interrupted", interrupted || (base && base->interrupted)}};
    if (base) {
      j["baseline_name"] = "kernel TCP loopback echo";
      j["baseline_gbps"] = base->gbps();
      j["baseline_bytes"] = base->bytes;
      j["baseline_verify_errors"] = base->verify_errors;
      j["ratio"] = ratio;
      if (!base->error.empty()) j["baseline_error"] = base->error;
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("actorstack-echo over %s: %u client(s), %u worker(s)%s\n", opt.uri.c_str(), opt.clients, workers,
                interrupted ? ", INTERRUPTED" : "");
    std::printf("  echoed %llu bytes in %.3f s: %.2f Gbit/s, %.0f connects/s\n",
                static_cast<unsigned long long>(total), duration, gbps, cps);
    std::printf("  verify errors: %llu%s, connect failures: %llu\n",
                static_cast<unsigned long long>(shared.verify_errors.load()), opt.verify ? "" : " (not verified)",
                static_cast<unsigned long long>(shared.failed.load()));
    std::printf("  left after the run: %llu sessions, %llu segments, %llu fifos\n",
                static_cast<unsigned long long>(left.sessions), static_cast<unsigned long long>(left.ct_segments),
                static_cast<unsigned long long>(left.fifos));
    if (base && !base->error.empty()) std::printf("  baseline failed: %s\n", base->error.c_str());
    else if (base)
      std::printf("  kernel TCP loopback echo, same bytes: %.2f Gbit/s (verify errors %llu%s); stack / kernel = %.2fx\n",
                  base->gbps(), static_cast<unsigned long long>(base->verify_errors),
                  base->interrupted ? ", INTERRUPTED" : "", ratio);
  }
  std::fflush(stdout);
  if (interrupted || (base && base->interrupted)) return echo::exit_interrupted;
  const bool ok = shared.verify_errors.load() == 0 && shared.failed.load() == 0 &&
                  shared.finished.load() == opt.clients && left.sessions == 0 && left.ct_segments == 0 &&
                  left.fifos == 0 && base_ok;
  return ok ? echo::exit_ok : echo::exit_failed;
}
