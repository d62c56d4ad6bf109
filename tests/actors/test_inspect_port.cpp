// The plain inspect port (actors/remote/inspect_port_server.hpp): the
// stack's own show records over TCP, and every kind of bad input it must
// survive; the stream records it speaks (actors/remote/stream_records.hpp).
#include "stack_fixture.hpp"

#include "actors/remote/app_protocol.hpp"
#include "actors/remote/stream_records.hpp"

#include <actorstack/client.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;
using namespace stack_test;
using namespace std::chrono_literals;
namespace proto = actorstack::app_protocol;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span{s.data(), s.size()});
  return {b.begin(), b.end()};
}

// A raw TCP connection to the inspect port, as any local process has one.
struct raw_peer {
  int fd = -1;
  explicit raw_peer(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
  }
  ~raw_peer() { ::close(fd); }
  void send(std::span<const std::byte> b) { REQUIRE(::send(fd, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size())); }
  void send_record(proto::record type, std::span<const std::byte> payload) {
    send(proto::frame(static_cast<std::uint32_t>(type), payload));
  }
  // The next record, or nothing when the stack closed the connection (or
  // said nothing for 5 s).
  std::optional<proto::stream_record> next() {
    std::array<std::byte, 4096> buf{};
    const auto end = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      auto r = reader.next();
      REQUIRE(r);
      if (r->has_value()) return std::move(**r);
      pollfd p{fd, POLLIN, 0};
      if (std::chrono::steady_clock::now() > end || ::poll(&p, 1, 100) < 0) return std::nullopt;
      if (p.revents == 0) continue;
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) return std::nullopt;
      reader.feed(std::span{buf.data(), static_cast<std::size_t>(n)});
    }
  }
  // The stack closed the connection (after whatever it still sent).
  bool closed() {
    while (auto r = next()) {
    }
    std::byte b{};
    return ::recv(fd, &b, 1, MSG_DONTWAIT) == 0;
  }
  std::string error_text() {
    auto r = next();
    if (!r || r->type != static_cast<std::uint32_t>(proto::record::error)) return {};
    return {reinterpret_cast<const char*>(r->payload.data()), r->payload.size()};
  }
  proto::stream_reader reader;
};

struct inspected_stack {
  std::unique_ptr<stack> st;
  std::uint16_t port = 0;
  inspected_stack() {
    auto made = stack::create(small_config());
    REQUIRE(made);
    st = std::move(*made);
    auto p = st->publish_inspector(0);
    REQUIRE(p);
    port = *p;
  }
  // The port still answers (a fresh connection).
  bool answers() {
    auto v = client::show_at("127.0.0.1", port, "summary");
    return v.has_value() && !v->empty();
  }
};

}  // namespace

TEST_CASE("inspect port: actorstack-ctl's show over the plain port answers like the stack, a view longer than one record comes whole, and an unknown topic is refused") {
  inspected_stack s;
  events ev;
  std::vector<std::unique_ptr<application>> apps;
  for (int i = 0; i < 40; ++i) {
    auto a = s.st->attach({.name = "inspected-app-with-a-long-name-" + std::to_string(i)},
                          [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
    REQUIRE(a);
    REQUIRE((*a)->listen(*parse_uri("ct://127.0.0.1/" + std::to_string(7600 + i))));
    apps.push_back(std::move(*a));
  }
  auto local = s.st->show("listeners", {"--json"});
  REQUIRE(local);
  REQUIRE(local->size() > proto::shown_chunk_bytes);  // more than one chunk
  auto remote = client::show_at("127.0.0.1", s.port, "listeners", "--json");
  REQUIRE_MESSAGE(remote, remote.error().message());
  CHECK(*remote == *local);
  auto bad = client::show_at("127.0.0.1", s.port, "no-such-topic");
  REQUIRE_FALSE(bad);
  CHECK(bad.code() == errc::invalid_argument);
  // A second publish is refused; the first goes on.
  CHECK(s.st->publish_inspector(0).code() == errc::invalid_argument);
  CHECK(s.answers());
  // Nothing listens on a port without one.
  CHECK(client::show_at("127.0.0.1", 1, "summary").code() == errc::refused);
}

TEST_CASE("inspect port: bad input by name (a length past the largest record, a record other than show, a malformed show, HTTP, CAF's handshake, a half header then a hang-up) closes that connection with an error and the port goes on") {
  inspected_stack s;
  SUBCASE("a header that claims 1 MiB") {
    raw_peer p{s.port};
    std::vector<std::byte> h(8);
    h[0] = std::byte{22};
    h[6] = std::byte{0x10};  // length 0x00100000
    p.send(h);
    CHECK(p.error_text().find("a length past the largest record") != std::string::npos);
    CHECK(p.closed());
  }
  SUBCASE("an attach record (the Unix socket's, not the port's)") {
    raw_peer p{s.port};
    p.send_record(proto::record::attach, proto::encode(proto::attach_request{.name = "sneak"}));
    CHECK(p.error_text().find("show records only") != std::string::npos);
    CHECK(p.closed());
  }
  SUBCASE("a show whose payload is cut short") {
    raw_peer p{s.port};
    auto payload = proto::encode(proto::show_request{7, "summary", ""});
    payload.resize(payload.size() - 3);
    p.send_record(proto::record::show, payload);
    CHECK(p.error_text().find("bad_message") != std::string::npos);
    CHECK(p.closed());
  }
  SUBCASE("an HTTP request") {
    raw_peer p{s.port};
    p.send(bytes_of("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    CHECK(p.error_text().find("bad_message") != std::string::npos);
    CHECK(p.closed());
  }
  SUBCASE("CAF's middleman handshake (what the port used to be)") {
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    caf::actor_system other{cfg};
    auto svc = other.middleman().remote_actor<caf::actor>("127.0.0.1", s.port);
    CHECK_FALSE(svc);  // no CAF there
  }
  SUBCASE("half a header, then a hang-up") {
    {
      raw_peer p{s.port};
      p.send(bytes_of("\x16\0\0"));
    }
  }
  CHECK(s.answers());
  // And an honest show on a connection of its own, raw.
  raw_peer p{s.port};
  p.send_record(proto::record::show, proto::encode(proto::show_request{9, "workers", ""}));
  auto r = p.next();
  REQUIRE(r);
  CHECK(r->type == static_cast<std::uint32_t>(proto::record::shown));
}

TEST_CASE("inspect port: more than 100 shows a second on one connection are refused with quota (the connection stays), and past 16 connections a new one is turned away") {
  inspected_stack s;
  {
    raw_peer p{s.port};
    for (std::uint64_t i = 1; i <= 50; ++i)
      p.send_record(proto::record::show, proto::encode(proto::show_request{i, "summary", ""}));
    std::size_t shown = 0, refused = 0;
    for (std::uint64_t got = 0; got < 50;) {
      auto r = p.next();
      REQUIRE(r);
      if (r->type == static_cast<std::uint32_t>(proto::record::answer)) {
        auto a = proto::decode_answer(r->payload);
        REQUIRE(a);
        CHECK(a->code == errc::quota);
        ++refused, ++got;
      } else if (r->type == static_cast<std::uint32_t>(proto::record::shown)) {
        auto c = proto::decode_shown(r->payload);
        REQUIRE(c);
        if (c->last) ++shown, ++got;
      }
    }
    CHECK(shown >= 1);
    CHECK(refused >= 1);  // 50 at once cannot all be 10 ms apart
  }
  {
    std::vector<std::unique_ptr<raw_peer>> held;
    for (int i = 0; i < 16; ++i) held.push_back(std::make_unique<raw_peer>(s.port));  // max_connections
    // Make sure the server took all of them before the next.
    for (auto& h : held) {
      h->send_record(proto::record::show, proto::encode(proto::show_request{1, "summary", ""}));
      REQUIRE(h->next().has_value());
    }
    raw_peer extra{s.port};
    CHECK(extra.error_text().find("too many inspect connections") != std::string::npos);
    CHECK(extra.closed());
  }
  // Once they are gone, the port takes connections again.
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    back = s.answers();
    if (!back) std::this_thread::sleep_for(20ms);
  }
  CHECK(back);
}

TEST_CASE("stream records: a record split anywhere comes whole, several in one read come one by one, and a length past the largest record breaks the stream") {
  const auto a = proto::frame(22, bytes_of("first"));
  const auto b = proto::frame(9, bytes_of(""));
  std::vector<std::byte> all = a;
  all.insert(all.end(), b.begin(), b.end());
  for (std::size_t split = 0; split <= all.size(); ++split) {
    proto::stream_reader r;
    r.feed(std::span{all}.first(split));
    std::vector<proto::stream_record> got;
    for (;;) {
      auto x = r.next();
      REQUIRE(x);
      if (!x->has_value()) break;
      got.push_back(std::move(**x));
    }
    r.feed(std::span{all}.subspan(split));
    for (;;) {
      auto x = r.next();
      REQUIRE(x);
      if (!x->has_value()) break;
      got.push_back(std::move(**x));
    }
    REQUIRE(got.size() == 2);
    CHECK(got[0].type == 22);
    CHECK(got[0].payload == bytes_of("first"));
    CHECK(got[1].type == 9);
    CHECK(got[1].payload.empty());
    CHECK(r.buffered() == 0);
  }
  proto::stream_reader r;
  std::vector<std::byte> huge(8);
  huge[4] = std::byte{0x01};
  huge[5] = std::byte{0x20};  // 8193: one past max_stream_payload
  r.feed(huge);
  CHECK(r.next().code() == errc::bad_message);
  r.feed(a);  // nothing more is taken from a broken stream
  CHECK(r.next().code() == errc::bad_message);
}
