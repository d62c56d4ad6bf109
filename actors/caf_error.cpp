#include "actors/caf_error.hpp"

#include "actors/messages.hpp"

#include <actorstack/stack.hpp>

#include <string>

namespace actorstack {

namespace {

constexpr auto last_code = static_cast<std::uint8_t>(last_errc);

std::string render(std::uint8_t code, caf::atom_value, const caf::message& ctx) {
  std::string out = code <= last_code ? std::string{to_string(static_cast<errc>(code))} : "unknown error code";
  if (ctx.match_elements<std::string, std::int32_t>() && !ctx.get_as<std::string>(0).empty())
    out += ": " + ctx.get_as<std::string>(0);
  return out;
}

}  // namespace

caf::error to_caf(const error& e) {
  return caf::error{static_cast<std::uint8_t>(e.code), error_category,
                    caf::make_message(std::string{e.detail != nullptr ? e.detail : ""},
                                      static_cast<std::int32_t>(e.sys_errno))};
}

caf::error to_caf(errc code, std::string_view detail) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::string{detail}, std::int32_t{0})};
}

error from_caf(caf::actor_system& sys, const caf::error& e) {
  if (e.category() == error_category) {
    // From another process too: the code is checked, the text is ours to keep.
    if (e.code() > last_code || e.code() == 0) return {errc::bad_message, 0, "an unknown error code"};
    const auto& ctx = e.context();
    if (!ctx.match_elements<std::string, std::int32_t>()) return {static_cast<errc>(e.code()), 0, nullptr};
    const auto& text = ctx.get_as<std::string>(0);
    return {static_cast<errc>(e.code()), ctx.get_as<std::int32_t>(1), text.empty() ? nullptr : intern(text)};
  }
  if (e == caf::sec::request_timeout) return {errc::timeout, 0, "the stack did not answer"};
  if (e == caf::sec::request_receiver_down || e == caf::sec::remote_linking_failed)
    return {errc::disconnected, 0, intern(sys.render(e))};
  return {errc::invalid_argument, 0, intern(sys.render(e))};
}

void add_actorstack_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::actorstack_api>();
  cfg.add_message_types<caf::id_block::actorstack>();
  cfg.add_error_category(error_category, render);
}

void add_message_types(caf::actor_system_config& cfg) { add_actorstack_types(cfg); }

}  // namespace actorstack
