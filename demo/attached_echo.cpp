// actorstack-echo --attach PATH: the echo server or client as its own
// process, attached to a stack daemon (actorstack-stackd) through
// libactorstack-client. One poll loop per thread over its sessions, no CAF
// in sight: the socket-like API of include/actorstack/client.hpp. A server
// with --workers W adds W-1 app workers, one thread each, all listening on
// the uri: the stack hands new connections to them in turn.
#include "echo_options.hpp"

#include <actorstack/client.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace echo {

namespace {

using namespace actorstack;
using clock_type = std::chrono::steady_clock;
constexpr std::size_t chunk = 64 * 1024;

std::atomic<bool> workers_stop{false};  // one worker failing stops them all

// What the server still owes a session: bytes read, not yet echoed.
struct pending_echo {
  client::sock s = -1;
  std::vector<std::byte> buf = std::vector<std::byte>(chunk);
  std::size_t have = 0, sent = 0;
  bool eof = false;
};

struct server_totals {
  std::uint64_t accepted = 0, echoed = 0;
};

// One app worker's echo loop, on its own thread; `listener` is its own.
int serve(client::app& app, client::sock listener, server_totals& totals) {
  std::vector<pending_echo> sessions;
  std::uint64_t& accepted = totals.accepted;
  std::uint64_t& echoed = totals.echoed;
  std::vector<client::poll_entry> entries;
  while (!workers_stop.load() && !stop_requested()) {
    entries.assign(1, {listener, client::readable, 0});
    for (const auto& p : sessions)
      entries.push_back({p.s, p.have > p.sent ? std::uint32_t{client::writable} : std::uint32_t{client::readable}, 0});
    auto ready = app.poll(entries, std::chrono::milliseconds(200));
    if (!ready) {
      std::fprintf(stderr, "actorstack-echo: %s\n", ready.error().message().c_str());
      workers_stop.store(true);
      return 1;
    }
    for (;;) {
      auto s = app.accept(listener);
      if (!s) break;
      (void)app.set_nonblocking(*s, true);
      sessions.push_back({*s});
      ++accepted;
    }
    for (auto& p : sessions) {
      // Echo what was read before reading more: the fifos bound the memory.
      while (true) {
        if (p.have > p.sent) {
          auto w = app.write(p.s, std::span{p.buf}.subspan(p.sent, p.have - p.sent));
          if (!w && w.error().code != errc::would_block) {
            p.have = p.sent = 0;  // the peer is gone: nobody to echo to
            p.eof = true;
          }
          if (!w) break;
          p.sent += *w;
          echoed += *w;
          continue;
        }
        p.have = p.sent = 0;
        auto r = app.read(p.s, p.buf);
        if (!r) {
          if (r.error().code != errc::would_block) p.eof = true;  // reset: nothing more will come
          break;
        }
        if (*r == 0) {
          p.eof = true;
          break;
        }
        p.have = *r;
      }
    }
    std::erase_if(sessions, [&](const pending_echo& p) {
      if (!p.eof || p.have > p.sent) return false;
      (void)app.close(p.s);
      return true;
    });
  }
  for (const auto& p : sessions) (void)app.close(p.s);
  return 0;
}

int run_server(client::app& app, const options& opt) {
  // Every worker listens before any serves: the first connection may go
  // to any of them.
  const std::uint32_t n = std::max<std::uint32_t>(1, opt.workers);
  std::vector<std::unique_ptr<client::app>> added;
  std::vector<client::app*> workers{&app};
  for (std::uint32_t i = 1; i < n; ++i) {
    auto w = app.add_worker();
    if (!w) {
      std::fprintf(stderr, "actorstack-echo: add app worker: %s\n", w.error().message().c_str());
      return 1;
    }
    workers.push_back(w->get());
    added.push_back(std::move(*w));
  }
  std::vector<client::sock> listeners;
  for (auto* w : workers) {
    auto l = w->listen(opt.uri);
    if (!l) {
      std::fprintf(stderr, "listen %s: %s\n", opt.uri.c_str(), l.error().message().c_str());
      return 1;
    }
    (void)w->set_nonblocking(*l, true);
    listeners.push_back(*l);
  }
  std::fprintf(stderr, "actorstack-echo: attached server on %s (%u app worker(s)), until SIGINT/SIGTERM\n",
               opt.uri.c_str(), n);
  std::vector<server_totals> totals(n);
  std::vector<int> rcs(n, 0);
  std::vector<std::thread> threads;
  for (std::uint32_t i = 1; i < n; ++i)
    threads.emplace_back([&, i] { rcs[i] = serve(*workers[i], listeners[i], totals[i]); });
  rcs[0] = serve(app, listeners[0], totals[0]);
  for (auto& t : threads) t.join();
  std::uint64_t accepted = 0, echoed = 0;
  std::string per_worker;
  for (const auto& t : totals) {
    accepted += t.accepted;
    echoed += t.echoed;
    per_worker += (per_worker.empty() ? "" : ",") + std::to_string(t.accepted);
  }
  std::printf("{\"transport\":\"ct\",\"role\":\"server\",\"attached\":true,\"app_workers\":%u,"
              "\"accepted\":%llu,\"accepted_per_worker\":[%s],\"bytes_echoed\":%llu}\n",
              n, static_cast<unsigned long long>(accepted), per_worker.c_str(), static_cast<unsigned long long>(echoed));
  for (int rc : rcs)
    if (rc != 0) return rc;
  return 0;
}

struct echo_client {
  client::sock s = -1;
  std::uint64_t id = 0;
  std::uint64_t sent = 0, received = 0;
  bool closed = false;
  bool failed = false;  // the peer closed, reset or vanished before the end
};

int run_client(client::app& app, const options& opt) {
  const auto t0 = clock_type::now();
  std::vector<echo_client> clients(opt.clients);
  for (std::uint32_t c = 0; c < opt.clients; ++c) {
    auto s = app.connect(opt.uri);
    if (!s) {
      std::fprintf(stderr, "connect %s: %s\n", opt.uri.c_str(), s.error().message().c_str());
      return 1;
    }
    (void)app.set_nonblocking(*s, true);
    clients[c].s = *s;
    clients[c].id = c;
  }
  const double connect_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::vector<std::byte> out(chunk), in(chunk);
  std::uint64_t verify_errors = 0, done = 0, failures = 0;
  std::vector<client::poll_entry> entries;
  const auto deadline = clock_type::now() + std::chrono::minutes(10);
  while (done < clients.size() && !stop_requested() && clock_type::now() < deadline) {
    entries.clear();
    for (const auto& c : clients)
      if (!c.closed)
        entries.push_back({c.s, client::readable | (c.sent < opt.bytes ? std::uint32_t{client::writable} : 0u), 0});
    if (auto r = app.poll(entries, std::chrono::milliseconds(100)); !r) {
      std::fprintf(stderr, "actorstack-echo: %s\n", r.error().message().c_str());
      return 1;
    }
    for (auto& c : clients) {
      if (c.closed) continue;
      while (c.sent < opt.bytes && !c.failed) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, opt.bytes - c.sent));
        fill_pattern(c.id, c.sent, std::span{out}.first(want));
        auto w = app.write(c.s, std::span{out}.first(want));
        if (!w) c.failed = w.error().code != errc::would_block;
        if (!w || *w == 0) break;
        c.sent += *w;
      }
      while (c.received < c.sent && !c.failed) {
        auto r = app.read(c.s, in);
        if (!r) {
          c.failed = r.error().code != errc::would_block;
          break;
        }
        if (*r == 0) {
          c.failed = true;  // end of stream before every byte came back
          break;
        }
        if (opt.verify && !matches_pattern(c.id, c.received, std::span{in}.first(*r))) ++verify_errors;
        c.received += *r;
      }
      if (c.failed) {
        std::fprintf(stderr, "actorstack-echo: client %llu: the server closed or vanished after %llu bytes\n",
                     static_cast<unsigned long long>(c.id), static_cast<unsigned long long>(c.received));
        (void)app.close(c.s);
        c.closed = true;
        ++failures;
        ++done;
        continue;
      }
      if (c.received >= opt.bytes) {
        (void)app.close(c.s);
        c.closed = true;
        ++done;
      }
    }
  }
  const double duration = std::chrono::duration<double>(clock_type::now() - t0).count();
  const bool interrupted = done < clients.size() && stop_requested();
  if (interrupted)
    for (auto& c : clients)
      if (!c.closed) (void)app.reset(c.s);
  // The stack deletes a segment shortly after both sides left it, and says
  // so: wait (bounded) for every del-segment before counting leftovers.
  auto left = app.counters();
  for (int i = 0; i < 300 && (left.sessions > 0 || left.segments_mapped > 0); ++i) {
    client::poll_entry none{};
    (void)app.poll(std::span{&none, 0}, std::chrono::milliseconds(10));
    left = app.counters();
  }
  std::uint64_t total = 0;
  for (const auto& c : clients) total += c.received;
  const double gbps = duration > 0 ? static_cast<double>(total) * 8 / duration / 1e9 : 0;
  const bool ok = done == clients.size() && failures == 0 && verify_errors == 0 && left.sessions == 0 && left.segments_mapped == 0;
  if (opt.json) {
    std::printf("{\"transport\":\"ct\",\"attached\":true,\"clients\":%u,\"workers\":0,\"bytes_total\":%llu,"
                "\"duration_s\":%.4f,\"gbps\":%.3f,\"connects_per_s\":%.0f,\"verify_errors\":%llu,"
                "\"sessions_left\":%llu,\"segments_left\":%llu,\"clients_done\":%llu,\"clients_failed\":%llu,\"interrupted\":%s}\n",
                opt.clients, static_cast<unsigned long long>(total), duration, gbps,
                connect_s > 0 ? opt.clients / connect_s : 0.0, static_cast<unsigned long long>(verify_errors),
                static_cast<unsigned long long>(left.sessions), static_cast<unsigned long long>(left.segments_mapped),
                static_cast<unsigned long long>(done - failures), static_cast<unsigned long long>(failures),
                interrupted ? "true" : "false");
  } else {
    std::printf("actorstack-echo (attached): %u client(s), %llu bytes echoed in %.3f s: %.3f Gbit/s; verify errors %llu; "
                "left: %llu sessions, %llu segments\n",
                opt.clients, static_cast<unsigned long long>(total), duration, gbps,
                static_cast<unsigned long long>(verify_errors), static_cast<unsigned long long>(left.sessions),
                static_cast<unsigned long long>(left.segments_mapped));
  }
  if (interrupted) return exit_interrupted;
  return ok ? exit_ok : exit_failed;
}

}  // namespace

int run_attached(const options& opt) {
  client::attach_options ao;
  ao.socket_path = opt.attach;
  ao.name = "echo-" + opt.role;
  ao.rx_fifo_size = ao.tx_fifo_size = opt.fifo_size;
  auto app = client::app::attach(ao);
  if (!app) {
    std::fprintf(stderr, "actorstack-echo: attach to %s: %s\n", opt.attach.c_str(), app.error().message().c_str());
    return 1;
  }
  const int rc = opt.role == "server" ? run_server(**app, opt) : run_client(**app, opt);
  (void)(*app)->detach();
  return rc;
}

}  // namespace echo
