#pragma once
// What the echo runs over a DPDK port (udp_echo.cpp, tcp_echo.cpp) share:
// the stack's configuration from the command line, the data plane's
// summary, and --inspect-port / --metrics-port.

#include "demo/echo_options.hpp"

#include <actorstack/stack.hpp>

namespace echo {

actorstack::stack_config config_of(const options& opt);
/// Every core's counters, as text or as a `"dataplane":[...]` JSON member.
void print_dataplane(const actorstack::stack& st, bool json);
/// Publishes the inspector and serves metrics as the options ask; false
/// (and a message) if one of them could not start.
bool expose(actorstack::stack& st, const options& opt);

}  // namespace echo
