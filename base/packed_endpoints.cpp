// A session's endpoints, packed (include/actorstack/packed_endpoints.hpp).
#include <actorstack/packed_endpoints.hpp>

#include <cstring>

namespace actorstack::detail {

namespace {

bool packs(const endpoint_pair& e) noexcept {
  return e.local.ip.is_v4() && e.remote.ip.is_v4() && e.local.proto == e.remote.proto;
}

}  // namespace

void packed_endpoint_pair::assign(const endpoint_pair& ends) {
  if (packs(ends)) {
    release();
    std::memcpy(raw_, ends.local.ip.bytes.data(), 4);
    std::memcpy(raw_ + 4, ends.remote.ip.bytes.data(), 4);
    std::memcpy(raw_ + 8, &ends.local.port, 2);
    std::memcpy(raw_ + 10, &ends.remote.port, 2);
    proto_ = ends.local.proto;
    return;
  }
  auto* whole = new endpoint_pair(ends);  // before release: a throw leaves the old pair
  release();
  std::memcpy(raw_, &whole, sizeof whole);
  on_heap_ = true;
}

packed_endpoint_pair& packed_endpoint_pair::operator=(const packed_endpoint_pair& other) {
  if (this == &other) return *this;
  if (other.on_heap_) {
    assign(other.get());
    return *this;
  }
  release();
  std::memcpy(raw_, other.raw_, sizeof raw_);
  proto_ = other.proto_;
  return *this;
}

packed_endpoint_pair& packed_endpoint_pair::operator=(packed_endpoint_pair&& other) noexcept {
  if (this == &other) return *this;
  release();
  std::memcpy(raw_, other.raw_, sizeof raw_);
  proto_ = other.proto_;
  on_heap_ = std::exchange(other.on_heap_, false);  // the heap pair, if any, is ours now
  std::memset(other.raw_, 0, sizeof other.raw_);  // what is left reads as nothing stored
  other.proto_ = transport_proto::ct;
  return *this;
}

endpoint_pair packed_endpoint_pair::get() const noexcept {
  if (on_heap_) {
    const endpoint_pair* whole = nullptr;
    std::memcpy(&whole, raw_, sizeof whole);
    return *whole;
  }
  endpoint_pair e;
  e.local.proto = e.remote.proto = proto_;
  std::memcpy(e.local.ip.bytes.data(), raw_, 4);
  std::memcpy(e.remote.ip.bytes.data(), raw_ + 4, 4);
  std::memcpy(&e.local.port, raw_ + 8, 2);
  std::memcpy(&e.remote.port, raw_ + 10, 2);
  return e;
}

void packed_endpoint_pair::release() noexcept {
  if (!on_heap_) return;
  endpoint_pair* whole = nullptr;
  std::memcpy(&whole, raw_, sizeof whole);
  delete whole;
  on_heap_ = false;
  std::memset(raw_, 0, sizeof raw_);
}

}  // namespace actorstack::detail
