#include "actors/remote/app_protocol.hpp"

#include "shm/fd_channel.hpp"

#include <cstring>
#include <type_traits>

namespace actorstack::app_protocol {

namespace {

// Appends fixed-size fields.
class writer {
 public:
  template <class T>
  writer& put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto at = out.size();
    out.resize(at + sizeof v);
    std::memcpy(out.data() + at, &v, sizeof v);
    return *this;
  }
  writer& put(const endpoint& e) {
    put(static_cast<std::uint8_t>(e.proto)).put(static_cast<std::uint8_t>(e.ip.fam));
    const auto at = out.size();
    out.resize(at + e.ip.bytes.size());
    std::memcpy(out.data() + at, e.ip.bytes.data(), e.ip.bytes.size());
    return put(e.port);
  }
  writer& put(session_handle h) { return put(h.value()); }
  // A short string: one length byte, then the bytes (cut at max_name).
  writer& put_name(const std::string& s) {
    const auto n = std::min(s.size(), max_name);
    put(static_cast<std::uint8_t>(n));
    const auto at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, s.data(), n);
    return *this;
  }
  // A longer string: a 16-bit length, then the bytes (cut at `max`).
  writer& put_text(std::string_view s, std::size_t max) {
    const auto n = std::min(s.size(), max);
    put(static_cast<std::uint16_t>(n));
    return put_bytes(s.substr(0, n));
  }
  writer& put_bytes(std::string_view s) {
    const auto at = out.size();
    out.resize(at + s.size());
    std::memcpy(out.data() + at, s.data(), s.size());
    return *this;
  }
  std::vector<std::byte> out;
};

// Reads fixed-size fields, never past the record; the first failure sticks
// (and names what was being read), so a decoder reads on and checks once.
class reader {
 public:
  explicit reader(std::span<const std::byte> p) noexcept : p_(p) {}
  template <class T>
  T get(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    T v{};
    if (!take(sizeof v, what)) return v;
    std::memcpy(&v, p_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  template <class E>
  E get_enum(std::uint8_t last, const char* what) {
    const auto raw = get<std::uint8_t>(what);
    if (raw > last) fail(what);
    return static_cast<E>(raw <= last ? raw : 0);
  }
  // A byte that must be 0 or 1.
  bool get_flag(const char* what) { return get_enum<std::uint8_t>(1, what) != 0; }
  endpoint get_endpoint(const char* what) {
    endpoint e;
    e.proto = get_enum<transport_proto>(static_cast<std::uint8_t>(transport_proto::tcp), what);
    const auto fam = get<std::uint8_t>(what);
    if (fam != 4 && fam != 6) fail(what);
    e.ip.fam = fam == 6 ? ip_address::family::v6 : ip_address::family::v4;
    if (take(e.ip.bytes.size(), what)) {
      std::memcpy(e.ip.bytes.data(), p_.data() + at_, e.ip.bytes.size());
      at_ += e.ip.bytes.size();
    }
    e.port = get<std::uint16_t>(what);
    return e;
  }
  session_handle get_handle(const char* what) { return session_handle::from_value(get<std::uint64_t>(what)); }
  std::string get_name(const char* what) {
    const auto n = get<std::uint8_t>(what);
    if (n > max_name) fail(what);
    if (failed_ || !take(n, what)) return {};
    std::string s(reinterpret_cast<const char*>(p_.data() + at_), n);
    at_ += n;
    return s;
  }
  // A longer string: a 16-bit length, then the bytes.
  std::string get_text(std::size_t max, const char* what) {
    const auto n = get<std::uint16_t>(what);
    if (n > max) fail(what);
    if (failed_ || !take(n, what)) return {};
    std::string s(reinterpret_cast<const char*>(p_.data() + at_), n);
    at_ += n;
    return s;
  }
  // The rest of the record as text.
  std::string get_rest() {
    std::string s(reinterpret_cast<const char*>(p_.data() + at_), p_.size() - at_);
    at_ = p_.size();
    return s;
  }
  std::size_t left() const noexcept { return p_.size() - at_; }
  /// The record was read whole and nothing failed.
  result<void> done(const char* record_name) {
    if (!failed_ && at_ != p_.size()) fail("trailing bytes");
    if (failed_) return unexpected{errc::bad_message, intern(std::string{record_name} + ": bad " + failed_)};
    return {};
  }
  void fail(const char* what) noexcept {
    if (!failed_) failed_ = what;
  }

 private:
  bool take(std::size_t n, const char* what) noexcept {
    if (failed_ || n > p_.size() - at_) {
      fail(what);
      return false;
    }
    return true;
  }
  std::span<const std::byte> p_;
  std::size_t at_ = 0;
  const char* failed_ = nullptr;
};

constexpr std::uint8_t last_notification = static_cast<std::uint8_t>(notification::listened);
constexpr std::uint8_t last_code = static_cast<std::uint8_t>(last_errc);

void put_notification(writer& w, const app_notification& n) {
  w.put(static_cast<std::uint8_t>(n.kind)).put(n.handle).put(n.other).put(n.app_worker);
  w.put(static_cast<std::uint8_t>(n.proto)).put(n.opaque).put(static_cast<std::uint8_t>(n.err));
  w.put(static_cast<std::uint8_t>(n.side)).put(static_cast<std::uint8_t>(n.action)).put(n.length);
  w.put(n.segment.id).put(n.segment.size).put_name(n.segment.name);
  w.put(n.fifo_segment).put(n.rx_offset).put(n.tx_offset);
  w.put(n.ends.local).put(n.ends.remote);
}

app_notification get_notification(reader& r) {
  app_notification n;
  n.kind = r.get_enum<notification>(last_notification, "notification kind");
  n.handle = r.get_handle("handle");
  n.other = r.get_handle("other handle");
  n.app_worker = r.get<std::uint32_t>("app worker");
  n.proto = r.get_enum<transport_proto>(static_cast<std::uint8_t>(transport_proto::tcp), "transport");
  n.opaque = r.get<std::uint64_t>("opaque");
  n.err = r.get_enum<errc>(last_code, "error code");
  n.side = r.get_enum<fifo_side>(static_cast<std::uint8_t>(fifo_side::tx), "fifo side");
  n.action = r.get_enum<fifo_action>(static_cast<std::uint8_t>(fifo_action::dequeued), "fifo action");
  n.length = r.get<std::uint64_t>("length");
  n.segment.id = r.get<std::uint64_t>("segment id");
  n.segment.size = r.get<std::uint64_t>("segment size");
  n.segment.name = r.get_name("segment name");
  n.fifo_segment = r.get<std::uint64_t>("fifo segment");
  n.rx_offset = r.get<std::uint64_t>("rx offset");
  n.tx_offset = r.get<std::uint64_t>("tx offset");
  n.ends.local = r.get_endpoint("local endpoint");
  n.ends.remote = r.get_endpoint("remote endpoint");
  return n;
}

// The smallest encoded notification (empty segment name): a count claiming
// more than the record could hold fails before anything is allocated.
constexpr std::size_t min_notification_bytes = 1 + 8 + 8 + 4 + 1 + 8 + 1 + 1 + 1 + 8 + 8 + 8 + 1 + 8 + 8 + 8 + 2 * 20;

}  // namespace

std::vector<std::byte> encode_hello() { return writer{}.put(version).out; }

std::vector<std::byte> encode(const show_request& r) {
  writer w;
  w.put(r.request).put_name(r.topic).put_text(r.options, max_show_options);
  return std::move(w.out);
}

std::vector<shown_chunk> shown_chunks(std::uint64_t request, const std::string& text) {
  std::vector<shown_chunk> out;
  std::size_t at = 0;
  do {
    shown_chunk c{request, false, text.substr(at, shown_chunk_bytes)};
    at += c.text.size();
    c.last = at >= text.size();
    out.push_back(std::move(c));
  } while (at < text.size());
  return out;
}

std::vector<std::byte> encode(const shown_chunk& r) {
  writer w;
  w.put(r.request).put(static_cast<std::uint8_t>(r.last)).put_bytes(std::string_view{r.text}.substr(0, shown_chunk_bytes));
  return std::move(w.out);
}

result<show_request> decode_show_request(std::span<const std::byte> p) {
  reader r{p};
  show_request s;
  s.request = r.get<std::uint64_t>("request");
  s.topic = r.get_name("topic");
  s.options = r.get_text(max_show_options, "options");
  if (auto ok = r.done("show"); !ok) return unexpected{ok.error()};
  return s;
}

result<shown_chunk> decode_shown(std::span<const std::byte> p) {
  reader r{p};
  shown_chunk c;
  c.request = r.get<std::uint64_t>("request");
  c.last = r.get_flag("last");
  if (r.left() > shown_chunk_bytes) r.fail("text");
  c.text = r.get_rest();
  if (auto ok = r.done("shown"); !ok) return unexpected{ok.error()};
  return c;
}

std::vector<std::byte> encode(const attach_request& r) {
  writer w;
  w.put(r.rx_fifo_size).put(r.tx_fifo_size).put(static_cast<std::uint8_t>(r.local_scope));
  w.put(static_cast<std::uint8_t>(r.global_scope)).put(r.join_app).put(r.join_secret).put_name(r.name);
  return std::move(w.out);
}

std::vector<std::byte> encode(const attach_reply& r) {
  return writer{}.put(r.app).put(r.app_worker).put(r.session_workers).put(r.secret).out;
}

std::vector<std::byte> encode(const session_request& r) {
  return writer{}.put(static_cast<std::uint8_t>(r.op)).put(r.handle).out;
}
std::vector<std::byte> encode(const listen_request& r) {
  return writer{}.put(r.request).put(r.local).put(static_cast<std::uint8_t>(r.reuse_port)).out;
}
std::vector<std::byte> encode(const unlisten_request& r) { return writer{}.put(r.request).put(r.listener).out; }
std::vector<std::byte> encode(const connect_request& r) {
  return writer{}.put(r.request).put(r.opaque).put(r.local_port).put(r.remote).out;
}
std::vector<std::byte> encode(const detach_request& r) { return writer{}.put(r.request).out; }
std::vector<std::byte> encode(const tcp_info_request& r) { return writer{}.put(r.request).put(r.handle).out; }
std::vector<std::byte> encode(const tcp_info_answer& r) {
  const tcp_conn_info& i = r.info;
  writer w;
  w.put(r.request).put(static_cast<std::uint8_t>(r.code));
  w.put(i.state).put(i.retransmits).put(i.backoff).put(static_cast<std::uint8_t>(i.timestamps));
  w.put(static_cast<std::uint8_t>(i.sack)).put(static_cast<std::uint8_t>(i.window_scaling));
  w.put(i.snd_wscale).put(i.rcv_wscale);
  w.put(i.rto_us).put(i.rtt_us).put(i.rttvar_us).put(i.snd_mss).put(i.rcv_mss).put(i.unacked_bytes);
  w.put(i.cwnd_bytes).put(i.ssthresh_bytes).put(i.snd_wnd).put(i.rcv_wnd).put(i.total_retrans);
  return std::move(w.out);
}
std::vector<std::byte> encode(const answer& r) {
  return writer{}.put(r.request).put(static_cast<std::uint8_t>(r.code)).put(r.value).out;
}

record record_of(const app_request& r) noexcept {
  switch (r.index()) {
    case 0: return record::session;
    case 1: return record::listen;
    case 2: return record::unlisten;
    case 3: return record::connect;
    case 4: return record::detach;
    default: return record::tcp_info_ask;
  }
}

std::vector<std::byte> encode(const app_request& r) {
  return std::visit([](const auto& x) { return encode(x); }, r);
}

result<std::uint32_t> decode_hello(std::span<const std::byte> p) {
  reader r{p};
  const auto v = r.get<std::uint32_t>("version");
  if (auto ok = r.done("hello"); !ok) return unexpected{ok.error()};
  return v;
}

result<attach_request> decode_attach_request(std::span<const std::byte> p) {
  reader r{p};
  attach_request a;
  a.rx_fifo_size = r.get<std::uint32_t>("rx fifo size");
  a.tx_fifo_size = r.get<std::uint32_t>("tx fifo size");
  a.local_scope = r.get_flag("local scope");
  a.global_scope = r.get_flag("global scope");
  a.join_app = r.get<std::uint32_t>("join app");
  a.join_secret = r.get<std::uint64_t>("join secret");
  a.name = r.get_name("name");
  if (auto ok = r.done("attach"); !ok) return unexpected{ok.error()};
  return a;
}

result<attach_reply> decode_attach_reply(std::span<const std::byte> p) {
  reader r{p};
  attach_reply a;
  a.app = r.get<std::uint32_t>("app");
  a.app_worker = r.get<std::uint32_t>("app worker");
  a.session_workers = r.get<std::uint32_t>("session workers");
  a.secret = r.get<std::uint64_t>("secret");
  if (auto ok = r.done("attached"); !ok) return unexpected{ok.error()};
  if (a.session_workers == 0 || a.session_workers > 1024)
    return unexpected{errc::bad_message, "attached: bad session worker count"};
  return a;
}

result<answer> decode_answer(std::span<const std::byte> p) {
  reader r{p};
  answer a;
  a.request = r.get<std::uint64_t>("request");
  a.code = r.get_enum<errc>(last_code, "error code");
  a.value = r.get<std::uint64_t>("value");
  if (auto ok = r.done("answer"); !ok) return unexpected{ok.error()};
  return a;
}

result<tcp_info_answer> decode_tcp_info_answer(std::span<const std::byte> p) {
  reader r{p};
  tcp_info_answer a;
  tcp_conn_info& i = a.info;
  a.request = r.get<std::uint64_t>("request");
  a.code = r.get_enum<errc>(last_code, "error code");
  i.state = r.get<std::uint8_t>("state");
  if (i.state > 11) r.fail("state");  // Linux's TCP_ESTABLISHED (1) .. TCP_CLOSING (11); 0 when refused
  i.retransmits = r.get<std::uint8_t>("retransmits");
  i.backoff = r.get<std::uint8_t>("backoff");
  i.timestamps = r.get_flag("timestamps");
  i.sack = r.get_flag("sack");
  i.window_scaling = r.get_flag("window scaling");
  i.snd_wscale = r.get<std::uint8_t>("send window shift");
  i.rcv_wscale = r.get<std::uint8_t>("receive window shift");
  if (i.snd_wscale > 14 || i.rcv_wscale > 14) r.fail("window shift");  // RFC 7323: at most 14
  i.rto_us = r.get<std::uint32_t>("rto");
  i.rtt_us = r.get<std::uint32_t>("rtt");
  i.rttvar_us = r.get<std::uint32_t>("rttvar");
  i.snd_mss = r.get<std::uint32_t>("send mss");
  i.rcv_mss = r.get<std::uint32_t>("receive mss");
  i.unacked_bytes = r.get<std::uint32_t>("unacked");
  i.cwnd_bytes = r.get<std::uint32_t>("cwnd");
  i.ssthresh_bytes = r.get<std::uint32_t>("ssthresh");
  i.snd_wnd = r.get<std::uint32_t>("send window");
  i.rcv_wnd = r.get<std::uint32_t>("receive window");
  i.total_retrans = r.get<std::uint32_t>("total retransmits");
  if (auto ok = r.done("tcp info"); !ok) return unexpected{ok.error()};
  return a;
}

result<app_request> decode_request(std::uint32_t type, std::span<const std::byte> p) {
  reader r{p};
  app_request out;
  const char* name = "request";
  switch (static_cast<record>(type)) {
    case record::session: {
      session_request s;
      s.op = r.get_enum<session_op>(last_session_op, "session op");
      s.handle = r.get_handle("handle");
      out = s, name = "session";
      break;
    }
    case record::listen: {
      listen_request l;
      l.request = r.get<std::uint64_t>("request");
      l.local = r.get_endpoint("endpoint");
      l.reuse_port = r.get_flag("reuse port");
      out = l, name = "listen";
      break;
    }
    case record::unlisten: {
      unlisten_request u;
      u.request = r.get<std::uint64_t>("request");
      u.listener = r.get_handle("listener");
      out = u, name = "unlisten";
      break;
    }
    case record::connect: {
      connect_request c;
      c.request = r.get<std::uint64_t>("request");
      c.opaque = r.get<std::uint64_t>("opaque");
      c.local_port = r.get<std::uint16_t>("local port");
      c.remote = r.get_endpoint("endpoint");
      out = c, name = "connect";
      break;
    }
    case record::detach: {
      detach_request d;
      d.request = r.get<std::uint64_t>("request");
      out = d, name = "detach";
      break;
    }
    case record::tcp_info_ask: {
      tcp_info_request t;
      t.request = r.get<std::uint64_t>("request");
      t.handle = r.get_handle("handle");
      out = t, name = "tcp info";
      break;
    }
    default:
      // A fixed text: what an app sends must not grow the interned set.
      return unexpected{errc::bad_message, "a record type the stack does not take from an app"};
  }
  if (auto ok = r.done(name); !ok) return unexpected{ok.error()};
  return out;
}

notify_batch::notify_batch() { clear(); }

bool notify_batch::add(const app_notification& n) {
  writer w;
  w.out.reserve(min_notification_bytes + max_name);
  put_notification(w, n);
  if (bytes_.size() + w.out.size() > shm::max_channel_payload) return false;
  bytes_.insert(bytes_.end(), w.out.begin(), w.out.end());
  ++count_;
  return true;
}

std::span<const std::byte> notify_batch::payload() noexcept {
  std::memcpy(bytes_.data(), &count_, sizeof count_);
  return bytes_;
}

void notify_batch::clear() {
  bytes_.assign(sizeof count_, std::byte{0});
  count_ = 0;
}

result<std::vector<app_notification>> decode_notify(std::span<const std::byte> p) {
  reader r{p};
  const auto count = r.get<std::uint32_t>("count");
  if (count == 0 || count > r.left() / min_notification_bytes)
    return unexpected{errc::bad_message, "notify: bad count"};
  std::vector<app_notification> out;
  out.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) out.push_back(get_notification(r));
  if (auto ok = r.done("notify"); !ok) return unexpected{ok.error()};
  return out;
}

}  // namespace actorstack::app_protocol
