// A session's endpoints, packed (include/actorstack/packed_endpoints.hpp):
// whatever is stored comes back unchanged, packed or not.
#include <actorstack/packed_endpoints.hpp>

#include <doctest/doctest.h>

using namespace actorstack;

namespace {

endpoint ep(const char* uri) { return parse_uri(uri).value(); }

void check_round_trip(const endpoint_pair& in) {
  detail::packed_endpoint_pair p;
  p.assign(in);
  const endpoint_pair out = p.get();
  CHECK(out.local == in.local);
  CHECK(out.remote == in.remote);
}

}  // namespace

TEST_CASE("packed endpoints: 14 bytes, and nothing stored reads as two default endpoints") {
  static_assert(sizeof(detail::packed_endpoint_pair) == 14);
  detail::packed_endpoint_pair p;
  CHECK(p.get().local == endpoint{});
  CHECK(p.get().remote == endpoint{});
}

TEST_CASE("packed endpoints: IPv4 pairs of every protocol, ports 0 and 65535, come back unchanged") {
  check_round_trip({ep("tcp://10.0.0.1/80"), ep("tcp://10.0.0.2/54321")});
  check_round_trip({ep("udp://255.255.255.255/65535"), ep("udp://0.0.0.0/0")});
  check_round_trip({ep("ct://127.0.0.1/7"), ep("ct://127.0.0.1/49152")});
}

TEST_CASE("packed endpoints: IPv6, mixed families and two protocols are kept whole") {
  check_round_trip({ep("ct://[::1]/7"), ep("ct://[::1]/49153")});
  check_round_trip({ep("tcp://[fe80::1]/80"), ep("tcp://10.0.0.2/1")});
  check_round_trip({ep("tcp://10.0.0.1/80"), ep("ct://10.0.0.2/1")});
}

TEST_CASE("packed endpoints: assigning again replaces the pair, IPv6 to IPv4 and back (ASan sees no leak)") {
  detail::packed_endpoint_pair p;
  const endpoint_pair v6{ep("udp://[2001:db8::1]/53"), ep("udp://[2001:db8::2]/5353")};
  const endpoint_pair v4{ep("udp://192.0.2.1/53"), ep("udp://192.0.2.2/5353")};
  p.assign(v6);
  CHECK(p.get().local == v6.local);
  p.assign(v4);
  CHECK(p.get().remote == v4.remote);
  p.assign(v6);
  p.assign(v6);
  CHECK(p.get().remote == v6.remote);
}

TEST_CASE("packed endpoints: copies and moves keep the pair, packed or on the heap, and own it apart") {
  const endpoint_pair v6{ep("ct://[::1]/7"), ep("ct://[::1]/49153")};
  const endpoint_pair v4{ep("tcp://10.0.0.1/80"), ep("tcp://10.0.0.2/54321")};
  for (const endpoint_pair& in : {v6, v4}) {
    detail::packed_endpoint_pair a;
    a.assign(in);
    detail::packed_endpoint_pair b = a;  // copy
    a.assign(v4.local.port == in.local.port ? v6 : v4);
    CHECK(b.get().local == in.local);
    CHECK(b.get().remote == in.remote);
    detail::packed_endpoint_pair c = std::move(b);
    CHECK(c.get().remote == in.remote);
    CHECK(b.get().local == endpoint{});  // NOLINT(bugprone-use-after-move): a moved-from pair is empty
    b = c;
    c = std::move(a);
    CHECK(b.get().local == in.local);
  }
}
