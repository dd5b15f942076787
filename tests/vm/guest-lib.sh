# shellcheck shell=sh
# Shell helpers for scheduler tests inside the VM guest (busybox sh).
# The Rust VM tests copy this to /guest-lib.sh and source it. Lines starting
# with "@" are results the host-side test parses: "@KEY VALUE...".
#
# Every wait here polls a condition until a deadline (in tenths of a second).
# Deadlines only bound a failure: a passing test never waits for them, so
# they are generous (a loaded host slows the TCG guest many times over).

SCX=/sys/kernel/sched_ext

say() { echo "@$*"; }

# wait_until TENTHS CMD...: run CMD every 0.1 s until it succeeds; fails
# when it still does not after TENTHS tries.
wait_until() {
    n=$1
    shift
    until "$@"; do
        [ "$n" -gt 0 ] || return 1
        sleep 0.1
        n=$((n - 1))
    done
}

state_is() { [ "$(cat $SCX/state)" = "$1" ]; }

# wait_state STATE [TENTHS]: wait until sched_ext is in STATE (default 60 s).
wait_state() { wait_until "${2:-600}" state_is "$1"; }

# count OUT PATTERN: lines of OUT matching PATTERN.
count() {
    _c=$(grep -c -- "$2" "$1" 2>/dev/null)
    echo "${_c:-0}"
}

has_count() { [ "$(count "$1" "$2")" -ge "$3" ]; }

# wait_line OUT PATTERN [TENTHS]: wait until OUT has a line matching PATTERN.
wait_line() { wait_until "${3:-600}" has_count "$1" "$2" 1; }

# wait_count OUT PATTERN N [TENTHS]: wait until OUT has N lines matching PATTERN.
wait_count() { wait_until "${4:-600}" has_count "$1" "$2" "$3"; }

# count_after OUT MARK PATTERN: lines of OUT matching PATTERN after its first
# line matching MARK (0 until MARK is there).
count_after() {
    awk -v m="$2" -v p="$3" 'f && $0 ~ p { n++ } !f && $0 ~ m { f = 1 } END { print n + 0 }' \
        "$1" 2>/dev/null || echo 0
}

has_after() { [ "$(count_after "$1" "$2" "$3")" -ge "$4" ]; }

# wait_after OUT MARK PATTERN N [TENTHS]: wait until OUT has N lines matching
# PATTERN after its first line matching MARK.
wait_after() { wait_until "${5:-600}" has_after "$1" "$2" "$3" "$4"; }

# start_scxtop OUT [ARGS...]: scxtop --headless in the background, commands
# through fd 3 (a FIFO), JSON lines to OUT. Sets SCXTOP_PID. The refresh is
# $INTERVAL (default 200ms). SCXTOP_AS, when set, is a command prefix that
# runs it as someone else (setpriv ...).
start_scxtop() {
    out=$1
    shift
    rm -f /tmp/scxtop.cmd
    mkfifo /tmp/scxtop.cmd
    # Emptied here, not by the background shell's redirection, which may
    # come after the caller's first look at OUT.
    : >"$out"
    # shellcheck disable=SC2086 # SCXTOP_AS is a command prefix: split it
    $SCXTOP_AS scxtop --headless --interval "${INTERVAL:-200ms}" "$@" </tmp/scxtop.cmd >"$out" 2>&1 &
    SCXTOP_PID=$!
    exec 3>/tmp/scxtop.cmd
}

# send CMD: one headless command to the scxtop started by start_scxtop.
send() { echo "$1" >&3; }

# act OUT CMD [TENTHS]: send CMD and wait for its action line in OUT (the
# engine runs commands in order, so the next "action":"CMD" line is its).
act() {
    _before=$(count "$1" "\"action\":\"$2\"")
    send "$2"
    wait_count "$1" "\"action\":\"$2\"" $((_before + 1)) "${3:-600}"
}

# last_action OUT CMD: the latest action line for CMD.
last_action() { grep "\"action\":\"$2\"" "$1" | tail -n 1; }

# stop_scxtop: quit and wait for it.
stop_scxtop() {
    send quit
    exec 3>&-
    wait "$SCXTOP_PID"
}

# part NAME FILE: print FILE as the part NAME of the output (GuestRun::part).
part() {
    echo "@@part $1"
    cat "$2"
}

# Monotonic-enough time in centiseconds.
now_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }

# fd_count PID: open fds of PID, the least of five reads 0.1 s apart (a
# refresh holds files open for a moment; a leak stays).
fd_count() {
    _min=""
    for _i in 1 2 3 4 5; do
        _n=$(ls "/proc/$1/fd" | wc -l)
        if [ -z "$_min" ] || [ "$_n" -lt "$_min" ]; then _min=$_n; fi
        sleep 0.1
    done
    echo "$_min"
}

# thread_named PID COMM: the tid of PID's thread called COMM.
thread_named() {
    for _t in /proc/$1/task/*; do
        if [ "$(cat "$_t/comm" 2>/dev/null)" = "$2" ]; then
            basename "$_t"
            return 0
        fi
    done
    return 1
}
