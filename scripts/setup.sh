#!/usr/bin/env bash
# Installs what actorstack needs on Debian bookworm (only what is missing),
# configures and builds; then runs the main demo or every test.
#
#   scripts/setup.sh demo [demo args]   build, then run the main demo
#                                       (actorstack-echo: cut-through echo)
#   scripts/setup.sh test               build, then run every test through ctest
#   scripts/setup.sh build              build only
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default
# RelWithDebInfo), CMAKE_ARGS (extra configure arguments, e.g.
# -DACTORSTACK_SANITIZE=address).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build pkg-config       # toolchain
  libcaf-dev                             # actors (CAF 0.17.6)
  dpdk-dev libdpdk-dev                   # data plane (DPDK 22.11)
  libboost-dev                           # Boost.Lockfree
  doctest-dev                            # tests
  prometheus-cpp-dev                     # metrics exporter (issue: inspect a live stack)
  libcli11-dev                           # command lines of echo, stackd, ctl
  nlohmann-json3-dev                     # JSON output
  clang libclang-rt-14-dev               # libFuzzer targets (fuzz/, run by CI)
  iproute2 python3                       # tests: namespaces, taps and veths; the kernel-side TCP peers
  socat iperf3 curl                      # tests: unmodified programs on the stack (actorstack-run)
  gdb                                    # tests: a hung test case's thread stacks (tests/doctest_main.cpp)
  libssl-dev openssl                     # the inspector's TLS (actors/tls.hpp); tests make their certificates
  libtcmalloc-minimal4                   # the allocator of stackd, the demos and benches (cmake/ActorstackMalloc.cmake)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_dir=${BUILD_DIR:-build}
# shellcheck disable=SC2086  # CMAKE_ARGS is a list of arguments
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

mode=${1:-build}
[ $# -gt 0 ] && shift
case "$mode" in
  demo) exec "$build_dir/demo/actorstack-echo" "$@" ;;
  test) cd "$build_dir" && exec ctest --output-on-failure -j "$(nproc)" ;;
  build) ;;
  *) echo "usage: scripts/setup.sh demo|test|build" >&2; exit 2 ;;
esac
