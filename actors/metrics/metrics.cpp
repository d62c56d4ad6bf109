#include "actors/metrics/metrics.hpp"

#include <actorstack/version.hpp>

#include <map>
#include <string>

namespace actorstack::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  return MetricFamily{std::move(name), std::move(help), type, {}};
}

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

std::string n(std::uint64_t v) { return std::to_string(v); }

}  // namespace

std::vector<MetricFamily> families(const view::snapshot& s, bool up) {
  std::vector<MetricFamily> out;
  auto upf = family("actorstack_up", "1 when the stack answered this scrape", MetricType::Gauge);
  add(upf, {}, up ? 1 : 0);
  out.push_back(std::move(upf));
  // Which build answers: 1, labelled with the version (Prometheus' *_build_info idiom).
  auto build = family("actorstack_build_info", "The actorstack version serving these metrics", MetricType::Gauge);
  add(build, {{"version", std::string{version()}}}, 1);
  out.push_back(std::move(build));
  if (!up) return out;

  auto sessions = family("actorstack_sessions", "Sessions by worker and state (listeners included)", MetricType::Gauge);
  auto mailbox = family("actorstack_worker_mailbox_messages", "Messages waiting in a session worker's mailbox",
                        MetricType::Gauge);
  auto pending = family("actorstack_worker_pending_events", "Events queued on a worker's lists", MetricType::Gauge);
  auto events = family("actorstack_worker_events_total", "Events a worker handled", MetricType::Counter);
  auto stale = family("actorstack_worker_stale_events_total", "Events whose session was gone at delivery",
                      MetricType::Counter);
  auto accepts = family("actorstack_accepts_total", "Sessions accepted", MetricType::Counter);
  auto connects = family("actorstack_connects_total", "Active opens completed", MetricType::Counter);
  auto refusals = family("actorstack_refusals_total", "Accepts refused by the server app", MetricType::Counter);
  auto dropped = family("actorstack_dropped_notifications_total", "Notifications for app workers no longer known",
                        MetricType::Counter);
  auto half_opens = family("actorstack_ct_half_opens", "Cut-through connects not yet accepted", MetricType::Gauge);
  auto fifo_bytes = family("actorstack_worker_fifo_bytes_total",
                           "Bytes enqueued into a worker's session fifos: rx (for apps to read), tx (apps wrote)",
                           MetricType::Counter);
  for (const auto& w : s.workers) {
    const std::string worker = n(w.stats.worker);
    std::map<std::string, std::uint64_t> states = w.by_state;
    for (const auto& [state, count] : states) add(sessions, {{"state", state}, {"worker", worker}}, count);
    add(mailbox, {{"worker", worker}}, w.mailbox);
    add(pending, {{"list", "ctrl"}, {"worker", worker}}, w.stats.pending_ctrl);
    add(pending, {{"list", "io"}, {"worker", worker}}, w.stats.pending_io);
    add(events, {{"kind", "ctrl"}, {"worker", worker}}, w.stats.ctrl_events);
    add(events, {{"kind", "io"}, {"worker", worker}}, w.stats.io_events);
    add(stale, {{"worker", worker}}, w.stats.stale_events);
    add(accepts, {{"worker", worker}}, w.stats.accepts);
    add(connects, {{"worker", worker}}, w.stats.connects);
    add(refusals, {{"worker", worker}}, w.stats.refusals);
    add(dropped, {{"worker", worker}}, w.stats.dropped_notifications);
    add(half_opens, {{"worker", worker}}, w.stats.half_opens);
    add(fifo_bytes, {{"direction", "rx"}, {"worker", worker}}, w.stats.rx_bytes);
    add(fifo_bytes, {{"direction", "tx"}, {"worker", worker}}, w.stats.tx_bytes);
  }
  for (auto* f : {&sessions, &mailbox, &pending, &events, &stale, &accepts, &connects, &refusals, &dropped, &half_opens,
                  &fifo_bytes})
    out.push_back(std::move(*f));

  auto segments = family("actorstack_ct_segments", "Cut-through segments mapped", MetricType::Gauge);
  auto bytes = family("actorstack_ct_segment_bytes", "Cut-through segment bytes by use", MetricType::Gauge);
  auto deleted = family("actorstack_ct_segments_deleted_total", "Cut-through segments deleted", MetricType::Counter);
  std::uint64_t count = 0, used = 0, free_bytes = 0, gone = 0;
  for (const auto& c : s.contexts) {
    gone += c.segments_deleted;
    for (const auto& g : c.segments) {
      ++count;
      used += g.bytes_used;
      free_bytes += g.bytes_free;
    }
  }
  add(segments, {}, count);
  add(bytes, {{"use", "used"}}, used);
  add(bytes, {{"use", "free"}}, free_bytes);
  add(deleted, {}, gone);
  out.push_back(std::move(segments));
  out.push_back(std::move(bytes));
  out.push_back(std::move(deleted));

  auto listeners = family("actorstack_listeners", "Listeners", MetricType::Gauge);
  add(listeners, {}, s.listeners.size());
  auto apps = family("actorstack_apps", "Attached applications", MetricType::Gauge);
  std::uint64_t live = 0;
  for (const auto& a : s.apps) live += a.live ? 1 : 0;
  add(apps, {}, live);
  out.push_back(std::move(listeners));
  out.push_back(std::move(apps));
  // Per app, detached ones included: what a misbehaving app cost it.
  auto quota = family("actorstack_app_quota_refusals_total", "Calls of an app refused for a quota (quota.*)",
                      MetricType::Counter);
  auto violations = family("actorstack_app_shm_violations_total",
                           "Sessions of an app reset because it left their shared fifos inconsistent",
                           MetricType::Counter);
  for (const auto& a : s.apps) {
    add(quota, {{"app", n(a.index)}, {"name", a.name}}, a.quota_refusals);
    add(violations, {{"app", n(a.index)}, {"name", a.name}}, a.shm_violations);
  }
  out.push_back(std::move(quota));
  out.push_back(std::move(violations));

  auto root_mb = family("actorstack_root_mailbox_messages", "Messages waiting in the stack root's mailbox",
                        MetricType::Gauge);
  add(root_mb, {}, s.root_mailbox);
  out.push_back(std::move(root_mb));
  auto ctx_mb = family("actorstack_ct_context_mailbox_messages",
                       "Messages waiting in a cut-through segment context's mailbox", MetricType::Gauge);
  for (const auto& c : s.contexts) add(ctx_mb, {{"context", std::to_string(c.id)}}, c.mailbox);
  out.push_back(std::move(ctx_mb));
  auto app_mb = family("actorstack_app_worker_mailbox_messages",
                       "Messages waiting in an app worker's mailbox (the stack's own app workers)", MetricType::Gauge);
  for (const auto& [worker, count] : s.app_worker_mailboxes) add(app_mb, {{"app_worker", n(worker)}}, count);
  out.push_back(std::move(app_mb));

  if (s.dataplane.empty()) return out;
  auto packets = family("actorstack_dataplane_packets_total", "Packets a data-plane core received or sent",
                        MetricType::Counter);
  auto octets = family("actorstack_dataplane_bytes_total", "Bytes a data-plane core received or sent",
                       MetricType::Counter);
  auto datagrams = family("actorstack_dataplane_udp_datagrams_total", "UDP datagrams into / out of session fifos",
                          MetricType::Counter);
  auto drops = family("actorstack_dataplane_drops_total", "Packets dropped, by reason", MetricType::Counter);
  auto polls = family("actorstack_dataplane_polls_total", "Core loop passes that found work (busy) or not (idle)",
                      MetricType::Counter);
  auto conns = family("actorstack_dataplane_connections", "UDP listeners and 5-tuples installed", MetricType::Gauge);
  auto handed = family("actorstack_dataplane_handoffs_total",
                       "Between cores: frames forwarded to their connection's owner, connections taken over",
                       MetricType::Counter);
  auto rx_to_apps = family("actorstack_dataplane_rx_to_apps_total",
                           "TCP bytes-arrived notices a core put straight into an app worker's inbox",
                           MetricType::Counter);
  auto tcp = family("actorstack_dataplane_tcp_total",
                    "TCP engine events (SPEC-TCP 9.1): segments, bytes, retransmits, RSTs, aborts, ...",
                    MetricType::Counter);
  auto tcp_states = family("actorstack_dataplane_tcp_connections", "TCP connections in each RFC state",
                           MetricType::Gauge);
  auto impaired = family("actorstack_dataplane_impaired_frames_total",
                         "Frames the impairment stage (dataplane.impair) saw, dropped, duplicated, ...",
                         MetricType::Counter);
  for (const auto& d : s.dataplane) {
    const std::string core = std::to_string(d.core);
    for (const auto& [name, count] : d.tcp) {
      if (name.starts_with("state_"))
        add(tcp_states, {{"core", core}, {"state", name.substr(6)}}, count);
      else
        add(tcp, {{"core", core}, {"counter", name}}, count);
    }
    for (const auto& [name, count] : d.impaired)
      add(impaired, {{"core", core}, {"direction", name.substr(0, 2)}, {"action", name.substr(3)}}, count);
    add(packets, {{"core", core}, {"direction", "rx"}}, d.rx_packets);
    add(packets, {{"core", core}, {"direction", "tx"}}, d.tx_packets);
    add(octets, {{"core", core}, {"direction", "rx"}}, d.rx_bytes);
    add(octets, {{"core", core}, {"direction", "tx"}}, d.tx_bytes);
    add(datagrams, {{"core", core}, {"direction", "rx"}}, d.udp_rx_datagrams);
    add(datagrams, {{"core", core}, {"direction", "tx"}}, d.udp_tx_datagrams);
    for (const auto& [reason, count] : d.drops) add(drops, {{"core", core}, {"reason", reason}}, count);
    add(polls, {{"core", core}, {"kind", "busy"}}, d.busy_polls);
    add(polls, {{"core", core}, {"kind", "idle"}}, d.idle_polls);
    add(conns, {{"core", core}}, d.connections);
    add(handed, {{"core", core}, {"kind", "frame"}}, d.frames_forwarded);
    add(handed, {{"core", core}, {"kind", "connection"}}, d.flows_taken);
    add(rx_to_apps, {{"core", core}}, d.rx_to_apps);
  }
  for (auto* f : {&packets, &octets, &datagrams, &drops, &polls, &conns, &handed, &rx_to_apps, &tcp, &tcp_states, &impaired})
    out.push_back(std::move(*f));
  return out;
}

std::vector<MetricFamily> stack_collector::Collect() const {
  auto snap = fetch_ ? fetch_() : std::nullopt;
  if (!snap) return families({}, false);
  return families(*snap, true);
}

}  // namespace actorstack::metrics
