// Endpoints and URIs, the session lookup tables (local per namespace,
// global), session rules, and the connect decision of SPEC §6. Every
// outcome of `resolve_connect` has its own case, named after the SPEC rule.

#include "session/lookup/session_tables.hpp"

#include <actorstack/endpoint.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

using namespace actorstack;
using namespace actorstack::lookup;

namespace {

endpoint ep(std::string_view uri) {
  auto r = parse_uri(uri);
  REQUIRE_MESSAGE(r.has_value(), std::string{uri});
  return *r;
}

ip_address ip(std::string_view text) {
  auto r = ip_address::parse(text);
  REQUIRE_MESSAGE(r.has_value(), std::string{text});
  return *r;
}

endpoint_prefix prefix(transport_proto proto, std::string_view addr, std::uint8_t length,
                       std::uint16_t port = 0) {
  return endpoint_prefix{proto, ip(addr), length, port};
}

session_rule drop(endpoint_prefix p) { return {p, session_rule::action::drop, 0}; }
session_rule forward(endpoint_prefix p, std::uint32_t app) {
  return {p, session_rule::action::forward, app};
}

// A listener of application `app`; the session index is the app index
// times ten plus `n`, so a test can tell two listeners of one app apart.
listener_ref listener(std::uint32_t app, std::uint32_t n = 0) {
  return listener_ref{session_handle{0, app * 10 + n, 1}, app};
}

// The error detail of a failed parse, for checking it names the bad part.
template <class R>
std::string detail_of(const R& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error().detail ? r.error().detail : "";
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A stand-in for a CAF inspector: counts the fields it is handed, so a
// member added without being serialised is caught here, not on the wire.
struct field_counter {
  using result_type = int;
  template <class... Ts>
  int operator()(Ts&...) {
    return static_cast<int>(sizeof...(Ts));
  }
};

constexpr std::uint32_t ns0 = 0;
constexpr std::uint32_t client = 1;  // the connecting app in connect cases
constexpr std::uint32_t other = 2;   // some other app on the same stack
constexpr std::uint32_t third = 3;

}  // namespace

// ---- endpoints and URIs ----------------------------------------------------------

TEST_CASE("endpoint: parse_uri accepts every protocol, IPv4 and IPv6 (bracketed or not)") {
  endpoint a = ep("ct://127.0.0.1/1234");
  CHECK(a.proto == transport_proto::ct);
  CHECK(a.ip.is_v4());
  CHECK(a.ip.v4_host_order() == 0x7f000001u);
  CHECK(a.port == 1234);

  endpoint b = ep("udp://[::1]/53");
  CHECK(b.proto == transport_proto::udp);
  CHECK_FALSE(b.ip.is_v4());
  CHECK(b.ip.is_loopback());
  CHECK(b.port == 53);

  CHECK(ep("udp://::1/53") == b);  // brackets are optional for IPv6
  CHECK(ep("tcp://10.1.2.3/0").port == 0);
  CHECK(ep("tcp://10.1.2.3/65535").port == 65535);
  CHECK(ep("tcp://[2001:db8::7]/8080").ip == ip("2001:db8::7"));
}

TEST_CASE("endpoint: parse_uri rejects each malformed part with a clear detail") {
  struct bad_case {
    const char* uri;
    const char* names;  // text the error detail must contain
  };
  const bad_case cases[] = {
      {"", "missing '://'"},
      {"127.0.0.1/80", "missing '://'"},
      {"tcp:/127.0.0.1/80", "missing '://'"},
      {"://127.0.0.1/80", "missing protocol"},
      {"sctp://127.0.0.1/80", "unknown protocol 'sctp'"},
      {"TCP://127.0.0.1/80", "unknown protocol 'TCP'"},
      {"tcp:///80", "missing IP address"},
      {"tcp://", "missing IP address"},
      {"tcp://[]/80", "missing IP address"},
      {"tcp://300.0.0.1/80", "bad IP address '300.0.0.1'"},
      {"tcp://localhost/80", "bad IP address 'localhost'"},
      {"tcp://1.2.3/80", "bad IP address"},
      {"tcp://[::1/80", "unclosed '['"},
      {"tcp://[10.0.0.1]/80", "only for IPv6"},
      {"tcp://[::1]:80", "expected '/' after the address"},
      {"tcp://10.0.0.1", "missing '/PORT'"},
      {"tcp://10.0.0.1/", "missing port"},
      {"tcp://10.0.0.1/http", "is not a number"},
      {"tcp://10.0.0.1/-1", "is not a number"},
      {"tcp://10.0.0.1/+80", "is not a number"},
      {"tcp://10.0.0.1/ 80", "is not a number"},
      {"tcp://10.0.0.1/65536", "out of range"},
      {"tcp://10.0.0.1/99999999999999999999", "out of range"},
      {"tcp://10.0.0.1/80x", "trailing characters 'x'"},
      {"tcp://10.0.0.1/80/", "trailing characters '/'"},
      {"tcp://[::1]/53 ", "trailing characters ' '"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.uri);
    auto r = parse_uri(c.uri);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.code() == errc::invalid_argument);
    const std::string detail = detail_of(r);
    CHECK_MESSAGE(contains(detail, c.names), detail);
    CHECK_MESSAGE(contains(detail, "bad URI"), detail);
  }
  // An embedded NUL must not let inet_pton accept a prefix of the text.
  CHECK(parse_uri(std::string_view{"tcp://1.2.3.4\0x/80", 18}).code() == errc::invalid_argument);
  // Huge garbage is quoted truncated, so one error cannot pin megabytes.
  const std::string huge = "tcp://" + std::string(100000, 'a') + "/80";
  CHECK(detail_of(parse_uri(huge)).size() < 600);
}

TEST_CASE("endpoint: transport_proto names round trip") {
  for (auto p : {transport_proto::ct, transport_proto::udp, transport_proto::tcp}) {
    auto back = parse_transport_proto(to_string(p));
    REQUIRE(back.has_value());
    CHECK(*back == p);
  }
  auto bad = parse_transport_proto("quic");
  CHECK(bad.code() == errc::invalid_argument);
  CHECK(contains(detail_of(bad), "'quic'"));
}

TEST_CASE("endpoint: ip_address v4, v6, any, loopback") {
  ip_address v4 = ip("192.168.1.20");
  CHECK(v4.is_v4());
  CHECK(v4.bit_length() == 32);
  CHECK(v4 == ip_address::v4(0xc0a80114u));
  CHECK(v4.to_string() == "192.168.1.20");
  CHECK_FALSE(v4.is_any());
  CHECK_FALSE(v4.is_loopback());

  ip_address v6 = ip("2001:db8::1");
  CHECK_FALSE(v6.is_v4());
  CHECK(v6.bit_length() == 128);
  CHECK(v6.to_string() == "2001:db8::1");
  CHECK(v6.v4_host_order() == 0);
  CHECK_FALSE(v6.is_any());
  CHECK_FALSE(v6.is_loopback());

  CHECK(ip("0.0.0.0").is_any());
  CHECK(ip_address{}.is_any());
  CHECK(ip("::").is_any());
  CHECK(ip_address::any(ip_address::family::v6) == ip("::"));
  CHECK(ip("0.0.0.0") != ip("::"));  // families differ

  CHECK(ip("127.0.0.1").is_loopback());
  CHECK(ip("127.255.3.4").is_loopback());
  CHECK_FALSE(ip("128.0.0.1").is_loopback());
  CHECK(ip("::1").is_loopback());
  CHECK(ip("::ffff:127.0.0.1").is_loopback());
  CHECK_FALSE(ip("::2").is_loopback());
  CHECK_FALSE(ip("::ffff:10.0.0.1").is_loopback());
  CHECK_FALSE(ip("::1").is_any());

  CHECK(ip_address::parse("1.2.3.4.5").code() == errc::invalid_argument);
  CHECK(ip_address::parse("").code() == errc::invalid_argument);
  CHECK(ip_address::parse("fe80::1%eth0").code() == errc::invalid_argument);

  // Ordering: all IPv4 before IPv6, then numerically by bytes.
  CHECK(ip("10.0.0.1") < ip("10.0.0.2"));
  CHECK(ip("255.255.255.255") < ip("::"));
}

TEST_CASE("endpoint: ip_address masking keeps exactly the prefix bits") {
  CHECK(ip("10.1.2.3").masked(8) == ip("10.0.0.0"));
  CHECK(ip("10.255.2.3").masked(12) == ip("10.240.0.0"));
  CHECK(ip("10.1.2.3").masked(0) == ip("0.0.0.0"));
  CHECK(ip("10.1.2.3").masked(32) == ip("10.1.2.3"));
  CHECK(ip("10.1.2.3").masked(99) == ip("10.1.2.3"));
  CHECK(ip("2001:db8:ffff::1").masked(36) == ip("2001:db8:f000::"));
  CHECK(ip("2001:db8::1").masked(128) == ip("2001:db8::1"));
}

TEST_CASE("endpoint: to_string and parse_uri round trip, equal endpoints hash equal") {
  for (const char* uri : {"ct://127.0.0.1/1234", "udp://[::1]/53", "tcp://10.0.0.1/0",
                          "tcp://[2001:db8::1]/65535", "udp://0.0.0.0/9", "ct://[::]/1"}) {
    CAPTURE(uri);
    endpoint e = ep(uri);
    CHECK(e.to_string() == uri);
    CHECK(ep(e.to_string()) == e);
  }
  CHECK(ep("udp://::1/53").to_string() == "udp://[::1]/53");

  std::hash<endpoint> h;
  CHECK(h(ep("udp://10.0.0.1/53")) == h(ep("udp://10.0.0.1/53")));
  std::unordered_set<endpoint> set{ep("udp://10.0.0.1/53"), ep("tcp://10.0.0.1/53"),
                                   ep("udp://10.0.0.1/54"), ep("udp://10.0.0.2/53"),
                                   ep("udp://[::a00:1]/53")};
  CHECK(set.size() == 5);
  CHECK(set.contains(ep("udp://10.0.0.1/53")));
  CHECK(ep("udp://10.0.0.1/53") != ep("tcp://10.0.0.1/53"));
}

TEST_CASE("endpoint: inspect visits every field") {
  field_counter f;
  endpoint e = ep("tcp://10.0.0.1/80");
  CHECK(inspect(f, e) == 3);
  CHECK(inspect(f, e.ip) == 2);
  endpoint_prefix p = prefix(transport_proto::tcp, "10.0.0.0", 8);
  CHECK(inspect(f, p) == 4);
  session_rule r = drop(p);
  CHECK(inspect(f, r) == 3);
  listener_ref l = listener(1);
  CHECK(inspect(f, l) == 2);
  scope_flags s;
  CHECK(inspect(f, s) == 2);
}

// ---- listeners ---------------------------------------------------------------------

TEST_CASE("lookup: listeners are added, found and deleted per scope") {
  session_tables t;
  const endpoint local_ep = ep("tcp://10.0.0.1/80");
  const endpoint global_ep = ep("tcp://10.0.0.1/443");
  const endpoint both_ep = ep("udp://10.0.0.1/53");
  REQUIRE(t.add_listener(ns0, local_ep, listener(other), scope_flags::local_only()));
  REQUIRE(t.add_listener(ns0, global_ep, listener(other, 1), scope_flags::global_only()));
  REQUIRE(t.add_listener(ns0, both_ep, listener(third), scope_flags::both()));

  CHECK(t.find_listener(ns0, local_ep, scope_flags::local_only()) == listener(other));
  CHECK_FALSE(t.find_listener(ns0, local_ep, scope_flags::global_only()));
  CHECK(t.find_listener(ns0, global_ep, scope_flags::global_only()) == listener(other, 1));
  CHECK_FALSE(t.find_listener(ns0, global_ep, scope_flags::local_only()));
  CHECK(t.find_listener(ns0, both_ep, scope_flags::local_only()) == listener(third));
  CHECK(t.find_listener(ns0, both_ep, scope_flags::global_only()) == listener(third));
  CHECK_FALSE(t.find_listener(ns0, both_ep, scope_flags::none()));
  CHECK_FALSE(t.find_listener(ns0, ep("tcp://10.0.0.1/81"), scope_flags::both()));

  auto c = t.counts();
  CHECK(c.namespaces == 1);
  CHECK(c.local_listeners == 2);
  CHECK(c.global_listeners == 2);

  REQUIRE(t.del_listener(ns0, both_ep, scope_flags::global_only()));
  CHECK(t.find_listener(ns0, both_ep, scope_flags::local_only()) == listener(third));
  CHECK_FALSE(t.find_listener(ns0, both_ep, scope_flags::global_only()));
  REQUIRE(t.del_listener(ns0, both_ep, scope_flags::local_only()));
  REQUIRE(t.del_listener(ns0, local_ep, scope_flags::local_only()));
  REQUIRE(t.del_listener(ns0, global_ep, scope_flags::global_only()));
  c = t.counts();
  CHECK(c.local_listeners == 0);
  CHECK(c.global_listeners == 0);
}

TEST_CASE("lookup: a duplicate listener is already_listening and registers nothing") {
  session_tables t;
  const endpoint e = ep("tcp://10.0.0.1/80");
  REQUIRE(t.add_listener(ns0, e, listener(other), scope_flags::global_only()));

  CHECK(t.add_listener(ns0, e, listener(third), scope_flags::global_only()).code() ==
        errc::already_listening);
  // Both or neither: the global duplicate keeps the local half out too.
  CHECK(t.add_listener(ns0, e, listener(third), scope_flags::both()).code() ==
        errc::already_listening);
  CHECK_FALSE(t.find_listener(ns0, e, scope_flags::local_only()));
  CHECK(t.counts().local_listeners == 0);

  // A different table is a different registration.
  CHECK(t.add_listener(ns0, e, listener(third), scope_flags::local_only()));
  CHECK(t.add_listener(ns0, e, listener(other), scope_flags::local_only()).code() ==
        errc::already_listening);
  // Another namespace's local table is separate; the global table is not.
  CHECK(t.add_listener(7, e, listener(other), scope_flags::local_only()));
  CHECK(t.add_listener(7, e, listener(other), scope_flags::global_only()).code() ==
        errc::already_listening);
  // Same address and port, other protocol: no conflict.
  CHECK(t.add_listener(ns0, ep("udp://10.0.0.1/80"), listener(other), scope_flags::both()));
}

TEST_CASE("lookup: del_listener of an absent listener is no_listener") {
  session_tables t;
  const endpoint e = ep("tcp://10.0.0.1/80");
  CHECK(t.del_listener(ns0, e, scope_flags::local_only()).code() == errc::no_listener);
  CHECK(t.del_listener(42, e, scope_flags::local_only()).code() == errc::no_listener);
  REQUIRE(t.add_listener(ns0, e, listener(other), scope_flags::local_only()));
  // Both or neither: the missing global entry keeps the local one in place.
  CHECK(t.del_listener(ns0, e, scope_flags::both()).code() == errc::no_listener);
  CHECK(t.find_listener(ns0, e, scope_flags::local_only()));
  // Deletion is exact: a wildcard does not delete a specific listener.
  CHECK(t.del_listener(ns0, ep("tcp://0.0.0.0/80"), scope_flags::local_only()).code() ==
        errc::no_listener);
  CHECK(t.del_listener(ns0, e, scope_flags::none()).code() == errc::invalid_argument);
  REQUIRE(t.del_listener(ns0, e, scope_flags::local_only()));
  CHECK(t.del_listener(ns0, e, scope_flags::local_only()).code() == errc::no_listener);
}

TEST_CASE("lookup: a wildcard address matches any address of its family, exact beats wildcard") {
  for (scope_flags scope : {scope_flags::local_only(), scope_flags::global_only()}) {
    CAPTURE(to_string(scope));
    session_tables t;
    REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(other), scope));
    REQUIRE(t.add_listener(ns0, ep("tcp://[::]/80"), listener(other, 6), scope));
    CHECK(t.find_listener(ns0, ep("tcp://10.9.8.7/80"), scope) == listener(other));
    CHECK(t.find_listener(ns0, ep("tcp://0.0.0.0/80"), scope) == listener(other));
    CHECK(t.find_listener(ns0, ep("tcp://[2001:db8::1]/80"), scope) == listener(other, 6));
    CHECK_FALSE(t.find_listener(ns0, ep("tcp://10.9.8.7/81"), scope));  // port must match
    CHECK_FALSE(t.find_listener(ns0, ep("udp://10.9.8.7/80"), scope));  // proto must match

    REQUIRE(t.add_listener(ns0, ep("tcp://10.9.8.7/80"), listener(third), scope));
    CHECK(t.find_listener(ns0, ep("tcp://10.9.8.7/80"), scope) == listener(third));
    CHECK(t.find_listener(ns0, ep("tcp://10.9.8.6/80"), scope) == listener(other));

    // IPv4 and IPv6 never match each other.
    session_tables v6only;
    REQUIRE(v6only.add_listener(ns0, ep("tcp://[::]/80"), listener(other), scope));
    CHECK_FALSE(v6only.find_listener(ns0, ep("tcp://10.0.0.1/80"), scope));
  }
}

TEST_CASE("lookup: the local table is searched before the global table") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(other), scope_flags::local_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(third), scope_flags::global_only()));
  // The local wildcard wins over the global exact match: tables are
  // consulted in scope order, exact-before-wildcard within each.
  CHECK(t.find_listener(ns0, ep("tcp://10.0.0.1/80"), scope_flags::both()) == listener(other));
  CHECK(t.find_listener(ns0, ep("tcp://10.0.0.1/80"), scope_flags::global_only()) ==
        listener(third));
}

TEST_CASE("lookup: ct listeners are local-scope only") {
  session_tables t;
  const endpoint e = ep("ct://127.0.0.1/1234");
  REQUIRE(t.add_listener(ns0, e, listener(other), scope_flags::both()));
  auto c = t.counts();
  CHECK(c.local_listeners == 1);
  CHECK(c.global_listeners == 0);  // the global flag is ignored for ct
  CHECK(t.find_listener(ns0, e, scope_flags::local_only()) == listener(other));
  CHECK_FALSE(t.find_listener(ns0, e, scope_flags::global_only()));

  CHECK(t.add_listener(ns0, ep("ct://127.0.0.1/99"), listener(other), scope_flags::global_only())
            .code() == errc::scope);
  CHECK(t.counts().local_listeners == 1);
  REQUIRE(t.del_listener(ns0, e, scope_flags::both()));  // symmetric with add
  CHECK(t.counts().local_listeners == 0);
}

TEST_CASE("lookup: scope none is invalid_argument") {
  session_tables t;
  auto r = t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::none());
  CHECK(r.code() == errc::invalid_argument);
  CHECK(t.counts().local_listeners + t.counts().global_listeners == 0);
}

TEST_CASE("lookup: namespaces have separate local tables, namespace 0 always exists") {
  session_tables t;
  CHECK(t.counts().namespaces == 1);
  CHECK(t.rules(0).empty());
  const endpoint e = ep("tcp://10.0.0.1/80");
  REQUIRE(t.add_listener(5, e, listener(other), scope_flags::local_only()));
  CHECK(t.counts().namespaces == 2);
  CHECK(t.find_listener(5, e, scope_flags::local_only()) == listener(other));
  CHECK_FALSE(t.find_listener(ns0, e, scope_flags::local_only()));
  CHECK_FALSE(t.find_listener(6, e, scope_flags::local_only()));  // unknown: empty, not created
  CHECK(t.counts().namespaces == 2);
}

TEST_CASE("lookup: listeners() lists one sorted row per listener with its scopes") {
  session_tables t;
  REQUIRE(t.add_listener(3, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::both()));
  REQUIRE(t.add_listener(ns0, ep("udp://10.0.0.1/53"), listener(third), scope_flags::global_only()));
  REQUIRE(t.add_listener(ns0, ep("ct://127.0.0.1/7"), listener(other, 1), scope_flags::both()));
  auto rows = t.listeners();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].ns == 0);
  CHECK(rows[0].local == ep("ct://127.0.0.1/7"));
  CHECK(rows[0].scope == scope_flags::local_only());
  CHECK(rows[1].ns == 0);
  CHECK(rows[1].local == ep("udp://10.0.0.1/53"));
  CHECK(rows[1].ref == listener(third));
  CHECK(rows[1].scope == scope_flags::global_only());
  CHECK(rows[2].ns == 3);
  CHECK(rows[2].local == ep("tcp://10.0.0.1/80"));
  CHECK(rows[2].ref == listener(other));
  CHECK(rows[2].scope == scope_flags::both());
}

// ---- session rules -------------------------------------------------------------------

TEST_CASE("lookup: session rules: longest prefix wins, then exact port over any port") {
  session_tables t;
  const auto tcp = transport_proto::tcp;
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "0.0.0.0", 0), 10)));
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "10.0.0.0", 8), 11)));
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "10.1.0.0", 16), 12)));
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "10.1.0.0", 16, 80), 13)));
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "10.0.0.0", 8, 443), 14)));

  auto app_of = [&](std::string_view uri) -> std::optional<std::uint32_t> {
    auto r = t.match_rule(ns0, ep(uri));
    return r ? std::optional{r->app_index} : std::nullopt;
  };
  CHECK(app_of("tcp://192.168.0.1/80") == 10u);  // only /0 matches
  CHECK(app_of("tcp://10.2.0.1/80") == 11u);     // /8
  CHECK(app_of("tcp://10.1.5.5/22") == 12u);     // /16 any port
  CHECK(app_of("tcp://10.1.5.5/80") == 13u);     // /16 exact port beats /16 any port
  CHECK(app_of("tcp://10.2.0.1/443") == 14u);    // /8 exact port beats /8 any port
  CHECK(app_of("tcp://10.1.5.5/443") == 12u);    // longer prefix beats exact port
  CHECK_FALSE(app_of("udp://10.1.5.5/80"));      // protocol must match
  CHECK_FALSE(app_of("tcp://[::1]/80"));         // family must match
  CHECK_FALSE(t.match_rule(9, ep("tcp://10.1.5.5/80")));  // rules are per namespace

  auto listed = t.rules(ns0);
  REQUIRE(listed.size() == 5);
  CHECK(listed[0].app_index == 13u);  // /16 port 80
  CHECK(listed[1].app_index == 12u);  // /16 any
  CHECK(listed[2].app_index == 14u);  // /8 port 443
  CHECK(listed[3].app_index == 11u);  // /8 any
  CHECK(listed[4].app_index == 10u);  // /0
  CHECK(t.counts().rules == 5);
}

TEST_CASE("lookup: add_rule replaces the rule of the same prefix, del_rule removes it") {
  session_tables t;
  const auto udp = transport_proto::udp;
  REQUIRE(t.add_rule(ns0, forward(prefix(udp, "10.9.9.9", 8, 53), other)));
  // Host bits are cleared: this is the same prefix, so it replaces.
  REQUIRE(t.add_rule(ns0, drop(prefix(udp, "10.0.0.0", 8, 53))));
  auto listed = t.rules(ns0);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].act == session_rule::action::drop);
  CHECK(listed[0].rmt == prefix(udp, "10.0.0.0", 8, 53));
  CHECK(listed[0].rmt.to_string() == "udp://10.0.0.0/8 port 53");

  CHECK(t.add_rule(ns0, drop(prefix(udp, "10.0.0.0", 33))).code() == errc::invalid_argument);
  CHECK(t.add_rule(ns0, drop(prefix(udp, "::", 129))).code() == errc::invalid_argument);
  CHECK(t.del_rule(ns0, prefix(udp, "10.0.0.0", 8, 54)).code() == errc::invalid_argument);
  CHECK(t.del_rule(ns0, prefix(udp, "10.0.0.0", 33)).code() == errc::invalid_argument);
  CHECK(t.del_rule(4, prefix(udp, "10.0.0.0", 8, 53)).code() == errc::invalid_argument);
  REQUIRE(t.del_rule(ns0, prefix(udp, "10.77.0.0", 8, 53)));  // host bits ignored here too
  CHECK(t.rules(ns0).empty());
  CHECK(t.counts().rules == 0);
  CHECK_FALSE(t.match_rule(ns0, ep("udp://10.0.0.1/53")));
}

TEST_CASE("lookup: IPv6 rules match by prefix like IPv4") {
  session_tables t;
  const auto tcp = transport_proto::tcp;
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "2001:db8::", 32), 20)));
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "2001:db8:1::", 48), 21)));
  REQUIRE(t.add_rule(ns0, forward(prefix(tcp, "2001:db8:1::5", 128, 80), 22)));
  CHECK(t.match_rule(ns0, ep("tcp://[2001:db8:2::1]/80"))->app_index == 20u);
  CHECK(t.match_rule(ns0, ep("tcp://[2001:db8:1::1]/80"))->app_index == 21u);
  CHECK(t.match_rule(ns0, ep("tcp://[2001:db8:1::5]/80"))->app_index == 22u);
  CHECK(t.match_rule(ns0, ep("tcp://[2001:db8:1::5]/81"))->app_index == 21u);
  CHECK_FALSE(t.match_rule(ns0, ep("tcp://[2001:db9::1]/80")));
  CHECK(prefix(tcp, "2001:db8::", 32).to_string() == "tcp://[2001:db8::]/32 port any");
}

TEST_CASE("lookup: rule matching agrees with a brute-force model") {
  // Random prefixes over a small address space so rules overlap a lot;
  // the model ranks every matching rule by (length, exact port).
  std::mt19937 rng{20240517};
  auto pick = [&](std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>{0, n - 1}(rng); };
  const transport_proto protos[] = {transport_proto::tcp, transport_proto::udp};
  for (int round = 0; round < 20; ++round) {
    session_tables t;
    std::vector<session_rule> model;
    for (int i = 0; i < 40; ++i) {
      endpoint_prefix p{protos[pick(2)], ip_address::v4(0x0a000000u | pick(16) << 20 | pick(16)),
                        static_cast<std::uint8_t>(pick(33)),
                        static_cast<std::uint16_t>(pick(3) == 0 ? 0 : 80 + pick(3))};
      session_rule r = forward(p, static_cast<std::uint32_t>(i));
      REQUIRE(t.add_rule(ns0, r));
      r.rmt.ip = r.rmt.ip.masked(r.rmt.length);
      std::erase_if(model, [&](const session_rule& m) { return m.rmt == r.rmt; });
      model.push_back(r);
    }
    CHECK(t.counts().rules == model.size());
    for (int q = 0; q < 200; ++q) {
      endpoint target{protos[pick(2)], ip_address::v4(0x0a000000u | pick(16) << 20 | pick(16)),
                      static_cast<std::uint16_t>(80 + pick(3))};
      const session_rule* best = nullptr;
      for (const auto& m : model) {
        if (!m.rmt.matches(target)) continue;
        auto rank = [](const session_rule& r) { return std::pair{r.rmt.length, r.rmt.port != 0}; };
        if (!best || rank(m) > rank(*best)) best = &m;
      }
      auto got = t.match_rule(ns0, target);
      CAPTURE(target.to_string());
      REQUIRE(got.has_value() == (best != nullptr));
      if (best) CHECK(*got == *best);
    }
  }
}

// ---- the connect decision (SPEC §6) ---------------------------------------------------------

TEST_CASE("SPEC 6 connect: drop rule yields filtered") {
  session_tables t;
  // Even with another app listening right there: rules come first.
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::both()));
  REQUIRE(t.add_rule(ns0, drop(prefix(transport_proto::tcp, "10.0.0.0", 24, 80))));
  auto r = t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80"));
  CHECK(r.code() == errc::filtered);
  // Outside the rule's prefix or port the listener is reached as usual.
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/81"), listener(other, 1), scope_flags::both()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/81")).value() ==
        listener(other, 1));
}

TEST_CASE("SPEC 6 connect: a more specific forward rule overrides a broader drop rule") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::local_only()));
  REQUIRE(t.add_rule(ns0, drop(prefix(transport_proto::tcp, "10.0.0.0", 8))));
  REQUIRE(t.add_rule(ns0, forward(prefix(transport_proto::tcp, "10.0.0.1", 32, 80), other)));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).value() ==
        listener(other));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.2/80")).code() ==
        errc::filtered);
}

TEST_CASE("SPEC 6 connect: local hit on another app cuts through") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("ct://127.0.0.1/1234"), listener(other), scope_flags::local_only()));
  auto r = t.resolve_connect(ns0, client, scope_flags::both(), ep("ct://127.0.0.1/1234"));
  REQUIRE(r.has_value());
  CHECK(*r == listener(other));
  // A local-scope-only client reaches it too: the local table is its scope.
  CHECK(t.resolve_connect(ns0, client, scope_flags::local_only(), ep("ct://127.0.0.1/1234"))
            .value() == listener(other));
  // A wildcard local listener catches any address.
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(third), scope_flags::local_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.4.4.4/80")).value() ==
        listener(third));
}

TEST_CASE("SPEC 6 connect: local hit on the connecting app itself goes to global scope") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(client), scope_flags::local_only()));
  // Global scope then decides: another app's global listener wins...
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::global_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).value() ==
        listener(other));
  // ...with nothing global it is local_connect (a real transport), never
  // the client's own listener...
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.2/80")).code() ==
        errc::local_connect);
  // ...and a loopback target has no route beyond the stack.
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://127.0.0.1/80")).code() ==
        errc::no_route);
  // The same listener is an ordinary local hit for any other app.
  CHECK(t.resolve_connect(ns0, third, scope_flags::both(), ep("tcp://10.0.0.2/80")).value() ==
        listener(client));
}

TEST_CASE("SPEC 6 connect: forward rule to another app's listener cuts through") {
  session_tables t;
  // A proxy (app `third`) listens on the wildcard; the rule sends the
  // 10.0.0.0/8 web traffic to it rather than to the exact listener.
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::local_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(third), scope_flags::global_only()));
  REQUIRE(t.add_rule(ns0, forward(prefix(transport_proto::tcp, "10.0.0.0", 8, 80), third)));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).value() ==
        listener(third));
}

TEST_CASE("SPEC 6 connect: forward rule back to the connecting app goes to global scope") {
  session_tables t;
  // The proxy itself connects to the real destination: its own rule must
  // not loop it into its own listener, nor into the local one.
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(client), scope_flags::local_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(third), scope_flags::local_only()));
  REQUIRE(t.add_rule(ns0, forward(prefix(transport_proto::tcp, "10.0.0.0", 8), client)));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).code() ==
        errc::local_connect);
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::global_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).value() ==
        listener(other));
}

TEST_CASE("SPEC 6 connect: forward rule to an app not listening on the target falls back to listeners") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(other), scope_flags::local_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/81"), listener(third), scope_flags::local_only()));
  REQUIRE(t.add_rule(ns0, forward(prefix(transport_proto::tcp, "10.0.0.0", 8), third)));
  // `third` listens on 81, not 80: the rule cannot apply to port 80.
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).value() ==
        listener(other));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/81")).value() ==
        listener(third));
}

TEST_CASE("SPEC 6 connect: no local entry goes to global scope") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("udp://10.0.0.1/53"), listener(other), scope_flags::global_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("udp://10.0.0.1/53")).value() ==
        listener(other));
  // A namespace with no table at all also goes to global scope.
  CHECK(t.resolve_connect(77, client, scope_flags::both(), ep("udp://10.0.0.1/53")).value() ==
        listener(other));
}

TEST_CASE("SPEC 6 connect: local-only target in global scope is no_route") {
  session_tables t;
  // Global listeners exist, but a loopback / wildcard / ct target is not
  // reachable beyond the stack, so the global scope never serves it.
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(other), scope_flags::global_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://[::]/80"), listener(other, 1), scope_flags::global_only()));
  for (const char* uri : {"tcp://127.0.0.1/80", "tcp://127.9.9.9/80", "tcp://0.0.0.0/80",
                          "tcp://[::1]/80", "tcp://[::]/80", "tcp://[::ffff:127.0.0.1]/80",
                          "ct://10.0.0.1/80", "ct://127.0.0.1/1234"}) {
    CAPTURE(uri);
    CHECK(is_local_only(ep(uri)));
    CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep(uri)).code() == errc::no_route);
    // no_route is decided before the scope check.
    CHECK(t.resolve_connect(ns0, client, scope_flags::local_only(), ep(uri)).code() ==
          errc::no_route);
  }
  CHECK_FALSE(is_local_only(ep("tcp://10.0.0.1/80")));
}

TEST_CASE("SPEC 6 connect: client without global scope gets scope error") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(other), scope_flags::global_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::local_only(), ep("tcp://10.0.0.1/80")).code() ==
        errc::scope);
  // No scope at all: nothing is consulted, and the global step refuses.
  CHECK(t.resolve_connect(ns0, client, scope_flags::none(), ep("tcp://10.0.0.1/80")).code() ==
        errc::scope);
}

TEST_CASE("SPEC 6 connect: client without local scope skips the local table and its rules") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(third), scope_flags::local_only()));
  REQUIRE(t.add_rule(ns0, drop(prefix(transport_proto::tcp, "10.0.0.0", 8))));
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(other), scope_flags::global_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::global_only(), ep("tcp://10.0.0.1/80")).value() ==
        listener(other));
}

TEST_CASE("SPEC 6 connect: rules and local listeners of another namespace do not apply") {
  session_tables t;
  REQUIRE(t.add_rule(4, drop(prefix(transport_proto::tcp, "0.0.0.0", 0))));
  REQUIRE(t.add_listener(4, ep("tcp://10.0.0.1/80"), listener(third), scope_flags::local_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).code() ==
        errc::local_connect);
  CHECK(t.resolve_connect(4, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).code() ==
        errc::filtered);
}

TEST_CASE("SPEC 6 connect: global wildcard listener of another app cuts through") {
  session_tables t;
  REQUIRE(t.add_listener(3, ep("tcp://0.0.0.0/8080"), listener(other), scope_flags::global_only()));
  // The global table is shared by every namespace.
  auto r = t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://192.168.7.7/8080"));
  REQUIRE(r.has_value());
  CHECK(*r == listener(other));
  CHECK(t.resolve_connect(ns0, client, scope_flags::global_only(), ep("tcp://10.0.0.1/8080"))
            .value() == listener(other));
}

TEST_CASE("SPEC 6 connect: global listener of the same app is local_connect") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(client), scope_flags::global_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).code() ==
        errc::local_connect);
  // The best match decides: the client's exact listener shadows another
  // app's wildcard, as it would on a real transport.
  REQUIRE(t.del_listener(ns0, ep("tcp://0.0.0.0/80"), scope_flags::global_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(other), scope_flags::global_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/80"), listener(client), scope_flags::global_only()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).code() ==
        errc::local_connect);
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.2/80")).value() ==
        listener(other));
}

TEST_CASE("SPEC 6 connect: nothing listening is local_connect") {
  session_tables t;
  auto r = t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80"));
  CHECK(r.code() == errc::local_connect);
  REQUIRE(r.error().detail != nullptr);
  // Listeners on other ports, protocols or families do not count.
  REQUIRE(t.add_listener(ns0, ep("tcp://10.0.0.1/81"), listener(other), scope_flags::both()));
  REQUIRE(t.add_listener(ns0, ep("udp://10.0.0.1/80"), listener(other, 1), scope_flags::both()));
  REQUIRE(t.add_listener(ns0, ep("tcp://[::]/80"), listener(other, 2), scope_flags::both()));
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).code() ==
        errc::local_connect);
}

TEST_CASE("lookup: del_app removes the app's listeners and forward rules, keeps drop rules") {
  session_tables t;
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(other), scope_flags::both()));
  REQUIRE(t.add_listener(5, ep("ct://127.0.0.1/9"), listener(other, 1), scope_flags::local_only()));
  REQUIRE(t.add_listener(ns0, ep("tcp://0.0.0.0/81"), listener(third), scope_flags::both()));
  REQUIRE(t.add_rule(ns0, forward(prefix(transport_proto::tcp, "10.0.0.0", 8, 80), other)));
  REQUIRE(t.add_rule(5, forward(prefix(transport_proto::tcp, "10.0.0.0", 16), other)));
  REQUIRE(t.add_rule(ns0, forward(prefix(transport_proto::tcp, "10.0.0.0", 8, 81), third)));
  REQUIRE(t.add_rule(ns0, session_rule{prefix(transport_proto::udp, "0.0.0.0", 0),
                                       session_rule::action::drop, other}));

  // 2 (both tables) + 1 (ns 5) listeners, 2 forward rules.
  CHECK(t.del_app(other) == 5);
  auto c = t.counts();
  CHECK(c.local_listeners == 1);
  CHECK(c.global_listeners == 1);
  CHECK(c.rules == 2);
  for (const auto& row : t.listeners()) CHECK(row.ref.app_index == third);
  auto rules = t.rules(ns0);
  REQUIRE(rules.size() == 2);
  CHECK(std::count_if(rules.begin(), rules.end(), [](const session_rule& r) {
          return r.act == session_rule::action::drop;
        }) == 1);
  CHECK(t.rules(5).empty());
  CHECK(t.resolve_connect(ns0, client, scope_flags::both(), ep("tcp://10.0.0.1/80")).code() ==
        errc::local_connect);
  CHECK(t.del_app(other) == 0);  // idempotent
  // The endpoints are free again.
  CHECK(t.add_listener(ns0, ep("tcp://0.0.0.0/80"), listener(client), scope_flags::both()));
}
