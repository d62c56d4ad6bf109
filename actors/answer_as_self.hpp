#pragma once
/// \file
/// Passing a request from another process on to an internal actor, with
/// the answer coming from the actor that was asked.
///
/// Why not `delegate`: a delegated request is answered by the delegate, and
/// CAF's middleman serializes a reply's sender with it. That put the stack
/// root, the attach registry and the inner inspector in the registry of
/// actors a remote node may name — a process on the (then) attach port
/// could send them anything (issue 16: it ended the root with an exit
/// message). Here the door asks, and answers itself: from outside, only
/// the door (the inspect service) is ever seen.

#include <caf/all.hpp>

#include <utility>

namespace actorstack {

/// Asks `dest` on behalf of the current request of `self` and delivers the
/// answer (or the error) as `self`'s own reply.
template <class Result, class Self, class Dest, class... Ts>
caf::typed_response_promise<Result> answer_as_self(Self* self, const Dest& dest, Ts&&... xs) {
  auto rp = self->template make_response_promise<Result>();
  self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
      .then([rp](Result& r) mutable { rp.deliver(std::move(r)); },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

}  // namespace actorstack
