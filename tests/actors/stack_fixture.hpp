#pragma once
// What the public-API tests share: an event log handlers report to, an
// echo server, a client, and a wait for the stack to drain. Handlers run
// on app worker actors; the test thread waits on the log.

#include <actorstack/stack.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stack_test {

using namespace actorstack;
using namespace std::chrono_literals;


// What handlers report to the test thread.
struct events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> log;
  std::string received;
  void add(std::string e) {
    std::lock_guard lock{mu};
    log.push_back(std::move(e));
    cv.notify_all();
  }
  bool wait_for(const std::string& e, std::chrono::milliseconds d = 10s) {
    std::unique_lock lock{mu};
    return cv.wait_for(lock, d, [&] { return std::find(log.begin(), log.end(), e) != log.end(); });
  }
  bool saw(const std::string& e) {
    std::lock_guard lock{mu};
    return std::find(log.begin(), log.end(), e) != log.end();
  }
};

inline std::span<const std::byte> text(const std::string& s) {
  return std::as_bytes(std::span{s.data(), s.size()});
}

inline stack_config small_config() {
  stack_config cfg;
  cfg.workers = 2;
  return cfg;
}

// Waits until nothing but listeners is left in the stack (or the deadline
// passes).
inline stack_counters drained(stack& st) {
  stack_counters c;
  for (int i = 0; i < 500; ++i) {
    auto r = st.counters();
    REQUIRE(r.has_value());
    c = *r;
    if (c.sessions == c.listeners && c.ct_connections == 0 && c.ct_segments == 0 && c.fifos == 0) break;
    std::this_thread::sleep_for(10ms);
  }
  return c;
}

struct echo_server : app_handler {
  events& ev;
  bool accept = true;
  explicit echo_server(events& e, bool a = true) : ev(e), accept(a) {}
  bool on_accept(session&) override {
    ev.add(accept ? "server accepted" : "server refused");
    return accept;
  }
  void on_rx(session& s) override {
    std::array<std::byte, 4096> buf{};
    for (;;) {
      auto n = s.read(buf);
      if (!n || *n == 0) break;
      (void)s.write({buf.data(), *n});
    }
  }
  void on_close(session& s) override {
    ev.add("server close");
    (void)s.close();
  }
  void on_reset(session& s) override {
    ev.add("server reset");
    (void)s.close();
  }
};

struct client : app_handler {
  events& ev;
  std::string payload;
  std::size_t expect = 0;
  explicit client(events& e, std::string p = {}) : ev(e), payload(std::move(p)), expect(payload.size()) {}
  bool on_connected(session& s, std::uint64_t opaque) override {
    ev.add("connected " + std::to_string(opaque));
    if (!payload.empty()) (void)s.write(text(payload));
    return true;
  }
  void on_connect_failed(std::uint64_t, errc why) override {
    ev.add(std::string{"failed "} + std::string{to_string(why)});
  }
  void on_rx(session& s) override {
    std::array<std::byte, 4096> buf{};
    for (;;) {
      auto n = s.read(buf);
      if (!n || *n == 0) break;
      std::lock_guard lock{ev.mu};
      ev.received.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    if (ev.received.size() >= expect && expect > 0) {
      ev.add("echoed");
      (void)s.close();
      // The stack may free the fifos from now on: the app's end is shut.
      const bool shut = s.read(buf).code() == errc::invalid_session &&
                        s.write(text("late")).code() == errc::invalid_session && s.max_read() == 0 &&
                        s.close().has_value();
      ev.add(shut ? "closed end shut" : "closed end open");
    }
  }
};

}  // namespace stack_test
