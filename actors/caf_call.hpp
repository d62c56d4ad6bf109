#pragma once
/// \file
/// Blocking calls into actors, for code that is not an actor: the stack's
/// public API and the client library. A request waits at most its timeout,
/// and a CAF error comes back in the stack's own error vocabulary.

#include "actors/caf_error.hpp"

#include <actorstack/error.hpp>
#include <actorstack/result.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <optional>
#include <utility>

namespace actorstack {

/// Asks `dest` and waits (from `self`, a blocking actor) for a reply of
/// type T, at most `timeout`.
template <class T, class Handle, class... Ts>
result<T> ask_from(caf::blocking_actor& self, caf::actor_system& sys, std::chrono::milliseconds timeout,
                   const Handle& dest, Ts&&... xs) {
  std::optional<T> value;
  std::optional<error> failure;
  self.request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& v) { value = std::move(v); }, [&](caf::error& e) { failure = from_caf(sys, e); });
  if (value) return std::move(*value);
  return unexpected{failure.value_or(error{errc::timeout, 0, "the stack did not answer"})};
}

}  // namespace actorstack
