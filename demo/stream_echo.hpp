#pragma once
// The stream echo of actorstack-echo: the server that echoes what it reads
// and the clients that send a pattern and check every byte that comes
// back. Cut-through (echo.cpp) and TCP over the data plane (tcp_echo.cpp)
// run the same ones.

#include "demo/echo_options.hpp"

#include <actorstack/app.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace echo {

using actorstack::app_handler;
using actorstack::errc;
using actorstack::session;
using clock_type = std::chrono::steady_clock;

// Reads and writes per call, on both sides (the kernel baseline's too).
constexpr std::size_t io_size = 64 * 1024;

struct shared_state {
  options opt;
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> finished{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> verify_errors{0};
  std::atomic<std::uint64_t> bytes_echoed{0};
  std::atomic<std::uint64_t> bytes_progress{0};  // echoed so far, all clients
  std::atomic<std::int64_t> last_connect_ns{0};
  std::mutex mu;
  std::condition_variable cv;
  void done_one() {
    std::lock_guard lock{mu};
    cv.notify_all();
  }
};

// Echoes what it reads, never reading more than it can write back; when
// its tx is full it asks for a dequeue notification and resumes on_tx.
//
// When the peer closes (a TCP FIN: the client half-closed), it echoes what
// is still unread, then closes its side (SPEC-TCP 2.3): closing with
// unread bytes would be a reset.
class echo_server final : public app_handler {
 public:
  void on_rx(session& s) override { pump(s); }
  void on_tx(session& s) override { pump(s); }
  void on_close(session& s) override {
    if (s.user_data == open) s.user_data = peer_closed;
    pump(s);
  }

 private:
  static constexpr std::uint64_t open = 0, peer_closed = 1, closed = 2;
  void pump(session& s) {
    if (s.user_data == closed) return;
    for (;;) {
      const std::size_t n = std::min({s.max_read(), s.max_write(), buf_.size()});
      if (n == 0) {
        if (s.max_read() == 0) {
          if (s.user_data == peer_closed) {
            s.user_data = closed;
            (void)s.close();
          }
          return;
        }
        s.notify_on_space();
        if (s.max_write() == 0) return;  // re-checked: the reader may have been quick
        continue;
      }
      auto r = s.read({buf_.data(), n});
      if (!r) return;
      (void)s.write({buf_.data(), *r});
    }
  }
  std::vector<std::byte> buf_ = std::vector<std::byte>(io_size);
};

class echo_client final : public app_handler {
 public:
  explicit echo_client(shared_state& st) : st_(st) {}

  bool on_connected(session& s, std::uint64_t opaque) override {
    s.user_data = opaque;
    progress_.resize(std::max<std::size_t>(progress_.size(), opaque + 1));
    st_.connected.fetch_add(1);
    st_.last_connect_ns.store(clock_type::now().time_since_epoch().count());
    send(s);
    return true;
  }
  void on_connect_failed(std::uint64_t, errc why) override {
    std::fprintf(stderr, "connect failed: %s\n", std::string{to_string(why)}.c_str());
    st_.failed.fetch_add(1);
    st_.done_one();
  }
  void on_tx(session& s) override { send(s); }
  void on_rx(session& s) override {
    auto& p = progress_[s.user_data];
    for (;;) {
      auto r = s.read(buf_);
      if (!r || *r == 0) break;
      if (st_.opt.verify && !matches_pattern(s.user_data, p.received, std::span{buf_}.first(*r)))
        st_.verify_errors.fetch_add(1);
      p.received += *r;
      st_.bytes_progress.fetch_add(*r, std::memory_order_relaxed);
    }
    if (p.received >= st_.opt.bytes && !p.closed) {
      p.closed = true;
      st_.bytes_echoed.fetch_add(p.received);
      if (st_.opt.hold_s == 0) (void)s.close();  // held sessions go with the app's detach
      st_.finished.fetch_add(1);
      st_.done_one();
    }
  }
  void on_close(session& s) override { (void)s.close(); }

 private:
  struct progress {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    bool closed = false;
  };
  void send(session& s) {
    auto& p = progress_[s.user_data];
    while (p.sent < st_.opt.bytes) {
      const std::size_t want = std::min<std::uint64_t>({st_.opt.bytes - p.sent, buf_.size(), s.max_write()});
      if (want == 0) {
        s.notify_on_space();
        if (s.max_write() == 0) return;
        continue;
      }
      fill_pattern(s.user_data, p.sent, std::span{buf_}.first(want));
      auto r = s.write({buf_.data(), want});
      if (!r) return;
      p.sent += *r;
    }
  }
  shared_state& st_;
  std::vector<progress> progress_;
  std::vector<std::byte> buf_ = std::vector<std::byte>(io_size);
};

}  // namespace echo
