#include "actors/caf_call.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>

#include <cctype>
#include <string>
#include <string_view>

namespace actorstack {

namespace {

// Whether `text` names `word` as a whole word ("alloc" is not in "segment_alloc").
bool names(const std::string& text, std::string_view word) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool start = at == 0 || !is_word(text[at - 1]);
    const bool end = at + word.size() == text.size() || !is_word(text[at + word.size()]);
    if (start && end) return true;
  }
  return false;
}

}  // namespace

error from_caf(caf::actor_system& sys, const caf::error& e) {
  const std::string text = sys.render(e);
  for (errc c : {errc::filtered, errc::no_route, errc::scope, errc::local_connect,
                 errc::already_listening, errc::no_listener, errc::no_such_app,
                 errc::not_supported, errc::alloc, errc::segment_alloc, errc::invalid_session,
                 errc::subscribers_full, errc::bad_message, errc::refused})
    if (names(text, to_string(c))) return {c, 0, intern(text)};
  if (e == caf::sec::request_timeout) return {errc::timeout, 0, "the stack did not answer"};
  if (e == caf::sec::request_receiver_down || e == caf::sec::remote_linking_failed)
    return {errc::disconnected, 0, intern(text)};
  return {errc::invalid_argument, 0, intern(text)};
}

}  // namespace actorstack
