// The stack configuration (SPEC §8): key table, value parsing, INI and
// command-line front ends, validation and the dump.
//
// Every key is described once, in `keys` below: its kind, its range (or,
// for text, its check) and how to read and write its field. The parsers,
// `validate`, `to_string` and `config_keys` all walk that one table, so a new
// key cannot be parseable yet missing from the dump (or the reverse).
//
// Text values are carried verbatim (no quoting, no escapes). For the INI
// round trip to be exact, no text value may contain whitespace or control
// characters or start with '#' or ';' (`inert_problem`), and a comment starts
// only at a '#' or ';' that begins the line or follows a blank
// (`strip_comment`): "socket=/run/a#1" is a value, "4k # big" a value and a
// comment.

#include "dataplane/impairment.hpp"
#include "base/quote.hpp"
#include "base/size.hpp"

#include <actorstack/config.hpp>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <limits>
#include <optional>
#include <system_error>

namespace actorstack {
namespace {

// A suggestion is offered only for keys this close: far enough to catch a
// dropped letter or a swapped pair plus '_' for '-', near enough that the
// hint is not a random key.
constexpr std::size_t max_suggestion_distance = 3;

enum class value_kind : std::uint8_t {
  count,    // plain decimal number (workers, ports)
  length,   // entry count; takes a size suffix (base/size.hpp), written plain (2048)
  scaled,   // byte size (base/size.hpp): digits, optional K/M/G/T binary suffix
  text,     // a string taken verbatim, checked by `check_text`
};

// One configuration key. A numeric value (every kind but text) is carried
// as uint64 while parsing and checking; `set` narrows it only after the
// range check, so it never truncates. A text key has no range: `min`..
// `power_of_two` and `get`/`set` are unused (0/false/null) and `get_text`/
// `set_text` reach the field instead.
struct key_spec {
  std::string_view key;
  value_kind kind;
  std::uint64_t min;
  std::uint64_t max;
  bool zero_ok;       // 0 is a special value ("auto", "disabled") below `min`
  bool power_of_two;  // ring lengths: indexed with a mask
  const char* max_why;  // why `max` is what it is, shown when exceeded
  std::uint64_t (*get)(const stack_config&);
  void (*set)(stack_config&, std::uint64_t);
  const std::string& (*get_text)(const stack_config&);
  void (*set_text)(stack_config&, std::string_view);
  // Why a (blank-trimmed) text value is refused, or "" to accept it; null =
  // free text. Runs after `inert_problem`, so it never sees whitespace.
  std::string (*check_text)(std::string_view);
};

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t fifo_min = 4 * kib;
constexpr std::uint64_t fifo_max = (std::uint64_t{1} << 31) - 1;
constexpr std::uint64_t queue_min = 16;
constexpr std::uint64_t queue_max = std::uint64_t{1} << 20;

// The text checks of the [dataplane] keys (defined below the table).
std::string ip_prefix_problem(std::string_view text);
std::string gateway_problem(std::string_view text);
std::string poll_mode_problem(std::string_view text);
std::string dataplane_threads_problem(std::string_view text);
std::string lcores_problem(std::string_view text);
std::string impair_problem(std::string_view text);
std::string port_range_problem(std::string_view text);
std::string congestion_problem(std::string_view text);
std::string inspect_bind_problem(std::string_view text);

// The fields are narrower than uint64; the range check guarantees the
// value fits before `set` is called.
#define ACTORSTACK_FIELD(field, type)                                            \
  [](const stack_config& c) -> std::uint64_t { return c.field; },                \
      [](stack_config& c, std::uint64_t v) { c.field = static_cast<type>(v); },  \
      nullptr, nullptr, nullptr

// A std::string field, checked by `check` (null = free text).
#define ACTORSTACK_TEXT_FIELD(field, check)                                      \
  0, 0, false, false, nullptr, nullptr, nullptr,                                 \
      [](const stack_config& c) -> const std::string& { return c.field; },       \
      [](stack_config& c, std::string_view v) { c.field = v; }, check

const std::array<key_spec, 44> keys{{
    {"session.workers", value_kind::count, 0, stack_config::max_workers, false, false,
     "session handles carry 8 bits of worker index",
     ACTORSTACK_FIELD(workers, std::uint32_t)},
    {"session.event-queue-length", value_kind::length, queue_min, queue_max, false, true,
     nullptr, ACTORSTACK_FIELD(event_queue_length, std::uint32_t)},
    {"session.ctrl-queue-length", value_kind::length, queue_min, queue_max, true, true,
     nullptr, ACTORSTACK_FIELD(ctrl_queue_length, std::uint32_t)},
    {"session.rx-fifo-size", value_kind::scaled, fifo_min, fifo_max, false, false,
     "fifo sizes are 31-bit", ACTORSTACK_FIELD(rx_fifo_size, std::uint32_t)},
    {"session.tx-fifo-size", value_kind::scaled, fifo_min, fifo_max, false, false,
     "fifo sizes are 31-bit", ACTORSTACK_FIELD(tx_fifo_size, std::uint32_t)},
    {"session.max-fifo-size", value_kind::scaled, fifo_min, fifo_max, false, false,
     "fifo sizes are 31-bit", ACTORSTACK_FIELD(max_fifo_size, std::uint32_t)},
    {"session.segment-size", value_kind::scaled, mib, u64_max, false, false, nullptr,
     ACTORSTACK_FIELD(segment_size, std::uint64_t)},
    // The EAL validates the vdev string itself; here it only has to survive
    // the INI round trip.
    {"dataplane.port", value_kind::text, ACTORSTACK_TEXT_FIELD(dataplane_port, nullptr)},
    {"dataplane.ip", value_kind::text, ACTORSTACK_TEXT_FIELD(dataplane_ip, ip_prefix_problem)},
    {"dataplane.gateway", value_kind::text,
     ACTORSTACK_TEXT_FIELD(dataplane_gateway, gateway_problem)},
    {"dataplane.cores", value_kind::count, 1, 64, false, false, nullptr,
     ACTORSTACK_FIELD(dataplane_cores, std::uint32_t)},
    {"dataplane.poll-mode", value_kind::text,
     ACTORSTACK_TEXT_FIELD(dataplane_poll_mode, poll_mode_problem)},
    {"dataplane.threads", value_kind::text,
     ACTORSTACK_TEXT_FIELD(dataplane_threads, dataplane_threads_problem)},
    {"dataplane.mbufs", value_kind::count, 1023, 1048575, false, false, nullptr,
     ACTORSTACK_FIELD(dataplane_mbufs, std::uint32_t)},
    {"dataplane.lcores", value_kind::text, ACTORSTACK_TEXT_FIELD(dataplane_lcores, lcores_problem)},
    {"dataplane.impair", value_kind::text, ACTORSTACK_TEXT_FIELD(dataplane_impair, impair_problem)},
    {"tcp.mss", value_kind::count, 536, 9000, false, false, "jumbo frames end at 9000 bytes",
     ACTORSTACK_FIELD(tcp_mss, std::uint32_t)},
    {"tcp.initial-window", value_kind::count, 1, 64, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_initial_window, std::uint32_t)},
    {"tcp.rto-min-ms", value_kind::count, 1, 600000, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_rto_min_ms, std::uint32_t)},
    {"tcp.rto-initial-ms", value_kind::count, 1, 600000, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_rto_initial_ms, std::uint32_t)},
    {"tcp.rto-max-ms", value_kind::count, 1, 600000, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_rto_max_ms, std::uint32_t)},
    {"tcp.syn-retries", value_kind::count, 1, 32, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_syn_retries, std::uint32_t)},
    {"tcp.data-retries", value_kind::count, 1, 64, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_data_retries, std::uint32_t)},
    {"tcp.delayed-ack-ms", value_kind::count, 1, 500, false, false, "RFC 1122 allows at most 500 ms",
     ACTORSTACK_FIELD(tcp_delayed_ack_ms, std::uint32_t)},
    {"tcp.fin-wait-2-s", value_kind::count, 1, 3600, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_fin_wait_2_s, std::uint32_t)},
    {"tcp.time-wait-s", value_kind::count, 1, 3600, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_time_wait_s, std::uint32_t)},
    {"tcp.backlog", value_kind::count, 1, 65535, false, false, nullptr,
     ACTORSTACK_FIELD(tcp_backlog, std::uint32_t)},
    {"tcp.nagle", value_kind::count, 0, 1, false, false, "1 is on, 0 off", ACTORSTACK_FIELD(tcp_nagle, std::uint32_t)},
    {"tcp.window-scaling", value_kind::count, 0, 1, false, false, "1 is on, 0 off",
     ACTORSTACK_FIELD(tcp_window_scaling, std::uint32_t)},
    {"tcp.timestamps", value_kind::count, 0, 1, false, false, "1 is on, 0 off",
     ACTORSTACK_FIELD(tcp_timestamps, std::uint32_t)},
    {"tcp.sack", value_kind::count, 0, 1, false, false, "1 is on, 0 off", ACTORSTACK_FIELD(tcp_sack, std::uint32_t)},
    {"tcp.ephemeral-ports", value_kind::text, ACTORSTACK_TEXT_FIELD(tcp_ephemeral_ports, port_range_problem)},
    {"tcp.congestion", value_kind::text, ACTORSTACK_TEXT_FIELD(tcp_congestion, congestion_problem)},
    {"inspect.port", value_kind::count, 0, 65535, true, false, "ports are 16-bit",
     ACTORSTACK_FIELD(inspect_port, std::uint16_t)},
    {"inspect.bind", value_kind::text, ACTORSTACK_TEXT_FIELD(inspect_bind, inspect_bind_problem)},
    {"metrics.port", value_kind::count, 0, 65535, true, false, "ports are 16-bit",
     ACTORSTACK_FIELD(metrics_port, std::uint16_t)},
    {"tls.certificate", value_kind::text, ACTORSTACK_TEXT_FIELD(tls_certificate, nullptr)},
    {"tls.key", value_kind::text, ACTORSTACK_TEXT_FIELD(tls_key, nullptr)},
    {"tls.ca", value_kind::text, ACTORSTACK_TEXT_FIELD(tls_ca, nullptr)},
    {"quota.listeners", value_kind::count, 1, 1u << 20, false, false, nullptr,
     ACTORSTACK_FIELD(quota_listeners, std::uint32_t)},
    {"quota.attach-per-uid", value_kind::count, 1, 1u << 16, false, false, nullptr,
     ACTORSTACK_FIELD(quota_attach_per_uid, std::uint32_t)},
    {"quota.sessions", value_kind::count, 1, 1u << 24, false, false, nullptr,
     ACTORSTACK_FIELD(quota_sessions, std::uint32_t)},
    {"quota.pending-connects", value_kind::count, 1, 1u << 20, false, false, nullptr,
     ACTORSTACK_FIELD(quota_pending_connects, std::uint32_t)},
    {"quota.segment-bytes", value_kind::scaled, mib, u64_max, false, false, nullptr,
     ACTORSTACK_FIELD(quota_segment_bytes, std::uint64_t)},
}};

#undef ACTORSTACK_FIELD
#undef ACTORSTACK_TEXT_FIELD

const key_spec* find_key(std::string_view key) {
  for (const auto& k : keys)
    if (k.key == key) return &k;
  return nullptr;
}

std::string_view section_of(std::string_view key) { return key.substr(0, key.find('.')); }
std::string_view name_of(std::string_view key) { return key.substr(key.find('.') + 1); }

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The form keys are compared in for suggestions: people type
// `Session.Event_Queue_Length` for `session.event-queue-length`, and that
// should cost nothing in the distance.
std::string fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (c == '_') ? '-' : lower(c);
  return out;
}

// Edit distance counting an adjacent swap as one edit (optimal string
// alignment): "sesison" is one typo, not two.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        best = std::min(best, at(i - 2, j - 2) + 1);
      at(i, j) = best;
    }
  }
  return at(n, m);
}

// " (did you mean 'a'?)" or " (did you mean 'a' or 'b'?)" for the closest
// candidates within max_suggestion_distance, else "". `wrap` decorates a
// candidate for display (sections are shown as "[session]").
template <class Candidates, class Wrap>
std::string suggestion(std::string_view typed, const Candidates& candidates, Wrap wrap) {
  const std::string t = fold(typed);
  const bool bare = t.find('.') == std::string::npos;
  std::size_t best = max_suggestion_distance + 1;
  std::vector<std::string_view> closest;
  for (std::string_view c : candidates) {
    std::size_t dist = edit_distance(t, c);
    // A bare name ("workers") is measured against the name part too, so
    // forgetting the section still finds the key.
    if (bare && c.find('.') != std::string_view::npos)
      dist = std::min(dist, edit_distance(t, name_of(c)));
    if (dist < best) {
      best = dist;
      closest.clear();
    }
    if (dist == best) closest.push_back(c);
  }
  if (closest.empty()) return {};
  std::string out = " (did you mean ";
  for (std::size_t i = 0; i < closest.size(); ++i) {
    if (i > 0) out += (i + 1 == closest.size()) ? " or " : ", ";
    out += wrap(closest[i]);
  }
  out += "?)";
  return out;
}


// ---- text values ---------------------------------------------------------

// Why `text` cannot be a text value at all, or "": the INI form must read
// back verbatim, so no whitespace (a blank would end the value at a comment
// or be trimmed) and no leading comment character.
std::string inert_problem(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
      return "contains whitespace";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  }
  if (!text.empty() && (text.front() == '#' || text.front() == ';'))
    return "starts with '" + std::string(1, text.front()) + "', which INI text reads as a comment";
  return {};
}

// Why `text` is refused as `k`'s value, or "".
std::string text_problem(const key_spec& k, std::string_view text) {
  if (auto why = inert_problem(text); !why.empty()) return why;
  return k.check_text != nullptr ? k.check_text(text) : std::string{};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A dotted quad ("10.0.0.2") as a host-order integer: four decimal parts
// 0..255 without leading zeros (inet_pton's rule: "010" is not octal here
// either). actorstack_config does not link actorstack_lookup, home of
// ip_address::parse, so this small parser stands in for it.
std::optional<std::uint32_t> parse_ipv4(std::string_view s) {
  std::uint32_t addr = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    std::size_t n = 0;
    std::uint32_t v = 0;
    while (n < s.size() && n < 4 && is_digit(s[n])) v = v * 10 + static_cast<std::uint32_t>(s[n++] - '0');
    if (n == 0 || n > 3 || v > 255 || (n > 1 && s.front() == '0')) return std::nullopt;
    addr = (addr << 8) | v;
    s.remove_prefix(n);
  }
  if (!s.empty()) return std::nullopt;
  return addr;
}

std::string format_ipv4(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

std::uint32_t prefix_mask(unsigned prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

constexpr const char* ipv6_refusal =
    "is IPv6, which is not supported yet (use an IPv4 address)";

// Splits "A.B.C.D/N" (N 1..32). Returns why it is not one, or "".
std::string parse_ip_prefix(std::string_view text, std::uint32_t& addr, unsigned& prefix) {
  if (text.find(':') != std::string_view::npos) return ipv6_refusal;
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    return "has no prefix length (write address/prefix, like 10.0.0.2/24)";
  const std::string_view addr_text = text.substr(0, slash);
  const std::string_view prefix_text = text.substr(slash + 1);
  const auto a = parse_ipv4(addr_text);
  if (!a) return "has a bad IPv4 address " + quoted(addr_text) + " (use a dotted quad like 10.0.0.2)";
  unsigned p = 0;
  const char* first = prefix_text.data();
  const char* last = first + prefix_text.size();
  const auto [ptr, ec] = std::from_chars(first, last, p);
  if (prefix_text.empty() || ec != std::errc{} || ptr != last ||
      (prefix_text.size() > 1 && prefix_text.front() == '0'))
    return "has a bad prefix length " + quoted(prefix_text) + " (use 1..32)";
  if (p < 1 || p > 32) return "has prefix length " + std::to_string(p) + ", outside 1..32";
  addr = *a;
  prefix = p;
  return {};
}

std::string ip_prefix_problem(std::string_view text) {
  if (text.empty()) return {};  // no data plane address
  std::uint32_t addr = 0;
  unsigned prefix = 0;
  return parse_ip_prefix(text, addr, prefix);
}

std::string gateway_problem(std::string_view text) {
  if (text.empty()) return {};  // on-link destinations only
  if (text.find(':') != std::string_view::npos) return ipv6_refusal;
  if (text.find('/') != std::string_view::npos)
    return "is not an IPv4 address (a gateway has no prefix length)";
  if (!parse_ipv4(text)) return "is not an IPv4 address (use a dotted quad like 10.0.0.1)";
  return {};
}

std::string port_range_problem(std::string_view text) {
  const auto range = parse_port_range(text);
  if (!range) return "is not a port range FIRST-LAST (like 49152-65535)";
  if (range->first < 1024) return "starts below 1024 (the well-known ports are not ephemeral)";
  if (range->second < range->first + 63u) return "holds fewer than 64 ports";
  return {};
}

std::string congestion_problem(std::string_view text) {
  if (text == "newreno") return {};
  return "is not a congestion control this stack has (newreno)";
}

std::string inspect_bind_problem(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return ipv6_refusal;
  if (!parse_ipv4(text)) return "is not an IPv4 address (use a dotted quad like 127.0.0.1 or 10.0.0.1)";
  return {};
}

std::string poll_mode_problem(std::string_view text) {
  if (text == "adaptive" || text == "busy") return {};
  return "is not a poll mode (use adaptive or busy, in lower case)";
}

std::string dataplane_threads_problem(std::string_view text) {
  if (text == "shared" || text == "own") return {};
  return "is not a thread placement (use shared or own, in lower case)";
}

// The EAL's --lcores syntax is numbers, ranges (a-b), groups ((a,b)) and
// '@' placements; anything else is a typo the EAL would only report at
// start-up, far from the config.
std::string lcores_problem(std::string_view text) {
  for (char c : text) {
    if (!is_digit(c) && c != ',' && c != '-' && c != '@' && c != '(' && c != ')')
      return "has " + quoted(std::string_view{&c, 1}) +
             ", which an EAL --lcores value does not use (digits, ',', '-', '@', '(' and ')')";
  }
  return {};
}

// The impairment stage's own parser decides (dataplane/impairment.hpp).
std::string impair_problem(std::string_view text) {
  auto parsed = dataplane::parse_impairment(text);
  if (parsed) return {};
  return parsed.error().detail != nullptr ? parsed.error().detail : "is not an impairment";
}

// ---- sections, errors, values --------------------------------------------

std::vector<std::string_view> sections() {
  std::vector<std::string_view> out;
  for (const auto& k : keys) {
    std::string_view s = section_of(k.key);
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

unexpected bad(std::string_view detail) { return unexpected{errc::bad_config, intern(detail)}; }

result<void> unknown_key(std::string_view key) {
  std::vector<std::string_view> all;
  for (const auto& k : keys) all.push_back(k.key);
  return bad("unknown key " + quoted(key) + suggestion(key, all, quoted));
}

// The text form of a value, as to_string writes it and as error messages
// quote it: byte sizes that are whole GiB/MiB/KiB get their suffix;
// lengths stay plain because "2048 entries" reads better than "2k".
std::string format_value(const key_spec& k, std::uint64_t v) {
  return k.kind == value_kind::scaled ? format_size(v) : std::to_string(v);
}

// Why `v` is out of `k`'s range, or "" if it is in range.
std::string range_problem(const key_spec& k, std::uint64_t v) {
  if (v == 0 && k.zero_ok) return {};
  if (v < k.min) {
    std::string why = "is below the minimum " + std::to_string(k.min);
    if (k.zero_ok) why += " (0 means default)";
    return why;
  }
  if (v > k.max) {
    std::string why = "is above the maximum " + std::to_string(k.max);
    if (k.max_why != nullptr) {
      why += " (";
      why += k.max_why;
      why += ')';
    }
    return why;
  }
  if (k.power_of_two && (v & (v - 1)) != 0) return "is not a power of two";
  return {};
}

// Parses `text` as `k`'s kind, without the range check. On failure returns
// the reason ("is not a number"), to be prefixed with key and text. Sizes
// and lengths take the stack's one size grammar (base/size.hpp).
std::optional<std::string> parse_value(const key_spec& k, std::string_view text,
                                       std::uint64_t& out) {
  if (k.kind != value_kind::count) {
    auto v = parse_size(text);
    if (!v) return std::string{v.error().detail};
    out = *v;
    return std::nullopt;
  }
  if (text.empty()) return "is empty";
  if (text.front() == '-') return "is negative";
  const char* first = text.data();
  const char* last = first + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec == std::errc::result_out_of_range) return "is too large";
  if (ec != std::errc{} || ptr == first) return "is not a number";
  if (ptr != last) return "is not a number (no suffix allowed)";
  return std::nullopt;
}

// Applies key=value; on an error in the value, the detail is
// "key: 'value' why".
result<void> apply(stack_config& cfg, const key_spec& k, std::string_view value) {
  value = trim(value);
  if (k.kind == value_kind::text) {
    if (auto why = text_problem(k, value); !why.empty())
      return bad(std::string{k.key} + ": " + quoted(value) + " " + why);
    k.set_text(cfg, value);
    return {};
  }
  std::uint64_t v = 0;
  if (auto why = parse_value(k, value, v)) return bad(std::string{k.key} + ": " + quoted(value) + " " + *why);
  if (auto why = range_problem(k, v); !why.empty())
    return bad(std::string{k.key} + ": " + quoted(value) + " " + why);
  k.set(cfg, v);
  return {};
}

unexpected prefixed(std::string_view where, const result<void>& r) {
  return bad(std::string{where} + ": " + r.error().detail);
}

// `k`'s value in `cfg` as to_string writes it.
std::string current_text(const key_spec& k, const stack_config& cfg) {
  return k.kind == value_kind::text ? k.get_text(cfg) : format_value(k, k.get(cfg));
}

std::string value_text(const stack_config& cfg, std::string_view key) {
  return quoted(current_text(*find_key(key), cfg));
}

// `line` without its comment. A comment starts at a '#' or ';' that begins
// the line or follows a blank; elsewhere the character is part of a value
// ("socket=/run/a#1"). Text values have no blanks and never start with '#'
// or ';', so to_string's `name = value` lines always read back whole.
std::string_view strip_comment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if ((line[i] == '#' || line[i] == ';') && (i == 0 || is_blank(line[i - 1])))
      return line.substr(0, i);
  }
  return line;
}

}  // namespace

result<void> set_config_value(stack_config& cfg, std::string_view key, std::string_view value) {
  const key_spec* k = find_key(key);
  if (k == nullptr) return unknown_key(key);
  return apply(cfg, *k, value);
}

result<void> validate(const stack_config& cfg) {
  for (const auto& k : keys) {
    if (k.kind == value_kind::text) {
      const std::string& text = k.get_text(cfg);
      if (auto why = text_problem(k, text); !why.empty())
        return bad(std::string{k.key} + ": " + quoted(text) + " " + why);
      continue;
    }
    const std::uint64_t v = k.get(cfg);
    if (auto why = range_problem(k, v); !why.empty())
      return bad(std::string{k.key} + ": " + quoted(format_value(k, v)) + " " + why);
  }
  for (auto [key, size] : {std::pair{"session.rx-fifo-size", cfg.rx_fifo_size},
                           std::pair{"session.tx-fifo-size", cfg.tx_fifo_size}}) {
    if (size > cfg.max_fifo_size)
      return bad(std::string{key} + " " + value_text(cfg, key) +
                 " is larger than session.max-fifo-size " +
                 value_text(cfg, "session.max-fifo-size"));
  }
  if (cfg.max_fifo_size > cfg.segment_size)
    return bad("session.max-fifo-size " + value_text(cfg, "session.max-fifo-size") +
               " is larger than session.segment-size " + value_text(cfg, "session.segment-size") +
               " (a fifo lives in one segment)");
  if (std::uint64_t{cfg.rx_fifo_size} + cfg.tx_fifo_size > cfg.segment_size)
    return bad("session.rx-fifo-size + session.tx-fifo-size (" +
               std::to_string(std::uint64_t{cfg.rx_fifo_size} + cfg.tx_fifo_size) +
               " bytes) do not fit in session.segment-size " +
               value_text(cfg, "session.segment-size") +
               " (a session's fifo pair is carved from one segment)");
  if (cfg.tcp_rto_min_ms > cfg.tcp_rto_initial_ms || cfg.tcp_rto_initial_ms > cfg.tcp_rto_max_ms)
    return bad("tcp.rto-min-ms " + std::to_string(cfg.tcp_rto_min_ms) + ", tcp.rto-initial-ms " +
               std::to_string(cfg.tcp_rto_initial_ms) + " and tcp.rto-max-ms " + std::to_string(cfg.tcp_rto_max_ms) +
               " are not in order (min <= initial <= max)");
  // The fields are well-formed by now; what is left is how they fit.
  const int tls_files = !cfg.tls_certificate.empty() + !cfg.tls_key.empty() + !cfg.tls_ca.empty();
  if (tls_files != 0 && tls_files != 3)
    return bad("tls.certificate, tls.key and tls.ca go together: set all three or none");
  if (tls_files == 0 && cfg.inspect_bind.rfind("127.", 0) != 0)
    return bad("inspect.bind " + quoted(cfg.inspect_bind) +
               " is not a loopback address: control from another host needs tls.certificate, tls.key and tls.ca");
  if (!cfg.dataplane_port.empty() && cfg.dataplane_ip.empty())
    return bad("dataplane.port is set but dataplane.ip is empty (the port needs an address, "
               "like 10.0.0.2/24)");
  if (!cfg.dataplane_gateway.empty()) {
    if (cfg.dataplane_ip.empty())
      return bad("dataplane.gateway is set but dataplane.ip is empty (a gateway must be on "
                 "the port's prefix)");
    std::uint32_t addr = 0;
    unsigned prefix = 0;
    (void)parse_ip_prefix(cfg.dataplane_ip, addr, prefix);
    const std::uint32_t gateway = *parse_ipv4(cfg.dataplane_gateway);
    const std::uint32_t mask = prefix_mask(prefix);
    if ((gateway & mask) != (addr & mask))
      return bad("dataplane.gateway: gateway " + cfg.dataplane_gateway + " is not on " +
                 format_ipv4(addr & mask) + "/" + std::to_string(prefix) +
                 ", the prefix of dataplane.ip " + quoted(cfg.dataplane_ip) +
                 " (a next hop must be on-link)");
    if (gateway == addr)
      return bad("dataplane.gateway: gateway " + cfg.dataplane_gateway +
                 " is the port's own address (dataplane.ip " + quoted(cfg.dataplane_ip) + ")");
  }
  return {};
}

result<stack_config> parse_config(std::string_view text) {
  stack_config cfg;
  const auto known_sections = sections();
  std::string section;                          // "" before the first header
  std::array<std::size_t, keys.size()> set_on{};  // line that set each key, 0 = unset
  // Walk the lines by position; a final line without '\n' still counts.
  std::size_t pos = 0;
  for (std::size_t line_no = 1; pos <= text.size(); ++line_no) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const std::string where = "line " + std::to_string(line_no);

    line = trim(strip_comment(line));
    if (line.empty()) continue;

    if (line.front() == '[') {
      if (line.back() != ']')
        return bad(where + ": section header " + quoted(line) + " needs a closing ']'");
      const std::string_view name = trim(line.substr(1, line.size() - 2));
      if (std::find(known_sections.begin(), known_sections.end(), name) == known_sections.end())
        return bad(where + ": unknown section '[" + std::string{name} + "]'" +
                   suggestion(name, known_sections, [](std::string_view s) {
                     return "'[" + std::string{s} + "]'";
                   }));
      section = name;
      continue;
    }

    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return bad(where + ": expected 'name = value', '[section]' or a comment, got " + quoted(line));
    const std::string_view name = trim(line.substr(0, eq));
    if (name.empty()) return bad(where + ": missing name before '='");
    // Names never contain '.', so a dotted one is fully qualified wherever
    // it appears.
    std::string key;
    if (section.empty() || name.find('.') != std::string_view::npos) {
      key = name;
    } else {
      key = section + "." + std::string{name};
    }
    const key_spec* k = find_key(key);
    if (k == nullptr) return prefixed(where, unknown_key(key));
    auto& first = set_on[static_cast<std::size_t>(k - keys.data())];
    if (first != 0)
      return bad(where + ": " + key + " is already set on line " + std::to_string(first));
    if (auto r = apply(cfg, *k, line.substr(eq + 1)); !r) return prefixed(where, r);
    first = line_no;
  }
  if (auto r = validate(cfg); !r) return unexpected{r.error()};
  return cfg;
}

result<stack_config> config_from_args(int argc, const char* const* argv) {
  stack_config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string where = "argument " + std::to_string(i);
    const std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (arg.size() <= 2 || arg.substr(0, 2) != "--")
      return bad(where + ": " + quoted(arg) +
                 " is not an option (options look like --section.name=value)");
    std::string_view body = arg.substr(2);
    std::string_view key = body;
    std::string_view value;
    if (const std::size_t eq = body.find('='); eq != std::string_view::npos) {
      key = body.substr(0, eq);
      value = body.substr(eq + 1);
    } else {
      const key_spec* k = find_key(key);
      if (k == nullptr) return prefixed(where, unknown_key(key));
      const bool next_is_value =
          i + 1 < argc && argv[i + 1] != nullptr && std::string_view{argv[i + 1]}.substr(0, 2) != "--";
      if (next_is_value) {
        value = argv[++i];
      } else {
        return bad(where + ": option " + quoted(arg) + " needs a value");
      }
    }
    if (auto r = set_config_value(cfg, key, value); !r) return prefixed(where, r);
  }
  if (auto r = validate(cfg); !r) return unexpected{r.error()};
  return cfg;
}

std::string to_string(const stack_config& cfg) {
  std::string out = "# actorstack stack configuration (SPEC 8)\n";
  std::string_view section;
  for (const auto& k : keys) {
    if (section_of(k.key) != section) {
      section = section_of(k.key);
      out += "\n[";
      out += section;
      out += "]\n";
    }
    const std::string value = current_text(k, cfg);
    out += name_of(k.key);
    out += value.empty() ? " =" : " = ";  // an empty text value: no trailing blank
    out += value;
    out += '\n';
  }
  return out;
}

std::vector<std::string_view> config_keys() {
  std::vector<std::string_view> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(k.key);
  return out;
}

std::uint32_t effective_workers(const stack_config& cfg) {
  long n = cfg.workers;
  if (n == 0) {
    // The affinity mask, not the online count: in a container (or under
    // taskset) the process may run on far fewer CPUs than the host has, and
    // a worker per CPU it cannot use only adds contention.
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = ::sysconf(_SC_NPROCESSORS_ONLN);
  }
  return static_cast<std::uint32_t>(std::clamp<long>(n, 1, stack_config::max_workers));
}

std::uint32_t effective_ctrl_queue_length(const stack_config& cfg) {
  return cfg.ctrl_queue_length != 0 ? cfg.ctrl_queue_length : cfg.event_queue_length / 2;
}

std::optional<std::pair<std::uint16_t, std::uint16_t>> parse_port_range(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto number = [](std::string_view t) -> std::optional<std::uint16_t> {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
  };
  const auto first = number(text.substr(0, dash));
  const auto last = number(text.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return std::pair{*first, *last};
}

}  // namespace actorstack
