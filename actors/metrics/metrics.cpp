#include "actors/metrics/metrics.hpp"

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
  }
  for (auto* f : {&sessions, &mailbox, &pending, &events, &stale, &accepts, &connects, &refusals, &dropped, &half_opens})
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
  return out;
}

std::vector<MetricFamily> stack_collector::Collect() const {
  auto snap = fetch_ ? fetch_() : std::nullopt;
  if (!snap) return families({}, false);
  return families(*snap, true);
}

}  // namespace actorstack::metrics
