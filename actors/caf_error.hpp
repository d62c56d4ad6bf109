#pragma once
/// \file
/// CAF errors (a reply's failure, a request timeout) back into the stack's
/// own error vocabulary, for blocking calls that ask actors: the stack's
/// public API and the client library.

#include <actorstack/error.hpp>

#include <caf/fwd.hpp>

namespace actorstack {

/// Keeps the errc a reply's text names ("invalid_session: ..."), maps a
/// request timeout to errc::timeout and anything else to invalid_argument
/// (with the rendered text as detail).
error from_caf(caf::actor_system& sys, const caf::error& e);

}  // namespace actorstack
