#pragma once
/// \file
/// The interface actorstack-ctl reaches over CAF's middleman: `show TOPIC
/// OPTIONS` answered with rendered text (a table, or JSON with `--json`).
/// Only built-in types cross the wire, so neither side registers types.

#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <string>

namespace actorstack {

/// (show, topic, options as one space-separated string) -> text.
using inspect_service =
    caf::typed_actor<caf::replies_to<show_atom, std::string, std::string>::with<std::string>>;

}  // namespace actorstack
