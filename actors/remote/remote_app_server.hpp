#pragma once
/// \file
/// Serves applications in other processes (the VPP model: the stack as a
/// daemon, apps attach to it).
///
/// One door: a Unix socket (SOCK_SEQPACKET) at a path, whose file mode,
/// group and uid allow-list say who may connect; the kernel tells who did
/// (SO_PEERCRED). Each connection is one app worker's whole conversation
/// with the stack (app_protocol.hpp): its attach, its requests, the
/// stack's notifications and answers, its segment fds; its hang-up is how
/// the stack learns that the process died. No TCP port, no CAF middleman:
/// nothing another process sends is decoded by code that is not ours.
///
/// A thread owns the Unix side (listener and connections: accept, greet,
/// read and decode each record, watch for hang-ups) and hands decoded
/// requests to the connection's gateway (actors/remote/remote_gateway.hpp)
/// by message. The attach registry, an actor, owns the attaches; it tells
/// the thread each new gateway through a single-producer ring.

#include "actors/inspect_service.hpp"
#include "actors/remote/app_protocol.hpp"
#include "actors/remote/remote_gateway.hpp"
#include "session/stack_root_state.hpp"

#include <actorstack/result.hpp>
#include <actorstack/stack.hpp>

#include <functional>
#include <memory>
#include <string>

namespace actorstack {

/// What an attach gave the app (the registry adds the app's secret).
struct remote_attach_reply {
  std::uint32_t app = 0;
  std::uint32_t app_worker = 0;
  std::uint32_t session_workers = 0;
  caf::actor gateway;  ///< stays in this process
};

/// Attaches one remote app (or, with a join secret the registry checked,
/// one more worker of app `join_app`); `channel` is its Unix connection,
/// `origin` the process at its other end (SO_PEERCRED).
using remote_attach_fn = std::function<result<remote_attach_reply>(
    const app_protocol::attach_request&, std::shared_ptr<shm::fd_channel> channel, const app_origin& origin)>;

class remote_app_server {
 public:
  /// Binds `opts.socket_path` with its access and starts the Unix side's
  /// thread; a process whose uid is not allowed is hung up on before it is
  /// greeted. `inspector` answers `show` records (actorstack-ctl --socket).
  /// Errors: system / invalid_argument (the path).
  static result<std::unique_ptr<remote_app_server>> start(caf::actor_system& sys, remote_attach_fn attach,
                                                          inspect_service inspector, const remote_apps_options& opts);
  /// Stops the thread (the socket file is removed) and the registry.
  ~remote_app_server();
  remote_app_server(const remote_app_server&) = delete;
  remote_app_server& operator=(const remote_app_server&) = delete;

  const std::string& socket_path() const noexcept;

  struct impl;

 private:
  explicit remote_app_server(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace actorstack
