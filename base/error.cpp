// The error vocabulary is shared by every layer; its implementation lives in
// the lowest library (shm) so that everything above links it exactly once.
#include <actorstack/error.hpp>

#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>

namespace actorstack {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::none: return "none";
    case errc::filtered: return "filtered";
    case errc::no_route: return "no_route";
    case errc::scope: return "scope";
    case errc::local_connect: return "local_connect";
    case errc::alloc: return "alloc";
    case errc::refused: return "refused";
    case errc::invalid_session: return "invalid_session";
    case errc::queue_full: return "queue_full";
    case errc::queue_contended: return "queue_contended";
    case errc::segment_alloc: return "segment_alloc";
    case errc::fifo_alloc: return "fifo_alloc";
    case errc::bad_config: return "bad_config";
    case errc::segment_create: return "segment_create";
    case errc::segment_map: return "segment_map";
    case errc::bad_layout: return "bad_layout";
    case errc::invalid_argument: return "invalid_argument";
    case errc::fifo_full: return "fifo_full";
    case errc::fifo_empty: return "fifo_empty";
    case errc::fifo_no_memory: return "fifo_no_memory";
    case errc::ooo_full: return "ooo_full";
    case errc::subscribers_full: return "subscribers_full";
    case errc::system: return "system";
    case errc::no_listener: return "no_listener";
    case errc::already_listening: return "already_listening";
    case errc::no_such_app: return "no_such_app";
    case errc::not_supported: return "not_supported";
    case errc::timeout: return "timeout";
    case errc::already_initialized: return "already_initialized";
    case errc::dataplane: return "dataplane";
    case errc::disconnected: return "disconnected";
    case errc::bad_message: return "bad_message";
    case errc::would_block: return "would_block";
    case errc::quota: return "quota";
    case errc::reset: return "reset";
    case errc::no_port: return "no_port";
  }
  return "unknown";
}

const char* intern(std::string_view text) {
  static std::mutex mu;
  static std::unordered_set<std::string> texts;  // node-based: c_str() stays put
  std::lock_guard lock{mu};
  return texts.emplace(text).first->c_str();
}

std::string error::message() const {
  std::string out{to_string(code)};
  if (detail != nullptr) {
    out += ": ";
    out += detail;
  }
  if (sys_errno != 0) {
    out += " (errno ";
    out += std::to_string(sys_errno);
    out += ": ";
    out += std::strerror(sys_errno);
    out += ')';
  }
  return out;
}

}  // namespace actorstack
