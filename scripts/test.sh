#!/usr/bin/env bash
# Every test in one command: install what the tests need, build, then run the
# unit, host integration and VM tests (the VM boots real sched_ext kernels in
# qemu), and the VM harness' own self-test. .ci/run calls exactly this.
#
# Usage (as root): scripts/test.sh
set -euo pipefail

cd "$(dirname "$0")/.."
started=$SECONDS
scripts/install-deps.sh --test
[[ -x $HOME/.cargo/bin/cargo ]] && export PATH=$HOME/.cargo/bin:$PATH

log=$(mktemp)
trap 'rm -f "$log"' EXIT

cargo fmt --check
cargo build --locked --all-targets
cargo clippy --locked --all-targets --quiet -- -D warnings
# VM tests share a 2-core machine with TCG guests: two test threads at most.
cargo test --locked --lib --bins --tests -- --test-threads=2 2>&1 | tee -a "$log"
tests/vm/selftest.sh 2>&1 | tee -a "$log"

# One closing line for everything that ran.
awk '
    /^test result:/ { p += $4; f += $6 }
    /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
    END { printf "all tests (%d s): %d passed, %d failed\n", '"$((SECONDS - started))"', p, f }
' "$log" | sed 's/^all tests ([0-9]* s): /tests: /'
