// actorstack in your own CAF actor system: an echo server and a client app over cut-through.
#include <actorstack/stack.hpp>
#include <caf/all.hpp>
#include <cstdio>
#include <future>
using namespace actorstack;

struct echo_server : app_handler {  // writes back whatever it reads
  void on_rx(session& s) override {
    std::byte buf[4096];
    while (auto n = s.read(buf)) (void)s.write({buf, *n});
  }
};
struct client : app_handler {  // sends a line, keeps the echo
  std::string line{"hello from my own actor system"}, got;
  std::promise<std::string> done;
  bool on_connected(session& s, std::uint64_t) override { return s.write(std::as_bytes(std::span{line})).has_value(); }
  void on_rx(session& s) override {
    char buf[4096];
    while (auto n = s.read(std::as_writable_bytes(std::span{buf}))) got.append(buf, *n);
    if (got.size() == line.size()) (void)s.close(), done.set_value(got);
  }
};
int main() {
  stack_config cfg;
  caf::actor_system_config sys_cfg;
  configure_scheduler(sys_cfg, cfg);
  caf::actor_system sys{sys_cfg};  // yours: your own actors live here too
  auto st = stack::create(sys, cfg);
  if (!st) return std::fprintf(stderr, "%s\n", st.error().message().c_str()), 1;
  auto c = std::make_unique<client>();
  auto echoed = c->done.get_future();
  auto server = (*st)->attach({.name = "server"}, [](std::uint32_t) { return std::make_unique<echo_server>(); });
  auto app = (*st)->attach({.name = "client"}, [&](std::uint32_t) { return std::move(c); });
  const auto ep = *parse_uri("ct://127.0.0.1/9000");
  if (!server || !app || !(*server)->listen(ep) || !(*app)->connect(ep, 1)) return 1;
  std::printf("echoed: %s\n", echoed.get().c_str());
  return (*st)->stop().empty() ? 0 : 1;
}
