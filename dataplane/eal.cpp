// The EAL, started once per process. See eal.hpp for the contract and
// notes/feasibility.md §3 for why the arguments look the way they do.
#include "dataplane/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string_view>

namespace actorstack::dataplane {

namespace {

// Set by the first eal_init that reaches rte_eal_init; never reset (DPDK
// refuses a second rte_eal_init even after rte_eal_cleanup, §3.7).
std::atomic<bool> g_attempted{false};
// True between a successful rte_eal_init and the exit handler.
std::atomic<bool> g_running{false};
// True once the exit handler has run rte_eal_cleanup.
std::atomic<bool> g_cleaned_up{false};
// The runtime directory (/var/run/dpdk/<prefix>), removed at exit when empty.
// Plain storage: static destructors may run before the exit handler.
char g_runtime_dir[4096] = {};

/// Runs at exit (registered after a successful rte_eal_init).
///
/// Order of destruction at exit: atexit handlers and static destructors run
/// in the reverse order of their registration / construction. A port (or a
/// dataplane) that is a local of main() or a static constructed *after*
/// eal_init is therefore closed before this handler runs and releases its
/// device and pool normally. One that outlives it (a static constructed
/// before eal_init, a leaked object) finds g_cleaned_up set and skips every
/// DPDK call: rte_eal_cleanup has already removed the virtual devices (bus
/// cleanup closes them: tap interfaces and memif sockets go away) and
/// released the EAL memory that held the pool, so touching either would be
/// a use after free. Data-plane lcores must have been stopped by then
/// (dataplane::stop); this handler does not wait for them.
void cleanup_at_exit() noexcept {
  if (!g_running.exchange(false)) return;
  g_cleaned_up.store(true);
  rte_eal_cleanup();
  // With --no-shconf and --no-telemetry the per-prefix runtime directory is
  // left empty; remove it so test runs do not pile up /var/run/dpdk/<prefix>
  // directories. rmdir() leaves it alone if anything is still inside.
  if (g_runtime_dir[0] != '\0') ::rmdir(g_runtime_dir);
}

/// The CPUs in `set`, ascending.
std::vector<unsigned> cpus_of(const cpu_set_t& set) {
  std::vector<unsigned> out;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

/// "0-3,6,8-9" for {0,1,2,3,6,8,9}.
std::string ranges_of(const std::vector<unsigned>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

/// The computed --lcores value: main lcore 0 floats over every allowed CPU,
/// worker lcore i is pinned to the (i mod n)-th allowed CPU.
std::string computed_lcores(const std::vector<unsigned>& cpus, unsigned cores) {
  const std::string all = ranges_of(cpus);
  std::string out = "0@";
  if (cpus.size() == 1)
    out += all;
  else
    out += '(' + all + ')';
  for (unsigned i = 1; i <= cores; ++i)
    out += ',' + std::to_string(i) + '@' + std::to_string(cpus[i % cpus.size()]);
  return out;
}

/// Parses an unsigned decimal number at the front of `s`.
std::optional<unsigned> take_number(std::string_view& s) {
  std::size_t n = 0;
  unsigned v = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9' && n < 6) v = v * 10 + unsigned(s[n++] - '0');
  if (n == 0) return std::nullopt;
  s.remove_prefix(n);
  return v;
}

/// Adds the ids of "3", "3-5" or "(3,5-7)" at the front of `s` to `ids`.
bool take_id_set(std::string_view& s, std::set<unsigned>& ids) {
  const bool group = !s.empty() && s.front() == '(';
  if (group) s.remove_prefix(1);
  for (;;) {
    auto a = take_number(s);
    if (!a) return false;
    unsigned b = *a;
    if (!s.empty() && s.front() == '-') {
      s.remove_prefix(1);
      auto e = take_number(s);
      if (!e || *e < *a) return false;
      b = *e;
    }
    for (unsigned v = *a; v <= b; ++v) ids.insert(v);
    if (!group) return true;
    if (s.empty()) return false;
    if (s.front() == ')') {
      s.remove_prefix(1);
      return true;
    }
    if (s.front() != ',') return false;
    s.remove_prefix(1);
  }
}

/// How many distinct lcores an explicit --lcores value names, or nullopt if
/// it does not parse (then rte_eal_init judges it). Syntax:
/// `lcores[@cpus][,lcores[@cpus]...]`, each set a number, a range or a
/// parenthesised list.
std::optional<std::size_t> count_lcores(std::string_view s) {
  std::set<unsigned> ids;
  std::set<unsigned> ignored_cpus;
  while (!s.empty()) {
    if (!take_id_set(s, ids)) return std::nullopt;
    if (!s.empty() && s.front() == '@') {
      s.remove_prefix(1);
      if (!take_id_set(s, ignored_cpus)) return std::nullopt;
    }
    if (s.empty()) break;
    if (s.front() != ',') return std::nullopt;
    s.remove_prefix(1);
  }
  if (ids.empty()) return std::nullopt;
  return ids.size();
}

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace

namespace detail {
bool eal_cleaned_up() noexcept { return g_cleaned_up.load(); }
}  // namespace detail

bool eal_running() noexcept { return g_running.load(); }

result<eal_info> eal_init(const eal_options& opts) {
  if (g_attempted.load())
    return unexpected{errc::already_initialized,
                      "eal_init: the DPDK EAL was already started in this process (it cannot restart)"};
  if (opts.cores == 0) return unexpected{errc::invalid_argument, "eal_init: cores must be at least 1"};
  if (!opts.lcores.empty()) {
    if (auto n = count_lcores(opts.lcores); n && *n < std::size_t{opts.cores} + 1)
      return unexpected{errc::invalid_argument,
                        intern("eal_init: lcores '" + opts.lcores + "' names " + std::to_string(*n) +
                               " lcore(s); need the main lcore plus " + std::to_string(opts.cores) +
                               " worker(s)")};
  }

  // The caller's affinity: restored after rte_eal_init pinned this thread.
  cpu_set_t saved;
  CPU_ZERO(&saved);
  if (sched_getaffinity(0, sizeof saved, &saved) != 0)
    return unexpected{errc::system, "eal_init: sched_getaffinity failed", errno};
  const std::vector<unsigned> cpus = cpus_of(saved);
  if (cpus.empty()) return unexpected{errc::system, "eal_init: empty CPU affinity mask"};

  std::size_t memory_mb = opts.memory_mb;
  if (memory_mb == 0) {
    // ~2.4 KiB per mbuf (2176 B buffer + headers), EAL needs ~2.2x the pool
    // under --no-huge (feasibility §3.4).
    const double pool_mib = double(opts.mbufs) * 2.4 / 1024.0;
    memory_mb = std::max<std::size_t>(128, std::size_t(pool_mib * 2.2) + 1);
  }
  const std::string lcores = opts.lcores.empty() ? computed_lcores(cpus, opts.cores) : opts.lcores;
  const std::string prefix =
      opts.file_prefix.empty() ? "actorstack-" + std::to_string(::getpid()) : opts.file_prefix;

  std::vector<std::string> args{
      "actorstack",
      // No hugepages on our machines, and never probe the host's real NIC
      // (the VM's virtio device would be grabbed). --no-shconf instead of
      // --in-memory, which --no-huge rejects (§3.2).
      "--no-huge", "--no-pci", "--no-shconf",
      "-m", std::to_string(memory_mb),
      "--lcores", lcores,
  };
  for (const auto& v : opts.vdevs) {
    args.emplace_back("--vdev");
    args.push_back(v);
  }
  args.push_back("--file-prefix");
  args.push_back(prefix);
  // EAL's info lines are noise; its warnings and errors (and every PMD
  // message at warning level and above) stay visible.
  args.emplace_back("--log-level=lib.eal:warning");
  // Telemetry is off: nothing in actorstack reads it (actorstack-ctl talks
  // to the stack, not to DPDK), it adds a control thread and a socket per
  // process, and a second process on the same prefix silently gets a
  // renamed socket (§3.6). Pass "--telemetry" in extra_args to turn it
  // back on: EAL applies options in order, the later one wins.
  args.emplace_back("--no-telemetry");
  for (const auto& a : opts.extra_args) args.push_back(a);

  if (g_attempted.exchange(true))
    return unexpected{errc::already_initialized,
                      "eal_init: the DPDK EAL was already started in this process (it cannot restart)"};

  // rte_eal_init permutes argv and may keep pointers into it: give it a
  // copy that lives as long as the process (deliberately never freed, and
  // held by statics so it stays reachable: no leak to report). EAL starts
  // once per process (g_attempted), so they are set once.
  static std::vector<std::string>* keep = nullptr;
  static std::vector<char*>* argv = nullptr;
  keep = new std::vector<std::string>(args);
  argv = new std::vector<char*>;
  for (auto& a : *keep) argv->push_back(a.data());
  argv->push_back(nullptr);

  const int rc = rte_eal_init(static_cast<int>(keep->size()), argv->data());
  const int init_errno = rte_errno;
  // EAL pinned this thread to the main lcore's CPU set; give it back every
  // CPU it had, so threads it creates later are not pinned either (§3.10).
  const int aff_rc = pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);

  if (rc < 0)
    return unexpected{error{errc::dataplane, init_errno,
                            intern("rte_eal_init failed: " + std::string(rte_strerror(init_errno)) +
                                   "; args: " + joined(args))}};

  g_running.store(true);
  if (const char* dir = rte_eal_get_runtime_dir(); dir != nullptr)
    std::snprintf(g_runtime_dir, sizeof g_runtime_dir, "%s", dir);
  std::atexit([] { cleanup_at_exit(); });

  if (aff_rc != 0)
    return unexpected{errc::system, "eal_init: restoring the caller's CPU affinity failed", aff_rc};

  eal_info info;
  info.args = std::move(args);
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    if (info.worker_lcores.size() == opts.cores) break;
    info.worker_lcores.push_back(lcore);
  }
  if (info.worker_lcores.size() < opts.cores)
    return unexpected{errc::invalid_argument,
                      intern("eal_init: EAL started with " + std::to_string(info.worker_lcores.size()) +
                             " worker lcore(s), " + std::to_string(opts.cores) +
                             " wanted (lcores '" + lcores + "')")};
  return info;
}

}  // namespace actorstack::dataplane
