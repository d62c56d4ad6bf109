// actorstack-stackd: the stack as a daemon (the VPP model). Applications in
// other processes attach through its Unix socket (libactorstack-client,
// include/actorstack/client.hpp); actorstack-ctl inspects it on
// --inspect-port, Prometheus scrapes --metrics-port. Stops cleanly on
// SIGINT/SIGTERM.
#include <actorstack/config.hpp>
#include <actorstack/stack.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

namespace {

std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested.store(true); }

int usage(const std::string& why) {
  std::fprintf(stderr,
               "actorstack-stackd: %s\n"
               "usage: actorstack-stackd --socket PATH [--inspect-port P] [--metrics-port Q] [--workers W]\n"
               "                         [--fifo-size S] [--config FILE]\n",
               why.c_str());
  return 2;
}

bool number(std::string_view text, std::uint32_t& out, std::uint32_t max) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v > max) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, config_file;
  int inspect_port = -1, metrics_port = -1;
  std::uint32_t workers = 0, fifo_size = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    std::uint32_t v = 0;
    if (a == "--socket" && has_value) socket_path = argv[++i];
    else if (a == "--config" && has_value) config_file = argv[++i];
    else if (a == "--inspect-port" && has_value && number(argv[i + 1], v, 65535)) { inspect_port = static_cast<int>(v); ++i; }
    else if (a == "--metrics-port" && has_value && number(argv[i + 1], v, 65535)) { metrics_port = static_cast<int>(v); ++i; }
    else if (a == "--workers" && has_value && number(argv[i + 1], v, 64)) { workers = v; ++i; }
    else if (a == "--fifo-size" && has_value && number(argv[i + 1], v, 1u << 30)) { fifo_size = v; ++i; }
    else return usage("bad or unknown option " + std::string{a});
  }
  if (socket_path.empty()) return usage("--socket PATH is required");

  actorstack::stack_config cfg;
  if (!config_file.empty()) {
    std::ifstream in{config_file};
    if (!in) return usage("cannot read " + config_file);
    std::stringstream text;
    text << in.rdbuf();
    auto loaded = actorstack::parse_config(text.str());
    if (!loaded) return usage(config_file + ": " + loaded.error().message());
    cfg = *loaded;
  }
  if (workers > 0) cfg.workers = workers;
  if (fifo_size > 0) cfg.rx_fifo_size = cfg.tx_fifo_size = fifo_size;
  auto st = actorstack::stack::create(cfg);
  if (!st) {
    std::fprintf(stderr, "actorstack-stackd: %s\n", st.error().message().c_str());
    return 1;
  }
  if (inspect_port >= 0) {
    auto p = (*st)->publish_inspector(static_cast<std::uint16_t>(inspect_port));
    if (!p) return std::fprintf(stderr, "actorstack-stackd: %s\n", p.error().message().c_str()), 1;
    std::fprintf(stderr, "actorstack-stackd: inspector on 127.0.0.1:%u\n", static_cast<unsigned>(*p));
  }
  if (metrics_port >= 0) {
    auto p = (*st)->serve_metrics(static_cast<std::uint16_t>(metrics_port));
    if (!p) return std::fprintf(stderr, "actorstack-stackd: %s\n", p.error().message().c_str()), 1;
    std::fprintf(stderr, "actorstack-stackd: metrics on http://127.0.0.1:%u/metrics\n", static_cast<unsigned>(*p));
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);  // an app that vanished must not take the daemon with it
  auto port = (*st)->serve_remote_apps(socket_path);
  if (!port) {
    std::fprintf(stderr, "actorstack-stackd: %s\n", port.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "actorstack-stackd: serving apps on %s (attach actor on 127.0.0.1:%u), %u worker(s)\n",
               socket_path.c_str(), static_cast<unsigned>(*port), (*st)->workers());
  while (!stop_requested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto stuck = (*st)->stop(std::chrono::seconds(5));
  std::fprintf(stderr, "actorstack-stackd: stopped%s\n", stuck.empty() ? "" : " (some actors did not stop)");
  return stuck.empty() ? 0 : 1;
}
