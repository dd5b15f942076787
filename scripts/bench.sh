#!/usr/bin/env bash
# Runs a benchmark after installing what it needs, as root (or with sudo).
#
# Usage: scripts/bench.sh [probes|tui|sched_vm] [ARGS...]   (default: probes)
#   ARGS go to the bench, e.g.
#   scripts/bench.sh probes --rounds 20 pipe messaging
#   scripts/bench.sh sched_vm 5
#
# The probes bench sets scxtop beside the tools a user would run instead
# (`perf sched record`, a runqlat-style bpftrace script); both come from
# Debian's packages and are installed here when missing. Run directly, the
# bench skips an arm whose tool is missing and says so.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/apt-lib.sh
source scripts/apt-lib.sh

bench=probes
case ${1:-} in
probes | tui | sched_vm) bench=$1; shift ;;
-h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

scripts/install-deps.sh
[[ -x $HOME/.cargo/bin/cargo ]] && export PATH=$HOME/.cargo/bin:$PATH

# What each bench needs beyond the build:
#   probes    linux-perf (perf sched record), bpftrace (the runqlat script)
#   tui       tmux (the live view runs in a tmux pane)
#   sched_vm  the VM harness' packages (qemu and the rest)
case $bench in
probes) apt_install linux-perf bpftrace ;;
tui) command -v tmux >/dev/null || apt_install tmux ;;
sched_vm) tests/vm/install-deps.sh ;;
esac

# Every bench reads and loads BPF or boots the VM as root: sudo keeps the
# user's cargo on PATH only when told to.
if ((EUID != 0)); then
    exec sudo env "PATH=$PATH" cargo bench --locked --bench "$bench" -- "$@"
fi
exec cargo bench --locked --bench "$bench" -- "$@"
