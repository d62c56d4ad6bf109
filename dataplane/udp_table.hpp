#pragma once
/// \file
/// One core's UDP connections: listeners (connectionless: one pair of
/// fifos for every peer) and connected 5-tuples. Owned by its core's
/// thread — no locks; the session workers change it only through commands
/// the core applies (dataplane/boundary.hpp). Plain C++: unit-tested alone.
///
/// With several cores every core holds every binding: the ones whose
/// `core` is this table's own are *owned* (this core moves their bytes),
/// the others *forward* (this core hands their frames to the owner). A
/// forwarding entry gives way to any later binding of the same connection
/// (a moved or re-added one): commands from different workers reach a core
/// on different rings, so the newest word about a connection wins without
/// any ordering between them. An owned entry never gives way.

#include "dataplane/boundary.hpp"

#include <actorstack/result.hpp>

#include <cstdint>
#include <memory>
#include <unordered_map>

namespace actorstack::dataplane {

class udp_table {
 public:
  struct entry {
    udp_binding binding;
    bool tx_queued = false;  ///< already in the core's list of fifos to drain
    bool hinted = false;     ///< forwarding: the worker was told once (event_kind::seen)
    bool rx_signal_queued = false;  ///< in the core's list of rx fifos to signal
  };

  explicit udp_table(std::uint32_t self_core = 0) : self_(self_core) {}

  /// Installs a binding (owned if `b.core` is this core, forwarding
  /// otherwise), replacing a forwarding entry for the same connection.
  /// Errors: already_listening (an owned listener on the same local
  /// address and port), invalid_argument (the 5-tuple is owned here, or
  /// the (worker, id) pair is already owned here, or port 0).
  result<entry*> add(const udp_binding& b);
  /// Uninstalls; false if (worker, id) was not installed.
  bool remove(std::uint32_t worker, std::uint32_t id) noexcept;
  entry* find(std::uint32_t worker, std::uint32_t id) noexcept;

  /// The connection a datagram from src to dst belongs to: the connected
  /// 5-tuple first, then a listener on dst's address, then a listener on
  /// any address with dst's port. Null: nobody (no_session).
  entry* match(std::uint32_t src_ip, std::uint16_t src_port, std::uint32_t dst_ip,
               std::uint16_t dst_port) noexcept;

  bool owned(const entry& e) const noexcept { return e.binding.core == self_; }
  std::size_t size() const noexcept { return by_id_.size(); }
  std::size_t listeners() const noexcept { return listeners_.size(); }

  template <class F>
  void for_each(F&& f) {
    for (auto& [key, e] : by_id_) f(*e);
  }

 private:
  struct flow_key {
    std::uint32_t local_ip, remote_ip;
    std::uint16_t local_port, remote_port;
    friend bool operator==(const flow_key&, const flow_key&) = default;
  };
  struct flow_hash {
    std::size_t operator()(const flow_key& k) const noexcept {
      std::uint64_t a = (std::uint64_t{k.local_ip} << 32) | k.remote_ip;
      std::uint64_t b = (std::uint64_t{k.local_port} << 16) | k.remote_port;
      a ^= b * 0x9e3779b97f4a7c15ull;
      a ^= a >> 29;
      a *= 0xbf58476d1ce4e5b9ull;
      return static_cast<std::size_t>(a ^ (a >> 32));
    }
  };
  static std::uint64_t id_key(std::uint32_t worker, std::uint32_t id) noexcept {
    return (std::uint64_t{worker} << 32) | id;
  }
  static std::uint64_t listen_key(std::uint32_t ip, std::uint16_t port) noexcept {
    return (std::uint64_t{ip} << 16) | port;
  }
  static flow_key flow_of(const udp_binding& b) noexcept {
    return {b.local_ip, b.remote_ip, b.local_port, b.remote_port};
  }
  static std::uint64_t listen_key_of(const udp_binding& b) noexcept { return listen_key(b.local_ip, b.local_port); }

  entry* by_connection(const udp_binding& b) noexcept;

  std::uint32_t self_;
  // Entries live at stable addresses; the maps below point into them.
  std::unordered_map<std::uint64_t, std::unique_ptr<entry>> by_id_;
  std::unordered_map<flow_key, entry*, flow_hash> flows_;
  std::unordered_map<std::uint64_t, entry*> listeners_;
};

}  // namespace actorstack::dataplane
