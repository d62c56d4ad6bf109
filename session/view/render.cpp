#include "session/view/render.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace actorstack::view {

namespace {

// ---- JSON -------------------------------------------------------------------

// A JSON string from any bytes an app put in a name: nlohmann-json escapes
// it, and bytes that are not UTF-8 become U+FFFD instead of invalid JSON.
std::string json_string(std::string_view s) {
  return nlohmann::json(std::string{s}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Builds one JSON object field by field, in order.
class object {
 public:
  object& num(std::string_view k, std::uint64_t v) { return raw(k, std::to_string(v)); }
  object& str(std::string_view k, std::string_view v) { return raw(k, json_string(v)); }
  object& flag(std::string_view k, bool v) { return raw(k, v ? "true" : "false"); }
  object& raw(std::string_view k, std::string_view json) {
    out_ += out_.size() > 1 ? "," : "";
    out_ += json_string(k) + ":" + std::string{json};
    return *this;
  }
  std::string done() { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

// "  tcp: segments_in 12 rst_out 1" (the counters that are not zero), or
// "  tcp: none".
std::string nonzero(const std::string& label, const std::map<std::string, std::uint64_t>& m) {
  std::string out;
  for (const auto& [name, count] : m)
    if (count > 0) out += " " + name + " " + std::to_string(count);
  return label + (out.empty() ? std::string{" none"} : out) + "\n";
}

std::string counts(const std::map<std::string, std::uint64_t>& m) {
  object o;
  for (const auto& [k, v] : m) o.num(k, v);
  return o.done();
}

// ---- tables -------------------------------------------------------------------

// The length of the UTF-8 sequence at the start of `s` that is printable
// text, or 0: control characters (C0, DEL, C1: a terminal would act on
// them), bytes that are not UTF-8, overlong and surrogate encodings.
std::size_t printable_sequence(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c >= 0x20 && c < 0x7f) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
  else return 0;
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f)) return 0;
  return len;
}

// A table cell as it may reach a terminal: printable text kept, anything
// else shown as \xNN, so an app's name cannot move the cursor, recolour or
// retitle the operator's terminal.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    if (const std::size_t n = printable_sequence(s); n > 0) {
      out.append(s.substr(0, n));
      s.remove_prefix(n);
      continue;
    }
    char buf[5];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[0]));
    out += buf;
    s.remove_prefix(1);
  }
  return out;
}

// Left-aligned columns as wide as their widest cell; every cell printable.
std::string table(const std::vector<std::string>& head, std::vector<std::vector<std::string>> rows) {
  for (auto& r : rows)
    for (auto& cell : r) cell = printable(cell);
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) width[c] = head[c].size();
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (std::size_t c = 0; c < r.size(); ++c) {
      out += r[c];
      if (c + 1 < r.size()) out += std::string(width[c] - r[c].size() + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(head);
  for (const auto& r : rows) out += line(r);
  return out;
}

std::string n(std::uint64_t v) { return std::to_string(v); }

// A list topic's output: the JSON items, or the table of rows.
std::string listing(const show_options& o, const std::vector<std::string>& items,
                    const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  return o.json ? array(items) + "\n" : table(head, rows);
}

// ---- topics -------------------------------------------------------------------

bool is_listener(const session_row& r) { return r.state == "listening"; }

std::string summary(const show_options& o, const snapshot& s) {
  std::uint64_t sessions = 0;
  std::map<std::string, std::uint64_t> by_state;
  for (const auto& w : s.workers)
    for (const auto& r : w.sessions) {
      if (is_listener(r)) continue;
      ++sessions;
      ++by_state[r.state];
    }
  std::uint64_t segments = 0, used = 0, free_bytes = 0;
  for (const auto& c : s.contexts)
    for (const auto& seg : c.segments) {
      ++segments;
      used += seg.bytes_used;
      free_bytes += seg.bytes_free;
    }
  const auto apps = static_cast<std::uint64_t>(std::count_if(s.apps.begin(), s.apps.end(), [](auto& a) { return a.live; }));
  std::uint64_t dp_rx = 0, dp_tx = 0, dp_drops = 0, tcp_conns = 0, udp_conns = 0, net_segments = 0;
  for (const auto& w : s.workers) {
    tcp_conns += w.stats.tcp_connections;
    udp_conns += w.stats.udp_connections;
    net_segments += w.stats.udp_segments;
  }
  for (const auto& d : s.dataplane) {
    dp_rx += d.rx_packets;
    dp_tx += d.tx_packets;
    for (const auto& [reason, count] : d.drops) dp_drops += count;
  }
  if (o.json) {
    object j;
    j.num("sessions", sessions)
        .raw("sessions_by_state", counts(by_state))
        .num("listeners", s.listeners.size())
        .num("apps", apps)
        .num("workers", s.workers.size())
        .num("ct_contexts", s.contexts.size())
        .num("ct_segments", segments)
        .num("segment_bytes_used", used)
        .num("segment_bytes_free", free_bytes)
        .num("dataplane_cores", s.dataplane.size())
        .num("root_mailbox", s.root_mailbox);
    if (!s.dataplane.empty())
      j.num("dataplane_rx_packets", dp_rx)
          .num("dataplane_tx_packets", dp_tx)
          .num("dataplane_drops", dp_drops)
          .num("tcp_connections", tcp_conns)
          .num("udp_connections", udp_conns)
          .num("network_segments", net_segments);
    return j.done() + "\n";
  }
  std::string out = "sessions " + n(sessions) + " (listeners " + n(s.listeners.size()) + ")";
  for (const auto& [state, count] : by_state) out += ", " + state + " " + n(count);
  out += "\napps " + n(apps) + ", workers " + n(s.workers.size()) + ", root mailbox " + n(s.root_mailbox) +
         "\ncut-through: " + n(s.contexts.size()) +
         " context(s), " + n(segments) + " segment(s), " + n(used) + " bytes used, " + n(free_bytes) + " free\n";
  if (!s.dataplane.empty())
    out += "data plane: " + n(s.dataplane.size()) + " core(s), rx " + n(dp_rx) + " pkts, tx " + n(dp_tx) +
           " pkts, drops " + n(dp_drops) + "; tcp connections " + n(tcp_conns) + ", udp connections " +
           n(udp_conns) + ", segments " + n(net_segments) + "\n";
  return out;
}

std::string workers(const show_options& o, const snapshot& s) {
  std::vector<std::string> items;
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : s.workers) {
    const auto& x = w.stats;
    if (o.json) {
      items.push_back(object{}
                          .num("worker", x.worker)
                          .num("sessions", x.sessions)
                          .raw("sessions_by_state", counts(w.by_state))
                          .num("ct_connections", x.ct_connections)
                          .num("half_opens", x.half_opens)
                          .num("mailbox", w.mailbox)
                          .num("pending_ctrl", x.pending_ctrl)
                          .num("pending_io", x.pending_io)
                          .num("ctrl_events", x.ctrl_events)
                          .num("io_events", x.io_events)
                          .num("stale_events", x.stale_events)
                          .num("accepts", x.accepts)
                          .num("connects", x.connects)
                          .num("refusals", x.refusals)
                          .num("dropped_notifications", x.dropped_notifications)
                          .done());
    } else {
      rows.push_back({n(x.worker), n(x.sessions), n(x.ct_connections), n(x.half_opens), n(w.mailbox),
                      n(x.pending_ctrl) + "/" + n(x.pending_io), n(x.ctrl_events) + "/" + n(x.io_events),
                      n(x.accepts), n(x.connects), n(x.refusals), n(x.stale_events)});
    }
  }
  return listing(o, items, {"worker", "sessions", "ct", "half-open", "mailbox", "pending ctrl/io", "events ctrl/io", "accepts",
                "connects", "refusals", "stale"}, rows);
}

std::string sessions(const show_options& o, const snapshot& s) {
  // An app filter names its app workers' global indices.
  auto of_app = [&](std::uint32_t app_worker) {
    if (!o.app) return true;
    for (const auto& a : s.apps)
      if (a.index == *o.app)
        return std::find(a.app_workers.begin(), a.app_workers.end(), app_worker) != a.app_workers.end();
    return false;
  };
  std::vector<std::string> items;
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : s.workers)
    for (const auto& r : w.sessions) {
      if (!of_app(r.app_worker)) continue;
      if (!o.state.empty() && r.state != o.state) continue;
      if (!o.transport.empty() && r.transport != o.transport) continue;
      if (o.json)
        items.push_back(object{}
                            .str("handle", session_handle::from_value(r.handle).to_string())
                            .num("worker", w.stats.worker)
                            .str("state", r.state)
                            .str("transport", r.transport)
                            .num("app_worker", r.app_worker)
                            .str("text", r.text)
                            .done());
      else
        rows.push_back({r.text, r.state, n(r.app_worker)});
    }
  return listing(o, items, {"session", "state", "app worker"}, rows);
}

std::string listeners(const show_options& o, const snapshot& s) {
  std::vector<std::string> items;
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : s.listeners) {
    if (o.json)
      items.push_back(object{}
                          .num("app", l.app)
                          .str("app_name", l.app_name)
                          .str("endpoint", l.endpoint)
                          .str("scope", l.scope)
                          .num("ns", l.ns)
                          .str("handle", session_handle::from_value(l.handle).to_string())
                          .done());
    else
      rows.push_back({l.endpoint, l.scope, n(l.ns), n(l.app) + " (" + l.app_name + ")"});
  }
  return listing(o, items, {"endpoint", "scope", "ns", "app"}, rows);
}

// "0..3", or "0,2,5" once workers came and went; "-" for none.
std::string worker_list(const std::vector<std::uint32_t>& w) {
  if (w.empty()) return "-";
  if (w.back() - w.front() + 1 == w.size()) return w.size() == 1 ? n(w.front()) : n(w.front()) + ".." + n(w.back());
  std::string out;
  for (std::uint32_t x : w) out += (out.empty() ? "" : ",") + n(x);
  return out;
}

std::string apps(const show_options& o, const snapshot& s) {
  std::vector<std::string> items;
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : s.apps) {
    const std::string scope = a.local_scope && a.global_scope ? "local+global" : a.local_scope ? "local" : "global";
    // Messages waiting in its workers, when the stack spawned them.
    std::optional<std::uint64_t> mailbox;
    for (std::uint32_t w : a.app_workers)
      if (auto it = s.app_worker_mailboxes.find(w); it != s.app_worker_mailboxes.end())
        mailbox = mailbox.value_or(0) + it->second;
    if (o.json) {
      std::vector<std::string> indices;
      for (std::uint32_t w : a.app_workers) indices.push_back(n(w));
      object obj;
      obj.num("index", a.index)
          .str("name", a.name)
          .raw("app_workers", array(indices))
          .num("workers", a.app_workers.size())
          .flag("live", a.live)
          .str("scope", scope)
          .num("ns", a.ns)
          .num("pid", static_cast<std::uint64_t>(a.pid))
          .num("uid", a.uid)
          .flag("attached", a.attached)
          .num("quota_refusals", a.quota_refusals)
          .num("shm_violations", a.shm_violations);
      if (mailbox) obj.num("mailbox", *mailbox);
      items.push_back(obj.done());
    } else {
      rows.push_back({n(a.index), a.name, worker_list(a.app_workers), a.live ? "attached" : "detached", scope, n(a.ns),
                      n(static_cast<std::uint64_t>(a.pid)), n(a.uid), a.attached ? "process" : "in-stack",
                      n(a.quota_refusals), n(a.shm_violations), mailbox ? n(*mailbox) : "-"});
    }
  }
  return listing(o, items,
                 {"app", "name", "app workers", "status", "scope", "ns", "pid", "uid", "where", "quota refusals", "shm violations",
                  "mailbox"},
                 rows);
}

std::string ct(const show_options& o, const snapshot& s) {
  std::vector<std::string> items;
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : s.contexts) {
    std::vector<std::string> segs;
    for (const auto& g : c.segments) {
      if (o.json)
        segs.push_back(object{}
                           .num("id", g.id)
                           .num("size", g.size)
                           .num("bytes_used", g.bytes_used)
                           .num("bytes_free", g.bytes_free)
                           .num("bytes_reserved", g.bytes_reserved)
                           .num("fifos", g.fifos)
                           .num("client_sessions", g.client_sessions)
                           .num("server_sessions", g.server_sessions)
                           .flag("client_detached", g.client_detached)
                           .flag("server_detached", g.server_detached)
                           .done());
      else
        rows.push_back({n(c.id), n(c.client_app_worker) + "->" + n(c.server_app_worker), n(g.id), n(g.bytes_used),
                        n(g.bytes_free), n(g.fifos), n(g.client_sessions) + "/" + n(g.server_sessions),
                        std::string{g.client_detached ? "c" : "-"} + (g.server_detached ? "s" : "-")});
    }
    if (o.json)
      items.push_back(object{}
                          .num("id", c.id)
                          .num("client_app_worker", c.client_app_worker)
                          .num("server_app_worker", c.server_app_worker)
                          .num("segments_deleted", c.segments_deleted)
                          .num("mailbox", c.mailbox)
                          .raw("segments", array(segs))
                          .done());
  }
  return listing(o, items, {"context", "apps c->s", "segment", "used", "free", "fifos", "sessions c/s", "detached"}, rows);
}

}  // namespace

result<show_options> parse_show_options(const std::vector<std::string>& args) {
  show_options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      o.json = true;
      continue;
    }
    if (a != "--app" && a != "--state" && a != "--transport")
      return unexpected{errc::invalid_argument, intern("unknown option '" + a + "'")};
    if (i + 1 >= args.size()) return unexpected{errc::invalid_argument, intern(a + " needs a value")};
    const std::string& v = args[++i];
    if (a == "--app") {
      std::uint32_t x = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec != std::errc{} || end != v.data() + v.size())
        return unexpected{errc::invalid_argument, intern("--app takes an app index, not '" + v + "'")};
      o.app = x;
    } else if (a == "--state") {
      o.state = v;
    } else {
      o.transport = v;
    }
  }
  return o;
}

std::string dataplane(const show_options& o, const snapshot& s) {
  if (s.dataplane.empty()) return o.json ? "[]\n" : "no data plane in this stack\n";
  std::vector<std::string> items;
  std::string out;
  for (const auto& d : s.dataplane) {
    const std::uint64_t polls = d.busy_polls + d.idle_polls;
    const std::uint64_t busy_pct = polls > 0 ? d.busy_polls * 100 / polls : 0;
    if (o.json) {
      items.push_back(object{}
                          .num("core", d.core)
                          .str("port", d.port)
                          .str("mac", d.mac)
                          .str("address", d.address)
                          .str("thread", d.thread)
                          .num("connections", d.connections)
                          .num("rx_packets", d.rx_packets)
                          .num("rx_bytes", d.rx_bytes)
                          .num("tx_packets", d.tx_packets)
                          .num("tx_bytes", d.tx_bytes)
                          .num("udp_rx_datagrams", d.udp_rx_datagrams)
                          .num("udp_tx_datagrams", d.udp_tx_datagrams)
                          .num("arp_replies", d.arp_replies)
                          .num("arp_requests", d.arp_requests)
                          .num("icmp_echo_replies", d.icmp_echo_replies)
                          .num("busy_polls", d.busy_polls)
                          .num("idle_polls", d.idle_polls)
                          .num("events_lost", d.events_lost)
                          .num("frames_forwarded", d.frames_forwarded)
                          .num("flows_taken", d.flows_taken)
                          .num("rx_to_apps", d.rx_to_apps)
                          .raw("drops", counts(d.drops))
                          .raw("tcp", counts(d.tcp))
                          .raw("impaired", counts(d.impaired))
                          .done());
      continue;
    }
    out += "core " + n(d.core) + " on " + d.port + " (" + d.mac + ", " + d.address + "), " + n(d.connections) +
           " udp connection(s)\n";
    out += "  rx " + n(d.rx_packets) + " pkts / " + n(d.rx_bytes) + " B, tx " + n(d.tx_packets) + " pkts / " +
           n(d.tx_bytes) + " B\n";
    out += "  udp rx " + n(d.udp_rx_datagrams) + ", udp tx " + n(d.udp_tx_datagrams) + ", arp replies " +
           n(d.arp_replies) + ", arp requests " + n(d.arp_requests) + ", icmp echo replies " +
           n(d.icmp_echo_replies) + "\n";
    out += "  polls busy " + n(d.busy_polls) + " / idle " + n(d.idle_polls) + " (" + n(busy_pct) + "% busy), events lost " +
           n(d.events_lost) + (d.thread.empty() ? std::string{} : ", runs on " + d.thread) + "\n";
    if (d.rx_to_apps > 0) out += "  tcp rx told straight to app workers " + n(d.rx_to_apps) + "\n";
    if (s.dataplane.size() > 1)
      out += "  frames forwarded to their owner core " + n(d.frames_forwarded) + ", connections taken over " +
             n(d.flows_taken) + "\n";
    std::string drops;
    for (const auto& [reason, count] : d.drops)
      if (count > 0) drops += " " + reason + " " + n(count);
    out += "  drops:" + (drops.empty() ? std::string{" none"} : drops) + "\n";
    out += nonzero("  tcp:", d.tcp);
    if (!d.impaired.empty()) out += nonzero("  impaired:", d.impaired);
  }
  return o.json ? array(items) + "\n" : out;
}

result<std::string> render(const std::string& topic, const show_options& o, const snapshot& s) {
  if (topic == "summary") return summary(o, s);
  if (topic == "workers") return workers(o, s);
  if (topic == "sessions") return sessions(o, s);
  if (topic == "listeners") return listeners(o, s);
  if (topic == "apps") return apps(o, s);
  if (topic == "ct") return ct(o, s);
  if (topic == "dataplane") return dataplane(o, s);
  return unexpected{errc::invalid_argument,
                    intern("unknown topic '" + topic +
                           "' (summary, workers, sessions, listeners, apps, ct, dataplane)")};
}

}  // namespace actorstack::view
