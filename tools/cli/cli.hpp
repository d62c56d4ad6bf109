#pragma once
// What actorstack's command-line programs share on top of CLI11: sizes
// with binary suffixes ("64K", "1MiB", "4G") that fail loudly on overflow,
// `--version`, the exit codes in `--help`, and one parse step that maps
// CLI11's outcomes onto them.

#include <CLI/CLI.hpp>

#include <actorstack/result.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace actorstack::cli {

/// A byte count: digits, then optionally K, M, G or T (powers of 1024,
/// "KiB"/"KB" spellings too, any case). Errors: invalid_argument naming the
/// text (empty, not a number, unknown suffix, more than 2^64-1).
result<std::uint64_t> parse_size(std::string_view text);

/// "64K", "1M", "4G" when exact, else the plain number.
std::string format_size(std::uint64_t bytes);

/// Adds a size option bound to `out`, accepting min..max (inclusive) and
/// showing the current value as its default.
template <class T>
CLI::Option* add_size(CLI::App& app, const std::string& name, T& out, const std::string& what,
                      std::uint64_t min = 0, std::uint64_t max = std::numeric_limits<T>::max()) {
  auto* o = app.add_option_function<std::string>(
      name,
      [&out, name, min, max](const std::string& text) {
        auto v = parse_size(text);
        if (!v) throw CLI::ValidationError(name, v.error().message());
        if (*v < min || *v > max)
          throw CLI::ValidationError(name, text + " is out of range " + format_size(min) + ".." + format_size(max));
        out = static_cast<T>(*v);
      },
      what);
  o->type_name("SIZE")->default_str(format_size(out));
  return o;
}

/// `--version` (prints "PROGRAM VERSION" and exits 0) and an "Exit codes"
/// section at the end of `--help`, one line per code.
void add_standard(CLI::App& app, const std::string& exit_codes);

/// Parses; returns -1 when the program should go on, else the exit code to
/// return: 0 after --help/--version, 2 (usage) after an error, which is
/// printed with a hint to --help.
int parse(CLI::App& app, int argc, char** argv);

}  // namespace actorstack::cli
