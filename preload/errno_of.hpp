#pragma once
// What a socket call's caller sees when the stack says no: the errno a
// Linux socket gives in the same situation.

#include <actorstack/error.hpp>

namespace actorstack::preload {

/// The errno for `code` (a refused connect: ECONNREFUSED; a reset:
/// ECONNRESET; would_block: EAGAIN; ...). Never 0.
int errno_of(errc code) noexcept;

}  // namespace actorstack::preload
