#include "two_process.hpp"

#include "bench_report.hpp"
#include "child_process.hpp"

#include <actorstack/client.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

namespace actorstack::bench {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr const char* uri = "ct://127.0.0.1/7200";

bool exited_ok(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::unique_ptr<client::app> attach(const std::string& socket, std::uint32_t fifo, const char* name) {
  auto a = client::app::attach({.socket_path = socket, .name = name, .rx_fifo_size = fifo, .tx_fifo_size = fifo});
  if (!a) {
    std::fprintf(stderr, "%s: attach: %s\n", name, a.error().message().c_str());
    return nullptr;
  }
  return std::move(*a);
}

// The server: accepts one session, reads until end of stream, prints the
// rate from its first byte to its last.
int run_sink(const std::string& socket, std::uint64_t bytes, std::uint32_t write_size, std::uint32_t fifo) {
  auto app = attach(socket, fifo, "bench-sink");
  if (!app) return 1;
  auto l = app->listen(uri);
  if (!l) return std::fprintf(stderr, "listen: %s\n", l.error().message().c_str()), 1;
  std::fprintf(stderr, "listening\n");
  auto s = app->accept(*l);
  if (!s) return std::fprintf(stderr, "accept: %s\n", s.error().message().c_str()), 1;
  std::vector<std::byte> buf(write_size);
  std::uint64_t got = 0;
  clock_type::time_point t0;
  while (got < bytes) {
    auto n = app->read(*s, buf);
    if (!n || *n == 0) return std::fprintf(stderr, "read after %llu bytes failed\n", static_cast<unsigned long long>(got)), 1;
    if (got == 0) t0 = clock_type::now();
    got += *n;
  }
  const double secs = seconds_since(t0);
  std::printf("%.6f\n", static_cast<double>(got) * 8 / secs / 1e9);
  (void)app->close(*s);
  return 0;
}

// The client: connects, writes `bytes` in `write_size` writes, closes.
int run_source(const std::string& socket, std::uint64_t bytes, std::uint32_t write_size, std::uint32_t fifo) {
  auto app = attach(socket, fifo, "bench-source");
  if (!app) return 1;
  auto s = app->connect(uri);
  if (!s) return std::fprintf(stderr, "connect: %s\n", s.error().message().c_str()), 1;
  std::vector<std::byte> buf(write_size, std::byte{0x5a});
  for (std::uint64_t sent = 0; sent < bytes;) {
    const auto n = std::min<std::uint64_t>(write_size, bytes - sent);
    auto w = app->write(*s, std::span{buf}.first(static_cast<std::size_t>(n)));
    if (!w) return std::fprintf(stderr, "write: %s\n", w.error().message().c_str()), 1;
    sent += *w;
  }
  (void)app->close(*s);
  return 0;
}

}  // namespace

int two_process_role(int argc, char** argv) {
  if (argc != 7 || std::string{argv[1]} != "--2proc-role") return -1;
  const std::string role = argv[2], socket = argv[3];
  const auto bytes = std::stoull(argv[4]);
  const auto write_size = static_cast<std::uint32_t>(std::stoul(argv[5]));
  const auto fifo = static_cast<std::uint32_t>(std::stoul(argv[6]));
  if (role == "sink") return run_sink(socket, bytes, write_size, fifo);
  if (role == "source") return run_source(socket, bytes, write_size, fifo);
  return 2;
}

double stack_two_process(const two_process_settings& s) {
  const std::string tag = "/tmp/asbench-2p-" + std::to_string(getpid());
  const std::string sock = tag + ".sock";
  const pid_t daemon = spawn({s.stackd, "--socket", sock, "--workers", "1"}, "/dev/null", tag + ".stackd.err");
  double gbps = 0;
  if (wait_for_text(tag + ".stackd.err", "serving apps", std::chrono::seconds(10))) {
    auto role = [&](const char* r) {
      return std::vector<std::string>{s.self, "--2proc-role", r, sock, std::to_string(s.bytes),
                                      std::to_string(s.write_size), std::to_string(s.fifo_size)};
    };
    const pid_t sink = spawn(role("sink"), tag + ".sink.out", tag + ".sink.err");
    if (wait_for_text(tag + ".sink.err", "listening", std::chrono::seconds(10))) {
      const pid_t source = spawn(role("source"), "/dev/null", tag + ".source.err");
      const bool source_ok = exited_ok(source);
      const bool sink_ok = exited_ok(sink);
      if (source_ok && sink_ok) gbps = std::stod("0" + read_file(tag + ".sink.out"));
      else
        std::fprintf(stderr, "throughput_2proc failed:\n%s%s", read_file(tag + ".source.err").c_str(),
                     read_file(tag + ".sink.err").c_str());
    } else {
      kill(sink, SIGKILL);
      waitpid(sink, nullptr, 0);
      std::fprintf(stderr, "throughput_2proc: the sink never listened: %s\n", read_file(tag + ".sink.err").c_str());
    }
  } else {
    std::fprintf(stderr, "throughput_2proc: the daemon never served: %s\n", read_file(tag + ".stackd.err").c_str());
  }
  kill(daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);
  for (const char* f : {".stackd.err", ".sink.out", ".sink.err", ".source.err"}) std::remove((tag + f).c_str());
  return gbps;
}

double unix_two_process(const two_process_settings& s) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
  const pid_t writer = fork();
  if (writer == 0) {
    ::close(sv[0]);
    std::vector<char> buf(s.write_size, 0x5a);
    for (std::uint64_t sent = 0; sent < s.bytes;) {
      const auto n = ::write(sv[1], buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(s.write_size, s.bytes - sent)));
      if (n <= 0) _exit(1);
      sent += static_cast<std::uint64_t>(n);
    }
    _exit(0);
  }
  ::close(sv[1]);
  std::vector<char> buf(s.write_size);
  std::uint64_t got = 0;
  clock_type::time_point t0;
  while (got < s.bytes) {
    const auto n = ::read(sv[0], buf.data(), buf.size());
    if (n <= 0) break;
    if (got == 0) t0 = clock_type::now();
    got += static_cast<std::uint64_t>(n);
  }
  const double secs = seconds_since(t0);
  ::close(sv[0]);
  waitpid(writer, nullptr, 0);
  return got == s.bytes ? static_cast<double>(got) * 8 / secs / 1e9 : 0;
}

}  // namespace actorstack::bench
