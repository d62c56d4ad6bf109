#pragma once
/// \file
/// The face another process sees of a stack actor it may talk to (attach
/// door, gateway, inspect service): a shield in front of it.
///
/// CAF 0.17's middleman hands a message from another process to its
/// destination like any local one, and some messages act before any
/// behaviour sees them: an exit_msg with reason `kill` ends a scheduled
/// actor whatever its exit handler says, another exit or a bare error ends
/// it by default, a down_msg looks like a death it monitors, a `sys` info
/// request is answered with the actor's own handle. Measured here: one
/// kill from a process with nothing but a TCP connection to the (then)
/// attach port ended the attach door, and no app could attach any more
/// (apps now attach over their Unix connection; the inspect port is the
/// door CAF still serves). And an
/// actor is addressable from outside once any reply of it went there (its
/// handle travels as the reply's sender).
///
/// The shield is the only handle that leaves the process. It never ends
/// by a message; it passes on what an app may send — ordinary messages and
/// requests, the original sender kept so the actor behind can still check
/// who asks — and drops everything else (exit, error, down, group-down,
/// `sys` requests, responses nobody asked for), counted. Replies come back
/// through it (it is the request's only forwarding stage) and leave with
/// the shield as their sender, so the actor behind is never seen and
/// cannot be named from outside. It ends when the actor behind it ends.
///
/// Ownership: the shield's table of requests under way is its own,
/// touched from whatever thread enqueues (the middleman's, the scheduler's)
/// under a mutex — this is the control path, never the data path.

#include <caf/all.hpp>

#include <cstdint>
#include <string>

namespace actorstack {

/// Puts a shield in front of `inner`; the handle to give to other
/// processes. `who` names it in the log. Holds `inner` until it ends.
caf::actor shield(caf::actor_system& sys, caf::actor inner, std::string who);

/// True when `a` is a shield (made by `shield`).
bool is_shield(const caf::abstract_actor* a) noexcept;

/// What an actor behind a shield does with a message it has no handler
/// for: drops it (the sender of a request hears unexpected_message)
/// without printing it. CAF's default prints it, and printing what
/// another process sent is not safe in CAF 0.17: a caf::duration with a
/// unit out of range crashes its to_string (found by fuzz_messages).
template <class Self>
void drop_unexpected_quietly(Self* self) {
  self->set_default_handler(caf::drop);
}

/// True when the message `self` is handling comes from one of this
/// process's own actors that no other process can impersonate: the
/// middleman lets a peer name as a message's source only actors of this
/// node that are in the actor registry (the ones ever serialized to
/// another node, i.e. shields), so a sender of this node absent from the
/// registry is one of the stack's own.
template <class Self>
bool from_inside(Self* self) {
  const auto& sender = self->current_sender();
  return sender && sender->node() == self->node() && !self->system().registry().get(sender->id());
}

}  // namespace actorstack
