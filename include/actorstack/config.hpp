#pragma once
/// \file
/// The stack configuration (SPEC §8): one plain struct with documented
/// defaults, plus the ways to fill it — key/value pairs, INI text and
/// command-line options — and a dump that reads back to the same config.
///
/// Every key is `section.name`, lower case with dashes
/// (`session.event-queue-length`). A mistake is never silently ignored: an
/// unknown key or a bad value is `errc::bad_config` whose `detail` names the
/// key, the offending text and why it was refused, and suggests the closest
/// valid key for a likely typo:
///
///     auto cfg = parse_config("[session]\nworker = 4\n");
///     // bad_config: line 2: unknown key 'session.worker'
///     //             (did you mean 'session.workers'?)
///
/// Values:
/// - numbers are decimal; byte sizes and queue lengths also take a binary
///   suffix K, M, G or T, also spelt KB/KiB..., in any case (1K = 1024:
///   `64k`, `4M`, `1GiB`), the same grammar as every binary's size options;
/// - booleans are true/false, on/off, yes/no, 1/0 (any letter case);
/// - text (the [dataplane] port, addresses, poll mode) is taken verbatim:
///   no quotes, no blanks or control characters inside, not starting with
///   '#' or ';'.
///
/// In INI text a comment starts at a '#' or ';' that begins a line or
/// follows a blank, so a value may contain them (`socket=/run/a#1.sock`).
///
/// Nothing here touches the running stack: the stack root actor owns the
/// active config (docs/architecture.md §2) and takes a validated copy.

#include <actorstack/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

namespace actorstack {

/// Every tunable of the stack, with SPEC §8's defaults. Fields may be set
/// directly in code; `validate()` then checks them as the parsers would.
struct stack_config {
  /// Largest worker count: a session handle carries 8 bits of worker index
  /// and the all-ones handle is the invalid one, so index 255 is reserved.
  static constexpr std::uint32_t max_workers = 255;

  // ---- [session] -------------------------------------------------------

  /// `session.workers`: session-layer worker threads. 0 = one per CPU this
  /// process may run on (see `effective_workers`). At most `max_workers`.
  std::uint32_t workers = 0;

  /// `session.event-queue-length`: io events (rx, tx) each attached app
  /// worker's shared-memory event queue holds (its memfd is sized from the
  /// two lengths); when it is full, events go by message instead. A power
  /// of two (rings index with a mask), 16 .. 1<<20. In-process app workers
  /// get their events as actor messages and have no such queue.
  std::uint32_t event_queue_length = 2048;

  /// `session.ctrl-queue-length`: entries of that queue's control ring.
  /// 0 = half of `event_queue_length` (SPEC §8); else a power of two,
  /// 16 .. 1<<20. See `effective_ctrl_queue_length`.
  std::uint32_t ctrl_queue_length = 0;

  /// `session.rx-fifo-size`: default receive fifo bytes per session. An
  /// application may override it at attach. 4096 .. `max_fifo_size`.
  std::uint32_t rx_fifo_size = 64 * 1024;

  /// `session.tx-fifo-size`: default transmit fifo bytes per session. An
  /// application may override it at attach. 4096 .. `max_fifo_size`.
  std::uint32_t tx_fifo_size = 64 * 1024;

  /// `session.max-fifo-size`: the largest fifo any application may ask for
  /// (at attach or by growing one at run time). 4096 .. 2^31-1, at least
  /// both default fifo sizes and at most `segment_size`.
  std::uint32_t max_fifo_size = 4 * 1024 * 1024;

  /// `session.segment-size`: bytes of each fifo segment an application gets.
  /// At least 1 MiB, and large enough for one default rx+tx fifo pair.
  std::uint64_t segment_size = 128ull * 1024 * 1024;

  // ---- [dataplane] -----------------------------------------------------------
  //
  // Text values (port, ip, gateway, poll-mode, lcores) are taken verbatim:
  // no quotes, no escapes. None may contain whitespace or control characters
  // or start with '#' or ';'. In INI text a comment starts only at a '#' or
  // ';' that begins the line or follows a blank, so "socket=/run/a#1;x" is
  // read whole and "ip = 10.0.0.2/24 # lab" is a value and a comment; an
  // empty text value is written `name =`. The dump therefore reads back
  // exactly. On the command line `--dataplane.port=net_tap0,iface=as0`
  // splits at the first '=' only.

  /// `dataplane.port`: the DPDK port as an EAL `--vdev` argument
  /// ("net_tap0,iface=as0", "net_memif0,role=server,socket=/run/as.sock").
  /// Empty = no data plane: only cut-through sessions. Free text (the EAL
  /// checks it) under the text-value rules above: no whitespace.
  std::string dataplane_port;

  /// `dataplane.ip`: the port's IPv4 address and prefix, "10.0.0.2/24": a
  /// dotted quad (no leading zeros), '/', a prefix length 1..32. IPv6 is not
  /// supported yet. Required when `dataplane_port` is set; may be empty
  /// otherwise.
  std::string dataplane_ip;

  /// `dataplane.gateway`: IPv4 next hop for destinations off the prefix;
  /// empty = only on-link destinations are reachable. A dotted quad inside
  /// `dataplane_ip`'s prefix (so `dataplane_ip` must be set) and not the
  /// port's own address.
  std::string dataplane_gateway;

  /// `dataplane.cores`: data-plane cores (lcores, one queue pair each).
  /// 1 .. 64.
  std::uint32_t dataplane_cores = 1;

  /// `dataplane.poll-mode`: "adaptive" (polls while there is work, yields
  /// the CPU between empty passes for 2 ms, then sleeps in growing steps;
  /// the default, right for small machines and tests) or "busy" (spins: lowest latency,
  /// one CPU at 100%). Exactly one of these, lower case.
  std::string dataplane_poll_mode = "adaptive";

  /// `dataplane.threads`: where the cores run. "shared" (the default):
  /// core i on the session workers' scheduler thread i, between actor jobs,
  /// so a request/response turn stays on one thread; only when there are
  /// at least as many workers as cores and the stack owns its actor system
  /// (else as "own"). "own": each core on an lcore thread of its own.
  std::string dataplane_threads = "shared";

  /// `dataplane.mbufs`: packet buffers in the port's pool (sizes EAL memory).
  /// A plain number (no size suffix), 1023 .. 1048575; DPDK pools use memory best
  /// at 2^n - 1.
  std::uint32_t dataplane_mbufs = 8191;

  /// `dataplane.lcores`: explicit EAL `--lcores` value; empty = computed
  /// (the control thread floats, each data-plane lcore is pinned). Only the
  /// EAL's syntax characters: digits, ',', '-', '@', '(' and ')'
  /// ("0@1,(1-2)@(2-3)").
  std::string dataplane_lcores;

  /// `dataplane.impair`: faults on demand for tests (SPEC-TCP 8), on every
  /// frame each core receives and sends: "loss=P,dup=P,reorder=P,
  /// corrupt=P,truncate=P,delay=MS,seed=S", any subset, P a fraction (0.01)
  /// or a percentage (1%), the same faults for the same seed. Empty: none.
  std::string dataplane_impair;

  // ---- [tcp]: the data plane's TCP engines (SPEC-TCP 9.3) ---------------

  /// `tcp.mss`: the largest segment payload we announce and send (the
  /// interface MTU - 40 at most). 536 .. 9000.
  std::uint32_t tcp_mss = 1460;
  /// `tcp.initial-window`: the initial congestion window in segments (RFC
  /// 6928). 1 .. 64.
  std::uint32_t tcp_initial_window = 10;
  /// `tcp.rto-min-ms`, `tcp.rto-initial-ms`, `tcp.rto-max-ms`: the
  /// retransmission timeout's bounds and first value (RFC 6298), min <=
  /// initial <= max. 1 .. 600000.
  std::uint32_t tcp_rto_min_ms = 200;
  std::uint32_t tcp_rto_initial_ms = 1000;
  std::uint32_t tcp_rto_max_ms = 60000;
  /// `tcp.syn-retries`: SYN (and SYN-ACK) retransmissions before a connect
  /// fails with `timeout`. 1 .. 32.
  std::uint32_t tcp_syn_retries = 6;
  /// `tcp.data-retries`: retransmissions of the same data before the
  /// connection is reset with `timeout`. 1 .. 64.
  std::uint32_t tcp_data_retries = 15;
  /// `tcp.delayed-ack-ms`: how long an ACK may wait for a second segment
  /// or data to ride on. 1 .. 500.
  std::uint32_t tcp_delayed_ack_ms = 40;
  /// `tcp.fin-wait-2-s`, `tcp.time-wait-s`: how long those states last.
  /// 1 .. 3600.
  std::uint32_t tcp_fin_wait_2_s = 60;
  std::uint32_t tcp_time_wait_s = 60;
  /// `tcp.backlog`: half-open connections per listener; further SYNs are
  /// dropped (counted). 1 .. 65535.
  std::uint32_t tcp_backlog = 128;
  /// `tcp.nagle`, `tcp.window-scaling`, `tcp.timestamps`, `tcp.sack`: 1 on,
  /// 0 off. Nagle is the default of new connections; the others are what
  /// the engine offers and accepts in a handshake.
  std::uint32_t tcp_nagle = 1;
  std::uint32_t tcp_window_scaling = 1;
  std::uint32_t tcp_timestamps = 1;
  std::uint32_t tcp_sack = 1;
  /// `tcp.ephemeral-ports`: local ports of active opens, "FIRST-LAST"
  /// (1024 .. 65535, at least 64 ports). Every port serves each destination
  /// (as Linux): a connect fails with no_port only when all are in use.
  std::string tcp_ephemeral_ports = "49152-65535";
  /// `tcp.congestion`: the congestion control algorithm; "newreno" (RFC
  /// 5681, 6582), the one built in.
  std::string tcp_congestion = "newreno";

  // ---- [inspect], [metrics] ----------------------------------------------

  /// `inspect.port`: TCP port of the inspector endpoint; 0 = disabled.
  std::uint16_t inspect_port = 0;

  /// `inspect.bind`: the IPv4 address the inspector listens on. Anything but
  /// a loopback address (127.x) requires the three tls.* files: control
  /// from another host is never open to whoever reaches the port.
  std::string inspect_bind = "127.0.0.1";

  /// `tls.certificate`, `tls.key`, `tls.ca`: PEM files for the inspector's
  /// TLS (CAF's OpenSSL module, TLS 1.2): this side's certificate chain and
  /// private key, and the CA that signs every peer allowed in. All three or
  /// none; with them, a peer without a certificate that CA signed gets
  /// nothing (the handshake fails).
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_ca;

  /// `metrics.port`: TCP port of the metrics endpoint; 0 = disabled.
  std::uint16_t metrics_port = 0;

  // ---- [quota]: what one app, or one user, may hold ------------------------

  /// `quota.listeners`: listeners one app may have at once (a listen past
  /// it fails with errc::quota).
  std::uint32_t quota_listeners = 1024;

  /// `quota.attach-per-uid`: processes of one uid attached (or waiting to)
  /// through the Unix socket at once; one more is hung up on.
  std::uint32_t quota_attach_per_uid = 256;

  /// `quota.sessions`: sessions an attached app may hold at once, accepted
  /// and connected together (listeners count under quota.listeners). One
  /// more accept is refused (the connecting side hears refused), one more
  /// connect completes as errc::quota.
  std::uint32_t quota_sessions = 65536;

  /// `quota.pending-connects`: connects an attached app may have under way
  /// at once; one more fails with errc::quota.
  std::uint32_t quota_pending_connects = 1024;

  /// `quota.segment-bytes`: bytes of shared-memory segments an attached
  /// app may have mapped at once (its network transports' segments, one
  /// per session worker and app worker, and its cut-through segments). A
  /// segment past it is not passed to the app: the session placed in it is
  /// refused (an accept: the connecting side hears refused; a connect
  /// completes as errc::quota). A cut-through segment is deleted once its
  /// sessions are gone and gives its bytes back.
  std::uint64_t quota_segment_bytes = 16ull << 30;

  /// Field-wise equality (used by the to_string/parse_config round trip).
  friend bool operator==(const stack_config&, const stack_config&) = default;
};

/// Sets the field named by `key` ("session.workers") from its text form
/// ("4", "64k", "on"). Surrounding blanks in `value` are ignored.
/// Errors (`errc::bad_config`, `detail` interned):
/// - unknown key: "unknown key 'session.worker' (did you mean
///   'session.workers'?)" — the hint appears when a valid key is within
///   edit distance 3 (letter case and '_' for '-' are not counted);
/// - bad value: names key, value and reason, e.g.
///   "session.event-queue-length: '1000' is not a power of two".
/// On error `cfg` is unchanged. Checks only the one field; cross-field
/// rules are `validate`'s.
result<void> set_config_value(stack_config& cfg, std::string_view key,
                              std::string_view value);

/// "49152-65535" as {49152, 65535}: two decimal port numbers, FIRST <=
/// LAST, no blanks (`tcp.ephemeral-ports`). Nothing when the text is not
/// such a range.
std::optional<std::pair<std::uint16_t, std::uint16_t>> parse_port_range(std::string_view text);

/// Checks every field's range and the rules between fields:
/// `max_fifo_size` >= `rx_fifo_size` and `tx_fifo_size`; `max_fifo_size`
/// <= `segment_size`; a default rx+tx fifo pair fits in `segment_size`;
/// the data-plane keys agree. Errors are `errc::bad_config` naming the keys
/// involved.
result<void> validate(const stack_config& cfg);

/// Parses INI-style text, starting from the defaults:
///
///     # comment            ; comment too
///     [session]
///     workers = 2
///     rx-fifo-size = 128k  # trailing comments are allowed
///     inspect.port = 9000  (outside any section: fully-qualified names)
///
/// A name under `[section]` means `section.name`; a name containing '.' is
/// fully qualified wherever it appears, and before the first header every
/// name must be. Setting a key twice is an error (in a
/// hand-edited file the first line is usually forgotten, not meant).
/// Errors name the 1-based line ("line 3: ..."). The result is validated.
result<stack_config> parse_config(std::string_view text);

/// Builds a config from command-line options, starting from the defaults:
/// `--section.name=value` or `--section.name value`. `argv[0]` is the
/// program name and is skipped, as `main` gets it.
/// A later option overrides an earlier one (scripts append overrides).
/// Anything that is not an option is `errc::bad_config` naming the
/// argument's position. The result is validated.
result<stack_config> config_from_args(int argc, const char* const* argv);

/// The whole config as INI text, one `name = value` line per key under its
/// `[section]`; byte sizes that are whole KiB/MiB/GiB/TiB use the K/M/G/T
/// suffixes (queue lengths stay plain numbers).
/// `parse_config(to_string(c))` returns a config equal to `c` (for any `c`
/// that passes `validate`).
std::string to_string(const stack_config& cfg);

/// Every valid key, in the order `to_string` writes them.
std::vector<std::string_view> config_keys();

/// `cfg.workers`, or when it is 0 the number of CPUs this process may run
/// on (its affinity mask, so a container limited to 2 CPUs of a 64-CPU host
/// gets 2 workers, not 64; online CPUs if the mask is unavailable). Always
/// in 1 .. `stack_config::max_workers`.
std::uint32_t effective_workers(const stack_config& cfg);

/// `cfg.ctrl_queue_length`, or when it is 0 half of `event_queue_length`.
std::uint32_t effective_ctrl_queue_length(const stack_config& cfg);

}  // namespace actorstack
