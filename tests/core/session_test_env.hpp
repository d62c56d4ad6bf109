#pragma once
// A test environment for session_worker_state: a recording app notifier, a
// transport that records what the session layer asks of it, fifos from a
// real segment (with injectable failure), and a lookup set.

#include "session/session_worker_state.hpp"
#include "shm/fifo_segment.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace actorstack::test {

using namespace actorstack::session_layer;

struct app_event {
  std::string kind;
  session_handle handle;
  std::uint32_t app_worker = 0;
  errc err = errc::none;
  std::uint64_t extra = 0;
  endpoint_pair ends{};  ///< accept, connected: what the app is told
};

struct recording_apps : app_notifier {
  std::vector<app_event> events;
  bool rx_queue_full = false;

  void accept(const session& s, session_handle listener, const endpoint_pair& ends) override {
    events.push_back({"accept", s.handle, s.app_worker, errc::none, listener.value(), ends});
  }
  void connected(std::uint32_t wrk, std::uint64_t opaque, const session* s, errc err,
                 const endpoint_pair& ends) override {
    events.push_back({"connected", s ? s->handle : session_handle{}, wrk, err, opaque, ends});
  }
  void close(const session& s) override { events.push_back({"close", s.handle, s.app_worker}); }
  void reset(const session& s) override { events.push_back({"reset", s.handle, s.app_worker}); }
  void shm_violation(const session& s) override { events.push_back({"shm_violation", s.handle, s.app_worker}); }
  void transport_closed(const session& s) override {
    events.push_back({"transport_closed", s.handle, s.app_worker});
  }
  void cleanup(const session& s, cleanup_kind k) override {
    events.push_back({k == cleanup_kind::session ? "cleanup_session" : "cleanup_transport",
                      s.handle, s.app_worker});
  }
  void migrate(const session& s, session_handle nh) override {
    events.push_back({"migrate", s.handle, s.app_worker, errc::none, nh.value()});
  }
  bool rx(std::uint32_t wrk, const session& s) override {
    events.push_back({"rx", s.handle, wrk});
    return !rx_queue_full;
  }
  bool tx(std::uint32_t wrk, const session& s) override {
    events.push_back({"tx", s.handle, wrk});
    return true;
  }
  void tune_fifo(const session& s, shm::fifo&, tuning_action a, std::size_t len) override {
    events.push_back({a == tuning_action::enqueued ? "tune_enqueued" : "tune_dequeued", s.handle,
                      s.app_worker, errc::none, len});
  }

  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (auto& e : events) out.push_back(e.kind);
    return out;
  }
  std::size_t count(const std::string& kind) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](auto& e) { return e.kind == kind; }));
  }
  void clear() { events.clear(); }
};

struct recording_transport : transport {
  transport_proto proto_ = transport_proto::udp;
  std::vector<std::string> calls;
  transport_proto proto() const noexcept override { return proto_; }
  service_type service() const noexcept override { return service_type::stream; }
  result<std::uint32_t> start_listen(session_handle, const endpoint&) override {
    calls.push_back("start_listen");
    return 7u;
  }
  result<void> stop_listen(std::uint32_t) override {
    calls.push_back("stop_listen");
    return {};
  }
  result<std::uint32_t> connect(const connect_args&) override {
    calls.push_back("connect");
    return 1u;
  }
  void close(std::uint32_t c, std::uint32_t) override { calls.push_back("close " + std::to_string(c)); }
  void reset(std::uint32_t c, std::uint32_t) override { calls.push_back("reset " + std::to_string(c)); }
  void cleanup(std::uint32_t c, std::uint32_t) override {
    calls.push_back("cleanup " + std::to_string(c));
  }
  void custom_tx(session& s) override { calls.push_back("custom_tx " + std::to_string(s.connection)); }
  void app_rx_evt(session& s) override { calls.push_back("app_rx " + std::to_string(s.connection)); }
  std::string format(std::uint32_t c, std::uint32_t) const override {
    return "test conn " + std::to_string(c);
  }
  bool called(const std::string& c) const {
    return std::find(calls.begin(), calls.end(), c) != calls.end();
  }
};

struct segment_fifos : fifo_provider {
  shm::fifo_segment seg = *shm::fifo_segment::create("fsm-test", 32u << 20);
  bool fail = false;
  result<void> alloc_fifos(session& s) override {
    if (fail) return unexpected{errc::fifo_alloc, "injected"};
    auto p = seg.alloc_fifo_pair(64 * 1024, 64 * 1024);
    if (!p) return unexpected{p.error()};
    s.rx = p->rx;
    s.tx = p->tx;
    return {};
  }
  void free_fifos(session& s) override {
    if (s.rx.valid()) seg.free_fifo(s.rx);
    if (s.tx.valid()) seg.free_fifo(s.tx);
  }
};

struct one_transport : transport_registry {
  transport* tp = nullptr;
  transport* find(transport_proto p) noexcept override {
    return tp != nullptr && tp->proto() == p ? tp : nullptr;
  }
};

/// A worker with the recording environment, plus helpers to walk sessions
/// into a given state.
struct worker_fixture {
  recording_apps apps;
  recording_transport tp;
  segment_fifos fifos;
  one_transport registry;
  session_worker_state w;

  worker_fixture() : registry{}, w{1, {&apps, &registry}} {
    registry.tp = &tp;
    w.set_fifo_provider(tp.proto(), &fifos);
  }

  session& at(session_handle h) {
    session* s = w.get(h);
    REQUIRE(s != nullptr);
    return *s;
  }
  session_handle accepted(std::uint32_t conn = 3) {
    auto h = w.accept(transport_proto::udp, conn, session_handle{0, 0, 0}, 5);
    REQUIRE(h.has_value());
    w.on_accept_reply(*h, true);
    REQUIRE(at(*h).state == session_state::ready);
    return *h;
  }
  std::size_t live() const { return w.pool().live(); }
};

}  // namespace actorstack::test
