#pragma once
/// \file
/// What each actor reports about itself when inspected (issue: inspect a
/// live stack). Every report is built by the actor that owns the state, on
/// its own turn; the inspector only gathers and renders them. Local
/// messages only: what crosses to actorstack-ctl is rendered text.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace actorstack {

/// Counters a worker reports (inspection, tests).
struct worker_stats {
  std::uint32_t worker = 0;
  std::uint64_t sessions = 0;
  std::uint64_t ct_connections = 0;
  std::uint64_t half_opens = 0;
  std::uint64_t pending_ctrl = 0;
  std::uint64_t pending_io = 0;
  std::uint64_t ctrl_events = 0;
  std::uint64_t io_events = 0;
  std::uint64_t stale_events = 0;
  std::uint64_t accepts = 0;
  std::uint64_t connects = 0;
  std::uint64_t refusals = 0;
  std::uint64_t dropped_notifications = 0;  ///< app worker unknown at delivery
  std::uint64_t udp_connections = 0;  ///< udp listeners and 5-tuples this worker installed
  std::uint64_t udp_segments = 0;     ///< per-app segments holding network (udp, tcp) fifos
  std::uint64_t udp_moved_in = 0;     ///< udp sessions another worker handed here (SPEC §5)
  std::uint64_t tcp_connections = 0;  ///< tcp connections with a session here (until the core let go)
  std::uint64_t tcp_listeners = 0;    ///< tcp listeners opened here
  std::uint64_t rx_bytes = 0;  ///< into its sessions' rx fifos, ever
  std::uint64_t tx_bytes = 0;  ///< into its sessions' tx fifos, ever
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_stats& x) {
  return f(x.worker, x.sessions, x.ct_connections,
           x.half_opens, x.pending_ctrl, x.pending_io, x.ctrl_events, x.io_events,
           x.stale_events, x.accepts, x.connects, x.refusals, x.dropped_notifications,
           x.udp_connections, x.udp_segments, x.udp_moved_in, x.tcp_connections, x.tcp_listeners, x.rx_bytes, x.tx_bytes);
}

/// One session as `show sessions` lists it (SPEC 6 format strings).
struct session_row {
  std::uint64_t handle = 0;
  std::string state;
  std::string transport;
  std::uint32_t app_worker = 0;
  std::string text;  ///< "[w:s][CT:ct] 127.0.0.1:1234->127.0.0.1:40000 ESTABLISHED"
};

/// A session worker: its counters, sessions per state, mailbox, sessions.
struct worker_report {
  worker_stats stats;
  std::uint64_t mailbox = 0;  ///< messages waiting when it answered
  std::map<std::string, std::uint64_t> by_state;
  std::vector<session_row> sessions;
};

/// An application as the root knows it.
struct app_row {
  std::uint32_t index = 0;
  std::string name;
  std::vector<std::uint32_t> app_workers;  ///< live ones, by global index (none once detached)
  bool live = true;
  bool local_scope = true;
  bool global_scope = true;
  std::uint32_t ns = 0;
  std::int32_t pid = 0;   ///< the process it lives in
  std::uint32_t uid = 0;  ///< that process's user (SO_PEERCRED for attached apps)
  bool attached = false;  ///< in another process
  std::uint64_t quota_refusals = 0;  ///< calls refused for a quota (errc::quota)
  std::uint64_t shm_violations = 0;  ///< sessions reset because it left their shared fifos inconsistent
};

/// A listener as the root's tables hold it.
struct listener_row {
  std::uint32_t app = 0;
  std::string app_name;
  std::string endpoint;  ///< "ct://127.0.0.1/1234"
  std::string scope;     ///< "local", "global" or "local+global"
  std::uint32_t ns = 0;
  std::uint64_t handle = 0;
};

/// One segment of a cut-through segment context.
struct segment_row {
  std::uint64_t id = 0;
  std::uint64_t size = 0;
  std::uint64_t bytes_used = 0;
  std::uint64_t bytes_free = 0;
  std::uint64_t bytes_reserved = 0;  ///< worst-case footprints of its pairs
  std::uint64_t fifos = 0;
  std::uint32_t client_sessions = 0;
  std::uint32_t server_sessions = 0;
  bool client_detached = false;
  bool server_detached = false;
};

struct ct_context_report {
  std::uint32_t id = 0;
  std::uint32_t client_app_worker = 0;
  std::uint32_t server_app_worker = 0;
  std::uint64_t segments_deleted = 0;
  std::uint64_t mailbox = 0;  ///< messages waiting in the context's mailbox
  std::vector<segment_row> segments;
};

}  // namespace actorstack
