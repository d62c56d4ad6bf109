#include "actors/caf_error.hpp"
#include "actors/inspector.hpp"

#include "actors/answer_as_self.hpp"
#include "actors/ct_segment_context.hpp"
#include "actors/door_shield.hpp"
#include "session/view/render.hpp"
#include "actors/log.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace actorstack {

std::string_view to_string(actor_role r) noexcept {
  switch (r) {
    case actor_role::root: return "stack_root";
    case actor_role::session_worker: return "session_worker";
    case actor_role::app_worker: return "app_worker";
    case actor_role::ct_context: return "ct_segment_context";
    case actor_role::service: return "inspect_service";
  }
  return "?";
}

namespace {

struct inspector_state {
  static inline const char* name = "inspector";
  std::unordered_map<caf::actor_addr, watched_actor> watched;
  std::vector<caf::actor> handles;  // to stop them all on a fatal end
  std::unordered_set<caf::actor_addr> reports_mailbox;  // the stack's own app workers
  stack_root_actor root;
  std::vector<session_worker_actor> workers;        // by worker index
  std::vector<ct_segment_context_actor> contexts;   // as spawned
  dataplane_provider dataplane;                     // data-plane counters, read directly
  bool stopping = false;
  bool failing = false;       // a fatal end is being handled
  bool rest_stopped = false;  // ...and everything has been told to stop
};

using self_pointer = inspector_actor::stateful_pointer<inspector_state>;

std::string describe(const watched_actor& w) {
  std::string out{to_string(w.role)};
  out += ' ';
  out += std::to_string(w.index);
  if (!w.name.empty()) out += " ('" + w.name + "')";
  return out;
}

// After a fatal end: once no app worker is alive, stop everything else.
void stop_rest_once_apps_gone(self_pointer self) {
  auto& st = self->state;
  if (st.rest_stopped) return;
  for (const auto& [addr, w] : st.watched)
    if (w.alive && w.role == actor_role::app_worker) return;
  st.rest_stopped = true;
  for (auto& a : st.handles) self->send_exit(a, caf::exit_reason::user_shutdown);
}

void on_down(self_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto it = st.watched.find(msg.source);
  if (it == st.watched.end()) return;
  watched_actor& w = it->second;
  w.alive = false;
  st.reports_mailbox.erase(msg.source);
  // Only the living need stopping: drop its handle (the record stays, to
  // say what ended and why).
  st.handles.erase(std::remove_if(st.handles.begin(), st.handles.end(),
                                  [&](const caf::actor& a) { return a.address() == msg.source; }),
                   st.handles.end());
  w.exit_reason = msg.reason ? self->system().render(msg.reason) : "normal";
  if (st.failing) {
    stop_rest_once_apps_gone(self);
    return;
  }
  if (st.stopping) return;  // the stack is stopping: every end is expected
  switch (w.role) {
    case actor_role::service: return;  // only serves actorstack-ctl
    case actor_role::app_worker:
      // Detach its app; a detach already under way makes this a no-op.
      if (st.root) self->send(st.root, app_down_atom_v, w.index, !msg.reason);
      return;
    case actor_role::ct_context:
      // A retired context ends normally (ct_segment_context.hpp): forget it.
      if (!msg.reason || msg.reason == caf::exit_reason::normal) {
        std::erase_if(st.contexts, [&](const ct_segment_context_actor& c) { return c.address() == msg.source; });
        st.watched.erase(it);  // nothing to tell about a normal end, and one per client would pile up
        return;
      }
      [[fallthrough]];
    case actor_role::root:
    case actor_role::session_worker:
      log_line(describe(w) + " ended (" + w.exit_reason + "); stopping the stack");
      st.stopping = st.failing = true;
      // Apps first: they touch fifos the contexts would unmap.
      for (auto& a : st.handles)
        if (auto it2 = st.watched.find(a.address()); it2 != st.watched.end() && it2->second.alive &&
                                                      it2->second.role == actor_role::app_worker)
          self->send_exit(a, caf::exit_reason::user_shutdown);
      stop_rest_once_apps_gone(self);
      return;
  }
}

constexpr auto query_timeout = std::chrono::seconds(2);

// Asks every actor for its own report; `then` gets the snapshot once all
// have replied (an actor that died or timed out simply contributes nothing).
template <class Then>
void gather(self_pointer self, Then then) {
  auto& st = self->state;
  auto snap = std::make_shared<view::snapshot>();
  if (st.dataplane) snap->dataplane = st.dataplane();
  // The stack's own app workers, alive: they say how much waits for them.
  std::vector<std::pair<std::uint32_t, caf::actor>> app_workers;
  for (const auto& a : st.handles)
    if (auto it = st.watched.find(a.address());
        it != st.watched.end() && it->second.alive && it->second.role == actor_role::app_worker &&
        st.reports_mailbox.count(a.address()) > 0)
      app_workers.emplace_back(it->second.index, a);
  auto pending = std::make_shared<std::size_t>(st.workers.size() + st.contexts.size() + app_workers.size() + 3);
  auto done = [=]() mutable {
    if (--*pending != 0) return;
    std::sort(snap->workers.begin(), snap->workers.end(),
              [](const auto& a, const auto& b) { return a.stats.worker < b.stats.worker; });
    std::sort(snap->contexts.begin(), snap->contexts.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    then(*snap);
  };
  auto skip = [=](caf::error&) mutable { done(); };
  for (auto& w : st.workers)
    self->request(w, query_timeout, sessions_atom_v).then([=](worker_report& r) mutable {
      snap->workers.push_back(std::move(r));
      done();
    }, skip);
  for (auto& c : st.contexts)
    self->request(c, query_timeout, segments_atom_v).then([=](ct_context_report& r) mutable {
      snap->contexts.push_back(std::move(r));
      done();
    }, skip);
  for (auto& [index, a] : app_workers)
    self->request(a, query_timeout, mailbox_atom_v).then([=, i = index](std::uint64_t n) mutable {
      snap->app_worker_mailboxes[i] = n;
      done();
    }, skip);
  self->request(st.root, query_timeout, apps_atom_v).then([=](std::vector<app_row>& r) mutable {
    snap->apps = std::move(r);
    done();
  }, skip);
  self->request(st.root, query_timeout, mailbox_atom_v).then([=](std::uint64_t n) mutable {
    snap->root_mailbox = n;
    done();
  }, skip);
  self->request(st.root, query_timeout, listeners_atom_v).then([=](std::vector<listener_row>& r) mutable {
    snap->listeners = std::move(r);
    done();
  }, skip);
}

caf::result<std::string> show(self_pointer self, const std::string& topic, const std::vector<std::string>& args) {
  auto opts = view::parse_show_options(args);
  if (!opts) return to_caf(opts.error());
  auto rp = self->make_response_promise<std::string>();
  gather(self, [=, o = *opts](const view::snapshot& snap) mutable {
    auto text = view::render(topic, o, snap);
    if (text)
      rp.deliver(*text);
    else
      rp.deliver(to_caf(text.error()));
  });
  return rp;
}

}  // namespace

inspect_service spawn_inspect_service(caf::actor_system& sys, inspector_actor inspector) {
  return sys.spawn(
      [](inspect_service::pointer self, inspector_actor inspector) -> inspect_service::behavior_type {
        drop_unexpected_quietly(self);
        return {
            [=](show_atom, const std::string& topic, const std::string& options) {
              std::vector<std::string> args;
              std::size_t at = 0;
              while (at < options.size()) {
                const auto end = std::min(options.find(' ', at), options.size());
                if (end > at) args.push_back(options.substr(at, end - at));
                at = end + 1;
              }
              return answer_as_self<std::string>(self, inspector, show_atom_v, topic, std::move(args));
            },
        };
      },
      std::move(inspector));
}

inspector_actor spawn_inspector(caf::actor_system& sys, stack_root_actor root, dataplane_provider dataplane) {
  // The root travels as a spawn argument (CAF 0.17.6: see spawn_session_worker).
  return sys.spawn([](self_pointer self, stack_root_actor root,
                      dataplane_provider dataplane) -> inspector_actor::behavior_type {
    self->state.root = std::move(root);
    self->state.dataplane = std::move(dataplane);
    self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
    return {
        [=](watch_atom, caf::actor& a, actor_role role, std::uint32_t index, std::string& name) {
          if (!a) return;
          self->monitor(a);
          auto& st = self->state;
          if (role == actor_role::session_worker) {
            if (st.workers.size() <= index) st.workers.resize(index + 1);
            st.workers[index] = caf::actor_cast<session_worker_actor>(a);
          } else if (role == actor_role::ct_context) {
            st.contexts.push_back(caf::actor_cast<ct_segment_context_actor>(a));
          }
          st.watched[a.address()] = {role, index, std::move(name), true, {}};
          self->state.handles.push_back(std::move(a));
        },
        [=](mailbox_atom, caf::actor& a) {
          if (a) self->state.reports_mailbox.insert(a.address());
        },
        [=](stop_atom) { self->state.stopping = true; },
        [=](show_atom, const std::string& topic, const std::vector<std::string>& args) {
          return show(self, topic, args);
        },
        [=](snapshot_atom) -> caf::result<view::snapshot> {
          auto rp = self->make_response_promise<view::snapshot>();
          gather(self, [=](const view::snapshot& snap) mutable { rp.deliver(snap); });
          return rp;
        },
        [=](list_atom) {
          std::vector<watched_actor> out;
          for (const auto& [addr, w] : self->state.watched) out.push_back(w);
          std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
            return std::tie(a.role, a.index) < std::tie(b.role, b.index);
          });
          return out;
        },
    };
  }, std::move(root), std::move(dataplane));
}

}  // namespace actorstack
