#pragma once
// Benchmarks that run other programs (the echo demo, the stack daemon, a
// copy of themselves as an app): start them, find them, read what they wrote.

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace actorstack::bench {

/// Runs `args` (args[0]: the program) with stdout to `out_file` and stderr
/// to `err_file`; returns the child's pid.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& out_file, const std::string& err_file) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  if (std::freopen(out_file.c_str(), "w", stdout) == nullptr || std::freopen(err_file.c_str(), "w", stderr) == nullptr)
    _exit(126);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  std::perror("execv");
  _exit(127);
}

/// The file's whole text ("" if it cannot be read).
inline std::string read_file(const std::string& path) {
  std::string text;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    std::array<char, 4096> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) text.append(buf.data(), n);
    std::fclose(f);
  }
  return text;
}

/// Waits (bounded) until `path` contains `text` — how a benchmark knows a
/// child it started is ready (it prints a line when it is).
inline bool wait_for_text(const std::string& path, const std::string& text, std::chrono::milliseconds bound) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    if (read_file(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

/// A program of this build: build/<dir>/<name>, found from this binary's place.
inline std::string sibling(const char* dir, const char* name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path().parent_path() / dir / name).string();
}

}  // namespace actorstack::bench
