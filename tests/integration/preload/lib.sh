# shellcheck shell=bash
# What the preload's integration tests share (sourced by preload.sh and
# preload_kernel.sh after they set stackd_bin, run_bin, ctl_bin, work and
# sock): failing with the logs, waiting for a line or a file, running a
# program on the stack (now, or left running in the background), starting
# the daemon, and checking that it holds nothing afterwards.
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.err "$work"/*.out "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
wait_for() {  # wait_for FILE TEXT
  for _ in $(seq 400); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "no '$2' in $1"
}
wait_file() { for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done; fail "no $1"; }
field() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2" | head -1; }
on_stack() { timeout 120 "$run_bin" --attach "$sock" -- "$@"; }
background() {  # background NAME CMD...: a preloaded program left running
  local name=$1; shift
  timeout 300 "$run_bin" --attach "$sock" -- "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
}
start_stackd() {  # start_stackd [STACKD OPTIONS...]: sets $port (its inspector)
  "$stackd_bin" --socket "$sock" --inspect-port 0 "$@" >"$work/stackd.out" 2>"$work/stackd.err" &
  pids+=("$!")
  wait_for "$work/stackd.err" "serving apps on"
  port=$(sed -n 's/.*inspector on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/stackd.err")
}
nothing_left() {  # stops every program but the daemon, then waits until it holds no app, session or segment
  local s=""
  for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do
    s=$(timeout 40 "$ctl_bin" --port "$port" --timeout 30 show summary --json) || s=""
    [ "$(field sessions "$s")" = 0 ] && [ "$(field apps "$s")" = 0 ] && [ "$(field ct_segments "$s")" = 0 ] && break
    sleep 0.1
  done
  [ "$(field sessions "$s")" = 0 ] && [ "$(field apps "$s")" = 0 ] && [ "$(field ct_segments "$s")" = 0 ] ||
    fail "the daemon still holds something: $s $(timeout 40 "$ctl_bin" --port "$port" --timeout 30 show apps)"
  echo "clean: $s"
}
