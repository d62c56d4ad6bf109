#pragma once
/// \file
/// The stack's errors as CAF errors: one error category, `actorstack`,
/// whose code is the `errc` and whose context is the detail text and the
/// errno. A refusal keeps its typed code across actors and across
/// processes (CAF serializes the category, code and context), so the other
/// side never has to recognise a code from text.

#include <actorstack/error.hpp>

#include <caf/all.hpp>

namespace actorstack {

/// The CAF error category of the stack's own errors.
inline constexpr caf::atom_value error_category = caf::atom("actorstack");

/// `e` as a CAF error of the `actorstack` category.
caf::error to_caf(const error& e);

/// A CAF error of the `actorstack` category made from a code and a text.
caf::error to_caf(errc code, std::string_view detail);

/// Back from CAF: the `actorstack` category keeps its code and detail; a
/// request timeout is timeout, a receiver that went away is disconnected,
/// anything else (CAF's own errors) is invalid_argument with CAF's text.
error from_caf(caf::actor_system& sys, const caf::error& e);

/// Registers what crosses actor systems: the message types
/// (messages.hpp) and the `actorstack` error category's rendering
/// ("no_route: ..."). Every actor system that talks to a stack calls it.
void add_actorstack_types(caf::actor_system_config& cfg);

}  // namespace actorstack
