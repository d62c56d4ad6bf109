#!/usr/bin/env bash
# The installed project as another project sees it (issue: installable,
# embeddable): `cmake --install` into a fresh prefix; every installed
# public header includes only <actorstack/...>, the standard library and
# dependencies, and compiles on its own; the client library needs no DPDK
# and no metrics library; both examples configure, build and run against
# the prefix through find_package(actorstack), the attached one through
# pkg-config too; the source tree configures as a subproject.
#
#   install_and_examples.sh <source dir> <build dir> <version>
set -u
src=$1 build=$2 version=$3
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
stackd=
trap '[ -n "$stackd" ] && kill "$stackd" 2>/dev/null; rm -rf "$work"' EXIT
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || fail "install: $(tail -5 "$work/install.log")"
for f in include/actorstack/stack.hpp include/actorstack/client.hpp lib/libactorstack.so.$version \
         lib/libactorstack-client.so.$version lib/cmake/actorstack/actorstackConfig.cmake \
         lib/pkgconfig/actorstack-client.pc bin/actorstack-stackd bin/actorstack-echo bin/actorstack-ctl \
         lib/libactorstack-preload.so bin/actorstack-run; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
[ "$(readlink "$prefix/lib/libactorstack.so")" = "libactorstack.so.${version%%.*}" ] || fail "no SONAME link"

# Headers: nothing from the source tree, each compiles alone.
for h in "$prefix"/include/actorstack/*.hpp; do
  name=${h#"$prefix/include/"}
  if grep -nE '^\s*#\s*include\s*"' "$h"; then fail "$name includes a quoted (project) header"; fi
  if grep -nE '^\s*#\s*include\s*<(shm|actors|dataplane|client|base|demo|tools)/' "$h"; then
    fail "$name includes a header that is not installed"
  fi
  echo "#include <$name>" | c++ -std=c++20 -fsyntax-only -Wall -Wextra -I"$prefix/include" -x c++ - \
    2>"$work/hdr.err" || fail "$name does not compile on its own: $(head -5 "$work/hdr.err")"
done
echo "headers: $(ls "$prefix"/include/actorstack/*.hpp | wc -l) installed, each self-contained"

# The client library: what an attached app loads.
needed=$(readelf -d "$prefix/lib/libactorstack-client.so" | grep NEEDED)
if grep -qE 'librte_|prometheus' <<<"$needed"; then fail "libactorstack-client needs: $needed"; fi

# The examples, built against the prefix only.
for ex in embed_echo attached_echo; do
  cmake -S "$src/examples/$ex" -B "$work/$ex" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/$ex.cfg" 2>&1 \
    || fail "$ex configure: $(tail -20 "$work/$ex.cfg")"
  cmake --build "$work/$ex" >"$work/$ex.build" 2>&1 || fail "$ex build: $(grep -m5 -E 'error|undefined' "$work/$ex.build")"
done
out=$(timeout 60 "$work/embed_echo/embed_echo") || fail "embed_echo exited non-zero: $out"
[ "$out" = "echoed: hello from my own actor system" ] || fail "embed_echo said: $out"
echo "embed_echo: $out"

sock="$work/as.sock"
"$prefix/bin/actorstack-stackd" --socket "$sock" >"$work/stackd.log" 2>&1 &
stackd=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "installed stackd did not start: $(cat "$work/stackd.log")"
out=$(timeout 60 "$work/attached_echo/attached_echo" "$sock") || fail "attached_echo exited non-zero: $out"
[ "$out" = "echoed: hello through actorstack-stackd" ] || fail "attached_echo said: $out"
echo "attached_echo (find_package): $out"

# The installed actorstack-run loads the installed preload library.
"$prefix/bin/actorstack-run" --help | grep -q -- "$prefix/lib/libactorstack-preload.so" ||
  fail "the installed actorstack-run does not use the installed preload library"
out=$(timeout 60 "$prefix/bin/actorstack-run" --attach "$sock" -- python3 -c \
  'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print("listening on the stack:", s.getsockname()[1] > 0)') \
  || fail "actorstack-run python3: $out"
[ "$out" = "listening on the stack: True" ] || fail "actorstack-run python3 said: $out"
grep -q "remote app 'python3' attached" "$work/stackd.log" || fail "the preloaded python3 never attached: $(cat "$work/stackd.log")"
echo "actorstack-run (installed): $out"

# pkg-config, as a Makefile would build the same program.
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs actorstack-client) || fail "pkg-config"
# shellcheck disable=SC2086  # the flags are a list
c++ "$src/examples/attached_echo/main.cpp" $flags -Wl,-rpath,"$prefix/lib" -o "$work/attached_pc" 2>"$work/pc.err" \
  || fail "pkg-config build: $(head -5 "$work/pc.err")"
out=$(timeout 60 "$work/attached_pc" "$sock" ct://127.0.0.1/9101) || fail "pkg-config attached_echo: $out"
echo "attached_echo (pkg-config): $out"

# A subproject: only the libraries, no tests, benchmarks or doctest.
mkdir -p "$work/outer"
cat >"$work/outer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(outer LANGUAGES CXX)
add_subdirectory("$src" actorstack)
foreach(t actorstack::stack actorstack::client)
  if(NOT TARGET \${t})
    message(FATAL_ERROR "no \${t}")
  endif()
endforeach()
foreach(t actorstack-test-shm actorstack-bench-ct actorstack-echo)
  if(TARGET \${t})
    message(FATAL_ERROR "a subproject builds \${t}")
  endif()
endforeach()
CMAKE
cmake -S "$work/outer" -B "$work/outer/build" -G Ninja >"$work/outer.log" 2>&1 || fail "subproject: $(tail -20 "$work/outer.log")"
echo PASS
