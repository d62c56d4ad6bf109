// actorstack-bench-udp: UDP echo between two stacks in two processes over
// net_memif, one data-plane core each — the echo demo as server and as
// client — against a kernel UDP echo between two processes over 127.0.0.1
// with the same payloads and the same number of datagrams in flight,
// measured in the same run. Every repetition starts fresh processes (a
// DPDK EAL starts once per process); medians are reported.
//
//   actorstack-bench-udp [--echo PATH] [--reps N] [--datagrams N] [--window W]
//                        [--poll-mode busy|adaptive]
//
// In flight (both sides alike): 4096 datagrams of 64 bytes, 1024 of 1400
// bytes — what fits half of the echo processes' 4 MiB fifos — unless
// --window says otherwise.
//
// Cases: pps_64 (Mpps round trips, 64-byte payloads) and gbps_1400 (Gbit/s
// of echoed payload, 1400-byte payloads). Each case prints two lines: one
// against the kernel, one against the `raw` baseline — a bare DPDK echo
// over the same memif pair on the same CPUs with the same frames in flight
// (bench/raw_echo.hpp): what the port itself can do here.

#include "tools/cli/cli.hpp"
#include "bench/bench_report.hpp"
#include "bench/child_process.hpp"
#include "bench/placement.hpp"
#include "bench/raw_echo.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using actorstack::bench::median;
using actorstack::bench::read_file;
using actorstack::bench::report;
using actorstack::bench::sibling;
using actorstack::bench::spawn;
using actorstack::bench::wait_for_text;

struct settings {
  std::string echo;
  int reps = 3;
  std::uint64_t datagrams = 1'000'000;
  unsigned window = 0;  // 0: per case (window_for)
  std::string poll_mode = "busy";
  unsigned cores = 1;  // data-plane cores and session workers per echo process
};

// Datagrams in flight, the same for both sides: as many as fit half of the
// 4 MiB fifos the echo processes get (so no fifo overflows by design).
unsigned window_for(const settings& s, std::size_t size) {
  if (s.window != 0) return s.window;
  return size <= 64 ? 4096 : 1024;
}

// ---------------------------------------------------------------------------
// kernel baseline

// Echo server in a child process: every datagram back to its sender.
[[noreturn]] void kernel_echo_server(int fd) {
  std::array<char, 2048> buf;
  for (;;) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    (void)sendto(fd, buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

void big_buffers(int fd) {
  const int bytes = 8 << 20;
  // Root may exceed rmem_max/wmem_max; otherwise the plain option caps it.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

// Round trips per second with `window` datagrams in flight.
double kernel_echo_pps(std::size_t size, std::uint64_t datagrams, unsigned window) {
  const int srv = socket(AF_INET, SOCK_DGRAM, 0);
  big_buffers(srv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  const pid_t child = fork();
  if (child == 0) kernel_echo_server(srv);
  close(srv);
  const int cli = socket(AF_INET, SOCK_DGRAM, 0);
  big_buffers(cli);
  connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  timeval tv{0, 200'000};  // a lost datagram frees its window slot after this
  setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<char> out(size, 'x'), in(2048);
  std::uint64_t sent = 0, done = 0;
  const auto t0 = clock_type::now();
  while (done < datagrams) {
    while (sent < datagrams && sent - done < window) {
      if (send(cli, out.data(), size, 0) < 0) break;
      ++sent;
    }
    if (recv(cli, in.data(), in.size(), 0) < 0) {
      done = sent;  // timed out: what is in flight is lost
      continue;
    }
    ++done;
  }
  const double s = actorstack::bench::seconds_since(t0);
  close(cli);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  return s > 0 ? static_cast<double>(datagrams) / s : 0;
}

// ---------------------------------------------------------------------------
// actorstack: two echo demo processes over memif

std::optional<double> json_number(const std::string& text, const std::string& key) {
  const auto at = text.find("\"" + key + "\":");
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(text.c_str() + at + key.size() + 3, nullptr);
}

struct stack_result {
  double pps = 0;
  double gbps = 0;
  bool ok = false;
};

stack_result stack_echo(const settings& s, std::size_t size, int rep) {
  const std::string tag = std::to_string(getpid()) + "-" + std::to_string(size) + "-" + std::to_string(rep);
  const std::string sock = "/tmp/asbench-" + tag + ".sock";
  const std::string out = "/tmp/asbench-" + tag + ".json";
  const std::string err = "/tmp/asbench-" + tag + ".err";
  const std::string server_err = "/tmp/asbench-" + tag + ".server.err";
  const pid_t server = spawn({s.echo, "--uri", "udp://10.77.0.1/9000", "--role", "server", "--port",
                              "net_memif0,role=server,socket-abstract=no,socket=" + sock, "--ip", "10.77.0.1/24", "--workers",
                              std::to_string(s.cores), "--cores", std::to_string(s.cores), "--lcores",
                              actorstack::bench::dataplane_lcores(s.cores, true), "--poll-mode", s.poll_mode, "--fifo-size", "4m"},
                             "/dev/null", server_err);
  // The client must start after the server listens (which is after its
  // memif socket exists): earlier datagrams would be dropped as no_session.
  (void)wait_for_text(server_err, "udp server on", std::chrono::seconds(10));
  const std::uint64_t bytes = s.datagrams / s.cores * size;  // per client
  const pid_t client = spawn({s.echo, "--uri", "udp://10.77.0.1/9000", "--role", "client", "--port",
                              "net_memif0,role=client,socket-abstract=no,socket=" + sock, "--ip", "10.77.0.2/24", "--workers",
                              std::to_string(s.cores), "--cores", std::to_string(s.cores), "--lcores",
                              actorstack::bench::dataplane_lcores(s.cores, false), "--poll-mode", s.poll_mode, "--fifo-size", "4m",
                              "--clients", std::to_string(s.cores), "--bytes", std::to_string(bytes), "--datagram-size",
                              std::to_string(size), "--window", std::to_string(window_for(s, size)), "--no-verify", "--json"},
                             out, err);
  int status = 0;
  waitpid(client, &status, 0);
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  const std::string text = read_file(out);
  const std::string errors = read_file(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  std::remove(server_err.c_str());
  std::remove(sock.c_str());
  stack_result r;
  r.pps = json_number(text, "pps").value_or(0);
  r.gbps = json_number(text, "gbps").value_or(0);
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!r.ok)
    std::fprintf(stderr, "bench-udp: client run failed (size %zu): %s\n%s\n", size, text.c_str(), errors.c_str());
  return r;
}


}  // namespace

int main(int argc, char** argv) {
  if (const int rc = actorstack::bench::raw_echo_role(argc, argv); rc >= 0) return rc;
  settings s;
  s.echo = sibling("demo", "actorstack-echo");
  CLI::App app{"UDP echo over net_memif between two actorstack-echo processes against a kernel UDP echo and\n"
               "against a bare DPDK echo over the same memif pair (raw), alternated in the same run: 64-byte\n"
               "datagrams per second and 1400-byte Gbit/s. Two JSON lines per case (kernel, raw).",
               "actorstack-bench-udp"};
  app.option_defaults()->always_capture_default();
  app.add_option("--echo", s.echo, "The actorstack-echo to run");
  app.add_option("--reps", s.reps, "Repetitions of each side; the medians are printed")->check(CLI::PositiveNumber);
  app.add_option("--datagrams", s.datagrams, "Datagrams per run")->check(CLI::PositiveNumber);
  app.add_option("--window", s.window, "Datagrams in flight (0: as many as half the fifos hold)");
  app.add_option("--cores", s.cores,
                 "Data-plane cores and session workers per echo process, and clients (scale: the raw and kernel\n"
                 "baselines stay one pair)")
      ->check(CLI::Range(1u, 2u));
  app.add_option("--poll-mode", s.poll_mode, "The echo processes' data-plane polling")
      ->check(CLI::IsMember({"busy", "adaptive"}));
  actorstack::cli::add_standard(app, "  0  every case ran (one JSON object per case on stdout)\n"
                         "  1  a case could not run\n"
                         "  2  bad command line\n");
  if (const int rc = actorstack::cli::parse(app, argc, argv); rc >= 0) return rc;
  if (access(s.echo.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "bench-udp: no echo demo at %s (give --echo PATH)\n", s.echo.c_str());
    return 2;
  }
  const std::string self = actorstack::bench::sibling("bench", "actorstack-bench-udp");
  int failures = 0;
  for (const std::size_t size : {std::size_t{64}, std::size_t{1400}}) {
    // Round trips per second in the case's unit.
    auto in_unit = [&](double pps) { return size == 64 ? pps / 1e6 : pps * double(size) * 8 / 1e9; };
    std::vector<double> ours, kernel, raw;
    for (int rep = 0; rep < s.reps; ++rep) {
      const auto r = stack_echo(s, size, rep);
      if (!r.ok) ++failures;
      ours.push_back(size == 64 ? r.pps / 1e6 : r.gbps);
      kernel.push_back(in_unit(kernel_echo_pps(size, s.datagrams, window_for(s, size))));
      const double raw_pps = actorstack::bench::raw_echo_round_trips(
          self, {.header = 42, .payload = size, .window = window_for(s, size), .seconds = 1});
      if (raw_pps <= 0) ++failures;
      raw.push_back(in_unit(raw_pps));
    }
    const char* kase = size == 64 ? "pps_64" : "gbps_1400";
    const char* unit = size == 64 ? "Mpps" : "Gbit/s";
    report("udp", kase, median(ours), unit, median(kernel), "kernel UDP echo, 2 processes, 127.0.0.1");
    report("udp", kase, median(ours), unit, median(raw), "raw DPDK echo, same memif pair, CPUs and window");
  }
  return failures == 0 ? 0 : 1;
}
