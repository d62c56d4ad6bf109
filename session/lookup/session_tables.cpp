#include "session/lookup/session_tables.hpp"

#include <algorithm>
#include <tuple>

namespace actorstack::lookup {

namespace {

// The exact entry for `target`, else the wildcard-address entry of the same
// family, protocol and port. Used for both listener tables, so the local
// and global scopes agree on what "matches" means.
template <class Map>
const typename Map::mapped_type* match_endpoint(const Map& m, const endpoint& target) {
  if (auto it = m.find(target); it != m.end()) return &it->second;
  if (target.ip.is_any()) return nullptr;  // already looked up the wildcard
  const endpoint wild{target.proto, ip_address::any(target.ip.fam), target.port};
  if (auto it = m.find(wild); it != m.end()) return &it->second;
  return nullptr;
}

// Like match_endpoint, but only entries owned by `app`: a forward rule
// names an application, and that app's wildcard listener must win over
// another app's exact one.
template <class Map, class AppOf>
const typename Map::mapped_type* match_endpoint_of_app(const Map& m, const endpoint& target,
                                                       std::uint32_t app, AppOf app_of) {
  if (auto it = m.find(target); it != m.end() && app_of(it->second) == app) return &it->second;
  if (target.ip.is_any()) return nullptr;
  const endpoint wild{target.proto, ip_address::any(target.ip.fam), target.port};
  if (auto it = m.find(wild); it != m.end() && app_of(it->second) == app) return &it->second;
  return nullptr;
}

// Validates a listener scope and applies the `ct` rule: cut-through
// endpoints exist only on this stack, so they never enter the global table.
result<scope_flags> listener_scope(const endpoint& local, scope_flags scope) {
  if (!scope.any()) return unexpected{errc::invalid_argument, "listener scope is none"};
  if (local.proto == transport_proto::ct) {
    if (!scope.local) return unexpected{errc::scope, "ct listeners are local-scope only"};
    scope.global = false;
  }
  return scope;
}

// A rule's hash key: protocol, network address and port of its prefix.
endpoint rule_key(const endpoint_prefix& p) { return endpoint{p.proto, p.ip, p.port}; }

// Clears host bits so equal prefixes have one key. Errors: invalid_argument.
result<endpoint_prefix> canonical(endpoint_prefix p) {
  if (p.length > p.ip.bit_length())
    return unexpected{errc::invalid_argument, "rule prefix length exceeds the address length"};
  p.ip = p.ip.masked(p.length);
  return p;
}

}  // namespace

std::string_view to_string(scope_flags s) noexcept {
  if (s.local && s.global) return "local+global";
  if (s.local) return "local";
  if (s.global) return "global";
  return "none";
}

std::string_view to_string(session_rule::action a) noexcept {
  switch (a) {
    case session_rule::action::drop: return "drop";
    case session_rule::action::forward: return "forward";
  }
  return "unknown";
}

bool endpoint_prefix::matches(const endpoint& e) const noexcept {
  if (e.proto != proto || e.ip.fam != ip.fam || length > ip.bit_length()) return false;
  if (port != 0 && port != e.port) return false;
  return e.ip.masked(length) == ip.masked(length);
}

std::string endpoint_prefix::to_string() const {
  std::string out{actorstack::to_string(proto)};
  out += "://";
  out += ip.is_v4() ? ip.to_string() : "[" + ip.to_string() + "]";
  out += '/';
  out += std::to_string(length);
  out += port == 0 ? std::string{" port any"} : " port " + std::to_string(port);
  return out;
}

bool is_local_only(const endpoint& target) noexcept {
  return target.proto == transport_proto::ct || target.ip.is_any() || target.ip.is_loopback();
}

session_tables::session_tables() { local_.try_emplace(0); }

const session_tables::local_table* session_tables::find_ns(std::uint32_t ns) const {
  auto it = local_.find(ns);
  return it == local_.end() ? nullptr : &it->second;
}

// ---- listeners ----------------------------------------------------------------

result<void> session_tables::add_listener(std::uint32_t ns, const endpoint& local,
                                          listener_ref ref, scope_flags scope) {
  auto eff = listener_scope(local, scope);
  if (!eff) return unexpected{eff.error()};
  // Check every selected table before touching any, so a duplicate in one
  // leaves the other unchanged (both or neither).
  const local_table* existing = find_ns(ns);
  if (eff->local && existing && existing->listeners.contains(local))
    return unexpected{errc::already_listening, "endpoint already has a local-scope listener"};
  if (eff->global && global_.contains(local))
    return unexpected{errc::already_listening, "endpoint already has a global-scope listener"};
  if (eff->local) local_[ns].listeners.emplace(local, ref);
  if (eff->global) global_.emplace(local, global_entry{ref, ns});
  return {};
}

result<void> session_tables::del_listener(std::uint32_t ns, const endpoint& local,
                                          scope_flags scope) {
  auto eff = listener_scope(local, scope);
  if (!eff) return unexpected{eff.error()};
  auto ns_it = local_.find(ns);
  if (eff->local && (ns_it == local_.end() || !ns_it->second.listeners.contains(local)))
    return unexpected{errc::no_listener, "no local-scope listener on this endpoint"};
  if (eff->global && !global_.contains(local))
    return unexpected{errc::no_listener, "no global-scope listener on this endpoint"};
  if (eff->local) ns_it->second.listeners.erase(local);
  if (eff->global) global_.erase(local);
  return {};
}

std::optional<listener_ref> session_tables::find_listener(std::uint32_t ns,
                                                          const endpoint& target,
                                                          scope_flags scope) const {
  if (scope.local)
    if (const local_table* t = find_ns(ns))
      if (const listener_ref* r = match_endpoint(t->listeners, target)) return *r;
  if (scope.global)
    if (const global_entry* g = match_endpoint(global_, target)) return g->ref;
  return std::nullopt;
}

std::vector<listener_entry> session_tables::listeners() const {
  // Keyed by (ns, endpoint, listener) so one listener registered in both
  // tables becomes one row with both flags, and rows come out sorted.
  using key = std::tuple<std::uint32_t, endpoint, std::uint64_t, std::uint32_t>;
  std::map<key, listener_entry> rows;
  auto row = [&](std::uint32_t ns, const endpoint& ep, const listener_ref& ref) -> listener_entry& {
    auto [it, inserted] = rows.try_emplace(key{ns, ep, ref.listener.value(), ref.app_index});
    if (inserted) it->second = listener_entry{ns, ep, ref, scope_flags::none()};
    return it->second;
  };
  for (const auto& [ns, table] : local_)
    for (const auto& [ep, ref] : table.listeners) row(ns, ep, ref).scope.local = true;
  for (const auto& [ep, g] : global_) row(g.ns, ep, g.ref).scope.global = true;
  std::vector<listener_entry> out;
  out.reserve(rows.size());
  for (auto& [k, entry] : rows) out.push_back(entry);
  return out;
}

// ---- session rules ------------------------------------------------------------

result<void> session_tables::add_rule(std::uint32_t ns, session_rule rule) {
  auto prefix = canonical(rule.rmt);
  if (!prefix) return unexpected{prefix.error()};
  rule.rmt = *prefix;
  local_table& t = local_[ns];
  auto [it, inserted] = t.rules[rule.rmt.length].insert_or_assign(rule_key(rule.rmt), rule);
  if (inserted) ++t.rule_count;
  return {};
}

result<void> session_tables::del_rule(std::uint32_t ns, const endpoint_prefix& rmt) {
  auto prefix = canonical(rmt);
  if (!prefix) return unexpected{prefix.error()};
  auto ns_it = local_.find(ns);
  if (ns_it != local_.end()) {
    local_table& t = ns_it->second;
    auto len_it = t.rules.find(prefix->length);
    if (len_it != t.rules.end() && len_it->second.erase(rule_key(*prefix)) == 1) {
      --t.rule_count;
      if (len_it->second.empty()) t.rules.erase(len_it);  // keep the LPM walk short
      return {};
    }
  }
  return unexpected{errc::invalid_argument, "no session rule with this prefix"};
}

std::optional<session_rule> session_tables::match_rule(std::uint32_t ns,
                                                       const endpoint& target) const {
  const local_table* t = find_ns(ns);
  return t ? best_rule(*t, target) : std::nullopt;
}

std::optional<session_rule> session_tables::best_rule(const local_table& table,
                                                      const endpoint& target) {
  // Longest prefix first (the map's order); within one length an exact
  // port beats "any port". One hash probe per length and port kind.
  for (const auto& [length, bucket] : table.rules) {
    if (length > target.ip.bit_length()) continue;
    endpoint key{target.proto, target.ip.masked(length), target.port};
    if (auto it = bucket.find(key); it != bucket.end()) return it->second;
    if (target.port != 0) {
      key.port = 0;
      if (auto it = bucket.find(key); it != bucket.end()) return it->second;
    }
  }
  return std::nullopt;
}

std::vector<session_rule> session_tables::rules(std::uint32_t ns) const {
  std::vector<session_rule> out;
  const local_table* t = find_ns(ns);
  if (!t) return out;
  out.reserve(t->rule_count);
  for (const auto& [length, bucket] : t->rules) {
    const auto first = out.size();
    for (const auto& [k, rule] : bucket) out.push_back(rule);
    // Hash order is arbitrary; make listings stable and in match order.
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const session_rule& a, const session_rule& b) {
                return std::tuple{a.rmt.port == 0, a.rmt.proto, a.rmt.ip, a.rmt.port} <
                       std::tuple{b.rmt.port == 0, b.rmt.proto, b.rmt.ip, b.rmt.port};
              });
  }
  return out;
}

// ---- applications -----------------------------------------------------------------

std::size_t session_tables::del_app(std::uint32_t app_index) {
  std::size_t removed = 0;
  for (auto& [ns, table] : local_) {
    removed += std::erase_if(table.listeners,
                             [&](const auto& kv) { return kv.second.app_index == app_index; });
    for (auto it = table.rules.begin(); it != table.rules.end();) {
      // Only forward rules belong to an app: a drop rule protects the
      // namespace and must outlive whoever added it.
      const auto n = std::erase_if(it->second, [&](const auto& kv) {
        return kv.second.act == session_rule::action::forward && kv.second.app_index == app_index;
      });
      table.rule_count -= n;
      removed += n;
      it = it->second.empty() ? table.rules.erase(it) : std::next(it);
    }
  }
  removed += std::erase_if(global_,
                           [&](const auto& kv) { return kv.second.ref.app_index == app_index; });
  return removed;
}

table_counts session_tables::counts() const {
  table_counts c;
  c.namespaces = local_.size();
  for (const auto& [ns, table] : local_) {
    c.local_listeners += table.listeners.size();
    c.rules += table.rule_count;
  }
  c.global_listeners = global_.size();
  return c;
}

// ---- the connect decision (SPEC §6) ------------------------------------------------

result<listener_ref> session_tables::resolve_connect(std::uint32_t ns, std::uint32_t client_app,
                                                     scope_flags client_scope,
                                                     const endpoint& target) const {
  // SPEC 6 "look up the target in the client app's local table": only for
  // an app with local scope, and only if its namespace has a table.
  if (client_scope.local) {
    if (const local_table* t = find_ns(ns)) {
      const local_outcome local = resolve_local(*t, client_app, target);
      switch (local.verdict) {
        case local_verdict::filtered:
          return unexpected{errc::filtered, "a session rule drops connects to this destination"};
        case local_verdict::hit:
          return local.ref;  // cut-through to another app on this stack
        case local_verdict::go_global:
          break;
      }
    }
  }
  // SPEC 6 "no entry -> global scope" (also a local hit on the client itself).
  return resolve_global(client_app, client_scope, target);
}

session_tables::local_outcome session_tables::resolve_local(const local_table& table,
                                                            std::uint32_t client_app,
                                                            const endpoint& target) const {
  // Rules first: they are the namespace's policy and override listeners.
  if (auto rule = best_rule(table, target)) {
    // SPEC 6 "a drop rule -> error filtered".
    if (rule->act == session_rule::action::drop) return {local_verdict::filtered, {}};
    // SPEC 6 "a local rule that points back at the connecting app also goes
    // to global scope": a proxy forwarding a destination to itself must
    // reach the real destination, not loop into its own listener.
    if (rule->app_index == client_app) return {local_verdict::go_global, {}};
    // A forward rule to another app hands the connect to that app's
    // listener on the target. If it does not listen there the rule cannot
    // apply, and the plain listener lookup below decides.
    if (auto l = listener_of_app(table, rule->app_index, target)) return {local_verdict::hit, *l};
  }
  // Listeners: exact address, then wildcard.
  if (const listener_ref* l = match_endpoint(table.listeners, target)) {
    // SPEC 6: a hit on the connecting app itself goes to global scope.
    if (l->app_index == client_app) return {local_verdict::go_global, {}};
    return {local_verdict::hit, *l};
  }
  // SPEC 6 "no entry -> global scope".
  return {local_verdict::go_global, {}};
}

result<listener_ref> session_tables::resolve_global(std::uint32_t client_app,
                                                    scope_flags client_scope,
                                                    const endpoint& target) const {
  // SPEC 6 "a local-only endpoint -> error no-route": nothing beyond this
  // stack can reach a ct, wildcard or loopback target, and the local table
  // had no other app for it.
  if (is_local_only(target))
    return unexpected{errc::no_route, "target is local-only and no other app listens on it"};
  // SPEC 6 "app without global scope -> error scope".
  if (!client_scope.global)
    return unexpected{errc::scope, "application lacks global scope for this target"};
  // SPEC 6 "a wildcard listener of another app -> cut-through connect". The
  // best match (exact over wildcard) is what a real transport would deliver
  // to, so if that is the client's own listener, cutting through to some
  // other app's wildcard would misroute: fall back instead.
  if (const global_entry* g = match_endpoint(global_, target); g && g->ref.app_index != client_app)
    return g->ref;
  // SPEC 6 "otherwise error local connect failed": caller uses a transport.
  return unexpected{errc::local_connect, "no other app listens on the target in global scope"};
}

std::optional<listener_ref> session_tables::listener_of_app(const local_table& table,
                                                            std::uint32_t app,
                                                            const endpoint& target) const {
  // The forwarded-to app's listener may be registered in either scope; the
  // rule is the namespace's explicit choice, so both count.
  if (const listener_ref* l = match_endpoint_of_app(
          table.listeners, target, app, [](const listener_ref& r) { return r.app_index; }))
    return *l;
  if (const global_entry* g = match_endpoint_of_app(
          global_, target, app, [](const global_entry& e) { return e.ref.app_index; }))
    return g->ref;
  return std::nullopt;
}

}  // namespace actorstack::lookup
