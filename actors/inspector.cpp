#include "actors/inspector.hpp"

#include "actors/log.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>

namespace actorstack {

std::string_view to_string(actor_role r) noexcept {
  switch (r) {
    case actor_role::root: return "stack_root";
    case actor_role::session_worker: return "session_worker";
    case actor_role::app_worker: return "app_worker";
    case actor_role::ct_context: return "ct_segment_context";
  }
  return "?";
}

namespace {

struct inspector_state {
  static inline const char* name = "inspector";
  std::unordered_map<caf::actor_addr, watched_actor> watched;
  std::vector<caf::actor> handles;  // to stop them all on a fatal end
  stack_root_actor root;
  bool stopping = false;
};

using self_pointer = inspector_actor::stateful_pointer<inspector_state>;

std::string describe(const watched_actor& w) {
  std::string out{to_string(w.role)};
  out += ' ';
  out += std::to_string(w.index);
  if (!w.name.empty()) out += " ('" + w.name + "')";
  return out;
}

void on_down(self_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto it = st.watched.find(msg.source);
  if (it == st.watched.end()) return;
  watched_actor& w = it->second;
  w.alive = false;
  w.exit_reason = msg.reason ? self->system().render(msg.reason) : "normal";
  if (st.stopping) return;  // the stack is stopping: every end is expected
  switch (w.role) {
    case actor_role::app_worker:
      // Detach its app; a detach already under way makes this a no-op.
      if (st.root) self->send(st.root, app_down_atom_v, w.index);
      return;
    case actor_role::root:
    case actor_role::session_worker:
    case actor_role::ct_context:
      log_line(describe(w) + " ended (" + w.exit_reason + "); stopping the stack");
      st.stopping = true;
      for (auto& a : st.handles) self->send_exit(a, caf::exit_reason::user_shutdown);
      return;
  }
}

}  // namespace

inspector_actor spawn_inspector(caf::actor_system& sys, stack_root_actor root) {
  // The root travels as a spawn argument (CAF 0.17.6: see spawn_session_worker).
  return sys.spawn([](self_pointer self, stack_root_actor root) -> inspector_actor::behavior_type {
    self->state.root = std::move(root);
    self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
    return {
        [=](watch_atom, caf::actor& a, actor_role role, std::uint32_t index, std::string& name) {
          if (!a) return;
          self->monitor(a);
          self->state.watched[a.address()] = {role, index, std::move(name), true, {}};
          self->state.handles.push_back(std::move(a));
        },
        [=](stop_atom) { self->state.stopping = true; },
        [=](list_atom) {
          std::vector<watched_actor> out;
          for (const auto& [addr, w] : self->state.watched) out.push_back(w);
          std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
            return std::tie(a.role, a.index) < std::tie(b.role, b.index);
          });
          return out;
        },
    };
  }, std::move(root));
}

}  // namespace actorstack
