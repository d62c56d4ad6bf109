#pragma once
// What a socket call's caller sees when the stack says no: the errno a
// Linux socket gives in the same situation.

#include <actorstack/error.hpp>

namespace actorstack::preload {

/// The errno for `code` (a refused connect: ECONNREFUSED; a reset:
/// ECONNRESET; would_block: EAGAIN; ...). Never 0.
int errno_of(errc code) noexcept;
/// The same for an error value: a failed system call's own errno when it
/// carries one (a wait cut short by a signal: EINTR), else its code's.
int errno_of(const error& e) noexcept;

}  // namespace actorstack::preload
