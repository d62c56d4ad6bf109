// An attached app that does everything a hostile process can do to the
// daemon it shares memory with (issue 16's hostile-app test). Run by
// tests/integration/hostile_app.sh next to an unrelated verified echo pair:
//   actorstack-test-hostile-app SOCKET
// In order, each step reported on one stdout line:
//   1. opens sessions until its quota says no (two peer apps of its own
//      accept them, each staying below the quota);
//   2. tries to shrink and grow every memfd it was given (sealed: EPERM);
//   3. floods the Unix socket with garbage and oversize datagrams from new
//      connections;
//   4. scribbles random words over every segment it maps (fifo headers,
//      chunks, data, its event queue) and goes on using its sessions.
// Then it exits without detaching. It may crash itself in step 4 (its own
// memory is garbage by then); the daemon and everyone else must not.
#include <actorstack/client.hpp>

#include "tests/xorshift.hpp"

#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<client::app> attach(const std::string& sock, const char* name) {
  auto a = client::app::attach({.socket_path = sock, .name = name});
  if (!a) {
    std::fprintf(stderr, "hostile: attach %s: %s\n", name, a.error().message().c_str());
    std::exit(1);
  }
  return std::move(*a);
}

// An app of its own that accepts whatever comes, on its own thread.
struct peer {
  peer(const std::string& sock, const char* name, const std::string& uri) : app(attach(sock, name)) {
    auto l = app->listen(uri);
    if (!l) std::exit(1);
    listener = *l;
    (void)app->set_nonblocking(listener, true);
    runner = std::thread([this] {
      while (!stop) {
        if (auto s = app->accept(listener); s) ++accepted;
        else std::this_thread::sleep_for(1ms);
      }
    });
  }
  ~peer() {
    stop = true;
    runner.join();
  }
  std::unique_ptr<client::app> app;
  client::sock listener = -1;
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::thread runner;
};

std::vector<int> memfds() {
  std::vector<int> out;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      char link[256]{};
      const std::string path = std::string{"/proc/self/fd/"} + e->d_name;
      if (::readlink(path.c_str(), link, sizeof link - 1) > 0 && std::strncmp(link, "/memfd:", 7) == 0)
        out.push_back(std::atoi(e->d_name));
    }
    ::closedir(d);
  }
  return out;
}

struct mapping {
  std::byte* base;
  std::size_t size;
};

std::vector<mapping> shared_mappings() {
  std::vector<mapping> out;
  std::FILE* f = std::fopen("/proc/self/maps", "r");
  if (f == nullptr) return out;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long lo = 0, hi = 0;
    char perms[8]{};
    if (std::strstr(line, "/memfd:") == nullptr || std::sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    if (perms[1] != 'w') continue;
    out.push_back({reinterpret_cast<std::byte*>(lo), static_cast<std::size_t>(hi - lo)});
  }
  std::fclose(f);
  return out;
}

int unix_connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: actorstack-test-hostile-app SOCKET\n");
    return 2;
  }
  const std::string sock = argv[1];
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  // 1. Sessions until the quota says no.
  peer a{sock, "hostile-peer-a", "ct://127.0.0.1/7701"};
  peer b{sock, "hostile-peer-b", "ct://127.0.0.1/7702"};
  auto app = attach(sock, "hostile");
  std::vector<client::sock> held;
  errc stopped_by = errc::none;
  for (int i = 0; i < 100000; ++i) {
    auto s = app->connect(i % 2 == 0 ? "ct://127.0.0.1/7701" : "ct://127.0.0.1/7702");
    if (!s) {
      stopped_by = s.error().code;
      break;
    }
    held.push_back(*s);
  }
  std::printf("quota: %zu sessions, then %s\n", held.size(), std::string{to_string(stopped_by)}.c_str());

  // 2. Shrink and grow every memfd this process was given.
  std::size_t refused = 0, total = 0;
  for (int fd : memfds()) {
    ++total;
    const bool shrink = ::ftruncate(fd, 0) != 0 && errno == EPERM;
    const bool grow = ::ftruncate(fd, off_t{1} << 40) != 0 && errno == EPERM;
    refused += shrink && grow ? 1 : 0;
  }
  std::printf("truncate: %zu of %zu memfds refused both\n", refused, total);

  // 3. Garbage and oversize datagrams on the Unix socket, from new connections.
  test::xorshift next{0x5eedULL};
  std::vector<std::byte> junk(1 << 20);
  for (auto& x : junk) x = static_cast<std::byte>(next());
  std::size_t sent = 0;
  for (int c = 0; c < 50; ++c) {
    const int fd = unix_connect(sock);
    if (fd < 0) continue;
    for (int k = 0; k < 20; ++k) {
      const std::size_t n = k == 0 ? junk.size() : next() % 300;
      if (::send(fd, junk.data(), n, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) ++sent;
    }
    ::close(fd);
  }
  std::printf("flood: %zu datagrams sent\n", sent);

  // 4. Scribble over everything shared, then go on using the sessions.
  const auto maps = shared_mappings();
  std::size_t words = 0;
  for (const auto& m : maps)
    for (int k = 0; k < 20000; ++k) {
      const std::size_t at = (next() % m.size) & ~std::size_t{7};
      const std::uint64_t word = next() % 3 == 0 ? next() % m.size : next();
      std::memcpy(m.base + at, &word, sizeof word);
      ++words;
    }
  std::printf("scribble: %zu words over %zu mappings\n", words, maps.size());
  std::array<std::byte, 4096> buf{};
  for (auto s : held) (void)app->set_nonblocking(s, true);
  for (int round = 0; round < 20; ++round)
    for (auto s : held) {
      (void)app->write(s, buf);
      (void)app->read(s, buf);
    }
  std::printf("done\n");
  std::_Exit(0);  // no detach, no destructors: as if killed
}
