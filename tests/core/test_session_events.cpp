// SPEC §3 (events), §4 (fifo tuning hooks), §5 (migration) in the session
// worker's state.

#include "session_test_env.hpp"

#include <span>

using namespace actorstack;
using namespace actorstack::test;
using S = session_state;

namespace {
std::span<const std::byte> text(const char* s) {
  return std::as_bytes(std::span{s, std::char_traits<char>::length(s)});
}
}  // namespace

TEST_CASE("SPEC 3 enqueue notifications: one per session per batch, flush notifies each app once") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  auto b = fx.accepted(4);
  fx.apps.clear();
  fx.w.enqueue_notify(fx.at(a));
  fx.w.enqueue_notify(fx.at(a));
  fx.w.enqueue_notify(fx.at(b));
  CHECK(fx.w.pending_rx_notifications() == 2);
  CHECK(fx.at(a).has(flag_rx_evt));
  CHECK(fx.w.flush_enqueue_events() == 0);
  CHECK(fx.apps.count("rx") == 2);
  CHECK(fx.w.pending_rx_notifications() == 0);
  CHECK_FALSE(fx.at(a).has(flag_rx_evt));
  fx.w.enqueue_notify(fx.at(a));  // a new batch may queue it again
  CHECK(fx.w.pending_rx_notifications() == 1);
}

TEST_CASE("SPEC 3 flush counts failures: session gone, app queue full") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  auto b = fx.accepted(4);
  fx.w.enqueue_notify(fx.at(a));
  fx.w.enqueue_notify(fx.at(b));
  fx.w.transport_cleanup(a);  // gone before the flush
  fx.apps.rx_queue_full = true;
  CHECK(fx.w.flush_enqueue_events() == 2);
  CHECK(fx.w.pending_rx_notifications() == 0);
  CHECK(fx.w.counters().rx_notify_failures == 2);
}

TEST_CASE("SPEC 3 async rx notification re-validates and skips closing sessions") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  fx.apps.clear();
  fx.w.post_io({io_kind::builtin_rx, a});
  fx.w.run_events();
  CHECK(fx.apps.count("rx") == 1);
  fx.w.transport_closing_notify(a);
  fx.w.post_io({io_kind::builtin_rx, a});
  fx.w.run_events();
  CHECK(fx.apps.count("rx") == 1);  // >= transport_closing: no rx notification
  const auto stale = session_handle{1, 77, 0};
  fx.w.post_io({io_kind::builtin_rx, stale});
  fx.w.run_events();
  CHECK(fx.w.counters().stale_events == 1);
}

TEST_CASE("SPEC 3 dequeue notification: tx event only when the fifo asked, then cleared") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  auto& s = fx.at(a);
  REQUIRE(s.tx.enqueue(text("0123456789")).has_value());
  fx.apps.clear();
  s.tx.drop(4);
  fx.w.dequeue_notify(s, 4);
  CHECK(fx.apps.count("tx") == 0);  // mode none
  s.tx.add_want_deq_ntf(shm::deq_ntf::on_every_dequeue);
  s.tx.drop(3);
  fx.w.dequeue_notify(s, 3);
  CHECK(fx.apps.count("tx") == 1);
  s.tx.drop(3);
  fx.w.dequeue_notify(s, 3);
  CHECK(fx.apps.count("tx") == 1);  // one-shot: cleared after the event
}

TEST_CASE("SPEC 3 subscribers get the same rx and tx notifications") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  auto& s = fx.at(a);
  REQUIRE(s.rx.add_subscriber(40).has_value());
  REQUIRE(s.tx.add_subscriber(41).has_value());
  fx.apps.clear();
  fx.w.enqueue_notify(s);
  fx.w.flush_enqueue_events();
  REQUIRE(fx.apps.count("rx") == 2);
  CHECK(fx.apps.events[0].app_worker == 5);
  CHECK(fx.apps.events[1].app_worker == 40);
  REQUIRE(s.tx.enqueue(text("abc")).has_value());
  s.tx.add_want_deq_ntf(shm::deq_ntf::on_every_dequeue);
  s.tx.drop(3);
  fx.w.dequeue_notify(s, 3);
  CHECK(fx.apps.count("tx") == 2);
}

TEST_CASE("SPEC 3 worker event lists: control first, then new io, then old, within budget") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  auto b = fx.accepted(4);
  fx.w.post_io({io_kind::app_rx, a});
  fx.w.post_io({io_kind::app_rx, b});
  fx.w.post_io({io_kind::app_rx, a});
  REQUIRE(fx.w.app_close(b).has_value());  // control event, queued last
  CHECK(fx.w.run_events(2) == 2);
  // The close ran before any io event.
  REQUIRE(fx.tp.calls.size() >= 3);
  CHECK(fx.tp.calls[0] == "close 4");
  CHECK(fx.tp.calls[1] == "app_rx 3");
  CHECK(fx.tp.calls[2] == "app_rx 4");
  CHECK(fx.w.pending_io() == 1);  // the third waits as an old event
  fx.w.post_io({io_kind::app_rx, b});
  CHECK(fx.w.run_events(1) == 1);
  CHECK(fx.tp.calls.back() == "app_rx 4");  // new first...
  CHECK(fx.w.run_events(8) == 1);
  CHECK(fx.tp.calls.back() == "app_rx 3");  // ...then the old one
  CHECK_FALSE(fx.w.has_events());
}

TEST_CASE("SPEC 3 control rpc runs a function on the worker") {
  worker_fixture fx;
  int ran = 0;
  fx.w.post_ctrl({ctrl_kind::rpc, {}, [&](session_worker_state& w) { ran = static_cast<int>(w.index()) + 10; }});
  fx.w.run_events();
  CHECK(ran == 11);
}

TEST_CASE("SPEC 3 a session's custom-tx event is queued once") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  fx.w.post_custom_tx(fx.at(a));
  fx.w.post_custom_tx(fx.at(a));
  CHECK(fx.w.pending_io() == 1);
  fx.w.run_events();
  CHECK(fx.tp.called("custom_tx 3"));
  CHECK_FALSE(fx.at(a).has(flag_custom_tx));
  fx.w.post_custom_tx(fx.at(a));
  CHECK(fx.w.pending_io() == 1);
}

TEST_CASE("SPEC 4 fifo tuning: enqueue, flush and tx dequeue call the app's callback") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  auto& s = fx.at(a);
  fx.apps.clear();
  fx.w.enqueue_notify(s);
  fx.w.flush_enqueue_events();
  CHECK(fx.apps.count("tune_enqueued") == 0);  // not flagged
  s.set(flag_custom_fifo_tuning);
  fx.w.enqueue_notify(s);
  fx.w.flush_enqueue_events();
  CHECK(fx.apps.count("tune_enqueued") == 2);  // on enqueue and on flush
  REQUIRE(s.tx.enqueue(text("abcdef")).has_value());
  s.tx.drop(6);
  fx.w.dequeue_notify(s, 6);
  REQUIRE(fx.apps.count("tune_dequeued") == 1);
  CHECK(fx.apps.events.back().extra == 6);
  REQUIRE(fx.w.app_close(a).has_value());  // closing ends tuning
  fx.apps.clear();
  fx.w.enqueue_notify(s);
  CHECK(fx.apps.count("tune_enqueued") == 0);
}

TEST_CASE("SPEC 5 migration: new session migrating, fifo owners moved, app told, rx on new worker") {
  recording_apps apps;
  recording_transport tp;
  segment_fifos fifos;
  one_transport reg;
  reg.tp = &tp;
  session_worker_state w1{1, {&apps, &reg}};
  session_worker_state w2{2, {&apps, &reg}};
  w1.set_fifo_provider(tp.proto(), &fifos);
  w2.set_fifo_provider(tp.proto(), &fifos);
  auto old_h = w1.connect_notify(transport_proto::udp, 8, 5, 0);
  REQUIRE(old_h.has_value());
  w1.on_connected_reply(*old_h, true);
  session& old_s = *w1.get(*old_h);
  REQUIRE(old_s.rx.enqueue(text("datagram")).has_value());
  const auto new_h = w2.migrate_in(old_s, 9);
  session& ns = *w2.get(new_h);
  CHECK(ns.has(flag_is_migrating));
  CHECK(ns.rx.owner() == shm::fifo_owner{new_h.index(), 2});
  apps.clear();
  const auto outcome = w1.migrate_out(*old_h, new_h);
  CHECK(outcome == migrate_outcome::completed);
  CHECK(w1.get(*old_h) == nullptr);
  CHECK(tp.called("cleanup 8"));
  REQUIRE(apps.count("migrate") == 1);
  CHECK(apps.events[0].extra == new_h.value());
  w2.migrate_finish(new_h, outcome);
  CHECK_FALSE(ns.has(flag_is_migrating));
  CHECK(apps.count("rx") == 1);
  CHECK(fifos.seg.fifo_count() == 2);  // the fifos moved, not copied or freed
}

TEST_CASE("SPEC 5 / 9.4 a session closed while migrating is cleaned up on both workers") {
  recording_apps apps;
  recording_transport tp;
  segment_fifos fifos;
  one_transport reg;
  reg.tp = &tp;
  session_worker_state w1{1, {&apps, &reg}};
  session_worker_state w2{2, {&apps, &reg}};
  w1.set_fifo_provider(tp.proto(), &fifos);
  w2.set_fifo_provider(tp.proto(), &fifos);
  auto old_h = *w1.connect_notify(transport_proto::udp, 8, 5, 0);
  const auto new_h = w2.migrate_in(*w1.get(old_h), 9);
  w1.transport_closing_notify(old_h);  // closes during the move
  const auto outcome = w1.migrate_out(old_h, new_h);
  CHECK(outcome == migrate_outcome::cleanup);
  w2.migrate_finish(new_h, outcome);
  CHECK(w1.pool().live() == 0);
  CHECK(w2.pool().live() == 0);
  CHECK(tp.called("cleanup 8"));
  CHECK(tp.called("cleanup 9"));
  CHECK(fifos.seg.fifo_count() == 0);
}

TEST_CASE("listen and stop listen on a worker") {
  worker_fixture fx;
  auto ep = endpoint{transport_proto::udp, *ip_address::parse("10.0.0.1"), 53};
  auto l = fx.w.listen(5, ep);
  REQUIRE(l.has_value());
  CHECK(fx.at(*l).state == S::listening);
  CHECK(fx.tp.called("start_listen"));
  REQUIRE(fx.w.stop_listen(*l).has_value());
  CHECK(fx.w.get(*l) == nullptr);
  CHECK(fx.w.stop_listen(*l).code() == errc::invalid_session);
  auto ct_ep = endpoint{transport_proto::ct, *ip_address::parse("127.0.0.1"), 1};
  CHECK(fx.w.listen(5, ct_ep).code() == errc::not_supported);
}
