#pragma once
/// \file
/// Byte sizes as people write them, one grammar for every front end (the
/// stack configuration, every binary's size options): digits, then
/// optionally B, K, M, G or T, each also spelt KB/KiB and so on, in any
/// case; every multiple is binary (1K = 1024). Written back as the largest
/// whole unit: 65536 -> "64K", 1000 -> "1000".

#include <actorstack/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace actorstack {

/// The size `text` names. Errors: invalid_argument, its detail the reason
/// alone ("is empty", "is negative", "is not a number (...)", "is too
/// large", "has an unknown suffix 'x' (...)"), for the caller to prefix
/// with what it parsed.
result<std::uint64_t> parse_size(std::string_view text);

/// `bytes` in the largest unit that divides it (T, G, M, K), else plain.
std::string format_size(std::uint64_t bytes);

}  // namespace actorstack
