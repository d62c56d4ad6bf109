// Every type that crosses a process boundary (an attached app and its
// gateway, actorstack-ctl and the inspector) survives CAF's binary
// serializer with every field intact. The round trip goes through a
// type-erased caf::message, so it exercises the serialization code this
// binary actually links: a header that marks a wire type as an "unsafe"
// (local-only) message type silently turns its save/load into no-ops for
// every file that includes it, and the linker may keep that copy (remote
// listens once all arrived as ct://0.0.0.0/0 that way).

#include "actors/caf_error.hpp"
#include "actors/inspect_service.hpp"
#include "actors/remote/remote_gateway.hpp"
#include "actors/session_worker.hpp"
#include "actors/stack_root.hpp"

#include "actors/messages.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace actorstack;

namespace {

// No header may declare a wire type local-only.
static_assert(!caf::allowed_unsafe_message_type<endpoint>::value);
static_assert(!caf::allowed_unsafe_message_type<ip_address>::value);
static_assert(!caf::allowed_unsafe_message_type<session_handle>::value);
static_assert(!caf::allowed_unsafe_message_type<segment_info>::value);
static_assert(!caf::allowed_unsafe_message_type<app_notification>::value);

struct wire {
  wire() {
    add_actorstack_types(cfg);
    sys.emplace(cfg);
  }
  // Serializes `msg` and reads it back as a new message.
  caf::message round_trip(const caf::message& msg) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys->dummy_execution_unit(), buf};
    auto err = sink(const_cast<caf::message&>(msg));
    REQUIRE_MESSAGE(!err, sys->render(err));
    caf::message out;
    caf::binary_deserializer source{sys->dummy_execution_unit(), buf};
    err = source(out);
    REQUIRE_MESSAGE(!err, sys->render(err));
    REQUIRE(out.size() == msg.size());
    return out;
  }
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
};

endpoint ep(const char* uri) {
  auto e = parse_uri(uri);
  REQUIRE(e);
  return *e;
}

}  // namespace

TEST_CASE("wire: endpoints of every protocol and family round-trip through CAF's serialisation") {
  wire w;
  for (const char* uri : {"ct://127.0.0.1/7001", "udp://10.1.2.3/53", "tcp://[2001:db8::7]/65535",
                          "ct://0.0.0.0/0", "udp://[::1]/1"}) {
    CAPTURE(uri);
    const endpoint in = ep(uri);
    auto out = w.round_trip(caf::make_message(listen_atom_v, in));
    REQUIRE(out.match_elements<listen_atom, endpoint>());
    CHECK(out.get_as<endpoint>(1) == in);
    CHECK(out.get_as<endpoint>(1).to_string() == uri);
    auto c = w.round_trip(caf::make_message(connect_atom_v, in, std::uint64_t{0xfeedbeef}, std::uint16_t{40000}));
    REQUIRE(c.match_elements<connect_atom, endpoint, std::uint64_t, std::uint16_t>());
    CHECK(c.get_as<endpoint>(1) == in);
    CHECK(c.get_as<std::uint64_t>(2) == 0xfeedbeef);
    CHECK(c.get_as<std::uint16_t>(3) == 40000);
  }
}

TEST_CASE("wire: session handles and segment infos round-trip field by field") {
  wire w;
  const session_handle h{3, 0x123456, 0xabcdef};
  auto m = w.round_trip(caf::make_message(close_atom_v, h));
  REQUIRE(m.match_elements<close_atom, session_handle>());
  CHECK(m.get_as<session_handle>(1) == h);

  segment_info seg{0x0000000700000002, "actorstack-ct-7-2", 1u << 22, 9, 0x7f0012340000};
  auto s = w.round_trip(caf::make_message(seg));
  const auto& sg = s.get_as<segment_info>(0);
  CHECK(sg.id == seg.id);
  CHECK(sg.name == seg.name);
  CHECK(sg.size == seg.size);
  CHECK(sg.fd == seg.fd);
  CHECK(sg.base == 0);  // a mapping address means nothing in another process

}

TEST_CASE("wire: a notification to a remote app round-trips every serialised field, alone and in a batch") {
  wire w;
  app_notification n;
  n.kind = notification::fifo_tuning;
  n.handle = session_handle{1, 77, 3};
  n.other = session_handle{0, 5, 1};
  n.app_worker = 12;
  n.proto = transport_proto::udp;
  n.opaque = 0x0102030405060708;
  n.err = errc::refused;
  n.side = fifo_side::tx;
  n.action = fifo_action::dequeued;
  n.length = 65537;
  n.segment = {42, "seg", 1u << 20, 7, 0};
  n.fifo_segment = 42;
  n.rx_offset = 4096;
  n.tx_offset = 8192;
  auto check = [&](const app_notification& o) {
    CHECK(o.kind == n.kind);
    CHECK(o.handle == n.handle);
    CHECK(o.other == n.other);
    CHECK(o.app_worker == n.app_worker);
    CHECK(o.proto == n.proto);
    CHECK(o.opaque == n.opaque);
    CHECK(o.err == n.err);
    CHECK(o.side == n.side);
    CHECK(o.action == n.action);
    CHECK(o.length == n.length);
    CHECK(o.segment.id == n.segment.id);
    CHECK(o.segment.name == n.segment.name);
    CHECK(o.segment.size == n.segment.size);
    CHECK(o.segment.fd == n.segment.fd);
    CHECK(o.fifo_segment == n.fifo_segment);
    CHECK(o.rx_offset == n.rx_offset);
    CHECK(o.tx_offset == n.tx_offset);
  };
  auto one = w.round_trip(caf::make_message(notify_atom_v, n));
  REQUIRE(one.match_elements<notify_atom, app_notification>());
  check(one.get_as<app_notification>(1));
}

TEST_CASE("wire: the gateway's session requests and the inspector's show request round-trip") {
  wire w;
  const session_handle h{2, 9, 4};
  auto a = w.round_trip(caf::make_message(accept_atom_v, h, true));
  REQUIRE(a.match_elements<accept_atom, session_handle, bool>());
  CHECK(a.get_as<session_handle>(1) == h);
  CHECK(a.get_as<bool>(2));
  auto c = w.round_trip(caf::make_message(connected_atom_v, h, false));
  REQUIRE(c.match_elements<connected_atom, session_handle, bool>());
  CHECK(c.get_as<session_handle>(1) == h);
  CHECK(!c.get_as<bool>(2));
  for (auto msg : {caf::make_message(tx_atom_v, h), caf::make_message(app_rx_atom_v, h),
                   caf::make_message(rx_notify_atom_v, h), caf::make_message(reset_atom_v, h),
                   caf::make_message(close_atom_v, h)}) {
    auto o = w.round_trip(msg);
    CHECK(o.get_as<session_handle>(1) == h);
  }
  auto show = w.round_trip(caf::make_message(show_atom_v, std::string{"sessions"}, std::string{"--json"}));
  REQUIRE(show.match_elements<show_atom, std::string, std::string>());
  CHECK(show.get_as<std::string>(1) == "sessions");
  CHECK(show.get_as<std::string>(2) == "--json");
}

TEST_CASE("wire: a stack error keeps its errc, detail and errno across processes, and text is never parsed for a code") {
  wire w;
  auto out = w.round_trip(caf::make_message(to_caf(error{errc::segment_alloc, 12, "segment exhausted"})));
  REQUIRE(out.match_elements<caf::error>());
  const error e = from_caf(*w.sys, out.get_as<caf::error>(0));
  CHECK(e.code == errc::segment_alloc);
  CHECK(e.sys_errno == 12);
  REQUIRE(e.detail != nullptr);
  CHECK(std::string{e.detail} == "segment exhausted");
  CHECK(w.sys->render(out.get_as<caf::error>(0)) == "segment_alloc: segment exhausted");
  // Whatever a foreign error's text says, it is not one of ours.
  CHECK(from_caf(*w.sys, caf::make_error(caf::sec::invalid_argument, "no_route: looks typed")).code ==
        errc::invalid_argument);
  // A code past the vocabulary (a newer or hostile peer) is a bad message.
  CHECK(from_caf(*w.sys, caf::error{250, error_category}).code == errc::bad_message);
  CHECK(from_caf(*w.sys, caf::error{static_cast<std::uint8_t>(errc::no_route), error_category}).code ==
        errc::no_route);
}
