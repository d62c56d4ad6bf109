#pragma once
/// \file
/// The session lookup state the stack root owns: listeners in per-namespace
/// local tables and in the global table, session rules, and the connect
/// decision of SPEC §6 (`session_tables::resolve_connect`).
///
/// One actor (the stack root) owns a `session_tables` and serialises every
/// call, so there is no locking here. Plain C++: no CAF, unit-testable alone.
///
/// - **Local table** (one per application namespace; namespace 0 always
///   exists, others appear on first use): listeners registered with local
///   scope, which only applications attached to this stack can reach, plus
///   the namespace's session rules. `ct://` listeners live only here.
/// - **Global table** (one for the stack): listeners registered with global
///   scope, keyed by exact endpoint; an endpoint with a wildcard address
///   (0.0.0.0 / ::) matches any address of its family.
///
/// Matching, everywhere: protocol and port must be equal; an exact address
/// beats the wildcard of the same family; IPv4 and IPv6 never match each
/// other (a `::` listener does not catch IPv4 connects).

#include <actorstack/endpoint.hpp>
#include <actorstack/result.hpp>
#include <actorstack/session_handle.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace actorstack::lookup {

/// Which tables a listener is registered in, or which an application may
/// use to connect. Local: apps on this stack (cut-through); global: the
/// whole host, including real transports. Both by default, as for an
/// application that asked for nothing special.
struct scope_flags {
  bool local = true;   ///< the namespace's local table
  bool global = true;  ///< the stack's global table

  /// Local scope only.
  static constexpr scope_flags local_only() noexcept { return {true, false}; }
  /// Global scope only.
  static constexpr scope_flags global_only() noexcept { return {false, true}; }
  /// Local and global scope.
  static constexpr scope_flags both() noexcept { return {true, true}; }
  /// No scope at all: rejected by add/del, fails every connect.
  static constexpr scope_flags none() noexcept { return {false, false}; }

  /// True when at least one table is selected.
  constexpr bool any() const noexcept { return local || global; }
  /// Member-wise equality.
  friend constexpr bool operator==(scope_flags, scope_flags) noexcept = default;

  /// Serialised as the two flags.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, scope_flags& x) {
    return f(x.local, x.global);
  }
};

/// "local", "global", "local+global" or "none".
std::string_view to_string(scope_flags s) noexcept;

/// What a lookup finds: the listening session and the application owning it.
struct listener_ref {
  session_handle listener;     ///< the listening session
  std::uint32_t app_index = 0; ///< the application that listens

  /// Member-wise equality.
  friend bool operator==(const listener_ref&, const listener_ref&) noexcept = default;

  /// Serialised as handle and application index.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, listener_ref& x) {
    return f(x.listener, x.app_index);
  }
};

/// A set of remote endpoints: protocol, address prefix and port (0 = any
/// port). A prefix length of 0 matches every address of the family.
/// `session_tables` keeps prefixes canonical (host bits cleared).
struct endpoint_prefix {
  transport_proto proto = transport_proto::tcp;  ///< must equal the target's
  ip_address ip;                                 ///< network part; its family must match the target's
  std::uint8_t length = 0;                       ///< prefix length in bits, 0..32 or 0..128
  std::uint16_t port = 0;                        ///< exact port, or 0 for any port

  /// True when `e` is in this set.
  bool matches(const endpoint& e) const noexcept;
  /// "tcp://10.0.0.0/8 port 80", "udp://[::]/0 port any".
  std::string to_string() const;
  /// Member-wise equality (compare canonical prefixes).
  friend bool operator==(const endpoint_prefix&, const endpoint_prefix&) noexcept = default;

  /// Serialised as protocol, address, length, port.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, endpoint_prefix& x) {
    return f(x.proto, x.ip, x.length, x.port);
  }
};

/// A session rule of a local table: what happens to connects whose target
/// falls in `rmt`. The most specific matching rule wins: longest prefix,
/// then an exact port over "any port".
struct session_rule {
  /// What a matching rule does.
  enum class action : std::uint8_t {
    drop,    ///< refuse the connect: errc::filtered
    forward, ///< hand the connect to `app_index`'s listener on the target
  };

  endpoint_prefix rmt;          ///< the remote endpoints this rule covers
  action act = action::drop;    ///< drop or forward
  std::uint32_t app_index = 0;  ///< forward: the receiving app; drop: the app that added it (informational)

  /// Member-wise equality.
  friend bool operator==(const session_rule&, const session_rule&) noexcept = default;

  /// Serialised as prefix, action, application index.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, session_rule& x) {
    return f(x.rmt, x.act, x.app_index);
  }
};

/// "drop" or "forward".
std::string_view to_string(session_rule::action a) noexcept;

/// One row of `session_tables::listeners()`: a listener and where it is
/// registered. A listener registered in both tables is one row with both
/// scope flags set.
struct listener_entry {
  std::uint32_t ns = 0;  ///< namespace it was registered from
  endpoint local;        ///< the endpoint it listens on
  listener_ref ref;      ///< session and application
  scope_flags scope;     ///< the tables it is in
};

/// Sizes of the tables, for inspection and tests.
struct table_counts {
  std::size_t namespaces = 0;        ///< local tables (namespace 0 included)
  std::size_t local_listeners = 0;   ///< entries across all local tables
  std::size_t global_listeners = 0;  ///< entries in the global table
  std::size_t rules = 0;             ///< session rules across all namespaces
};

/// True when `target` can only be reached on this stack: a `ct` endpoint,
/// or a wildcard or loopback address. The global scope refuses such a
/// target with errc::no_route (SPEC §6).
bool is_local_only(const endpoint& target) noexcept;

/// Listeners, rules and the connect decision. Owned by the stack root.
class session_tables {
 public:
  /// Empty tables; namespace 0 exists.
  session_tables();

  // ---- listeners ---------------------------------------------------------

  /// Registers `ref` as the listener on `local` in the tables `scope` names:
  /// the local table of namespace `ns` and/or the global table. Both or
  /// neither: a duplicate in either table registers nothing. `ct`
  /// endpoints are local-only: their global flag is ignored.
  /// Errors: invalid_argument for scope none; scope for a `ct` endpoint
  /// without local scope; already_listening when a listener exists on
  /// exactly this endpoint in a selected table.
  result<void> add_listener(std::uint32_t ns, const endpoint& local, listener_ref ref,
                            scope_flags scope);

  /// Removes the listener registered on exactly `local` from the tables
  /// `scope` names (the global flag is ignored for `ct`, as on add). Both or
  /// neither. Errors: invalid_argument for scope none; no_listener when a
  /// selected table has no listener on this endpoint.
  result<void> del_listener(std::uint32_t ns, const endpoint& local, scope_flags scope);

  /// The listener a connect to `target` would meet in the tables `scope`
  /// names: local table of `ns` first, then global; in each, the exact
  /// address before the wildcard. Ignores rules (see `resolve_connect`).
  std::optional<listener_ref> find_listener(std::uint32_t ns, const endpoint& target,
                                            scope_flags scope) const;

  /// Every listener, sorted by namespace then endpoint.
  std::vector<listener_entry> listeners() const;

  // ---- session rules ------------------------------------------------------

  /// Adds `rule` to namespace `ns`'s local table, or replaces the rule with
  /// the same prefix (rules are keyed by their prefix). The prefix's host
  /// bits are cleared first. Errors: invalid_argument when the prefix
  /// length exceeds the address length.
  result<void> add_rule(std::uint32_t ns, session_rule rule);

  /// Removes the rule whose prefix equals `rmt` (after clearing host bits).
  /// Errors: invalid_argument for a bad prefix length or when no such rule
  /// exists.
  result<void> del_rule(std::uint32_t ns, const endpoint_prefix& rmt);

  /// The most specific rule of namespace `ns` matching `target`, if any.
  std::optional<session_rule> match_rule(std::uint32_t ns, const endpoint& target) const;

  /// Namespace `ns`'s rules, most specific first (longest prefix, then
  /// exact port before any port, then by prefix).
  std::vector<session_rule> rules(std::uint32_t ns) const;

  // ---- applications ----------------------------------------------------------

  /// Forgets application `app_index`: every listener it owns (in every
  /// table) and every forward rule pointing at it. Returns how many table
  /// entries were removed (a listener in both tables counts twice).
  std::size_t del_app(std::uint32_t app_index);

  /// Table sizes.
  table_counts counts() const;

  // ---- the connect decision (SPEC §6) --------------------------------------

  /// Decides where a connect from application `client_app` (in namespace
  /// `ns`, with scope `client_scope`) to `target` goes. A value is the
  /// listener of *another* application to cut through to. Errors:
  /// - filtered: a drop rule in the local table covers the target;
  /// - no_route: the local table had no other app for it and the target is
  ///   local-only (see `is_local_only`);
  /// - scope: the same, for a reachable target, but the client lacks
  ///   global scope;
  /// - local_connect: no other app listens on it in the global table
  ///   either; the caller falls back to a real transport.
  result<listener_ref> resolve_connect(std::uint32_t ns, std::uint32_t client_app,
                                       scope_flags client_scope, const endpoint& target) const;

 private:
  // Rules of one prefix length, keyed by (proto, network address, port)
  // written as an endpoint, so a lookup is one hash probe per length.
  using rules_of_length = std::unordered_map<endpoint, session_rule>;

  struct local_table {
    std::unordered_map<endpoint, listener_ref> listeners;
    // Longest prefix first, so the first hit in iteration order wins.
    std::map<std::uint8_t, rules_of_length, std::greater<>> rules;
    std::size_t rule_count = 0;
  };

  struct global_entry {
    listener_ref ref;
    std::uint32_t ns = 0;  // where it was registered from, for listings
  };

  // What the local step of the decision concluded.
  enum class local_verdict { filtered, hit, go_global };
  struct local_outcome {
    local_verdict verdict = local_verdict::go_global;
    listener_ref ref;
  };

  const local_table* find_ns(std::uint32_t ns) const;
  static std::optional<session_rule> best_rule(const local_table& table, const endpoint& target);
  local_outcome resolve_local(const local_table& table, std::uint32_t client_app,
                              const endpoint& target) const;
  result<listener_ref> resolve_global(std::uint32_t client_app, scope_flags client_scope,
                                      const endpoint& target) const;
  std::optional<listener_ref> listener_of_app(const local_table& table, std::uint32_t app,
                                              const endpoint& target) const;

  std::unordered_map<std::uint32_t, local_table> local_;
  std::unordered_map<endpoint, global_entry> global_;
};

}  // namespace actorstack::lookup
