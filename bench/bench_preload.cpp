// actorstack-bench-preload: unmodified programs over the preload library
// (cut-through through one actorstack-stackd) against the same programs
// over the kernel's loopback, alternated in the same run.
//
//   iperf3_1stream  iperf3 -c / iperf3 -s, one stream, Gbit/s
//   iperf3_4streams the same with -P 4
//   rr_64           64-byte request/response transactions/s over one
//                   connection: this binary's own small socket program
//                   (--role rr-server / rr-client), the same code both ways
//
// Needs iperf3 on PATH (the iperf3 cases are skipped, said on stderr,
// without it); actorstack-stackd and actorstack-run come from this build.

#include "bench/bench_report.hpp"
#include "bench/child_process.hpp"
#include "tools/cli/cli.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace actorstack;

namespace {

struct settings {
  int reps = 3;
  double seconds = 3;
  std::string only;
  std::string role = "bench";
  int port = 0;
};

// ---- the request/response program (run as itself, preloaded or not) -------

bool full_io(int fd, std::byte* p, std::size_t n, bool writing) {
  while (n > 0) {
    const ssize_t k = writing ? ::write(fd, p, n) : ::read(fd, p, n);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int rr_server(const settings& s) {
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in a = loopback(s.port);
  if (::bind(l, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 1) != 0) {
    std::perror("rr-server: bind/listen");
    return 1;
  }
  std::printf("listening\n");
  std::fflush(stdout);
  const int c = ::accept(l, nullptr, nullptr);
  if (c < 0) return 1;
  ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::array<std::byte, 64> buf{};
  while (full_io(c, buf.data(), buf.size(), false) && full_io(c, buf.data(), buf.size(), true)) {
  }
  ::close(c);
  ::close(l);
  return 0;
}

int rr_client(const settings& s) {
  const int c = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const sockaddr_in a = loopback(s.port);
  if (::connect(c, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    std::perror("rr-client: connect");
    return 1;
  }
  std::array<std::byte, 64> buf{};
  auto round = [&] { return full_io(c, buf.data(), buf.size(), true) && full_io(c, buf.data(), buf.size(), false); };
  const auto warm = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < warm)
    if (!round()) return 1;
  std::uint64_t done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const auto until = t0 + std::chrono::duration<double>(s.seconds);
  while (std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 64; ++i)
      if (!round()) return 1;
    done += 64;
  }
  std::printf("%.1f\n", static_cast<double>(done) / bench::seconds_since(t0));
  ::close(c);
  return 0;
}

// ---- the benchmark ----------------------------------------------------------------

// `name` on PATH, or "".
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = dirs.find(':', start);
    const std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void stop(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

struct bench_env {
  std::string self, run, sock, iperf3, dir;
  int next_port = 0;
  int runs = 0;
  int failures = 0;

  // `args` as they are, or preloaded onto the stack.
  std::vector<std::string> argv(bool on_stack, std::vector<std::string> args) const {
    if (!on_stack) return args;
    std::vector<std::string> v{run, "--attach", sock, "--"};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }

  // A server and a client; the client's stdout, once it exited 0 ("" if not).
  // Each run its own files: a server is ready when its own file says so.
  std::string pair(bool on_stack, const std::vector<std::string>& server, const std::string& ready,
                   const std::vector<std::string>& client) {
    const std::string tag = dir + "/" + (on_stack ? "stack-" : "kernel-") + std::to_string(runs++);
    const pid_t srv = bench::spawn(argv(on_stack, server), tag + "-server.out", tag + "-server.err");
    if (!bench::wait_for_text(tag + "-server.out", ready, std::chrono::seconds(10))) {
      std::fprintf(stderr, "bench-preload: the %s server never got ready: %s\n", on_stack ? "stack's" : "kernel's",
                   bench::read_file(tag + "-server.err").c_str());
      stop(srv);
      ++failures;
      return {};
    }
    const pid_t cli = bench::spawn(argv(on_stack, client), tag + "-client.out", tag + "-client.err");
    const int rc = wait_exit(cli);
    stop(srv);
    if (rc != 0) {
      std::fprintf(stderr, "bench-preload: the %s client exited %d: %s\n", on_stack ? "stack's" : "kernel's", rc,
                   bench::read_file(tag + "-client.err").c_str());
      ++failures;
      return {};
    }
    return bench::read_file(tag + "-client.out");
  }

  double iperf3_run(bool on_stack, int streams, double seconds) {
    const std::string port = std::to_string(next_port++);
    const std::string out =
        pair(on_stack, {iperf3, "-s", "-1", "-B", "127.0.0.1", "-p", port, "--forceflush"}, "Server listening",
             {iperf3, "-c", "127.0.0.1", "-p", port, "-P", std::to_string(streams), "-t", std::to_string(seconds), "-J"});
    if (out.empty()) return 0;
    try {
      return nlohmann::json::parse(out).at("end").at("sum_received").at("bits_per_second").get<double>() / 1e9;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench-preload: iperf3's report: %s\n", e.what());
      ++failures;
      return 0;
    }
  }

  double rr(bool on_stack, double seconds) {
    const std::string port = std::to_string(next_port++);
    const std::string out = pair(on_stack, {self, "--role", "rr-server", "--port", port}, "listening",
                                 {self, "--role", "rr-client", "--port", port, "--seconds", std::to_string(seconds)});
    return out.empty() ? 0 : std::atof(out.c_str());
  }
};

int run_bench(const settings& s) {
  bench_env env;
  env.self = bench::sibling("bench", "actorstack-bench-preload");
  env.run = bench::sibling("tools", "actorstack-run");
  env.iperf3 = on_path("iperf3");
  env.dir = "/tmp/asbench-preload-" + std::to_string(::getpid());
  std::filesystem::create_directories(env.dir);
  env.sock = env.dir + "/stack.sock";
  env.next_port = 20000 + static_cast<int>(::getpid() % 20000);
  const pid_t stackd = bench::spawn({bench::sibling("tools", "actorstack-stackd"), "--socket", env.sock},
                                    env.dir + "/stackd.out", env.dir + "/stackd.err");
  if (!bench::wait_for_text(env.dir + "/stackd.err", "serving apps on", std::chrono::seconds(20))) {
    std::fprintf(stderr, "bench-preload: actorstack-stackd did not start: %s\n",
                 bench::read_file(env.dir + "/stackd.err").c_str());
    stop(stackd);
    return 1;
  }
  const std::string loopback = "the same program over the kernel's loopback";
  auto wanted = [&](const char* name) { return s.only.empty() || s.only == name; };
  for (int streams : {1, 4}) {
    const std::string name = streams == 1 ? "iperf3_1stream" : "iperf3_4streams";
    if (!wanted(name.c_str())) continue;
    if (env.iperf3.empty()) {
      std::fprintf(stderr, "bench-preload: no iperf3 on PATH: %s skipped\n", name.c_str());
      continue;
    }
    auto [value, base] = bench::paired_medians(
        s.reps, [&] { return env.iperf3_run(true, streams, s.seconds); },
        [&] { return env.iperf3_run(false, streams, s.seconds); });
    bench::report("preload", name, value, "Gbit/s", base, "iperf3 over the kernel's loopback");
  }
  if (wanted("rr_64")) {
    auto [value, base] = bench::paired_medians(
        s.reps, [&] { return env.rr(true, s.seconds); }, [&] { return env.rr(false, s.seconds); });
    bench::report("preload", "rr_64", value, "transactions/s", base, loopback);
  }
  stop(stackd);
  std::filesystem::remove_all(env.dir);
  return env.failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"Unmodified programs over libactorstack-preload.so (cut-through through one actorstack-stackd)\n"
               "against the same programs over the kernel's loopback, alternated in the same run: iperf3 with\n"
               "one and four streams (Gbit/s), and 64-byte request/response transactions/s over one\n"
               "connection (a small socket program in this binary, the same code both ways). One JSON\n"
               "line per case.",
               "actorstack-bench-preload"};
  app.option_defaults()->always_capture_default();
  app.add_option("--reps", s.reps, "Repetitions of each side; the medians are printed")->check(CLI::PositiveNumber);
  app.add_option("--seconds", s.seconds, "Seconds each run measures")->check(CLI::Range(0.5, 600.0));
  app.add_option("--case", s.only, "Run only this case (iperf3_1stream, iperf3_4streams, rr_64)")
      ->check(CLI::IsMember({"iperf3_1stream", "iperf3_4streams", "rr_64"}));
  app.add_option("--role", s.role, "bench (default); rr-server or rr-client: the request/response program")
      ->check(CLI::IsMember({"bench", "rr-server", "rr-client"}))
      ->group("Internal");
  app.add_option("--port", s.port, "rr-server/rr-client: the loopback port")->group("Internal");
  cli::add_standard(app, "  0  every case ran (one JSON object per case on stdout)\n"
                         "  1  a case could not run\n"
                         "  2  bad command line\n");
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  if (s.role == "rr-server") return rr_server(s);
  if (s.role == "rr-client") return rr_client(s);
  return run_bench(s);
}
