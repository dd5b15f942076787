#!/usr/bin/env bash
# The main job in one command: install what scxtop needs, build it, run it.
#
# Usage (as root): scripts/run.sh [SCXTOP ARGS...]      (default: status)
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/install-deps.sh
[[ -x $HOME/.cargo/bin/cargo ]] && export PATH=$HOME/.cargo/bin:$PATH
cargo build --release --locked --quiet
if (($# == 0)); then set -- status; fi
exec target/release/scxtop "$@"
