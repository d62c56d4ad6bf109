#pragma once
/// \file
/// One core's ARP cache: IPv4 next hop -> MAC, learned from every ARP
/// packet naming us, plus the requests in flight (so a burst of datagrams
/// to an unknown host sends one request, not one per datagram). Owned by
/// the core's thread.

#include "dataplane/packet/packet.hpp"

#include <cstdint>
#include <optional>
#include <unordered_map>

namespace actorstack::dataplane {

class neighbors {
 public:
  /// True if this is news (a new neighbour, or a new MAC for it).
  bool learn(std::uint32_t ip, const mac_address& mac) {
    pending_.erase(ip);
    auto [it, fresh] = table_.try_emplace(ip, mac);
    if (fresh) return true;
    if (it->second == mac) return false;
    it->second = mac;
    return true;
  }
  std::optional<mac_address> find(std::uint32_t ip) const {
    auto it = table_.find(ip);
    if (it == table_.end()) return std::nullopt;
    return it->second;
  }

  /// Whether to send an ARP request for `ip` now (`now` in any monotonic
  /// unit, `retry_after` in the same): the first time, and again once
  /// `retry_after` passed. Counts the tries.
  bool should_request(std::uint32_t ip, std::uint64_t now, std::uint64_t retry_after) {
    auto [it, fresh] = pending_.try_emplace(ip, request{now, 1});
    if (fresh) return true;
    if (now - it->second.last < retry_after) return false;
    it->second.last = now;
    ++it->second.tries;
    return true;
  }
  /// Requests sent for `ip` without an answer.
  unsigned tries(std::uint32_t ip) const {
    auto it = pending_.find(ip);
    return it == pending_.end() ? 0 : it->second.tries;
  }
  /// Gives up on `ip` (its datagrams were dropped); the next one asks again.
  void forget_request(std::uint32_t ip) { pending_.erase(ip); }

  std::size_t size() const noexcept { return table_.size(); }

 private:
  struct request {
    std::uint64_t last;
    unsigned tries;
  };
  std::unordered_map<std::uint32_t, mac_address> table_;
  std::unordered_map<std::uint32_t, request> pending_;
};

}  // namespace actorstack::dataplane
