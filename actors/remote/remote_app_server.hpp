#pragma once
/// \file
/// Serves applications in other processes (the VPP model: the stack as a
/// daemon, apps attach to it).
///
/// Two doors, one per kind of traffic:
///  - a Unix socket (SOCK_SEQPACKET) at a path: a process that connects is
///    greeted with the loopback port of the attach actor and a fresh token.
///    The connection then carries the app's segment fds (SCM_RIGHTS), and
///    its hang-up is how the stack learns that the process died;
///  - the attach actor, published with CAF's middleman on 127.0.0.1: it
///    attaches the app whose request carries a live token, once, and gives
///    back the app's gateway (actors/remote/remote_gateway.hpp).
///
/// A thread owns the Unix side (listener and connections: accept, greet,
/// watch for hang-ups); the attach actor owns the token table. They meet
/// only by message.

#include "actors/remote/remote_gateway.hpp"
#include "session/stack_root_state.hpp"

#include <actorstack/result.hpp>
#include <actorstack/stack.hpp>

#include <functional>
#include <memory>
#include <string>

namespace actorstack {

/// Attaches one remote app; `channel` is its Unix connection, `origin` the
/// process at its other end (SO_PEERCRED).
using remote_attach_fn = std::function<result<remote_attach_reply>(
    const remote_attach_request&, std::shared_ptr<shm::fd_channel> channel, const app_origin& origin)>;

class remote_app_server {
 public:
  /// Binds `opts.socket_path` with its access, publishes the attach actor
  /// on 127.0.0.1:`opts.port` (0: any free port) and starts the Unix
  /// side's thread; a process whose uid is not allowed is hung up on
  /// before it is greeted. Errors: not_supported (no middleman), system /
  /// invalid_argument (the path), invalid_argument (the port).
  static result<std::unique_ptr<remote_app_server>> start(caf::actor_system& sys, remote_attach_fn attach,
                                                          const remote_apps_options& opts);
  /// Stops the thread (the socket file is removed), and the attach actor.
  ~remote_app_server();
  remote_app_server(const remote_app_server&) = delete;
  remote_app_server& operator=(const remote_app_server&) = delete;

  std::uint16_t port() const noexcept;
  const std::string& socket_path() const noexcept;
  /// The attach actor (the stack tracks it).
  caf::actor attach_actor() const;

  struct impl;

 private:
  explicit remote_app_server(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace actorstack
