// The notifications an application gets besides data and close, through
// the public API on a real actor system: fifo tuning (SPEC 4), segment add
// and delete (SPEC 6, 9.3), async rx notification from any thread and
// subscribers (SPEC 3).

#include "stack_fixture.hpp"

#include <atomic>

using namespace stack_test;

namespace {

// An echo server that records every segment and tuning notification, in
// order with its accepts.
struct recording_server : echo_server {
  using echo_server::echo_server;
  std::atomic<std::uint64_t>* last_handle = nullptr;
  std::atomic<int>* rx_calls = nullptr;
  bool resize_on_tuning = false;

  bool on_accept(session& s) override {
    if (last_handle != nullptr) last_handle->store(s.handle().value());
    return echo_server::on_accept(s);
  }
  void on_rx(session& s) override {
    if (rx_calls != nullptr) ++*rx_calls;
    echo_server::on_rx(s);
  }
  void on_segment_add(const segment_info& seg) override {
    ev.add(seg.fd >= 0 && seg.size > 0 ? "server segment add" : "server segment add (bad info)");
  }
  void on_segment_del(const segment_info&) override { ev.add("server segment del"); }
  void on_fifo_tuning(session& s, fifo_side side, fifo_action action, std::size_t length) override {
    if (side == fifo_side::rx && action == fifo_action::enqueued && length > 0) ev.add("server tuning rx enqueued");
    if (!resize_on_tuning) return;
    resize_on_tuning = false;
    // Bounds are enforced; inside them the size changes at once.
    const bool low = s.resize(fifo_side::rx, 1024).code() == errc::invalid_argument;
    const bool high = s.resize(fifo_side::rx, s.fifo_max_size(fifo_side::rx) + 1).code() == errc::invalid_argument;
    const bool ok = s.resize(fifo_side::rx, 8192).has_value() && s.fifo_size(fifo_side::rx) == 8192;
    ev.add(low && high && ok ? "server resized rx" : "server resize wrong");
  }
};

struct recording_client : client {
  using client::client;
  void on_segment_add(const segment_info&) override { ev.add("client segment add"); }
  void on_segment_del(const segment_info&) override { ev.add("client segment del"); }
  bool on_connected(session& s, std::uint64_t opaque) override {
    // The segment was announced before any fifo in it was named.
    ev.add(ev.saw("client segment add") ? "connected after segment add" : "connected before segment add");
    return client::on_connected(s, opaque);
  }
  void on_fifo_tuning(session&, fifo_side side, fifo_action action, std::size_t length) override {
    if (side == fifo_side::tx && action == fifo_action::dequeued && length > 0) ev.add("client tuning tx dequeued");
  }
};

std::size_t index_of(events& ev, const std::string& e) {
  std::lock_guard lock{ev.mu};
  return static_cast<std::size_t>(std::find(ev.log.begin(), ev.log.end(), e) - ev.log.begin());
}

}  // namespace

TEST_CASE("SPEC 4 fifo tuning: flagged apps hear enqueues and dequeues and may resize within bounds") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  app_options tuned;
  tuned.custom_fifo_tuning = true;
  auto server = (*st)->attach(tuned, [&](std::uint32_t) {
    auto h = std::make_unique<recording_server>(ev);
    h->resize_on_tuning = true;
    return h;
  });
  auto cli = (*st)->attach(tuned, [&](std::uint32_t) {
    return std::make_unique<recording_client>(ev, std::string(20000, 't'));
  });
  const auto ep = *parse_uri("ct://127.0.0.1/7100");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("echoed"));
  CHECK(ev.received == std::string(20000, 't'));
  CHECK(ev.saw("server tuning rx enqueued"));
  CHECK(ev.saw("server resized rx"));
  CHECK(ev.saw("client tuning tx dequeued"));
  CHECK(drained(**st).fifos == 0);
}

TEST_CASE("SPEC 4 fifo tuning: apps that did not ask hear nothing") {
  events ev;
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<recording_server>(ev); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<recording_client>(ev, "quiet"); });
  const auto ep = *parse_uri("ct://127.0.0.1/7101");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("echoed"));
  CHECK_FALSE(ev.saw("server tuning rx enqueued"));
  CHECK_FALSE(ev.saw("client tuning tx dequeued"));
}

TEST_CASE("SPEC 6 / 9.3 segments: both apps hear add segment before the session, del segment after the last") {
  events ev;
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<recording_server>(ev); });
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<recording_client>(ev, "seg"); });
  const auto ep = *parse_uri("ct://127.0.0.1/7102");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("echoed"));
  CHECK(ev.saw("server segment add"));
  CHECK(index_of(ev, "server segment add") < index_of(ev, "server accepted"));
  CHECK(ev.saw("connected after segment add"));
  // Both sides closed: the context deletes the segment and says so.
  CHECK(ev.wait_for("server segment del"));
  CHECK(ev.wait_for("client segment del"));
  const auto c = drained(**st);
  CHECK(c.ct_segments == 0);
  CHECK(c.fifos == 0);
}

TEST_CASE("SPEC 3 async rx notification: any thread may ask, stale handles are ignored") {
  events ev;
  std::atomic<std::uint64_t> handle{0};
  std::atomic<int> rx_calls{0};
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({}, [&](std::uint32_t) {
    auto h = std::make_unique<recording_server>(ev);
    h->last_handle = &handle;
    h->rx_calls = &rx_calls;
    return h;
  });
  // A client that connects and stays quiet until told.
  struct quiet : client {
    using client::client;
    bool on_connected(session& s, std::uint64_t o) override {
      ev.add("connected " + std::to_string(o));
      (void)s;
      return true;
    }
  };
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<quiet>(ev); });
  const auto ep = *parse_uri("ct://127.0.0.1/7103");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("connected 1"));
  REQUIRE(ev.wait_for("server accepted"));
  const auto h = session_handle::from_value(handle.load());
  const int before = rx_calls.load();
  // From a thread that is neither the test's nor an actor's.
  std::thread other{[&] { CHECK((*server)->notify_rx(h).has_value()); }};
  other.join();
  for (int i = 0; i < 500 && rx_calls.load() == before; ++i) std::this_thread::sleep_for(10ms);
  CHECK(rx_calls.load() == before + 1);
  CHECK((*server)->notify_rx(session_handle{}).code() == errc::invalid_session);
  // A handle whose generation moved on is dropped by the worker, silently.
  const auto stale = session_handle{h.worker(), h.index(), h.generation() + 1};
  CHECK((*server)->notify_rx(stale).has_value());
  std::this_thread::sleep_for(50ms);
  CHECK(rx_calls.load() == before + 1);
}

TEST_CASE("SPEC 3 subscribers: another app worker hears the session's rx events until it unsubscribes") {
  events ev;
  std::atomic<std::uint64_t> handle{0};
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  struct watcher : recording_server {
    using recording_server::recording_server;
    std::uint32_t me = 0;
    void on_subscribed_event(session_handle, fifo_side side) override {
      if (side == fifo_side::rx) ev.add("worker " + std::to_string(me) + " heard rx");
    }
  };
  app_options two;
  two.workers = 2;
  auto server = (*st)->attach(two, [&](std::uint32_t i) {
    auto h = std::make_unique<watcher>(ev);
    h->me = i;
    h->last_handle = &handle;
    return h;
  });
  struct chatty : client {
    using client::client;
    bool on_connected(session& s, std::uint64_t o) override {
      ev.add("connected " + std::to_string(o));
      (void)s;
      return true;
    }
    // The test thread asks it to write through an rx poke: on_rx writes.
    void on_rx(session& s) override {
      std::array<std::byte, 256> buf{};
      while (s.read(buf).value_or(0) > 0) {
      }
    }
  };
  auto cli = (*st)->attach({}, [&](std::uint32_t) { return std::make_unique<chatty>(ev); });
  const auto ep = *parse_uri("ct://127.0.0.1/7104");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("connected 1"));
  REQUIRE(ev.wait_for("server accepted"));
  const auto h = session_handle::from_value(handle.load());
  // The accept went to app worker 0 (round robin starts there); worker 1
  // subscribes.
  REQUIRE((*server)->subscribe(h, 1).has_value());
  CHECK((*server)->subscribe(h, 5).code() == errc::invalid_argument);
  CHECK((*server)->subscribe(session_handle{h.worker(), h.index(), h.generation() + 1}, 1).code() ==
        errc::invalid_session);
  // Async rx on the session reaches its owner and the subscriber.
  REQUIRE((*server)->notify_rx(h).has_value());
  CHECK(ev.wait_for("worker 1 heard rx"));
  REQUIRE((*server)->unsubscribe(h, 1).has_value());
}
