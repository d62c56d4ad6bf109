#pragma once
/// \file
/// DPDK's Environment Abstraction Layer, started once per process from the
/// stack configuration. The defaults work on a machine with no hugepages
/// and no NIC: `--no-huge --no-pci --no-shconf`, memory sized from the mbuf
/// pool, a per-process file prefix, EAL logs at warning level.
///
/// Threads: EAL pins the thread that calls rte_eal_init to the main lcore's
/// CPU and every thread created afterwards inherits that pin
/// (notes/feasibility.md §3.10). eal_init therefore restores the caller's
/// CPU affinity before it returns, so CAF threads started later (and the
/// caller itself) keep every CPU. Only the data-plane lcores stay pinned.
///
/// The EAL cannot be started twice in one process, not even after
/// rte_eal_cleanup (feasibility §3.7): a second eal_init returns
/// `errc::already_initialized`. Tests therefore start it lazily inside a
/// test case, one EAL per test process.

#include <actorstack/result.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace actorstack::dataplane {

struct eal_options {
  /// Data-plane cores (worker lcores) wanted; each runs one core loop.
  unsigned cores = 1;
  /// Explicit EAL `--lcores` value; empty = computed: main lcore 0 floating
  /// over every CPU this process may use, worker lcore i (1..cores) pinned
  /// to CPU (i mod CPUs), e.g. "0@(0-1),1@1" on two CPUs.
  std::string lcores;
  /// `--vdev` arguments, e.g. "net_tap0,iface=as0", "net_memif0,role=server,socket=/run/as.sock".
  std::vector<std::string> vdevs;
  /// EAL memory in MiB; 0 = computed from `mbufs` (about 2.2 x the pool,
  /// feasibility §3.4) with a floor of 128.
  std::size_t memory_mb = 0;
  /// mbufs the ports will need in all (sizes the memory when memory_mb is 0).
  std::size_t mbufs = 8191;
  /// `--file-prefix`; empty = "actorstack-<pid>", so processes never clash.
  std::string file_prefix;
  /// Anything else, appended verbatim (e.g. "--log-level=lib.eal:debug").
  std::vector<std::string> extra_args;
};

/// What eal_init started.
struct eal_info {
  std::vector<unsigned> worker_lcores;  ///< lcore ids for the core loops, `cores` of them
  std::vector<std::string> args;        ///< the argument vector passed to rte_eal_init
};

/// Starts the EAL. Errors: already_initialized (any second call, whether
/// the first succeeded or not; a call rejected with invalid_argument before
/// rte_eal_init ran does not count), invalid_argument (cores == 0, or fewer
/// worker lcores than `cores` in an explicit `lcores`), dataplane
/// (rte_eal_init failed: detail has the arguments and rte_errno's text).
/// Registers rte_eal_cleanup to run at exit (close ports before exit, see
/// eal.cpp on the order).
result<eal_info> eal_init(const eal_options& opts);

/// True once eal_init has succeeded in this process (false again after the
/// exit handler ran rte_eal_cleanup).
bool eal_running() noexcept;

namespace detail {
/// True once the exit handler has run rte_eal_cleanup. A port destroyed
/// after that (a static that outlives the handler) skips its DPDK calls:
/// the cleanup already removed the devices and freed the EAL memory.
bool eal_cleaned_up() noexcept;
}  // namespace detail

}  // namespace actorstack::dataplane
