#pragma once
/// \file
/// Turns a snapshot of the actors' own reports into what `show` prints: a
/// table for people, or JSON (`--json`) for tools. Pure functions: the
/// inspector gathers, this renders, tests check it without actors.

#include "session/view/inspection.hpp"

#include <actorstack/dataplane_stats.hpp>
#include <actorstack/session_handle.hpp>
#include <actorstack/result.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace actorstack::view {

/// Everything `show` may need, gathered from the actors at one moment.
struct snapshot {
  std::vector<worker_report> workers;
  std::vector<ct_context_report> contexts;
  std::vector<app_row> apps;
  std::vector<listener_row> listeners;
  std::vector<dataplane_core_stats> dataplane;  ///< one per data-plane core; empty without one
  std::uint64_t root_mailbox = 0;               ///< messages waiting in the stack root's mailbox
  /// Messages waiting in the stack's own app workers (global index ->
  /// count); user-written app worker actors are not asked.
  std::map<std::uint32_t, std::uint64_t> app_worker_mailboxes;
};

/// What `show` takes after the topic: `--json`, and for sessions the
/// filters `--app N`, `--state NAME`, `--transport NAME`.
struct show_options {
  bool json = false;
  std::optional<std::uint32_t> app;
  std::string state;
  std::string transport;
};

/// Errors: invalid_argument (unknown option or value).
result<show_options> parse_show_options(const std::vector<std::string>& args);

/// The topics: summary, workers, sessions, listeners, apps, ct, dataplane.
/// Errors: invalid_argument (unknown topic).
result<std::string> render(const std::string& topic, const show_options& opts, const snapshot& snap);

}  // namespace actorstack::view
