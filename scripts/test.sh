#!/usr/bin/env bash
# Every test in one command: install what the tests need, build, then run the
# unit, host integration and VM tests (the VM boots real sched_ext kernels in
# qemu), and the VM harness' own self-test. .ci/run calls exactly this.
#
# Usage: sudo scripts/test.sh
set -euo pipefail

cd "$(dirname "$0")/.."
started=$SECONDS
scripts/install-deps.sh --test
[[ -x $HOME/.cargo/bin/cargo ]] && export PATH=$HOME/.cargo/bin:$PATH

cargo build --locked --all-targets
cargo clippy --locked --all-targets --quiet -- -D warnings
# VM tests share a 2-core machine with TCG guests: run test binaries' tests
# two at a time so guests do not starve each other into timeouts.
cargo test --locked --all-targets -- --test-threads=2
tests/vm/selftest.sh

echo "scripts/test.sh: all tests passed in $((SECONDS - started))s"
