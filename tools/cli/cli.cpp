#include "tools/cli/cli.hpp"

#include <actorstack/version.hpp>

namespace actorstack::cli {

void add_standard(CLI::App& app, const std::string& exit_codes) {
  app.set_version_flag("--version", app.get_name() + " " + std::string{version()});
  app.footer("Exit codes:\n" + exit_codes);
}

int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // 0: --help, --version; CLI11 printed the error and a hint
  }
}

}  // namespace actorstack::cli
