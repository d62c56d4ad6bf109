#pragma once
// An attached app worker's socks: what each sock number is (a listener with
// its backlog, or a session), numbers reused once released, and which sock
// holds each session the stack names. Owned by the app worker's thread.

#include <actorstack/client.hpp>
#include <actorstack/session.hpp>
#include <actorstack/session_handle.hpp>

#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace actorstack::client::detail {

struct sock_state {
  bool used = false;
  bool listener = false;
  bool datagram = false;  // udp: a listener's sock holds its own session (`s`) and moves datagrams
  bool nonblocking = false;
  session_handle handle;
  session* s = nullptr;  // held by the app session table until its cleanup
  std::deque<sock> backlog;
  bool connecting = false;
  bool abandoned = false;  // connect() gave up waiting: refuse it when it comes
  std::optional<errc> connect_error;
  bool peer_closed = false;
  bool peer_reset = false;
  bool gone = false;  // cleaned up by the stack
  endpoint_pair ends;  // a listener: its local endpoint only
  transport_proto transport = transport_proto::ct;
};

class sock_table {
 public:
  /// A fresh sock (a released number first).
  sock add();
  /// The number is free again (its session mapping, if any, is the caller's).
  void release(sock id);
  /// The app let go of a session: later news about it is not for a sock.
  void forget(sock id);
  /// The sock, or nullptr if `id` is not an open sock.
  sock_state* find(sock id);
  /// The sock that holds the session `h`, or nullptr.
  sock_state* by(session_handle h);
  /// Which sock holds the session `h`.
  std::optional<sock> sock_of(session_handle h) const;
  /// News about session `h` is for sock `id` from now on.
  void bind(session_handle h, sock id) { by_handle_[h.value()] = id; }
  void unbind(session_handle h) { by_handle_.erase(h.value()); }
  /// Open socks, listeners included.
  std::size_t open() const;

  sock_state& operator[](sock id) { return socks_[static_cast<std::size_t>(id)]; }
  auto begin() { return socks_.begin(); }
  auto end() { return socks_.end(); }

 private:
  std::vector<sock_state> socks_;
  std::vector<sock> free_;
  std::unordered_map<std::uint64_t, sock> by_handle_;
};

}  // namespace actorstack::client::detail
