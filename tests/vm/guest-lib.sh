# shellcheck shell=sh
# Shell helpers for scheduler tests inside the VM guest (busybox sh).
# The Rust VM tests copy this to /guest-lib.sh and source it. Lines starting
# with "@" are results the host-side test parses: "@KEY VALUE...".

SCX=/sys/kernel/sched_ext

say() { echo "@$*"; }

# wait_state STATE [TENTHS]: wait until sched_ext is in STATE (default 10 s).
wait_state() {
    n=${2:-100}
    while [ "$(cat $SCX/state)" != "$1" ] && [ "$n" -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    [ "$(cat $SCX/state)" = "$1" ]
}

# start_scxtop OUT [ARGS...]: scxtop --headless in the background, commands
# through fd 3 (a FIFO), JSON lines to OUT. Sets SCXTOP_PID.
start_scxtop() {
    out=$1
    shift
    rm -f /tmp/scxtop.cmd
    mkfifo /tmp/scxtop.cmd
    scxtop --headless --interval 200ms "$@" </tmp/scxtop.cmd >"$out" 2>&1 &
    SCXTOP_PID=$!
    exec 3>/tmp/scxtop.cmd
}

# send CMD: one headless command to the scxtop started by start_scxtop.
send() { echo "$1" >&3; }

# wait_line OUT PATTERN [TENTHS]: wait until OUT has a line matching PATTERN.
wait_line() {
    n=${3:-100}
    while ! grep -q "$2" "$1" && [ "$n" -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    grep -q "$2" "$1"
}

# stop_scxtop: quit and wait for it.
stop_scxtop() {
    send quit
    exec 3>&-
    wait "$SCXTOP_PID"
}

# Monotonic-enough time in centiseconds.
now_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }

fd_count() { ls "/proc/$1/fd" | wc -l; }
