#include "client/inbox.hpp"

#include "actors/door_shield.hpp"
#include "base/secret.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <deque>

namespace actorstack::client::detail {

inbox::inbox() : event_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

inbox::~inbox() {
  if (event_fd >= 0) ::close(event_fd);
}

bool inbox::push(const inbox_item& item) { return ring.push(item); }

void inbox::signal() noexcept {
  const std::uint64_t one = 1;
  (void)!::write(event_fd, &one, sizeof one);
}

void inbox::clear() noexcept {
  std::uint64_t value = 0;
  (void)!::read(event_fd, &value, sizeof value);
}

bool inbox::pop(inbox_item& out) { return ring.pop(out); }

namespace {

struct receiver_state {
  static inline const char* name = "client_receiver";
  std::shared_ptr<inbox> box;
  std::deque<inbox_item> waiting;  // the ring was full
  bool retry_scheduled = false;
  /// The gateway whose end means "disconnected" (watch_atom, once).
  caf::actor_addr gateway;
};

using self_pointer = caf::stateful_actor<receiver_state>*;

// Moves what waits into the ring; schedules a retry while some is left (the
// app thread drains the ring at its own pace).
void flush(self_pointer self) {
  auto& st = self->state;
  bool moved = false;
  while (!st.waiting.empty() && st.box->push(st.waiting.front())) {
    st.waiting.pop_front();
    moved = true;
  }
  if (moved) st.box->signal();
  if (!st.waiting.empty() && !st.retry_scheduled) {
    st.retry_scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds(1), run_atom_v);
  }
}

void take(self_pointer self, inbox_item item) {
  self->state.waiting.push_back(std::move(item));
  flush(self);
}

}  // namespace

caf::actor spawn_receiver(caf::actor_system& sys, std::shared_ptr<inbox> box) {
  return sys.spawn(
      [](self_pointer self, std::shared_ptr<inbox> box) -> caf::behavior {
        self->state.box = std::move(box);
        drop_unexpected_quietly(self);
        // Only the gateway's end (a down message of another actor, or one
        // forged by another process, says nothing about the stack).
        self->set_down_handler([=](caf::down_msg& m) {
          if (!self->state.gateway || m.source != self->state.gateway) return;
          inbox_item item;
          item.what = inbox_item::kind::disconnected;
          take(self, std::move(item));
        });
        const auto sealed = [=](std::uint64_t seal) {
          const std::uint64_t expected = self->state.box->seal.load(std::memory_order_acquire);
          return expected != 0 && secrets_equal(seal, expected);
        };
        return {
            [=](notify_atom, app_notification& n, std::uint64_t seal) {
              if (!sealed(seal)) return;
              inbox_item item;
              item.note = std::move(n);
              take(self, std::move(item));
            },
            [=](detach_atom, std::uint64_t seal) {
              if (!sealed(seal)) return;
              inbox_item item;
              item.what = inbox_item::kind::detached;
              take(self, std::move(item));
            },
            [=](watch_atom, const caf::actor& gateway, std::uint64_t seal) {
              auto& st = self->state;
              if (st.gateway || !sealed(seal)) return;  // once, from the attach
              st.gateway = gateway.address();
              self->monitor(gateway);
            },
            [=](run_atom) {
              self->state.retry_scheduled = false;
              flush(self);
            },
        };
      },
      std::move(box));
}

}  // namespace actorstack::client::detail
