// actorstack-ctl: looks into a running stack — over its Unix socket
// (actorstack-stackd: no network port needed) or its published inspector
// (stack::publish_inspector, --inspect-port): the stack's own show records
// on a plain loopback port, CAF's middleman over TLS beyond loopback.
//
//   actorstack-ctl (--socket PATH | --port P [--host H]) [--timeout S] show TOPIC [--json] [filters]
//   actorstack-ctl (--socket PATH | --port P) watch [TOPIC] [--interval S] [--count N] [--json]
//
// TOPIC: summary (default for watch), workers, sessions, listeners, apps,
// ct, dataplane. Session filters: --app N, --state NAME, --transport NAME.
// Exit codes: 0 answered, 1 not reachable or the stack refused the query,
// 2 bad usage.

#include "actors/inspect_service.hpp"
#include "actors/tls.hpp"
#include "tools/cli/cli.hpp"

#include <actorstack/client.hpp>

#include <caf/io/all.hpp>
#include <caf/openssl/remote_actor.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;

namespace {

struct command {
  std::string socket_path;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  unsigned timeout_s = 5;
  std::string verb;
  std::string topic;
  std::string options;  // passed through to the stack
  unsigned interval_s = 1;
  unsigned count = 0;  // watch: 0 = until interrupted
};

const std::vector<std::string> topics{"summary", "workers", "sessions", "listeners", "apps", "ct", "dataplane"};

}  // namespace

int main(int argc, char** argv) {
  command cmd;
  CLI::App app{"Looks into a running actorstack: over actorstack-stackd's Unix socket (--socket), or\n"
               "over an inspector published with --inspect-port (actorstack-stackd, actorstack-echo) (--port;\n"
               "with --tls-*, through CAF's middleman over TLS). Tables, or JSON with --json.",
               "actorstack-ctl"};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.fallthrough();  // --port and friends after the subcommand too
  auto* socket = app.add_option("--socket", cmd.socket_path, "actorstack-stackd's Unix socket (its --socket)");
  auto* port = app.add_option("--port", cmd.port, "The stack's inspector port")->check(CLI::Range(1, 65535));
  socket->excludes(port);
  port->excludes(socket);
  app.add_option("--host", cmd.host, "The stack's host (with --port)");
  app.add_option("--timeout", cmd.timeout_s, "Seconds to wait for an answer")->check(CLI::Range(1u, 3600u));
  actorstack::tls_files tls;
  cli::add_tls(app, tls.certificate, tls.key, tls.ca);
  bool json = false;
  std::string app_filter, state_filter, transport_filter;
  auto* show = app.add_subcommand("show", "Print one view once");
  auto* watch = app.add_subcommand("watch", "Print one view again and again (redrawn in place on a terminal)");
  for (auto* sub : {show, watch}) {
    sub->option_defaults()->always_capture_default();
    auto* t = sub->add_option("topic", cmd.topic, "What to show")->check(CLI::IsMember(topics));
    if (sub == show) t->required();
    else t->default_str("summary");
    sub->add_flag("--json", json, "JSON instead of a table");
    sub->add_option("--app", app_filter, "sessions: only this app's (index)");
    sub->add_option("--state", state_filter, "sessions: only in this state (e.g. ready)");
    sub->add_option("--transport", transport_filter, "sessions: only this transport (ct, udp, tcp)");
  }
  watch->add_option("--interval", cmd.interval_s, "Seconds between views")->check(CLI::Range(1u, 3600u));
  watch->add_option("--count", cmd.count, "Views to print (0: until interrupted)");
  cli::add_standard(app, "  0  the stack answered\n"
                         "  1  the stack is not reachable, or refused or did not answer the query\n"
                         "  2  bad command line\n");
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  cmd.verb = show->parsed() ? "show" : "watch";
  if (cmd.topic.empty()) cmd.topic = "summary";
  auto pass = [&](const char* name, const std::string& value) {
    if (!value.empty()) cmd.options += std::string{cmd.options.empty() ? "" : " "} + name + " " + value;
  };
  if (json) cmd.options = "--json";
  pass("--app", app_filter);
  pass("--state", state_filter);
  pass("--transport", transport_filter);

  if (cmd.socket_path.empty() && cmd.port == 0) {
    std::fprintf(stderr, "actorstack-ctl: say where the stack is: --socket PATH or --port P\n");
    return 2;
  }
  // One view, as text; an error's text on failure.
  std::function<result<std::string>()> fetch;
  std::optional<caf::actor_system_config> cfg;
  std::optional<caf::actor_system> sys;
  if (!cmd.socket_path.empty()) {
    fetch = [&] {
      return client::show(cmd.socket_path, cmd.topic, cmd.options, std::chrono::seconds(cmd.timeout_s));
    };
  } else if (!tls.enabled()) {
    fetch = [&] {
      return client::show_at(cmd.host, cmd.port, cmd.topic, cmd.options, std::chrono::seconds(cmd.timeout_s));
    };
  } else {
    cfg.emplace();
    cfg->load<caf::io::middleman>();
    if (auto ok = actorstack::enable_tls(*cfg, tls); !ok) {
      std::fprintf(stderr, "actorstack-ctl: %s\n", ok.error().message().c_str());
      return 1;
    }
    cfg->set("middleman.attach-utility-actors", true);  // no detached thread to hang the exit (actors/stack.cpp)
    cfg->set("scheduler.max-threads", 1);
    sys.emplace(*cfg);
    auto svc = caf::openssl::remote_actor<inspect_service>(*sys, cmd.host, static_cast<std::uint16_t>(cmd.port));
    if (!svc) {
      std::fprintf(stderr, "actorstack-ctl: no stack inspector at %s:%u: %s\n", cmd.host.c_str(),
                   static_cast<unsigned>(cmd.port), sys->render(svc.error()).c_str());
      return 1;
    }
    fetch = [&, svc = *svc]() -> result<std::string> {
      caf::scoped_actor self{*sys};
      result<std::string> out = unexpected{errc::timeout, "no answer"};
      self->request(svc, std::chrono::seconds(cmd.timeout_s), show_atom_v, cmd.topic, cmd.options)
          .receive([&](const std::string& text) { out = text; },
                   [&](caf::error& e) { out = unexpected{errc::invalid_argument, intern(sys->render(e))}; });
      return out;
    };
  }
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  int rc = 0;
  for (long round = 0;; ++round) {
    auto text = fetch();
    if (text) {
      if (cmd.verb == "watch" && tty) std::fputs("\033[H\033[2J", stdout);  // redraw in place
      std::fputs(text->c_str(), stdout);
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "actorstack-ctl: %s\n", text.error().message().c_str());
      rc = 1;
    }
    if (rc != 0 || cmd.verb == "show" || (cmd.count > 0 && static_cast<unsigned>(round) + 1 >= cmd.count)) break;
    std::this_thread::sleep_for(std::chrono::seconds(cmd.interval_s));
  }
  return rc;
}
