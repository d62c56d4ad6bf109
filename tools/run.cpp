// actorstack-run: runs an unmodified program on the stack. It loads
// libactorstack-preload.so into the program (LD_PRELOAD) and tells it
// where the stack is; the program's AF_INET stream and datagram sockets
// then become sessions of the actorstack-stackd behind that Unix socket.

#include "tools/cli/cli.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// The preload library: installed beside this program's lib directory, or
// (run from the build tree) where the build put it.
std::string find_preload() {
  char self[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir{self, static_cast<std::size_t>(n)};
    dir = dir.substr(0, dir.rfind('/'));
    const std::string installed = dir + "/" ACTORSTACK_PRELOAD_FROM_BINDIR;
    if (char* real = ::realpath(installed.c_str(), nullptr)) {
      std::string found{real};
      std::free(real);
      if (::access(found.c_str(), R_OK) == 0) return found;
    }
  }
  return ACTORSTACK_PRELOAD_BUILD_PATH;
}

// Whether a stack answers on `path` (a clear message now beats one from
// inside the program later).
std::string reach(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) return "the socket path is too long";
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int e = errno;
  ::close(fd);
  return r == 0 ? std::string{} : std::strerror(e);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  if (const char* env = std::getenv("ACTORSTACK_SOCKET")) socket_path = env;
  std::string preload = find_preload();
  bool fallback = false;
  std::uint64_t fifo_size = 1u << 20;
  CLI::App app{"actorstack-run [OPTIONS] [--] PROGRAM [ARGS...]\n\n"
               "Runs an unmodified program on actorstack: its AF_INET stream sockets (socket, connect, accept,\n"
               "read/write, poll/select/epoll, ...) become sessions of the actorstack-stackd behind --attach;\n"
               "cut-through to apps on the same stack, tcp over its data plane to anyone else. Its AF_INET\n"
               "datagram sockets become udp sessions on the data plane. Everything else (files, pipes,\n"
               "AF_UNIX, IPv6, UDP on loopback or on a stack without a data plane) stays the kernel's.\n"
               "See docs/preload.md.",
               "actorstack-run"};
  app.option_defaults()->always_capture_default();
  app.add_option("--attach", socket_path, "The stack's Unix socket (actorstack-stackd --socket)")
      ->default_str("$ACTORSTACK_SOCKET");
  app.add_flag("--kernel-fallback", fallback,
               "If the stack cannot be reached, run the program on the kernel's sockets instead of failing");
  app.add_option("--preload", preload, "The preload library")->check(CLI::ExistingFile);
  actorstack::cli::add_size(app, "--fifo-size", fifo_size,
                            "Each session's rx and tx fifo (a socket's buffers; 0: the stack's default)", 0, 1u << 30);
  // Everything from PROGRAM on is the program's, its options included.
  app.prefix_command();
  actorstack::cli::add_standard(app, "  N  the program's own exit status, once it runs\n"
                                     "  1  the stack cannot be reached (without --kernel-fallback)\n"
                                     "  2  bad command line\n"
                                     "  127  the program cannot be run\n");
  if (const int rc = actorstack::cli::parse(app, argc, argv); rc >= 0) return rc;
  std::vector<std::string> command = app.remaining();
  if (!command.empty() && command.front() != "--" && command.front().starts_with('-')) {
    std::fprintf(stderr, "actorstack-run: unknown option %s (the program comes after the options, or after --)\n",
                 command.front().c_str());
    return 2;
  }
  if (!command.empty() && command.front() == "--") command.erase(command.begin());
  if (command.empty()) {
    std::fprintf(stderr, "actorstack-run: no program to run (see --help)\n");
    return 2;
  }
  if (socket_path.empty()) {
    std::fprintf(stderr, "actorstack-run: no stack named: --attach PATH or ACTORSTACK_SOCKET\n");
    return 2;
  }
  if (const std::string why = reach(socket_path); !why.empty()) {
    if (!fallback) {
      std::fprintf(stderr, "actorstack-run: no stack at %s: %s\n", socket_path.c_str(), why.c_str());
      return 1;
    }
    std::fprintf(stderr, "actorstack-run: no stack at %s (%s): the program runs on the kernel's sockets\n",
                 socket_path.c_str(), why.c_str());
  }
  std::string ld_preload = preload;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0')
    ld_preload += std::string{":"} + existing;
  ::setenv("LD_PRELOAD", ld_preload.c_str(), 1);
  ::setenv("ACTORSTACK_SOCKET", socket_path.c_str(), 1);
  ::setenv("ACTORSTACK_FIFO_SIZE", std::to_string(fifo_size).c_str(), 1);
  if (fallback)
    ::setenv("ACTORSTACK_FALLBACK", "kernel", 1);
  else
    ::unsetenv("ACTORSTACK_FALLBACK");
  std::vector<char*> args;
  for (auto& a : command) args.push_back(a.data());
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "actorstack-run: cannot run %s: %s\n", args[0], std::strerror(errno));
  return 127;
}
