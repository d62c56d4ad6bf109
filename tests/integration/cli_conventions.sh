#!/usr/bin/env bash
# The command-line conventions of actorstack's programs: --help lists every
# option and the exit codes and exits 0, --version names the program and
# its version, an unknown option or a bad value exits 2 and says what was
# wrong, sizes take suffixes and refuse what overflows.
#
#   cli_conventions.sh <actorstack-echo> <actorstack-stackd> <actorstack-ctl> <actorstack-run> <version> [bench...]
set -u
echo_bin=$1 stackd_bin=$2 ctl_bin=$3 run_bin=$4 version=$5
shift 5
benches=("$@")  # actorstack-bench-*: --help, --version and a bad option only (they run for minutes)
fail() { echo "FAIL: $*"; exit 1; }

expect_rc() {  # expect_rc CODE OUTFILE CMD...
  local want=$1 out=$2; shift 2
  "$@" >"$out" 2>&1; local rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, not $want: $(head -c 400 "$out")"
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

present_benches=()
for b in "${benches[@]}"; do
  if [ -x "$b" ]; then present_benches+=("$b"); else echo "not built here, skipped: $b"; fi
done
for bin in "$echo_bin" "$stackd_bin" "$ctl_bin" "$run_bin" "${present_benches[@]}"; do
  name=$(basename "$bin")
  expect_rc 0 "$tmp/help" "$bin" --help
  grep -q "^Exit codes:" "$tmp/help" || fail "$name --help lists no exit codes"
  grep -q -- "--version" "$tmp/help" || fail "$name --help does not mention --version"
  expect_rc 0 "$tmp/version" "$bin" --version
  [ "$(cat "$tmp/version")" = "$name $version" ] || fail "$name --version said '$(cat "$tmp/version")'"
  # With what each requires, so the unknown option is the only fault.
  case $name in
    actorstack-stackd) required=(--socket "$tmp/none.sock") ;;
    actorstack-ctl) required=(--port 1 show summary) ;;
    *) required=() ;;
  esac
  expect_rc 2 "$tmp/bad" "$bin" "${required[@]}" --no-such-option
  grep -q -- "--no-such-option" "$tmp/bad" || fail "$name does not name the bad option: $(cat "$tmp/bad")"
done

# Every option each program parses is in its --help.
"$echo_bin" --help >"$tmp/echo_help"
for o in --uri --clients --bytes --fifo-size --workers --verify --no-verify --json --baseline --inspect-port \
         --metrics-port --hold --role --port --ip --gateway --datagram-size --window --poll-mode --lcores --cores \
         --attach; do
  grep -q -- "$o\b" "$tmp/echo_help" || fail "actorstack-echo --help lacks $o"
done
"$stackd_bin" --help >"$tmp/stackd_help"
for o in --socket --config --inspect-port --metrics-port --workers --fifo-size; do
  grep -q -- "$o\b" "$tmp/stackd_help" || fail "actorstack-stackd --help lacks $o"
done
"$ctl_bin" show --help >"$tmp/ctl_help"
for o in --json --app --state --transport summary workers sessions listeners apps ct dataplane; do
  grep -q -- "$o" "$tmp/ctl_help" || fail "actorstack-ctl show --help lacks $o"
done

# Sizes: suffixes work (a tiny run proves 1K was taken as 1024 bytes),
# overflow and junk are refused with the reason.
out=$("$echo_bin" --bytes 1K --clients 2 --json) || fail "--bytes 1K run failed: $out"
grep -q '"bytes_total":2048,' <<<"$out" || fail "--bytes 1K is not 1024 bytes per client: $out"
expect_rc 2 "$tmp/big" "$echo_bin" --bytes 99999999999G
grep -q "too large" "$tmp/big" || fail "overflowing size: $(cat "$tmp/big")"
expect_rc 2 "$tmp/junk" "$echo_bin" --fifo-size 12Q
grep -q "unknown suffix" "$tmp/junk" || fail "bad suffix: $(cat "$tmp/junk")"
expect_rc 2 "$tmp/range" "$echo_bin" --fifo-size 8G
grep -q "out of range" "$tmp/range" || fail "fifo size past its type: $(cat "$tmp/range")"
expect_rc 2 "$tmp/zero" "$echo_bin" --clients 0
expect_rc 2 "$tmp/role" "$echo_bin" --role neither
expect_rc 2 "$tmp/nosock" "$stackd_bin"
grep -q -- "--socket" "$tmp/nosock" || fail "stackd without --socket: $(cat "$tmp/nosock")"
expect_rc 2 "$tmp/topic" "$ctl_bin" --port 1 show nonsense
expect_rc 1 "$tmp/dead" "$ctl_bin" --port 1 --timeout 2 show summary
expect_rc 1 "$tmp/nosocket" "$ctl_bin" --socket "$tmp/none.sock" --timeout 2 show summary
expect_rc 2 "$tmp/nowhere" "$ctl_bin" show summary
grep -q -- "--socket" "$tmp/nowhere" || fail "ctl without --socket or --port: $(cat "$tmp/nowhere")"
expect_rc 2 "$tmp/both" "$ctl_bin" --socket "$tmp/none.sock" --port 1 show summary
"$run_bin" --help >"$tmp/run_help"
for o in --attach --kernel-fallback --preload PROGRAM; do
  grep -q -- "$o" "$tmp/run_help" || fail "actorstack-run --help lacks $o"
done
expect_rc 2 "$tmp/noprog" "$run_bin" --attach "$tmp/none.sock"
grep -q "no program" "$tmp/noprog" || fail "actorstack-run without a program: $(cat "$tmp/noprog")"
expect_rc 2 "$tmp/badfifo" "$run_bin" --attach "$tmp/none.sock" --fifo-size 12Q -- true
grep -q "unknown suffix" "$tmp/badfifo" || fail "actorstack-run --fifo-size 12Q: $(cat "$tmp/badfifo")"
expect_rc 1 "$tmp/nostack" "$run_bin" --attach "$tmp/none.sock" -- true
grep -q "no stack at" "$tmp/nostack" || fail "actorstack-run without a stack: $(cat "$tmp/nostack")"
echo PASS
