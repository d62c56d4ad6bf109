#pragma once
// What actorstack's command-line programs share on top of CLI11: size
// options in the stack's one size grammar (base/size.hpp: "64K", "1MiB",
// "4G", loud on overflow),
// `--version`, the exit codes in `--help`, and one parse step that maps
// CLI11's outcomes onto them.

#include <CLI/CLI.hpp>

#include "base/quote.hpp"
#include "base/size.hpp"

#include <actorstack/result.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace actorstack::cli {

/// Adds a size option bound to `out`, accepting min..max (inclusive) and
/// showing the current value as its default.
template <class T>
CLI::Option* add_size(CLI::App& app, const std::string& name, T& out, const std::string& what,
                      std::uint64_t min = 0, std::uint64_t max = std::numeric_limits<T>::max()) {
  auto* o = app.add_option_function<std::string>(
      name,
      [&out, name, min, max](const std::string& text) {
        auto v = parse_size(text);
        if (!v) throw CLI::ValidationError(name, actorstack::quoted(text) + " " + v.error().detail);
        if (*v < min || *v > max)
          throw CLI::ValidationError(name, text + " is out of range " + format_size(min) + ".." + format_size(max));
        out = static_cast<T>(*v);
      },
      what);
  o->type_name("SIZE")->default_str(format_size(out));
  return o;
}

/// `--tls-cert FILE --tls-key FILE --tls-ca FILE` (all three or none), in
/// their own --help group: the inspector's connection over TLS, with
/// certificates on both ends (actors/tls.hpp).
void add_tls(CLI::App& app, std::string& certificate, std::string& key, std::string& ca);

/// `--version` (prints "PROGRAM VERSION" and exits 0) and an "Exit codes"
/// section at the end of `--help`, one line per code.
void add_standard(CLI::App& app, const std::string& exit_codes);

/// Parses; returns -1 when the program should go on, else the exit code to
/// return: 0 after --help/--version, 2 (usage) after an error, which is
/// printed with a hint to --help.
int parse(CLI::App& app, int argc, char** argv);

}  // namespace actorstack::cli
