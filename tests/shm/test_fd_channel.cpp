// shm::fd_channel and shm::fd_listener: fds crossing a SOCK_SEQPACKET
// socket, message boundaries, timeouts, hang-ups, limits, malformed input
// from a hostile peer, listening on a path, and a forked child.

#include "shm/fd_channel.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

using namespace actorstack;
using namespace actorstack::shm;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t magic = 0x41535443;  // "ASTC", as on the wire

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

/// A memfd of one page holding `text` at offset 0.
int memfd_with(std::string_view text) {
  const int fd = ::memfd_create("fd_channel-test", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, 4096) == 0);
  REQUIRE(::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
  return fd;
}

/// The bytes of payload number `i` in the boundary test: size varies over
/// 0..max, content depends on the index so a swap or merge is visible.
std::vector<std::byte> payload_for(std::size_t i) {
  const std::size_t size = i == 99 ? max_channel_payload : (i * 997) % (max_channel_payload + 1);
  std::vector<std::byte> p(size);
  for (std::size_t k = 0; k < size; ++k) p[k] = static_cast<std::byte>((i * 31 + k * 7) & 0xff);
  return p;
}

std::vector<std::byte> header(std::uint32_t m, std::uint32_t type, std::uint32_t length) {
  std::vector<std::byte> h(12);
  std::memcpy(h.data(), &m, 4);
  std::memcpy(h.data() + 4, &type, 4);
  std::memcpy(h.data() + 8, &length, 4);
  return h;
}

/// Sends raw bytes with `fds` attached, bypassing fd_channel's checks.
void raw_send(int sock, std::span<const std::byte> bytes, std::span<const int> fds = {}) {
  iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * 16));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  REQUIRE(::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

/// A fresh directory under /tmp, removed (with its content) at scope end.
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/fd_channel_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

}  // namespace

TEST_CASE("fd_channel: a message carries a payload, a memfd and an eventfd") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;

  const int mem = memfd_with("segment contents");
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(efd >= 0);
  const int fds[] = {mem, efd};
  REQUIRE(a.send(7, test::bytes("attach"), fds).has_value());

  auto m = b.receive(1s);
  REQUIRE(m.has_value());
  CHECK(m->type == 7);
  CHECK(test::to_string(m->payload) == "attach");
  REQUIRE(m->fds.size() == 2);
  for (int fd : m->fds) {
    CHECK(fd != mem);
    CHECK(fd != efd);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);  // MSG_CMSG_CLOEXEC
  }

  // The received memfd is the same file: a mapping shows what was written.
  void* map = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, m->fds[0], 0);
  REQUIRE(map != MAP_FAILED);
  CHECK(std::string_view{static_cast<const char*>(map), 16} == "segment contents");
  ::munmap(map, 4096);

  // The received eventfd is the same counter.
  const std::uint64_t three = 3;
  REQUIRE(::write(efd, &three, sizeof(three)) == sizeof(three));
  std::uint64_t got = 0;
  REQUIRE(::read(m->fds[1], &got, sizeof(got)) == sizeof(got));
  CHECK(got == 3);

  // release_fd hands one over; the message closes the other.
  const int kept = m->release_fd(1);
  CHECK(kept >= 0);
  CHECK(m->fds[1] == -1);
  CHECK(m->release_fd(1) == -1);
  CHECK(m->release_fd(5) == -1);
  const int closed = m->fds[0];
  { auto gone = std::move(*m); }
  CHECK_FALSE(fd_is_open(closed));
  CHECK(fd_is_open(kept));
  ::close(kept);
  // The sender's own fds are untouched.
  CHECK(fd_is_open(mem));
  CHECK(fd_is_open(efd));
  ::close(mem);
  ::close(efd);
}

TEST_CASE("fd_channel: 100 messages of 0..4096 bytes keep their boundaries and order") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;

  // A sender thread, because 100 messages of up to 4 KiB can exceed the
  // socket buffer: send() must wait for room rather than fail.
  std::atomic<int> send_failures{0};
  std::thread sender{[&a, &send_failures] {
    for (std::size_t i = 0; i < 100; ++i) {
      const auto pl = payload_for(i);
      if (!a.send(static_cast<std::uint32_t>(i), pl)) ++send_failures;
    }
  }};
  std::size_t received = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    auto m = b.receive(5s);
    REQUIRE(m.has_value());
    CHECK(m->type == i);
    CHECK(m->fds.empty());
    CHECK(m->payload == payload_for(i));
    ++received;
  }
  sender.join();
  CHECK(send_failures == 0);
  CHECK(received == 100);
  CHECK(b.receive(0ms).code() == errc::would_block);
}

TEST_CASE("fd_channel: receive without a message: zero timeout would block, 50 ms times out") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;

  CHECK(b.receive(0ms).code() == errc::would_block);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = b.receive(50ms);
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(r.code() == errc::timeout);
  CHECK(waited >= 40ms);
  CHECK(waited < 2s);

  // A message sent afterwards still arrives.
  REQUIRE(a.send(1, test::bytes("late")).has_value());
  auto m = b.receive(0ms);
  REQUIRE(m.has_value());
  CHECK(test::to_string(m->payload) == "late");
}

TEST_CASE("fd_channel: signals during a wait neither end it early nor lose a message") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;

  // A handler without SA_RESTART: every signal makes poll() fail with EINTR.
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  struct sigaction old {};
  REQUIRE(::sigaction(SIGUSR1, &sa, &old) == 0);
  const pthread_t waiter = ::pthread_self();
  auto poke = [waiter](int times) {
    for (int i = 0; i < times; ++i) {
      std::this_thread::sleep_for(15ms);
      ::pthread_kill(waiter, SIGUSR1);
    }
  };

  std::thread t1{poke, 5};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = b.receive(150ms);
  const auto waited = std::chrono::steady_clock::now() - t0;
  t1.join();
  CHECK(r.code() == errc::timeout);
  CHECK(waited >= 140ms);

  std::thread t2{[&] {
    poke(4);
    (void)a.send(9, test::bytes("after signals"));
  }};
  auto m = b.receive(5s);
  t2.join();
  REQUIRE(m.has_value());
  CHECK(test::to_string(m->payload) == "after signals");
  ::sigaction(SIGUSR1, &old, nullptr);
}

TEST_CASE("fd_channel: send waits for room in a full socket buffer, then times out") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;

  const std::vector<std::byte> big(max_channel_payload, std::byte{0x5a});
  std::size_t sent = 0;
  result<void> r;
  while ((r = a.send(1, big, {}, 0ms)) && sent < 100000) ++sent;
  CHECK(r.code() == errc::timeout);
  CHECK(sent > 0);

  const auto t0 = std::chrono::steady_clock::now();
  CHECK(a.send(1, big, {}, 50ms).code() == errc::timeout);
  CHECK(std::chrono::steady_clock::now() - t0 >= 40ms);

  // Everything that was accepted arrives intact.
  for (std::size_t i = 0; i < sent; ++i) {
    auto m = b.receive(0ms);
    REQUIRE(m.has_value());
    CHECK(m->payload == big);
  }
  CHECK(b.receive(0ms).code() == errc::would_block);
}

TEST_CASE("fd_channel: a closed peer reads as disconnected, after what it sent") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;

  REQUIRE(a.send(3, test::bytes("last words")).has_value());
  { auto gone = std::move(a); }
  CHECK_FALSE(a.valid());

  // Queued messages are delivered before the hang-up is reported.
  auto m = b.receive(1s);
  REQUIRE(m.has_value());
  CHECK(test::to_string(m->payload) == "last words");

  CHECK(b.receive(1s).code() == errc::disconnected);
  CHECK(b.receive(0ms).code() == errc::disconnected);
  CHECK(b.receive(-1ms).code() == errc::disconnected);  // never blocks on a dead peer
  auto s = b.send(4, test::bytes("anyone?"));
  CHECK(s.code() == errc::disconnected);
  CHECK(a.send(4, {}).code() == errc::invalid_argument);  // a itself is closed
}

TEST_CASE("fd_channel: an oversized payload or too many fds is refused and nothing is sent") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;

  const std::vector<std::byte> too_big(max_channel_payload + 1);
  auto r1 = a.send(1, too_big);
  CHECK(r1.code() == errc::invalid_argument);

  const int efd = ::eventfd(0, EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  const std::vector<int> nine(max_channel_fds + 1, efd);
  auto r2 = a.send(1, {}, nine);
  CHECK(r2.code() == errc::invalid_argument);
  CHECK(b.receive(0ms).code() == errc::would_block);

  // The limits themselves are fine.
  const std::vector<std::byte> max_size(max_channel_payload, std::byte{1});
  const std::vector<int> eight(max_channel_fds, efd);
  REQUIRE(a.send(2, max_size, eight).has_value());
  auto m = b.receive(1s);
  REQUIRE(m.has_value());
  CHECK(m->payload.size() == max_channel_payload);
  CHECK(m->fds.size() == max_channel_fds);
  ::close(efd);
}

TEST_CASE("fd_channel: malformed messages are bad_message, leak no fds, and the channel goes on") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto& [a, b] = *p;
  const std::size_t fds_before = open_fd_count();

  // After each bad message, a good one must still come through.
  std::uint32_t seq = 100;
  auto expect_bad_then_good = [&](const char* what) {
    CAPTURE(what);
    auto bad = b.receive(1s);
    CHECK(bad.code() == errc::bad_message);
    REQUIRE(a.send(seq, test::bytes("good")).has_value());
    auto good = b.receive(1s);
    REQUIRE(good.has_value());
    CHECK(good->type == seq);
    CHECK(test::to_string(good->payload) == "good");
    ++seq;
  };

  const std::string_view five = "short";
  raw_send(a.fd(), test::bytes(five));
  expect_bad_then_good("short header");

  raw_send(a.fd(), {});
  expect_bad_then_good("empty message");

  raw_send(a.fd(), header(0xdeadbeef, 1, 0));
  expect_bad_then_good("bad magic");

  auto longer = header(magic, 1, 10);  // claims 10, carries 4
  longer.resize(16);
  raw_send(a.fd(), longer);
  expect_bad_then_good("length field too large");

  auto shorter = header(magic, 1, 2);  // claims 2, carries 4
  shorter.resize(16);
  raw_send(a.fd(), shorter);
  expect_bad_then_good("length field too small");

  auto huge = header(magic, 1, 5000);  // consistent, but over the limit
  huge.resize(12 + 5000);
  raw_send(a.fd(), huge);
  expect_bad_then_good("message truncated");

  const int efd = ::eventfd(0, EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  const int mem = memfd_with("x");
  const int two[] = {efd, mem};
  raw_send(a.fd(), header(0x0badf00d, 1, 0), two);
  expect_bad_then_good("bad magic with fds");

  raw_send(a.fd(), test::bytes("xy"), two);
  expect_bad_then_good("short header with fds");

  const std::vector<int> nine(max_channel_fds + 1, efd);
  raw_send(a.fd(), header(magic, 1, 0), nine);
  expect_bad_then_good("nine fds (control data truncated)");

  ::close(efd);
  ::close(mem);
  // Everything that arrived with a rejected message was closed.
  CHECK(open_fd_count() == fds_before);
}

namespace {

// A socket file whose listener died without unlinking it.
void make_dead_socket_file(const std::string& path) {
  const int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  ::close(s);
}

}  // namespace

TEST_CASE("fd_listener: the socket file is 0660 by default, or the mode and group asked for, before anyone connects") {
  temp_dir dir;
  const auto mode_of = [](const std::string& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
  };
  const mode_t saved = ::umask(0);  // whatever the umask, the mode is what was asked
  {
    auto l = fd_listener::bind(dir.path + "/default.sock");
    REQUIRE(l.has_value());
    CHECK((mode_of(l->path()).st_mode & 07777) == 0660);
  }
  {
    auto l = fd_listener::bind(dir.path + "/private.sock", {0600, 4242});
    REQUIRE(l.has_value());
    const auto st = mode_of(l->path());
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_gid == 4242u);
  }
  ::umask(saved);
  auto bad = fd_listener::bind(dir.path + "/bad.sock", {01777, -1});
  CHECK(bad.code() == errc::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(dir.path + "/bad.sock"));
}

TEST_CASE("fd_listener: a dead socket file of another user is left alone, never replaced") {
  temp_dir dir;
  const std::string theirs = dir.path + "/theirs.sock";
  make_dead_socket_file(theirs);
  // Owned by someone else (the tests run as root, so chown works).
  REQUIRE(::lchown(theirs.c_str(), ::geteuid() + 4242, static_cast<gid_t>(-1)) == 0);
  auto l = fd_listener::bind(theirs);
  REQUIRE_FALSE(l.has_value());
  CHECK(l.error().sys_errno == EADDRINUSE);
  struct stat st {};
  REQUIRE(::lstat(theirs.c_str(), &st) == 0);
  CHECK(st.st_uid == ::geteuid() + 4242);
}

TEST_CASE("fd_channel: a listener on a path accepts, identifies its peer and cleans up") {
  temp_dir dir;
  const std::string path = dir.path + "/ctl.sock";
  {
    auto l = fd_listener::bind(path);
    REQUIRE(l.has_value());
    CHECK(l->path() == path);
    CHECK(std::filesystem::is_socket(path));
    CHECK(l->accept().code() == errc::would_block);

    auto client = fd_channel::connect(path);
    REQUIRE(client.has_value());
    auto server = l->accept();
    REQUIRE(server.has_value());
    CHECK(l->accept().code() == errc::would_block);

    REQUIRE(client->send(1, test::bytes("hello")).has_value());
    auto m1 = server->receive(1s);
    REQUIRE(m1.has_value());
    CHECK(test::to_string(m1->payload) == "hello");
    const int efd = ::eventfd(0, EFD_CLOEXEC);
    REQUIRE(efd >= 0);
    const int one[] = {efd};
    REQUIRE(server->send(2, test::bytes("welcome"), one).has_value());
    ::close(efd);
    auto m2 = client->receive(1s);
    REQUIRE(m2.has_value());
    CHECK(m2->type == 2);
    CHECK(test::to_string(m2->payload) == "welcome");
    CHECK(m2->fds.size() == 1);

    auto cred = peer_credentials(*server);
    REQUIRE(cred.has_value());
    CHECK(cred->first == ::getpid());
    CHECK(cred->second == ::getuid());

    // Someone listens on `path`: a second bind must not steal it.
    auto again = fd_listener::bind(path);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.code() == errc::system);
    CHECK(again.error().sys_errno == EADDRINUSE);
    CHECK(std::filesystem::is_socket(path));
    auto client2 = fd_channel::connect(path);  // the original still works
    CHECK(client2.has_value());
  }
  // The destructor unlinked the path; connecting now fails cleanly.
  CHECK_FALSE(std::filesystem::exists(path));
  auto none = fd_channel::connect(path);
  CHECK(none.code() == errc::system);
  CHECK(none.error().sys_errno == ENOENT);

  // A stale socket file (its listener died without unlinking) is replaced.
  const std::string stale = dir.path + "/stale.sock";
  make_dead_socket_file(stale);
  REQUIRE(std::filesystem::is_socket(stale));
  {
    auto l = fd_listener::bind(stale);
    REQUIRE(l.has_value());
    auto c = fd_channel::connect(stale);
    REQUIRE(c.has_value());
    CHECK(l->accept().has_value());
  }
  CHECK_FALSE(std::filesystem::exists(stale));

  // A regular file in the way also refuses connections but is not ours to delete.
  const std::string file = dir.path + "/not-a-socket";
  { std::FILE* f = std::fopen(file.c_str(), "w"); REQUIRE(f != nullptr); std::fclose(f); }
  auto on_file = fd_listener::bind(file);
  CHECK(on_file.code() == errc::system);
  CHECK(std::filesystem::is_regular_file(file));

  // Moving a listener moves the cleanup duty with it.
  const std::string moved = dir.path + "/moved.sock";
  {
    auto l = fd_listener::bind(moved);
    REQUIRE(l.has_value());
    fd_listener owner = std::move(*l);
    { auto drop = std::move(*l); }  // the moved-from shell unlinks nothing
    CHECK(std::filesystem::is_socket(moved));
    CHECK(owner.path() == moved);
  }
  CHECK_FALSE(std::filesystem::exists(moved));

  const std::string too_long = dir.path + "/" + std::string(200, 'x');
  CHECK(fd_listener::bind(too_long).code() == errc::invalid_argument);
  CHECK(fd_channel::connect(too_long).code() == errc::invalid_argument);
  CHECK(fd_listener::bind("").code() == errc::invalid_argument);
}

namespace {

constexpr std::size_t shared_bytes = 64 * 1024;

std::byte pattern_at(std::size_t i) { return static_cast<std::byte>((i * 131 + 17) & 0xff); }

// Child: wait for the memfd, fill it with the pattern, say so. The exit
// status tells the parent what went wrong (0 = fine).
int child_main(fd_channel ch) {
  auto m = ch.receive(10s);
  if (!m) return 10;
  if (m->type != 1 || m->fds.size() != 1) return 11;
  void* p = ::mmap(nullptr, shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[0], 0);
  if (p == MAP_FAILED) return 12;
  auto* bytes = static_cast<std::byte*>(p);
  for (std::size_t i = 0; i < shared_bytes; ++i) bytes[i] = pattern_at(i);
  ::munmap(p, shared_bytes);
  if (!ch.send(2, test::bytes("filled"))) return 13;
  return 0;
}

}  // namespace

TEST_CASE("fd_channel: a forked child fills a memfd it received and replies") {
  auto p = fd_channel::pair();
  REQUIRE(p.has_value());
  auto [parent, child] = std::move(*p);

  const int mem = ::memfd_create("fd_channel-xproc", MFD_CLOEXEC);
  REQUIRE(mem >= 0);
  REQUIRE(::ftruncate(mem, shared_bytes) == 0);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(parent.release());
    ::close(mem);  // the child must get the segment through the channel
    ::_exit(child_main(std::move(child)));
  }
  { auto mine = std::move(child); }  // the parent keeps only its end

  const int one[] = {mem};
  REQUIRE(parent.send(1, {}, one).has_value());
  auto reply = parent.receive(10s);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(reply.has_value());
  CHECK(reply->type == 2);
  CHECK(test::to_string(reply->payload) == "filled");

  void* map = ::mmap(nullptr, shared_bytes, PROT_READ, MAP_SHARED, mem, 0);
  REQUIRE(map != MAP_FAILED);
  const auto* bytes = static_cast<const std::byte*>(map);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < shared_bytes; ++i) mismatches += bytes[i] != pattern_at(i) ? 1u : 0u;
  CHECK(mismatches == 0);
  ::munmap(map, shared_bytes);
  ::close(mem);

  // The child is gone: its end of the channel with it.
  CHECK(parent.receive(1s).code() == errc::disconnected);
}
