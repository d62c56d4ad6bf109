#pragma once
/// \file
/// The error vocabulary of actorstack (SPEC §7). Every public call returns
/// either a value or one of these codes; nothing is reported by exception
/// and nothing fails silently. The enum is shared by all layers (shm,
/// actors, dataplane) so an error keeps its meaning as it crosses them.
/// This header has no dependencies and is the one public header shm/ uses.

#include <cstdint>
#include <string>
#include <string_view>

namespace actorstack {

/// Every failure actorstack can report. Values are stable (they cross
/// process boundaries in control messages); append, never renumber.
enum class errc : std::uint8_t {
  none = 0,
  // --- session layer (SPEC §6, §7) ---
  filtered,         ///< a session rule says "drop" for this destination
  no_route,         ///< destination is local-only and not reachable from here
  scope,            ///< application lacks the scope (local/global) needed
  local_connect,    ///< no cut-through peer; caller falls back to a transport
  alloc,            ///< allocating a session, connection or fifo pair failed
  refused,          ///< the peer application refused the connection
  invalid_session,  ///< handle does not name a live session (stale or bogus)
  queue_full,       ///< an event queue / ring has no free slot
  queue_contended,  ///< could not claim a slot within the retry bound ("could not lock")
  segment_alloc,    ///< no segment could be created or carved
  fifo_alloc,       ///< no fifo could be carved from a segment
  bad_config,       ///< unknown configuration key or invalid value
  // --- shared memory (shm/) ---
  segment_create,   ///< memfd_create / ftruncate failed (see sys_errno)
  segment_map,      ///< mmap of a segment failed (see sys_errno)
  bad_layout,       ///< mapped memory does not hold the expected structure
  invalid_argument, ///< a parameter is out of its documented range
  fifo_full,        ///< no free space in the fifo for this operation
  fifo_empty,       ///< nothing to read
  fifo_no_memory,   ///< the fifo could not grow: its segment is exhausted
  ooo_full,         ///< too many disjoint out-of-order ranges to track
  subscribers_full, ///< the fifo's subscriber list is at capacity
  system,           ///< an OS call failed (see sys_errno)
  // --- transports / applications ---
  no_listener,      ///< nothing listens on the destination
  already_listening,///< a listener already exists for this endpoint
  no_such_app,      ///< application or app worker is not attached
  not_supported,    ///< the transport does not support the operation
  timeout,          ///< a bounded wait expired
  // --- data plane (dataplane/) ---
  already_initialized, ///< the DPDK EAL runs once per process; it already did
  dataplane,        ///< a DPDK call failed (detail names it, sys_errno holds rte_errno)
  // --- applications in other processes ---
  disconnected,     ///< the other end of a channel hung up (or the stack is gone)
  bad_message,      ///< a malformed, oversized or unexpected control message
  would_block,      ///< non-blocking call: nothing to do now, try after a wait
  quota,            ///< the app (or its user) reached a limit the stack sets (quota.*)
  // --- TCP ---
  reset,            ///< the peer reset the connection (TCP RST)
  no_port,          ///< every local port toward this destination is in use (Linux: EADDRNOTAVAIL)
};

/// The highest code: whoever decodes a code that crossed a process or
/// actor boundary refuses anything above it.
inline constexpr errc last_errc = errc::no_port;

/// Stable, lower-case name of an error code ("queue_full").
std::string_view to_string(errc code) noexcept;

/// An error value: the code plus optional context. Trivially copyable so
/// that returning it on a hot path (a full fifo) costs nothing.
struct error {
  errc code = errc::none;
  int sys_errno = 0;             ///< errno of the failing OS call, if any
  const char* detail = nullptr;  ///< static string naming what failed, if any

  /// Human-readable one-liner: "fifo_alloc: segment exhausted (errno 12: ...)".
  std::string message() const;
  friend bool operator==(const error& a, errc b) noexcept { return a.code == b; }
};

/// Keeps a copy of `text` for the life of the process and returns it, so a
/// rare, human-facing error (a bad configuration key) can carry dynamic
/// detail in `error::detail`. Identical texts share one copy. Takes a lock:
/// never use it on a data path.
const char* intern(std::string_view text);

}  // namespace actorstack
