// client::show: an inspection over the stack's Unix socket (what
// actorstack-ctl --socket prints). A connection of its own that never
// attaches: hello, one `show` record, the `shown` chunks back.
#include <actorstack/client.hpp>

#include "actors/remote/app_protocol.hpp"
#include "client/attach_channel.hpp"

namespace actorstack::client {

result<std::string> show(const std::string& socket_path, std::string_view topic, std::string_view options,
                         std::chrono::milliseconds timeout) {
  namespace proto = app_protocol;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto ch = detail::greet(socket_path, timeout);
  if (!ch) return unexpected{ch.error()};
  const proto::show_request req{1, std::string{topic}, std::string{options}};
  if (auto sent = ch->send(static_cast<std::uint32_t>(proto::record::show), proto::encode(req), {}, timeout); !sent)
    return unexpected{sent.error()};
  std::string text;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return unexpected{errc::timeout, "show: no answer from the stack in time"};
    auto m = ch->receive(left);
    if (!m) return unexpected{m.error()};
    if (m->type == static_cast<std::uint32_t>(proto::record::answer)) {
      auto a = proto::decode_answer(m->payload);
      if (!a) return unexpected{a.error()};
      if (a->request == req.request) return unexpected{a->code, "show: the stack refused"};
      continue;
    }
    if (m->type == static_cast<std::uint32_t>(proto::record::error))
      return unexpected{errc::bad_message, "show: the stack did not take the request"};
    if (m->type != static_cast<std::uint32_t>(proto::record::shown)) continue;
    auto c = proto::decode_shown(m->payload);
    if (!c) return unexpected{c.error()};
    if (c->request != req.request) continue;
    text += c->text;
    if (c->last) return text;
  }
}

}  // namespace actorstack::client
