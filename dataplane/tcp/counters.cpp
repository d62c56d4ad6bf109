// The engine's counters by name (see counters.hpp).

#include "dataplane/tcp/counters.hpp"
#include "dataplane/tcp/engine.hpp"

namespace actorstack::tcp {

namespace {

struct field {
  const char* name;
  std::uint64_t counters::*member;
};

constexpr field fields[] = {
    {"segments_in", &counters::segments_in},
    {"segments_out", &counters::segments_out},
    {"bytes_in", &counters::bytes_in},
    {"bytes_out", &counters::bytes_out},
    {"retransmits_fast", &counters::retransmits_fast},
    {"retransmits_timeout", &counters::retransmits_timeout},
    {"dup_acks", &counters::dup_acks},
    {"ooo_segments", &counters::ooo_segments},
    {"bad_checksum", &counters::bad_checksum},
    {"malformed", &counters::malformed},
    {"rst_in", &counters::rst_in},
    {"rst_out", &counters::rst_out},
    {"challenge_acks", &counters::challenge_acks},
    {"challenge_acks_suppressed", &counters::challenge_acks_suppressed},
    {"paws_drops", &counters::paws_drops},
    {"syn_drops_backlog", &counters::syn_drops_backlog},
    {"window_probes", &counters::window_probes},
    {"active_opens", &counters::active_opens},
    {"passive_opens", &counters::passive_opens},
    {"unacceptable", &counters::unacceptable},
    {"ack_unsent", &counters::ack_unsent},
    {"ack_too_old", &counters::ack_too_old},
    {"tx_no_room", &counters::tx_no_room},
};

}  // namespace

std::string_view to_string(abort_reason r) noexcept {
  switch (r) {
    case abort_reason::peer_reset: return "peer_reset";
    case abort_reason::timeout: return "timeout";
    case abort_reason::app_reset: return "app_reset";
    case abort_reason::data_after_close: return "data_after_close";
    case abort_reason::refused_by_app: return "refused_by_app";
    case abort_reason::shm_violation: return "shm_violation";
    case abort_reason::count_: break;
  }
  return "?";
}

const std::vector<std::string>& counter_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const field& f : fields) out.emplace_back(f.name);
    for (std::size_t r = 0; r < abort_reason_count; ++r)
      out.push_back("aborts_" + std::string{to_string(static_cast<abort_reason>(r))});
    for (std::size_t s = 0; s < state_count; ++s) out.push_back("state_" + std::string{to_string(static_cast<state>(s))});
    return out;
  }();
  return names;
}

std::vector<std::uint64_t> counter_values(const counters& c, const std::array<std::size_t, 11>& per_state) {
  static_assert(state_count == 11, "counter_values takes one count per RFC state");
  std::vector<std::uint64_t> out;
  out.reserve(counter_names().size());
  for (const field& f : fields) out.push_back(c.*f.member);
  for (std::uint64_t n : c.aborts) out.push_back(n);
  for (std::size_t n : per_state) out.push_back(n);
  return out;
}

}  // namespace actorstack::tcp
