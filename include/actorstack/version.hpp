#pragma once
/// \file
/// The library's version, as the build that made it says ("0.1.0"): what
/// `--version` prints and the `actorstack_build_info` metric carries.

#include <string_view>

namespace actorstack {

/// "MAJOR.MINOR.PATCH" of the library this program runs with.
std::string_view version() noexcept;

}  // namespace actorstack
