#pragma once
/// \file
/// What an attached app and the stack say to each other over the app's Unix
/// connection (SOCK_SEQPACKET, shm::fd_channel): one record per message,
/// fixed little layouts in host byte order (both ends share one kernel).
/// This is the whole control protocol of an app in another process — no
/// CAF middleman, no TCP port: the kernel says who is at the other end
/// (SO_PEERCRED), and every record is decoded here with each length,
/// count and enum checked, by code of this project (CAF 0.17's decoder
/// can be made to throw or to allocate gigabytes by one crafted frame:
/// docs/architecture.md, Apps speak over their Unix connection).
///
/// Requests that want an answer carry a number of the app's choosing; the
/// stack's `answer` repeats it. Everything else is one-way.

#include <actorstack/endpoint.hpp>
#include <actorstack/error.hpp>
#include <actorstack/notification.hpp>
#include <actorstack/result.hpp>
#include <actorstack/session_handle.hpp>
#include <actorstack/tcp_info.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace actorstack::app_protocol {

/// Bumped whenever a layout below changes; the hello carries it.
inline constexpr std::uint32_t version = 3;

/// The record types (fd_channel message types).
enum class record : std::uint32_t {
  // ---- stack -> app ----
  hello = 1,        ///< {u32 version}: the connection is accepted
  segment = 2,      ///< {u64 id, u64 size} + the segment's memfd
  error = 3,        ///< text: the app sent something it should not
  event_queue = 4,  ///< {u64 segment bytes} + memfd + eventfd, before `attached`
  attached = 5,     ///< attach_reply
  notify = 6,       ///< {u32 count} + count notifications
  answer = 7,       ///< answer: the outcome of a request
  detached = 8,     ///< {}: nothing more will come
  shown = 9,        ///< shown_chunk: a part of a show's text
  tcp_info = 10,    ///< tcp_info_answer
  // ---- app -> stack ----
  attach = 16,      ///< attach_request
  session = 17,     ///< session_request
  listen = 18,      ///< listen_request
  unlisten = 19,    ///< unlisten_request
  connect = 20,     ///< connect_request
  detach = 21,      ///< detach_request
  show = 22,        ///< show_request: any connection, attached or not (actorstack-ctl)
  tcp_info_ask = 23,  ///< tcp_info_request
};

/// The first record on a connection: attach a new app, or (join_secret not
/// 0) one more worker of app `join_app`, whose attach reply carried that
/// secret.
struct attach_request {
  std::string name;  ///< at most max_name bytes
  std::uint32_t rx_fifo_size = 0;  ///< 0: the stack's defaults
  std::uint32_t tx_fifo_size = 0;
  bool local_scope = true;
  bool global_scope = true;
  std::uint32_t join_app = 0;
  std::uint64_t join_secret = 0;
};
inline constexpr std::size_t max_name = 64;

struct attach_reply {
  std::uint32_t app = 0;
  std::uint32_t app_worker = 0;
  std::uint32_t session_workers = 0;  ///< session handles name one of them
  std::uint64_t secret = 0;           ///< what a worker add of this app shows
};

/// What a session of the app asks of its worker (the session_control
/// calls, and the answers to accept / connected notifications).
enum class session_op : std::uint8_t {
  tx,
  app_rx,
  rx_notify,
  close,
  reset,
  shutdown,
  accept_yes,
  accept_no,
  connected_yes,
  connected_no,
};
inline constexpr std::uint8_t last_session_op = static_cast<std::uint8_t>(session_op::connected_no);

struct session_request {
  session_op op = session_op::tx;
  session_handle handle;
};

struct listen_request {
  std::uint64_t request = 0;
  endpoint local;
  bool reuse_port = false;  ///< SO_REUSEPORT: share with another app of the same uid that says so too
};

struct unlisten_request {
  std::uint64_t request = 0;
  session_handle listener;
};

struct connect_request {
  std::uint64_t request = 0;
  endpoint remote;
  std::uint64_t opaque = 0;       ///< comes back in the connected notification
  std::uint16_t local_port = 0;   ///< 0: the stack picks
};

struct detach_request {
  std::uint64_t request = 0;
};

/// TCP_INFO of one of the app worker's tcp sessions on the wire.
struct tcp_info_request {
  std::uint64_t request = 0;
  session_handle handle;
};

/// The answer to a tcp_info_request: `code` none and `info`, or why not.
struct tcp_info_answer {
  std::uint64_t request = 0;
  errc code = errc::none;
  tcp_conn_info info;
};

/// The stack's answer to a request: `code` none and `value` (a listener's
/// handle for listen, 1 for yes otherwise), or why not.
struct answer {
  std::uint64_t request = 0;
  errc code = errc::none;
  std::uint64_t value = 0;
};

/// An inspection (what actorstack-ctl shows): read-only, answered with
/// `shown` chunks, or an `answer` with the refusal.
struct show_request {
  std::uint64_t request = 0;
  std::string topic;    ///< at most max_name bytes
  std::string options;  ///< at most max_show_options bytes ("--json --app 3")
};
inline constexpr std::size_t max_show_options = 1024;

/// One part of a show's text; the last one says so.
struct shown_chunk {
  std::uint64_t request = 0;
  bool last = false;
  std::string text;
};
/// Text bytes per `shown` record.
inline constexpr std::size_t shown_chunk_bytes = 4000;
/// A show's whole text as the chunks that carry it, the last one marked
/// (at least one: an empty text is one empty last chunk).
std::vector<shown_chunk> shown_chunks(std::uint64_t request, const std::string& text);

/// Any request an attached app may send once attached.
using app_request = std::variant<session_request, listen_request, unlisten_request, connect_request, detach_request,
                                 tcp_info_request>;

// ---- encoding (the sender's side; never fails) ------------------------------
std::vector<std::byte> encode(const attach_request& r);
std::vector<std::byte> encode(const attach_reply& r);
std::vector<std::byte> encode(const session_request& r);
std::vector<std::byte> encode(const listen_request& r);
std::vector<std::byte> encode(const unlisten_request& r);
std::vector<std::byte> encode(const connect_request& r);
std::vector<std::byte> encode(const detach_request& r);
std::vector<std::byte> encode(const tcp_info_request& r);
std::vector<std::byte> encode(const tcp_info_answer& r);
std::vector<std::byte> encode(const answer& r);
std::vector<std::byte> encode(const show_request& r);
std::vector<std::byte> encode(const shown_chunk& r);
std::vector<std::byte> encode_hello();
/// The record type a request is sent as.
record record_of(const app_request& r) noexcept;
std::vector<std::byte> encode(const app_request& r);

// ---- decoding (the receiver's side: the other process is not trusted) -------
// Each fails with bad_message naming what was wrong: a length other than
// the layout's, an enum out of range, a count past the record.
result<std::uint32_t> decode_hello(std::span<const std::byte> p);
result<attach_request> decode_attach_request(std::span<const std::byte> p);
result<attach_reply> decode_attach_reply(std::span<const std::byte> p);
result<answer> decode_answer(std::span<const std::byte> p);
result<tcp_info_answer> decode_tcp_info_answer(std::span<const std::byte> p);
result<show_request> decode_show_request(std::span<const std::byte> p);
result<shown_chunk> decode_shown(std::span<const std::byte> p);
/// A request of record type `type` (session .. detach, tcp_info_ask).
result<app_request> decode_request(std::uint32_t type, std::span<const std::byte> p);

/// Notifications batched into `notify` records, each within
/// shm::max_channel_payload. The fifos travel as segment id + offsets
/// (app_notification::fifo_segment, rx_offset, tx_offset); `rx`/`tx` and a
/// segment's fd and base mean nothing in another process and are not sent.
class notify_batch {
 public:
  notify_batch();
  /// False when the batch has no room for `n` (send it and start another).
  bool add(const app_notification& n);
  bool empty() const noexcept { return count_ == 0; }
  std::uint32_t count() const noexcept { return count_; }
  /// The record's payload (count patched in).
  std::span<const std::byte> payload() noexcept;
  void clear();

 private:
  std::vector<std::byte> bytes_;
  std::uint32_t count_ = 0;
};

/// The notifications of one `notify` record. A segment name longer than
/// max_name, an enum out of range or a count the record cannot hold is
/// bad_message (nothing of the record is used).
result<std::vector<app_notification>> decode_notify(std::span<const std::byte> p);

}  // namespace actorstack::app_protocol
