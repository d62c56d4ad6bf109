#include "actors/handler_app_worker.hpp"
#include "actors/handler_scope.hpp"
#include "actors/mailbox_depth.hpp"

namespace actorstack {

namespace {

struct app_worker_state {
  static inline const char* name = "app_worker";
  std::unique_ptr<app_handler> handler;
  std::unique_ptr<app_session_table> sessions;
};

// The app worker interface, plus what the inspector asks the stack's own
// app workers (user-written ones need not answer).
using own_app_worker_actor = app_worker_actor::extend<caf::replies_to<mailbox_atom>::with<std::uint64_t>>;
using self_pointer = own_app_worker_actor::stateful_pointer<app_worker_state>;

}  // namespace

app_worker_actor spawn_handler_app_worker(caf::actor_system& sys, app_worker_context ctx,
                                  std::unique_ptr<app_handler> handler) {
  // Arguments, not captures (CAF 0.17.6, see spawn_session_worker). The
  // handler travels as a raw pointer the actor adopts at once.
  auto a = sys.spawn(
      [](self_pointer self, app_worker_context ctx,
         app_handler* handler) -> own_app_worker_actor::behavior_type {
        self->state.handler.reset(handler);
        self->state.sessions = std::make_unique<app_session_table>(std::move(ctx));
        self->state.sessions->enable_direct_rx(caf::actor_cast<caf::actor>(self));
        return {
            [=](notify_atom, const app_notification& n) {
              app_handler_scope in_handler;
              self->state.sessions->deliver(n, *self->state.handler);
            },
            [=](notify_atom, const std::vector<app_notification>& batch) {
              app_handler_scope in_handler;
              self->state.sessions->deliver(batch, *self->state.handler);
            },
            [=](detach_atom) {
              // Every session this app still holds is reset towards its
              // peer; the session layer cleans up without the app.
              app_handler_scope in_handler;
              self->state.sessions->reset_all();
              self->quit();
            },
            [=](mailbox_atom) -> std::uint64_t { return mailbox_depth(self); },
        };
      },
      std::move(ctx), handler.release());
  return caf::actor_cast<app_worker_actor>(a);
}

}  // namespace actorstack
