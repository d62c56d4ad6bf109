#include "actors/remote/stream_records.hpp"

#include <cstring>

namespace actorstack::app_protocol {

namespace {
void put_u32(std::byte* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t get_u32(const std::byte* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  return v;
}
}  // namespace

std::vector<std::byte> frame(std::uint32_t type, std::span<const std::byte> payload) {
  std::vector<std::byte> out(stream_header_bytes + payload.size());
  put_u32(out.data(), type);
  put_u32(out.data() + 4, static_cast<std::uint32_t>(payload.size()));
  if (!payload.empty()) std::memcpy(out.data() + stream_header_bytes, payload.data(), payload.size());
  return out;
}

void stream_reader::feed(std::span<const std::byte> bytes) {
  if (broken_) return;
  // Drop what was returned before growing: the buffer holds at most one
  // record and what arrived after it.
  if (at_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(at_));
    at_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

result<std::optional<stream_record>> stream_reader::next() {
  if (broken_) return unexpected{errc::bad_message, "stream record: the stream broke before"};
  if (buffered() < stream_header_bytes) return std::optional<stream_record>{};
  const std::byte* head = buf_.data() + at_;
  const std::uint32_t length = get_u32(head + 4);
  if (length > max_stream_payload) {
    broken_ = true;
    buf_.clear();
    at_ = 0;
    return unexpected{errc::bad_message, "stream record: a length past the largest record"};
  }
  if (buffered() < stream_header_bytes + length) return std::optional<stream_record>{};
  stream_record r;
  r.type = get_u32(head);
  r.payload.assign(head + stream_header_bytes, head + stream_header_bytes + length);
  at_ += stream_header_bytes + length;
  return std::optional<stream_record>{std::move(r)};
}

}  // namespace actorstack::app_protocol
