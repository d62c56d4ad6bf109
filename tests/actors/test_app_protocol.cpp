// The records an attached app and the stack exchange over the app's Unix
// connection (actors/remote/app_protocol.hpp): every field survives the
// trip, and every way a record from the other process can be wrong is
// refused with bad_message before anything of it is used.
#include "actors/remote/app_protocol.hpp"

#include "shm/fd_channel.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace actorstack;
namespace proto = actorstack::app_protocol;

namespace {

endpoint ep(const char* uri) {
  auto e = parse_uri(uri);
  REQUIRE(e);
  return *e;
}

// The bytes with one more, or one fewer, at the end.
std::vector<std::byte> longer(std::vector<std::byte> b) {
  b.push_back(std::byte{0});
  return b;
}
std::vector<std::byte> shorter(std::vector<std::byte> b) {
  b.pop_back();
  return b;
}

bool refused(const result<proto::app_request>& r) { return !r && r.error().code == errc::bad_message; }

}  // namespace

TEST_CASE("app protocol: every request an app sends round-trips field by field, endpoints of every protocol and family included") {
  for (const char* uri : {"ct://127.0.0.1/7001", "udp://10.1.2.3/53", "tcp://[2001:db8::7]/65535", "ct://0.0.0.0/0",
                          "udp://[::1]/1"}) {
    CAPTURE(uri);
    const proto::listen_request l{7, ep(uri), true};
    auto rl = proto::decode_request(static_cast<std::uint32_t>(proto::record::listen), proto::encode(l));
    REQUIRE(rl);
    const auto& gl = std::get<proto::listen_request>(*rl);
    CHECK(gl.request == 7);
    CHECK(gl.local == l.local);
    CHECK(gl.local.to_string() == uri);
    CHECK(gl.reuse_port);
    const proto::connect_request c{9, ep(uri), 0xfeedbeef, 40000};
    auto rc = proto::decode_request(static_cast<std::uint32_t>(proto::record::connect), proto::encode(c));
    REQUIRE(rc);
    const auto& gc = std::get<proto::connect_request>(*rc);
    CHECK(gc.request == 9);
    CHECK(gc.remote == c.remote);
    CHECK(gc.opaque == 0xfeedbeef);
    CHECK(gc.local_port == 40000);
  }
  const session_handle h{3, 0x123456, 0xabcdef};
  for (std::uint8_t op = 0; op <= proto::last_session_op; ++op) {
    const proto::app_request req = proto::session_request{static_cast<proto::session_op>(op), h};
    CHECK(proto::record_of(req) == proto::record::session);
    auto r = proto::decode_request(static_cast<std::uint32_t>(proto::record::session), proto::encode(req));
    REQUIRE(r);
    CHECK(static_cast<std::uint8_t>(std::get<proto::session_request>(*r).op) == op);
    CHECK(std::get<proto::session_request>(*r).handle == h);
  }
  auto u = proto::decode_request(static_cast<std::uint32_t>(proto::record::unlisten),
                                 proto::encode(proto::unlisten_request{11, h}));
  REQUIRE(u);
  CHECK(std::get<proto::unlisten_request>(*u).listener == h);
  auto d = proto::decode_request(static_cast<std::uint32_t>(proto::record::detach), proto::encode(proto::detach_request{12}));
  REQUIRE(d);
  CHECK(std::get<proto::detach_request>(*d).request == 12);
}

TEST_CASE("app protocol: the attach request and reply, the answer and the hello round-trip, and a name is cut at max_name") {
  proto::attach_request req{"app \"with\" quotes\n", 4096, 8192, false, true, 5, 0x8877665544332211};
  auto r = proto::decode_attach_request(proto::encode(req));
  REQUIRE(r);
  CHECK(r->name == req.name);
  CHECK(r->rx_fifo_size == 4096);
  CHECK(r->tx_fifo_size == 8192);
  CHECK_FALSE(r->local_scope);
  CHECK(r->global_scope);
  CHECK(r->join_app == 5);
  CHECK(r->join_secret == req.join_secret);
  req.name.assign(300, 'n');
  auto cut = proto::decode_attach_request(proto::encode(req));
  REQUIRE(cut);
  CHECK(cut->name.size() == proto::max_name);

  auto rep = proto::decode_attach_reply(proto::encode(proto::attach_reply{4, 9, 2, 0xdeadbeefcafef00d}));
  REQUIRE(rep);
  CHECK(rep->app == 4);
  CHECK(rep->app_worker == 9);
  CHECK(rep->session_workers == 2);
  CHECK(rep->secret == 0xdeadbeefcafef00d);

  auto a = proto::decode_answer(proto::encode(proto::answer{77, errc::quota, 5}));
  REQUIRE(a);
  CHECK(a->request == 77);
  CHECK(a->code == errc::quota);
  CHECK(a->value == 5);

  auto v = proto::decode_hello(proto::encode_hello());
  REQUIRE(v);
  CHECK(*v == proto::version);
}

TEST_CASE("app protocol: a notification batch carries every field the app uses, in order, and splits where a record would overflow") {
  app_notification n;
  n.kind = notification::accept;
  n.handle = session_handle{1, 2, 3};
  n.other = session_handle{0, 7, 1};
  n.app_worker = 4;
  n.proto = transport_proto::tcp;
  n.opaque = 0x1122334455667788;
  n.err = errc::refused;
  n.side = fifo_side::tx;
  n.action = fifo_action::dequeued;
  n.length = 99;
  n.segment.id = 0x0000000700000002;
  n.segment.name = "actorstack-ct-7-2";
  n.segment.size = 1u << 22;
  n.segment.fd = 9;        // not sent: means nothing in another process
  n.segment.base = 0x7f00;  // nor this
  n.fifo_segment = 0x0000000700000002;
  n.rx_offset = 4096;
  n.tx_offset = 8192;
  n.ends = {ep("tcp://10.0.0.1/80"), ep("tcp://[2001:db8::1]/40000")};
  proto::notify_batch batch;
  std::size_t added = 0;
  while (batch.add(n)) {
    ++added;
    ++n.opaque;
  }
  CHECK(added > 10);  // many per record
  CHECK(batch.payload().size() <= shm::max_channel_payload);
  auto got = proto::decode_notify(batch.payload());
  REQUIRE(got);
  REQUIRE(got->size() == added);
  for (std::size_t i = 0; i < added; ++i) {
    const auto& g = (*got)[i];
    CHECK(g.kind == n.kind);
    CHECK(g.handle == n.handle);
    CHECK(g.other == n.other);
    CHECK(g.app_worker == 4);
    CHECK(g.proto == transport_proto::tcp);
    CHECK(g.opaque == 0x1122334455667788 + i);
    CHECK(g.err == errc::refused);
    CHECK(g.side == fifo_side::tx);
    CHECK(g.action == fifo_action::dequeued);
    CHECK(g.length == 99);
    CHECK(g.segment.id == n.segment.id);
    CHECK(g.segment.name == n.segment.name);
    CHECK(g.segment.size == n.segment.size);
    CHECK(g.segment.fd == -1);
    CHECK(g.segment.base == 0);
    CHECK(g.fifo_segment == n.fifo_segment);
    CHECK(g.rx_offset == 4096);
    CHECK(g.tx_offset == 8192);
    CHECK(g.ends.local == n.ends.local);
    CHECK(g.ends.remote == n.ends.remote);
  }
  batch.clear();
  CHECK(batch.empty());
}

TEST_CASE("app protocol: bad records are refused by name: short, long, an op / transport / family / kind / error code out of range, a count past the record, a zero count, a name past max_name, a record type that is no request") {
  const auto session = proto::encode(proto::session_request{proto::session_op::close, session_handle{0, 1, 0}});
  const auto session_type = static_cast<std::uint32_t>(proto::record::session);
  CHECK(refused(proto::decode_request(session_type, shorter(session))));
  CHECK(refused(proto::decode_request(session_type, longer(session))));
  auto op = session;
  op[0] = std::byte{proto::last_session_op + 1};
  CHECK(refused(proto::decode_request(session_type, op)));
  CHECK(refused(proto::decode_request(session_type, {})));

  const auto listen = proto::encode(proto::listen_request{1, ep("udp://10.0.0.1/53")});
  const auto listen_type = static_cast<std::uint32_t>(proto::record::listen);
  auto transport = listen;
  transport[8] = std::byte{3};  // after the request number: the endpoint's transport
  CHECK(refused(proto::decode_request(listen_type, transport)));
  auto family = listen;
  family[9] = std::byte{5};  // its address family: neither 4 nor 6
  CHECK(refused(proto::decode_request(listen_type, family)));
  CHECK(refused(proto::decode_request(listen_type, shorter(listen))));

  CHECK(refused(proto::decode_request(static_cast<std::uint32_t>(proto::record::notify), session)));
  CHECK(refused(proto::decode_request(static_cast<std::uint32_t>(proto::record::attach), session)));
  CHECK(refused(proto::decode_request(0xffffffff, session)));

  auto attach = proto::encode(proto::attach_request{"x", 0, 0, true, true, 0, 0});
  CHECK(!proto::decode_attach_request(longer(attach)));
  CHECK(!proto::decode_attach_request(shorter(attach)));
  auto scope = attach;
  scope[8] = std::byte{2};  // local_scope: a bool
  CHECK(!proto::decode_attach_request(scope));
  auto name = attach;
  name[8 + 2 + 4 + 8] = std::byte{proto::max_name + 1};  // the name's length byte
  CHECK(!proto::decode_attach_request(name));

  auto answer = proto::encode(proto::answer{1, errc::none, 0});
  answer[8] = std::byte{0xfe};  // the error code
  CHECK(!proto::decode_answer(answer));
  CHECK(!proto::decode_attach_reply(proto::encode(proto::attach_reply{1, 1, 0, 1})));  // no session workers

  app_notification n;
  n.kind = notification::rx;
  proto::notify_batch batch;
  REQUIRE(batch.add(n));
  std::vector<std::byte> good{batch.payload().begin(), batch.payload().end()};
  REQUIRE(proto::decode_notify(good));
  auto count = good;
  const std::uint32_t many = 1000;
  std::memcpy(count.data(), &many, 4);
  CHECK(!proto::decode_notify(count));
  auto zero = good;
  std::memset(zero.data(), 0, 4);
  CHECK(!proto::decode_notify(zero));
  auto kind = good;
  kind[4] = std::byte{0xee};
  CHECK(!proto::decode_notify(kind));
  CHECK(!proto::decode_notify(longer(good)));
  CHECK(!proto::decode_notify(shorter(good)));
  CHECK(!proto::decode_notify({}));
}

TEST_CASE("app protocol: a show's text splits into shown chunks of at most shown_chunk_bytes, the last one marked, an empty text as one empty last chunk") {
  const auto empty = proto::shown_chunks(7, "");
  REQUIRE(empty.size() == 1);
  CHECK(empty[0].request == 7);
  CHECK(empty[0].last);
  CHECK(empty[0].text.empty());
  const std::string exact(proto::shown_chunk_bytes, 'x');
  const auto one = proto::shown_chunks(8, exact);
  REQUIRE(one.size() == 1);
  CHECK(one[0].last);
  CHECK(one[0].text == exact);
  const std::string longer = exact + "yz";
  const auto two = proto::shown_chunks(9, longer);
  REQUIRE(two.size() == 2);
  CHECK_FALSE(two[0].last);
  CHECK(two[1].last);
  CHECK(two[0].text + two[1].text == longer);
  CHECK(two[1].request == 9);
}

TEST_CASE("app protocol: a tcp info request and its answer round-trip field by field, and an answer with a state past TCP_CLOSING, a window shift past 14, a flag not 0 or 1, a short or long record is refused") {
  const proto::tcp_info_request q{41, session_handle(1, 77, 9)};
  auto back = proto::decode_request(static_cast<std::uint32_t>(proto::record::tcp_info_ask), proto::encode(q));
  REQUIRE(back);
  const auto* got_q = std::get_if<proto::tcp_info_request>(&*back);
  REQUIRE(got_q != nullptr);
  CHECK(got_q->request == 41);
  CHECK(got_q->handle == q.handle);
  CHECK(proto::record_of(proto::app_request{q}) == proto::record::tcp_info_ask);
  CHECK(refused(proto::decode_request(static_cast<std::uint32_t>(proto::record::tcp_info_ask), shorter(proto::encode(q)))));

  proto::tcp_info_answer a;
  a.request = 41;
  tcp_conn_info& i = a.info;
  i.state = 1;
  i.retransmits = 2;
  i.backoff = 3;
  i.timestamps = true;
  i.sack = true;
  i.window_scaling = true;
  i.snd_wscale = 7;
  i.rcv_wscale = 14;
  i.rto_us = 201'000;
  i.rtt_us = 350;
  i.rttvar_us = 120;
  i.snd_mss = 1448;
  i.rcv_mss = 1460;
  i.unacked_bytes = 28'960;
  i.cwnd_bytes = 144'800;
  i.ssthresh_bytes = 0xffffffffu;
  i.snd_wnd = 3'000'000;
  i.rcv_wnd = 65'535;
  i.total_retrans = 17;
  const auto bytes = proto::encode(a);
  auto d = proto::decode_tcp_info_answer(bytes);
  REQUIRE(d);
  CHECK(d->request == 41);
  CHECK(d->code == errc::none);
  CHECK(std::memcmp(&d->info, &i, sizeof i) == 0);
  proto::tcp_info_answer no{42, errc::invalid_session, {}};
  auto dn = proto::decode_tcp_info_answer(proto::encode(no));
  REQUIRE(dn);
  CHECK(dn->code == errc::invalid_session);

  auto bad = [](std::vector<std::byte> b) {
    auto r = proto::decode_tcp_info_answer(b);
    return !r && r.error().code == errc::bad_message;
  };
  CHECK(bad(shorter(bytes)));
  CHECK(bad(longer(bytes)));
  // request (8), code (1), then state, retransmits, backoff, timestamps,
  // sack, window scaling, send shift, receive shift.
  auto with = [&](std::size_t at, std::uint8_t v) {
    auto b = bytes;
    b[at] = std::byte{v};
    return b;
  };
  CHECK(bad(with(9, 12)));   // a state past TCP_CLOSING
  CHECK(bad(with(12, 2)));   // timestamps neither 0 nor 1
  CHECK(bad(with(15, 15)));  // a send window shift past 14
  CHECK(bad(with(16, 15)));  // a receive window shift past 14
}
