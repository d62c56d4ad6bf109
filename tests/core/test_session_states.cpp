// SPEC §2: one case per numbered transition, plus the hard-won rules of §9
// that live in the state machine. Driven through session_worker_state with
// a recording transport and app.

#include "session_test_env.hpp"

using namespace actorstack;
using namespace actorstack::test;
using S = session_state;

TEST_CASE("session handle: generation detects a stale handle, never aliases") {
  session_pool pool{2};
  session& a = pool.alloc();
  const session_handle old = a.handle;
  CHECK(old.worker() == 2);
  CHECK(pool.get(old) == &a);
  pool.free(a);
  CHECK(pool.get(old) == nullptr);
  session& b = pool.alloc();  // reuses the slot
  CHECK(b.handle.index() == old.index());
  CHECK(b.handle.generation() != old.generation());
  CHECK(pool.get(old) == nullptr);
  CHECK(pool.get(b.handle) == &b);
  CHECK(pool.get(session_handle{3, b.handle.index(), b.handle.generation()}) == nullptr);
  CHECK(pool.get(session_handle{}) == nullptr);
  CHECK(session_handle::from_value(b.handle.value()) == b.handle);
}

TEST_CASE("session handle: a slot reused 2^24 times retires, so no stale handle ever names a new session") {
  session_pool pool{0};
  const session_handle first = pool.alloc().handle;
  CHECK(first.generation() == 0);
  // Every later handle of the slot, one per generation.
  session_handle last = first;
  pool.free(*pool.get(first));
  std::uint32_t unexpected_handles = 0;  // counted, not asserted: 16 million of them
  for (std::uint32_t g = 1; g <= session_handle::generation_mask; ++g) {
    session& s = pool.alloc();
    unexpected_handles += s.handle.index() != first.index() || s.handle.generation() != g;
    last = s.handle;
    pool.free(s);
  }
  CHECK(unexpected_handles == 0);
  CHECK(pool.retired() == 1);
  // The generation would wrap to the first handle's: the slot is not reused.
  session& next = pool.alloc();
  CHECK(next.handle.index() != first.index());
  CHECK(pool.get(first) == nullptr);
  CHECK(pool.get(last) == nullptr);
  CHECK(pool.get(next.handle) == &next);
  CHECK(pool.live() == 1);
}

TEST_CASE("session states are ordered as SPEC 2 lists them") {
  CHECK(S::created < S::listening);
  CHECK(S::ready < S::opened);
  CHECK(S::opened < S::transport_closing);
  CHECK(S::transport_closing < S::closing);
  CHECK(S::closing < S::app_closed);
  CHECK(S::app_closed < S::transport_closed);
  CHECK(S::transport_closed < S::closed);
  CHECK(S::closed < S::transport_deleted);
  CHECK(to_string(S::transport_closing) == "transport_closing");
}

TEST_CASE("SPEC 2.1 accept: created with fifos, accepting, app notified") {
  worker_fixture fx;
  auto h = fx.w.accept(transport_proto::udp, 3, session_handle{0, 9, 0}, 5);
  REQUIRE(h.has_value());
  auto& s = fx.at(*h);
  CHECK(s.state == S::accepting);
  CHECK(s.rx.valid());
  CHECK(s.tx.valid());
  CHECK(s.rx.owner() == shm::fifo_owner{h->index(), 1});
  CHECK(fx.apps.kinds() == std::vector<std::string>{"accept"});
  fx.w.on_accept_reply(*h, true);
  CHECK(s.state == S::ready);
  CHECK(s.has(flag_rx_ready));
}

TEST_CASE("SPEC 2.1 accept: refused goes back to created, transport delete frees silently") {
  worker_fixture fx;
  auto h = fx.w.accept(transport_proto::udp, 3, session_handle{0, 9, 0}, 5);
  REQUIRE(h.has_value());
  fx.w.on_accept_reply(*h, false);
  CHECK(fx.at(*h).state == S::created);
  CHECK(fx.tp.called("reset 3"));  // the transport learns the accept failed
  fx.apps.clear();
  fx.w.transport_delete_notify(*h);
  CHECK(fx.w.get(*h) == nullptr);
  CHECK(fx.apps.events.empty());  // no notification for a refused session
  CHECK(fx.fifos.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 2.1 / 9.7 accept: fifo allocation failure frees everything, alloc error") {
  worker_fixture fx;
  fx.fifos.fail = true;
  auto h = fx.w.accept(transport_proto::udp, 3, session_handle{0, 9, 0}, 5);
  CHECK(h.code() == errc::alloc);
  CHECK(fx.live() == 0);
  CHECK(fx.apps.events.empty());
}

TEST_CASE("SPEC 2.2 active open: session only once connected, ready, app notified") {
  worker_fixture fx;
  CHECK(fx.live() == 0);
  auto h = fx.w.connect_notify(transport_proto::udp, 4, 6, 0xabc);
  REQUIRE(h.has_value());
  auto& s = fx.at(*h);
  CHECK(s.state == S::ready);
  CHECK(s.rx.valid());
  REQUIRE(fx.apps.events.size() == 1);
  CHECK(fx.apps.events[0].kind == "connected");
  CHECK(fx.apps.events[0].extra == 0xabc);
  CHECK(fx.apps.events[0].err == errc::none);
  fx.w.on_connected_reply(*h, true);
  CHECK(s.has(flag_rx_ready));
}

TEST_CASE("SPEC 2.2 active open: opened when the half-open already had fifos") {
  worker_fixture fx;
  auto h = fx.w.connect_notify(transport_proto::udp, 4, 6, 1, true);
  REQUIRE(h.has_value());
  CHECK(fx.at(*h).state == S::opened);
}

TEST_CASE("SPEC 2.2 active open: fifo failure frees the session and tells the app alloc") {
  worker_fixture fx;
  fx.fifos.fail = true;
  auto h = fx.w.connect_notify(transport_proto::udp, 4, 6, 1);
  CHECK(h.code() == errc::alloc);
  CHECK(fx.live() == 0);
  REQUIRE(fx.apps.events.size() == 1);
  CHECK(fx.apps.events[0].err == errc::alloc);
  CHECK_FALSE(fx.apps.events[0].handle.valid());
}

TEST_CASE("SPEC 2.2 active open: an app rejecting the session frees it with its fifos") {
  worker_fixture fx;
  auto h = fx.w.connect_notify(transport_proto::udp, 4, 6, 1);
  REQUIRE(h.has_value());
  fx.apps.clear();
  fx.w.on_connected_reply(*h, false);
  CHECK(fx.w.get(*h) == nullptr);
  CHECK(fx.fifos.seg.fifo_count() == 0);
  CHECK(fx.tp.called("reset 4"));
  CHECK(fx.apps.events.empty());  // it never owned the session
}

TEST_CASE("SPEC 2.3 connect failure: the app gets the error and no session") {
  worker_fixture fx;
  fx.w.connect_failed(6, 42, errc::refused);
  CHECK(fx.live() == 0);
  REQUIRE(fx.apps.events.size() == 1);
  CHECK(fx.apps.events[0].kind == "connected");
  CHECK(fx.apps.events[0].err == errc::refused);
  CHECK(fx.apps.events[0].extra == 42);
  CHECK_FALSE(fx.apps.events[0].handle.valid());
}

TEST_CASE("SPEC 2.4 app close: closing, close programmed, transport close on the worker") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  REQUIRE(fx.w.app_close(h).has_value());
  CHECK(fx.at(h).state == S::closing);
  CHECK(fx.w.pending_ctrl() == 1);
  CHECK_FALSE(fx.tp.called("close 3"));  // programmed, not yet run
  fx.w.run_events();
  CHECK(fx.at(h).state == S::app_closed);
  CHECK(fx.tp.called("close 3"));
}

TEST_CASE("SPEC 2.4 app close: idempotent") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  REQUIRE(fx.w.app_close(h).has_value());
  REQUIRE(fx.w.app_close(h).has_value());
  REQUIRE(fx.w.app_close(h).has_value());
  CHECK(fx.w.pending_ctrl() == 1);
  fx.w.run_events();
  CHECK(std::count(fx.tp.calls.begin(), fx.tp.calls.end(), "close 3") == 1);
}

TEST_CASE("SPEC 2.4 app close: transport already closed only programs the final close") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  fx.w.transport_closing_notify(h);
  fx.w.transport_closed_notify(h);
  CHECK(fx.at(h).state == S::transport_closed);
  REQUIRE(fx.w.app_close(h).has_value());
  CHECK(fx.at(h).state == S::transport_closed);  // not "closing": no backwards move
  fx.w.run_events();
  CHECK(fx.at(h).state == S::closed);
  CHECK_FALSE(fx.tp.called("close 3"));  // the transport is already closed
  fx.w.transport_delete_notify(h);
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.fifos.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 2.4 app close: an unknown handle is invalid_session") {
  worker_fixture fx;
  CHECK(fx.w.app_close(session_handle{1, 99, 0}).code() == errc::invalid_session);
  CHECK(fx.w.app_reset(session_handle{}).code() == errc::invalid_session);
}

TEST_CASE("SPEC 2.5 app reset: drops unsent tx, programs a transport reset") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  auto& s = fx.at(h);
  const char data[] = "unsent bytes";
  REQUIRE(s.tx.enqueue(std::as_bytes(std::span{data})).has_value());
  REQUIRE(fx.w.app_reset(h).has_value());
  CHECK(s.tx.empty());
  CHECK(s.state == S::closing);
  fx.w.run_events();
  CHECK(fx.tp.called("reset 3"));
  CHECK_FALSE(fx.tp.called("close 3"));
  CHECK(s.state == S::app_closed);
}

TEST_CASE("SPEC 2.5 app reset: ignored once closing (no transport reset)") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  REQUIRE(fx.w.app_close(h).has_value());
  REQUIRE(fx.w.app_reset(h).has_value());
  fx.w.run_events();
  CHECK_FALSE(fx.tp.called("reset 3"));
  CHECK(fx.tp.called("close 3"));
}

TEST_CASE("SPEC 2.6 transport closing notify: transport_closing, app told once") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  fx.apps.clear();
  fx.w.transport_closing_notify(h);
  CHECK(fx.at(h).state == S::transport_closing);
  fx.w.transport_closing_notify(h);  // ignored: already >= transport_closing
  CHECK(fx.apps.kinds() == std::vector<std::string>{"close"});
}

TEST_CASE("SPEC 2.7 transport reset notify: drops tx, transport_closing, app gets reset") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  auto& s = fx.at(h);
  const char data[] = "queued";
  REQUIRE(s.tx.enqueue(std::as_bytes(std::span{data})).has_value());
  fx.apps.clear();
  fx.w.transport_reset_notify(h);
  CHECK(s.tx.empty());
  CHECK(s.state == S::transport_closing);
  CHECK(fx.apps.kinds() == std::vector<std::string>{"reset"});
  REQUIRE(s.tx.enqueue(std::as_bytes(std::span{data})).has_value());
  fx.w.transport_reset_notify(h);  // past transport_closing: tx dropped, no second reset
  CHECK(s.tx.empty());
  CHECK(fx.apps.count("reset") == 1);
}

TEST_CASE("SPEC 2.8 transport closed notify: ready (FIN+RST race) acts as closing notify") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  auto& s = fx.at(h);
  const char data[] = "queued";
  REQUIRE(s.tx.enqueue(std::as_bytes(std::span{data})).has_value());
  fx.apps.clear();
  fx.w.transport_closed_notify(h);
  CHECK(s.state == S::transport_closed);
  CHECK(s.tx.empty());
  CHECK(fx.apps.kinds() == std::vector<std::string>{"close", "transport_closed"});
}

TEST_CASE("SPEC 2.8 transport closed notify: <= closing -> transport_closed, app_closed -> closed") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  fx.w.transport_closing_notify(a);
  fx.w.transport_closed_notify(a);
  CHECK(fx.at(a).state == S::transport_closed);

  auto b = fx.accepted(4);
  REQUIRE(fx.w.app_close(b).has_value());
  CHECK(fx.at(b).state == S::closing);
  fx.w.transport_closed_notify(b);
  CHECK(fx.at(b).state == S::transport_closed);

  auto c = fx.accepted(5);
  REQUIRE(fx.w.app_close(c).has_value());
  fx.w.run_events();
  CHECK(fx.at(c).state == S::app_closed);
  fx.apps.clear();
  fx.w.transport_closed_notify(c);
  CHECK(fx.at(c).state == S::closed);
  CHECK(fx.apps.kinds() == std::vector<std::string>{"transport_closed"});
}

TEST_CASE("SPEC 2.9 transport delete notify: created -> freed silently") {
  worker_fixture fx;
  auto h = fx.w.accept(transport_proto::udp, 3, session_handle{0, 9, 0}, 5);
  REQUIRE(h.has_value());
  fx.w.on_accept_reply(*h, false);
  fx.apps.clear();
  fx.w.transport_delete_notify(*h);
  CHECK(fx.live() == 0);
  CHECK(fx.apps.events.empty());
}

TEST_CASE("SPEC 2.9 transport delete notify: accepting/transport_closing/closing/transport_closed wait for the app") {
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    worker_fixture fx;
    session_handle h;
    if (variant == 0) {
      h = *fx.w.accept(transport_proto::udp, 3, session_handle{0, 9, 0}, 5);  // accepting
    } else {
      h = fx.accepted(3);
      if (variant == 1) fx.w.transport_closing_notify(h);
      if (variant == 2) REQUIRE(fx.w.app_close(h).has_value());  // closing
      if (variant == 3) {
        fx.w.transport_closing_notify(h);
        fx.w.transport_closed_notify(h);
      }
    }
    auto& s = fx.at(h);
    const char data[] = "x";
    (void)s.tx.enqueue(std::as_bytes(std::span{data}));
    fx.apps.clear();
    fx.w.transport_delete_notify(h);
    CHECK(s.state == S::transport_deleted);
    CHECK(fx.apps.kinds() == std::vector<std::string>{"cleanup_transport"});
    CHECK(s.tx.empty());
    CHECK(fx.w.get(h) != nullptr);  // waits for the app
  }
}

TEST_CASE("SPEC 2.9 transport delete notify: app_closed also programs the final close") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  REQUIRE(fx.w.app_close(h).has_value());
  fx.w.run_events();
  CHECK(fx.at(h).state == S::app_closed);
  fx.apps.clear();
  fx.w.transport_delete_notify(h);
  CHECK(fx.at(h).state == S::transport_deleted);
  CHECK(fx.w.pending_ctrl() == 1);
  fx.w.run_events();  // SPEC 2.10: >= transport_deleted -> free with fifos
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.apps.kinds() == std::vector<std::string>{"cleanup_transport", "cleanup_session"});
  CHECK(fx.fifos.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 2.9 transport delete notify: transport_deleted -> nothing, closed -> cleanup then delete") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  fx.w.transport_closing_notify(a);
  fx.w.transport_delete_notify(a);
  fx.apps.clear();
  fx.w.transport_delete_notify(a);
  CHECK(fx.apps.events.empty());
  CHECK(fx.w.get(a) != nullptr);

  auto b = fx.accepted(4);
  REQUIRE(fx.w.app_close(b).has_value());
  fx.w.run_events();
  fx.w.transport_closed_notify(b);
  CHECK(fx.at(b).state == S::closed);
  fx.apps.clear();
  fx.w.transport_delete_notify(b);
  CHECK(fx.w.get(b) == nullptr);
  CHECK(fx.apps.kinds() == std::vector<std::string>{"cleanup_transport", "cleanup_session"});
}

TEST_CASE("SPEC 2.9 transport delete notify: an unexpected state still cleans up, no leak") {
  worker_fixture fx;
  auto h = fx.accepted(3);  // ready
  fx.apps.clear();
  fx.w.transport_delete_notify(h);
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.apps.kinds() == std::vector<std::string>{"cleanup_transport", "cleanup_session"});
  CHECK(fx.fifos.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 2.10 session transport close: >= app_closed finishes, else app_closed + transport close") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  fx.at(a).state = S::transport_closing;  // app has not closed yet
  fx.w.transport_close(fx.at(a));
  CHECK(fx.at(a).state == S::app_closed);
  CHECK(fx.tp.called("close 3"));

  auto b = fx.accepted(4);
  fx.w.transport_closing_notify(b);
  fx.w.transport_closed_notify(b);
  REQUIRE(fx.w.app_close(b).has_value());
  fx.w.run_events();
  CHECK(fx.at(b).state == S::closed);

  auto c = fx.accepted(5);
  fx.w.transport_closing_notify(c);
  fx.w.transport_delete_notify(c);
  fx.w.transport_close(fx.at(c));
  CHECK(fx.w.get(c) == nullptr);
}

TEST_CASE("SPEC 2.10 session transport reset: same shape with a transport reset") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  fx.w.transport_reset(fx.at(a));
  CHECK(fx.at(a).state == S::app_closed);
  CHECK(fx.tp.called("reset 3"));
  fx.w.transport_closed_notify(a);  // app_closed -> closed
  CHECK(fx.at(a).state == S::closed);
  fx.w.transport_reset(fx.at(a));  // >= app_closed, closed: nothing
  CHECK(fx.at(a).state == S::closed);
}

TEST_CASE("SPEC 2.11 transport cleanup: transport cleaned unless deleted, freed") {
  worker_fixture fx;
  auto a = fx.accepted(3);
  fx.w.transport_cleanup(a);
  CHECK(fx.w.get(a) == nullptr);
  CHECK(fx.tp.called("cleanup 3"));

  auto b = fx.accepted(4);
  fx.w.transport_closing_notify(b);
  fx.w.transport_delete_notify(b);
  fx.w.transport_cleanup(b);
  CHECK(fx.w.get(b) == nullptr);
  CHECK_FALSE(fx.tp.called("cleanup 4"));  // already deleted: not called again
  CHECK(fx.fifos.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 2.12 free with fifos: the app hears cleanup(session) first") {
  worker_fixture fx;
  auto h = fx.accepted(3);
  fx.apps.clear();
  fx.w.free_with_fifos(fx.at(h));
  CHECK(fx.apps.kinds() == std::vector<std::string>{"cleanup_session"});
  CHECK(fx.w.get(h) == nullptr);
  CHECK(fx.fifos.seg.fifo_count() == 0);
}

TEST_CASE("SPEC 9.2 a close racing the accept decision is kept, after the accept") {
  worker_fixture fx;
  auto h = fx.w.accept(transport_proto::udp, 3, session_handle{0, 9, 0}, 5);
  REQUIRE(h.has_value());
  fx.w.transport_closing_notify(*h);  // peer closes while the app decides
  CHECK(fx.at(*h).state == S::transport_closing);
  fx.w.on_accept_reply(*h, true);
  CHECK(fx.at(*h).state == S::transport_closing);  // SPEC 9.6: not back to ready
  CHECK(fx.apps.kinds() == std::vector<std::string>{"accept", "close"});
}

TEST_CASE("SPEC 9.2 a refused session whose transport is closing is closed for the app") {
  worker_fixture fx;
  auto h = fx.w.accept(transport_proto::udp, 3, session_handle{0, 9, 0}, 5);
  REQUIRE(h.has_value());
  fx.w.transport_closing_notify(*h);
  fx.w.on_accept_reply(*h, false);
  fx.w.run_events();
  CHECK(fx.tp.called("close 3"));
  fx.w.transport_closed_notify(*h);
  fx.w.transport_delete_notify(*h);
  CHECK(fx.live() == 0);
  CHECK(fx.fifos.seg.fifo_count() == 0);
}

TEST_CASE("app close of a listener stops listening") {
  worker_fixture fx;
  auto ep = endpoint{transport_proto::udp, *ip_address::parse("10.0.0.1"), 53};
  auto l = fx.w.listen(5, ep);
  REQUIRE(l.has_value());
  REQUIRE(fx.w.app_close(*l).has_value());
  CHECK(fx.tp.called("stop_listen"));
  CHECK(fx.w.get(*l) == nullptr);
  CHECK(fx.w.pending_ctrl() == 0);
}

TEST_CASE("app worker gone: its sessions are reset, owed answers become no, other apps untouched") {
  worker_fixture fx;
  auto established = fx.accepted(3);                                       // app worker 5
  auto deciding = fx.w.accept(transport_proto::udp, 4, session_handle{0, 0, 0}, 5);  // no answer yet
  REQUIRE(deciding.has_value());
  auto connecting = fx.w.connect_notify(transport_proto::udp, 6, 5, 77);  // no answer yet
  REQUIRE(connecting.has_value());
  auto other = fx.w.accept(transport_proto::udp, 7, session_handle{0, 0, 0}, 8);  // another app
  REQUIRE(other.has_value());
  fx.w.on_accept_reply(*other, true);
  fx.tp.calls.clear();

  CHECK(fx.w.app_worker_gone(5) == 3);
  fx.w.run_events();
  CHECK(fx.tp.called("reset 3"));                  // established: reset towards the peer
  CHECK(fx.at(established).state == S::app_closed);
  CHECK(fx.at(*deciding).state == S::created);     // refused: the transport deletes it
  CHECK(fx.tp.called("reset 4"));
  CHECK(fx.w.get(*connecting) == nullptr);         // rejected: freed, transport reset
  CHECK(fx.tp.called("reset 6"));
  CHECK(fx.at(*other).state == S::ready);          // another app's session is untouched
  CHECK_FALSE(fx.tp.called("reset 7"));
  CHECK(fx.w.app_worker_gone(5) == 0);             // nothing is owed any more
}
