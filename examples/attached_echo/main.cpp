// Two applications in one process, each attached to a running
// actorstack-stackd through libactorstack-client: a server that echoes one
// line and a client that sends it, through the stack's shared fifos
// (cut-through: a listener is reached by other apps, not by its own).
//
//   attached_echo SOCKET [ct://IP/PORT]
#include <actorstack/client.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

using namespace actorstack;

namespace {

int fail(const char* what, const error& e) {
  std::fprintf(stderr, "attached_echo: %s: %s\n", what, e.message().c_str());
  return 1;
}

// Reads exactly `n` bytes (blocking socks).
result<std::string> read_exactly(client::app& app, client::sock s, std::size_t n) {
  std::string got(n, '\0');
  for (std::size_t at = 0; at < n;) {
    auto r = app.read(s, std::as_writable_bytes(std::span{got}).subspan(at));
    if (!r) return unexpected{r.error()};
    if (*r == 0) return unexpected{errc::disconnected, "end of stream before the whole echo"};
    at += *r;
  }
  return got;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: attached_echo SOCKET [ct://IP/PORT]\n"), 2;
  const std::string uri = argc > 2 ? argv[2] : "ct://127.0.0.1/9100";
  auto server = client::app::attach({.socket_path = argv[1], .name = "echo-server"});
  if (!server) return fail("attach", server.error());
  auto listener = (*server)->listen(uri);
  if (!listener) return fail("listen", listener.error());
  // An app belongs to one thread: the server's runs here.
  std::thread serving([&] {
    auto& a = **server;
    auto s = a.accept(*listener);
    if (!s) return (void)fail("accept", s.error());
    char buf[4096];
    for (;;) {  // echo until the client closes
      auto n = a.read(*s, std::as_writable_bytes(std::span{buf}));
      if (!n || *n == 0 || !a.write(*s, std::as_bytes(std::span{buf, *n}))) break;
    }
    (void)a.close(*s);
  });

  auto app = client::app::attach({.socket_path = argv[1], .name = "echo-client"});
  if (!app) return serving.join(), fail("attach", app.error());
  auto& a = **app;
  auto s = a.connect(uri);
  if (!s) return serving.join(), fail("connect", s.error());
  const std::string line = "hello through actorstack-stackd";
  auto w = a.write(*s, std::as_bytes(std::span{line}));
  auto echoed = w ? read_exactly(a, *s, line.size()) : result<std::string>{unexpected{w.error()}};
  (void)a.close(*s);
  serving.join();
  if (!echoed) return fail("echo", echoed.error());
  std::printf("echoed: %s\n", echoed->c_str());
  return *echoed == line && a.detach() && (*server)->detach() ? 0 : 1;
}
