#include "tools/cli/cli.hpp"

#include <actorstack/version.hpp>

namespace actorstack::cli {

void add_standard(CLI::App& app, const std::string& exit_codes) {
  app.set_version_flag("--version", app.get_name() + " " + std::string{version()});
  app.footer("Exit codes:\n" + exit_codes);
}

void add_tls(CLI::App& app, std::string& certificate, std::string& key, std::string& ca) {
  const std::string group = "TLS (the inspector from another host; all three or none)";
  auto* c = app.add_option("--tls-cert", certificate, "This side's certificate chain (PEM)")
                ->check(CLI::ExistingFile)
                ->group(group);
  auto* k = app.add_option("--tls-key", key, "Its private key (PEM)")->check(CLI::ExistingFile)->group(group);
  auto* a = app.add_option("--tls-ca", ca, "The CA every peer's certificate must be signed by (PEM)")
                ->check(CLI::ExistingFile)
                ->group(group);
  c->needs(k)->needs(a);
  k->needs(c);
  a->needs(c);
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
