#pragma once
/// \file
/// The records a gateway sends its app over the app's Unix connection, in
/// order, without ever blocking the gateway's scheduler thread: what the
/// socket has no room for waits here (an fd that travels with it is
/// duplicated, the stack may close its own meanwhile) until the next
/// flush. An app that stops reading its connection fills the outbox up to
/// its limit; past that, push fails and the gateway gives the app up —
/// the daemon's memory stays bounded whatever one app does.

#include "actors/remote/app_protocol.hpp"
#include "shm/fd_channel.hpp"

#include <actorstack/result.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <span>
#include <vector>

namespace actorstack {

class channel_outbox {
 public:
  /// `limit`: bytes that may wait at most.
  channel_outbox(std::shared_ptr<shm::fd_channel> channel, std::size_t limit) noexcept
      : channel_(std::move(channel)), limit_(limit) {}
  ~channel_outbox();
  channel_outbox(const channel_outbox&) = delete;
  channel_outbox& operator=(const channel_outbox&) = delete;

  /// Sends the record now if nothing waits and the socket has room, else
  /// queues it. Errors: quota (`limit` bytes wait already: the app does
  /// not read), disconnected / system (the connection broke), system (the
  /// fd could not be duplicated).
  result<void> push(app_protocol::record type, std::span<const std::byte> payload, int fd = -1);
  /// Sends what waits, waiting at most `patience` for room. True: nothing
  /// waits any more; false: the socket is full (flush again later).
  /// Errors: the connection broke.
  result<bool> flush(std::chrono::milliseconds patience = std::chrono::milliseconds{0});

  bool empty() const noexcept { return waiting_.empty(); }
  std::size_t waiting_bytes() const noexcept { return waiting_bytes_; }

 private:
  struct waiting_record {
    app_protocol::record type;
    std::vector<std::byte> payload;
    int fd = -1;  // owned (a duplicate)
  };
  result<void> send(app_protocol::record type, std::span<const std::byte> payload, int fd,
                    std::chrono::milliseconds patience);

  std::shared_ptr<shm::fd_channel> channel_;
  std::size_t limit_;
  std::deque<waiting_record> waiting_;
  std::size_t waiting_bytes_ = 0;
};

}  // namespace actorstack
