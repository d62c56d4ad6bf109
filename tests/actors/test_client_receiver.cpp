// The client library's receiving actor (client/inbox.hpp): what it takes
// from the stack must carry the gateway's seal, because CAF's middleman
// lets another process name it and claim to be anyone.

#include "client/inbox.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace actorstack;
using namespace std::chrono_literals;

namespace {

// Items the receiver put into the box within `wait`.
std::size_t drained(client::detail::inbox& box, std::chrono::milliseconds wait) {
  std::this_thread::sleep_for(wait);
  std::size_t n = 0;
  client::detail::inbox_item item;
  while (box.pop(item)) ++n;
  return n;
}

}  // namespace

TEST_CASE("client receiver: notifications, detach and the gateway watch count only with the seal, and only the watched gateway's end disconnects") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto box = std::make_shared<client::detail::inbox>();
  auto receiver = client::detail::spawn_receiver(sys, box);
  app_notification n;
  n.kind = notification::rx;

  // Before the attach set a seal, nothing is taken.
  caf::anon_send(receiver, notify_atom_v, n, std::uint64_t{0});
  caf::anon_send(receiver, notify_atom_v, n, std::uint64_t{42});
  CHECK(drained(*box, 100ms) == 0);

  box->seal.store(42);
  caf::anon_send(receiver, notify_atom_v, n, std::uint64_t{41});    // wrong seal
  caf::anon_send(receiver, detach_atom_v, std::uint64_t{7});         // wrong seal
  CHECK(drained(*box, 100ms) == 0);
  caf::anon_send(receiver, notify_atom_v, n, std::uint64_t{42});
  caf::anon_send(receiver, detach_atom_v, std::uint64_t{42});
  CHECK(drained(*box, 100ms) == 2);

  // A watch without the seal is ignored: the end of what it names is no news.
  // An argument, not none: CAF 0.17.6 dereferences a null argument tuple
  // for function actors spawned without one (UBSan says so).
  const auto idle = [](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; };
  auto decoy = sys.spawn(idle, 0);
  auto gateway = sys.spawn(idle, 0);
  caf::anon_send(receiver, watch_atom_v, decoy, std::uint64_t{1});
  caf::anon_send(receiver, watch_atom_v, gateway, std::uint64_t{42});
  caf::anon_send(receiver, watch_atom_v, decoy, std::uint64_t{42});  // once only
  std::this_thread::sleep_for(50ms);
  caf::anon_send_exit(decoy, caf::exit_reason::kill);
  CHECK(drained(*box, 100ms) == 0);
  caf::anon_send_exit(gateway, caf::exit_reason::kill);
  CHECK(drained(*box, 200ms) == 1);  // disconnected
  caf::anon_send_exit(receiver, caf::exit_reason::user_shutdown);
}
