// actorstack-echo over tcp://: a server that echoes every connection until
// SIGINT/SIGTERM (a client that half-closes gets the rest of its echo, then
// the server's FIN), or clients that each send --bytes of their pattern,
// check every byte that comes back and close. Both run the stack on a DPDK
// port (--port, e.g. net_tap0,iface=as0 or net_memif0,role=...), so the
// peer may be the Linux kernel (socat, iperf3, a test) or another stack.

#include "demo/dataplane_run.hpp"
#include "demo/echo_options.hpp"
#include "demo/stream_echo.hpp"

#include <actorstack/stack.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <thread>

using namespace actorstack;

namespace echo {
namespace {

int fail(const char* what, const error& e) {
  std::fprintf(stderr, "actorstack-echo: %s: %s\n", what, e.message().c_str());
  return exit_failed;
}

// Waits (bounded) until the app's sessions, the stack's tcp connections
// and the network segments are gone; returns what is left.
stack_counters drained(stack& st) {
  stack_counters left;
  for (int i = 0; i < 500; ++i) {
    auto c = st.counters();
    if (c) left = *c;
    if (c && left.sessions == 0 && left.tcp_connections == 0 && left.udp_segments == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return left;
}

int run_server(const options& opt, const endpoint& ep) {
  auto st = stack::create(config_of(opt));
  if (!st) return fail("stack", st.error());
  if (!expose(**st, opt)) return exit_failed;
  auto app = (*st)->attach({.name = "tcp-echo-server"}, [](std::uint32_t) { return std::make_unique<echo_server>(); });
  if (!app) return fail("attach", app.error());
  auto listener = (*app)->listen(ep);
  if (!listener) return fail(("listen " + opt.uri).c_str(), listener.error());
  std::fprintf(stderr, "actorstack-echo: tcp server on %s (%s), until SIGINT/SIGTERM\n", opt.uri.c_str(),
               opt.port.c_str());
  while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (void)(*app)->stop_listen(*listener);
  const auto counters = (*st)->counters();
  const std::uint64_t accepted = counters ? counters->accepts : 0;
  if (opt.json) {
    std::printf("{\"transport\":\"tcp\",\"role\":\"server\",\"connections_accepted\":%llu",
                static_cast<unsigned long long>(accepted));
    print_dataplane(**st, true);
    std::printf("}\n");
  } else {
    std::printf("actorstack-echo tcp server on %s: %llu connection(s) accepted\n", opt.uri.c_str(),
                static_cast<unsigned long long>(accepted));
    print_dataplane(**st, false);
  }
  std::fflush(stdout);
  auto stuck = (*st)->stop();
  return stuck.empty() ? exit_ok : exit_failed;
}

int run_client(const options& opt, const endpoint& ep) {
  // Declared before the stack: the handlers reference it until it stops.
  shared_state shared;
  shared.opt = opt;
  auto st = stack::create(config_of(opt));
  if (!st) return fail("stack", st.error());
  if (!expose(**st, opt)) return exit_failed;
  auto app = (*st)->attach({.name = "tcp-echo-client"},
                           [&](std::uint32_t) { return std::make_unique<echo_client>(shared); });
  if (!app) return fail("attach", app.error());
  const auto t0 = clock_type::now();
  for (std::uint32_t c = 0; c < opt.clients; ++c)
    if (auto r = (*app)->connect(ep, c); !r) return fail("connect", r.error());
  auto all_done = [&] { return shared.finished.load() + shared.failed.load() >= opt.clients; };
  {
    const auto deadline = clock_type::now() + std::chrono::minutes(10);
    std::unique_lock lock{shared.mu};
    while (!all_done() && !stop_requested() && clock_type::now() < deadline)
      shared.cv.wait_for(lock, std::chrono::milliseconds(100), all_done);
  }
  const bool interrupted = !all_done() && stop_requested();
  if (!all_done() && !interrupted) std::fprintf(stderr, "timed out waiting for the clients\n");
  const double duration = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double connect_s =
      std::chrono::duration<double>(clock_type::time_point{clock_type::duration{shared.last_connect_ns.load()}} - t0)
          .count();
  (void)(*app)->detach();  // what is still open is reset; the segments go with the app
  const stack_counters left = drained(**st);
  const std::uint64_t total = interrupted ? shared.bytes_progress.load() : shared.bytes_echoed.load();
  const double gbps = duration > 0 ? total * 8.0 / duration / 1e9 : 0;
  const double cps = connect_s > 0 ? opt.clients / connect_s : 0;
  if (opt.json) {
    nlohmann::ordered_json j{{"transport", "tcp"},
                             {"role", "client"},
                             {"clients", opt.clients},
                             {"workers", (*st)->workers()},
                             {"bytes_total", total},
                             {"duration_s", duration},
                             {"gbps", gbps},
                             {"connects_per_s", cps},
                             {"verify_errors", shared.verify_errors.load()},
                             {"connect_failures", shared.failed.load()},
                             {"sessions_left", left.sessions},
                             {"connections_left", left.tcp_connections},
                             {"segments_left", left.udp_segments},
                             {"verified", opt.verify},
                             {"interrupted", interrupted}};
    std::string text = j.dump();
    text.pop_back();  // the closing brace: the data plane's member follows
    std::printf("%s", text.c_str());
    print_dataplane(**st, true);
    std::printf("}\n");
  } else {
    std::printf("actorstack-echo tcp client to %s: %u client(s)%s\n", opt.uri.c_str(), opt.clients,
                interrupted ? ", INTERRUPTED" : "");
    std::printf("  echoed %llu bytes in %.3f s: %.3f Gbit/s, %.0f connects/s\n", static_cast<unsigned long long>(total),
                duration, gbps, cps);
    std::printf("  verify errors: %llu%s, connect failures: %llu\n",
                static_cast<unsigned long long>(shared.verify_errors.load()), opt.verify ? "" : " (not verified)",
                static_cast<unsigned long long>(shared.failed.load()));
    std::printf("  left after the run: %llu sessions, %llu tcp connections, %llu segments\n",
                static_cast<unsigned long long>(left.sessions), static_cast<unsigned long long>(left.tcp_connections),
                static_cast<unsigned long long>(left.udp_segments));
    print_dataplane(**st, false);
  }
  std::fflush(stdout);
  const bool ok = shared.verify_errors.load() == 0 && shared.failed.load() == 0 &&
                  shared.finished.load() == opt.clients && left.sessions == 0 && left.tcp_connections == 0 &&
                  left.udp_segments == 0;
  auto stuck = (*st)->stop();
  if (interrupted) return exit_interrupted;
  return ok && stuck.empty() ? exit_ok : exit_failed;
}

}  // namespace

int run_tcp(const options& opt, const endpoint& ep) {
  return opt.role == "server" ? run_server(opt, ep) : run_client(opt, ep);
}

}  // namespace echo
