// actorstack-ctl: looks into a running stack that published its inspector
// (stack::publish_inspector, actorstack-echo --inspect-port P).
//
//   actorstack-ctl --port P [--host H] [--timeout S] show TOPIC [--json] [filters]
//   actorstack-ctl --port P watch [TOPIC] [--interval S] [--count N] [--json]
//
// TOPIC: summary (default for watch), workers, sessions, listeners, apps,
// ct, dataplane. Session filters: --app N, --state NAME, --transport NAME.
// Exit codes: 0 answered, 1 not reachable or the stack refused the query,
// 2 bad usage.

#include "actors/inspect_service.hpp"

#include <caf/io/all.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "actorstack-ctl: %s\n"
               "usage: actorstack-ctl --port P [--host H] [--timeout S] show "
               "summary|workers|sessions|listeners|apps|ct|dataplane [--json] [--app N] [--state S] "
               "[--transport T]\n"
               "       actorstack-ctl --port P watch [TOPIC] [--interval S] [--count N] [--json]\n",
               why);
  return 2;
}

bool parse_number(const std::string& text, long& out) {
  try {
    std::size_t used = 0;
    out = std::stol(text, &used);
    return used == text.size() && out >= 0;
  } catch (...) {
    return false;
  }
}

struct command {
  std::string host = "127.0.0.1";
  long port = -1;
  long timeout_s = 5;
  std::string verb;
  std::string topic;
  std::string options;  // passed through to the stack
  long interval_s = 1;
  long count = 0;  // watch: 0 = until interrupted
};

}  // namespace

int main(int argc, char** argv) {
  command cmd;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](long& out) {
      if (i + 1 >= args.size() || !parse_number(args[i + 1], out)) return false;
      ++i;
      return true;
    };
    if (a == "--port") {
      if (!value(cmd.port) || cmd.port > 65535) return usage("--port takes a port number");
    } else if (a == "--timeout") {
      if (!value(cmd.timeout_s) || cmd.timeout_s == 0) return usage("--timeout takes seconds (> 0)");
    } else if (a == "--interval" && cmd.verb == "watch") {
      if (!value(cmd.interval_s) || cmd.interval_s == 0) return usage("--interval takes seconds (> 0)");
    } else if (a == "--count" && cmd.verb == "watch") {
      if (!value(cmd.count)) return usage("--count takes a number");
    } else if (a == "--host") {
      if (i + 1 >= args.size()) return usage("--host takes a name or address");
      cmd.host = args[++i];
    } else if (cmd.verb.empty() && (a == "show" || a == "watch")) {
      cmd.verb = a;
    } else if (!cmd.verb.empty() && cmd.topic.empty() && a.rfind("--", 0) != 0) {
      cmd.topic = a;
    } else if (!cmd.verb.empty()) {
      cmd.options += (cmd.options.empty() ? "" : " ") + a;  // the stack checks them
    } else {
      return usage(("unexpected '" + a + "'").c_str());
    }
  }
  if (cmd.port < 0) return usage("--port is required");
  if (cmd.verb.empty()) return usage("say show or watch");
  if (cmd.topic.empty()) {
    if (cmd.verb == "show") return usage("show what?");
    cmd.topic = "summary";
  }

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  auto svc = sys.middleman().remote_actor<inspect_service>(cmd.host, static_cast<std::uint16_t>(cmd.port));
  if (!svc) {
    std::fprintf(stderr, "actorstack-ctl: no stack inspector at %s:%ld: %s\n", cmd.host.c_str(), cmd.port,
                 sys.render(svc.error()).c_str());
    return 1;
  }
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  int rc = 0;
  for (long round = 0;; ++round) {
    caf::scoped_actor self{sys};
    self->request(*svc, std::chrono::seconds(cmd.timeout_s), show_atom_v, cmd.topic, cmd.options)
        .receive(
            [&](const std::string& text) {
              if (cmd.verb == "watch" && tty) std::fputs("\033[H\033[2J", stdout);  // redraw in place
              std::fputs(text.c_str(), stdout);
              std::fflush(stdout);
            },
            [&](caf::error& e) {
              std::fprintf(stderr, "actorstack-ctl: %s\n", sys.render(e).c_str());
              rc = 1;
            });
    if (rc != 0 || cmd.verb == "show" || (cmd.count > 0 && round + 1 >= cmd.count)) break;
    std::this_thread::sleep_for(std::chrono::seconds(cmd.interval_s));
  }
  return rc;
}
