#!/usr/bin/env bash
# Every test in one command: install what the tests need, build, then run the
# unit, host integration and VM tests (the VM boots real sched_ext kernels in
# qemu), and the VM harness' own self-test. .ci/run calls exactly this.
#
# Usage (as root): scripts/test.sh [--under-load]
#   --under-load   run the tests (not the build) with a busy loop at nice 19
#                  on every CPU, as a benchmark would load the machine; the
#                  loops end with the script, however it ends.
set -euo pipefail

cd "$(dirname "$0")/.."
started=$SECONDS
under_load=0
case ${1:-} in
--under-load) under_load=1 ;;
"") ;;
*) echo "test.sh: unknown option '$1' (the only one is --under-load)" >&2; exit 2 ;;
esac
scripts/install-deps.sh --test
[[ -x $HOME/.cargo/bin/cargo ]] && export PATH=$HOME/.cargo/bin:$PATH

log=$(mktemp)
hogs=()
cleanup() {
    ((${#hogs[@]} == 0)) || kill "${hogs[@]}" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

cargo fmt --check
cargo build --locked --all-targets
cargo clippy --locked --all-targets --quiet -- -D warnings

if ((under_load)); then
    for _ in $(seq "$(nproc)"); do
        nice -n 19 sh -c 'while :; do :; done' &
        hogs+=($!)
    done
    echo "test.sh: under load: ${#hogs[@]} busy loops at nice 19 (pids ${hogs[*]})" | tee -a "$log"
fi

# VM tests share a 2-core machine with TCG guests: two test threads at most.
status=0
cargo test --locked --no-fail-fast --lib --bins --tests -- --test-threads=2 2>&1 | tee -a "$log" || status=1
tests/vm/selftest.sh 2>&1 | tee -a "$log" || status=1

# One closing line for everything that ran.
awk '
    /^test result:/ { p += $4; f += $6 }
    /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
    END { printf "tests: %d passed, %d failed (%d s)\n", p, f, '"$((SECONDS - started))"' }
' "$log"
exit "$status"
