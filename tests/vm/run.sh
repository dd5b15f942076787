#!/usr/bin/env bash
# Run a command as root inside a throw-away QEMU VM (TCG) booting a Debian
# kernel with sched_ext, and exit with the command's exit status.
#
# Usage: tests/vm/run.sh [OPTIONS] -- CMD [ARGS...]
#        tests/vm/run.sh --list-kernels
#
# CMD is shell text run by the guest's `sh -c` (so 'a && b' works); each ARG
# is appended as one literally quoted word: `run.sh -- echo 'a b'` prints "a b".
# CMD's stdout and stderr (the guest's second serial port, a tty of 120x40
# with TERM=linux) stream to this script's stdout as they come; the kernel log
# (first serial port) is kept apart and shown only with --verbose or on a crash.
#
# Options:
#   --kernel SERIES   kernel series to boot (default: first of --list-kernels)
#   --list-kernels    print the series offered, one per line, and exit
#   --timeout SECS    kill the VM after SECS (default $SCXTOP_VM_TIMEOUT or 600)
#   --bin PATH        put an executable (or a command name on PATH) in the guest's
#                     /usr/local/bin, with its shared libraries; repeatable
#   --no-scxtop       do not add the scxtop build (see below)
#   --file SRC:DEST   copy a file or directory to the absolute guest path DEST
#                     (DEST ending in / means into that directory); repeatable.
#                     SRC:DEST splits at the last ':/' (DEST keeps the '/'):
#                     SRC may hold any colon, DEST ':' but not ':/'
#   --env K=V         export K=V in CMD's environment; repeatable
#   --mem SIZE        guest memory (default 2G)      --cpus N   vCPUs (default 2)
#   --append ARGS     extra kernel command line
#   --verbose, -v     stream the kernel log to stderr (also SCXTOP_VM_VERBOSE=1)
#   --interactive     connect this terminal to CMD's tty (keys in, screen out),
#                     sized like this terminal: run `scxtop` in the VM by hand,
#                     or drive it from tmux. Needs a terminal on stdin/stdout.
#   --side FILE       write the guest's third serial port (/dev/ttyS2, a side
#                     channel for CMD next to its tty) to FILE on the host
# By default the guest also gets scxtop: $SCXTOP_BIN if set, else the newer of
# target/debug/scxtop and target/release/scxtop (under $CARGO_TARGET_DIR if set).
#
# Guest: busybox applets, /bin/sh is the host's dash (a plain POSIX shell),
# PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin, HOME=/root (the cwd),
# TERM=linux, SCXTOP_VM=1; proc, sysfs, devtmpfs, devpts, tmpfs (/tmp, /run,
# /dev/shm), tracefs, debugfs, bpffs and cgroup2 are mounted. CMD only runs if
# /sys/kernel/sched_ext exists. No network, no disk: the root is the initramfs.
#
# Exit status: CMD's; 2 on a bad option; 124 on timeout; 125 when the VM could
# not run CMD (boot failure, kernel panic, no sched_ext, bad setup). Stdin is
# read only with --interactive.
# Stderr gets "vm: ..." progress lines, e.g. "vm: booted in 4.2s".
# SCXTOP_VM_KEEP=1 keeps the run's temp dir (initramfs, console.log) for debugging.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

die() { echo "vm: $*" >&2; exit 125; }
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

series=$("$HERE/fetch-kernel.sh" --list | head -n1)
timeout=${SCXTOP_VM_TIMEOUT:-600}
mem=2G
cpus=2
append=""
verbose=${SCXTOP_VM_VERBOSE:-0}
with_scxtop=1
bins=() file_srcs=() file_dests=() envs=()
interactive=0 side=""

# DEST is absolute, so it starts at a ':/'. The last one: SRC is a host path
# the caller may not choose (a build or temp dir), DEST one it writes itself.
add_file() { # SRC:DEST
    local src=${1%:/*}
    if [[ $1 != *:/* ]]; then
        echo "vm: --file '$1': want SRC:DEST with DEST an absolute guest path, e.g. ./x:/root/x" >&2
        exit 2
    fi
    if [[ -z $src || ! -e $src ]]; then
        echo "vm: --file '$1': SRC '$src' does not exist (SRC:DEST splits at the last ':/')" >&2
        exit 2
    fi
    file_srcs+=("$src")
    file_dests+=("${1:${#src}+1}")
}
need_arg() { (($# >= 2)) || { echo "vm: $1 needs an argument" >&2; exit 2; }; }
while (($#)); do
    case $1 in
    --kernel) need_arg "$@"; series=$2; shift ;;
    --list-kernels) exec "$HERE/fetch-kernel.sh" --list ;;
    --timeout) need_arg "$@"; timeout=$2; shift ;;
    --bin) need_arg "$@"; bins+=("$2"); shift ;;
    --no-scxtop) with_scxtop=0 ;;
    --file) need_arg "$@"; add_file "$2"; shift ;;
    --env) need_arg "$@"; envs+=("$2"); shift ;;
    --mem) need_arg "$@"; mem=$2; shift ;;
    --cpus) need_arg "$@"; cpus=$2; shift ;;
    --append) need_arg "$@"; append+=" $2"; shift ;;
    -v | --verbose) verbose=1 ;;
    --interactive) interactive=1 ;;
    --side) need_arg "$@"; side=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "vm: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
(($#)) || { echo "vm: no command given: run.sh [OPTIONS] -- CMD [ARGS...]" >&2; exit 2; }
[[ $timeout =~ ^[1-9][0-9]*$ ]] || { echo "vm: --timeout wants a positive number of seconds" >&2; exit 2; }
"$HERE/fetch-kernel.sh" --list | grep -qxF -- "$series" ||
    { echo "vm: unknown kernel series '$series' (offered: $("$HERE/fetch-kernel.sh" --list | paste -sd' '))" >&2; exit 2; }
if [[ $verbose == 0 || -z $verbose ]]; then verbose=0; else verbose=1; fi

for tool in qemu-system-x86_64 cpio strip setpriv; do
    command -v "$tool" >/dev/null || die "$tool not found; run tests/vm/install-deps.sh"
done
BUSYBOX=/bin/busybox
if [[ ! -x $BUSYBOX ]] || ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "a static $BUSYBOX is needed (package busybox-static); run tests/vm/install-deps.sh"
fi

vmlinuz=$("$HERE/fetch-kernel.sh" "$series" | tail -n1)
[[ -f $vmlinuz ]] || die "no kernel for series $series"

# Everything of this run lives in $tmp, removed on any exit, and qemu dies with us.
# A run killed with SIGKILL cannot clean up: remove such leftovers (their
# owner's pid is gone) first.
for d in "${TMPDIR:-/tmp}"/scxtop-vm.*/; do
    if [[ -f $d/pid ]] && ! kill -0 "$(cat "$d/pid")" 2>/dev/null; then rm -rf "$d"; fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scxtop-vm.XXXXXX")
echo $$ >"$tmp/pid"
qemu_pid="" klog_pid=""
# shellcheck disable=SC2317 # (only called from the trap)
cleanup() {
    if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill -KILL "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    if [[ -n $klog_pid ]]; then kill "$klog_pid" 2>/dev/null || true; fi
    if [[ ${SCXTOP_VM_KEEP:-0} == 1 ]]; then echo "vm: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE # our reader went away

# --- the initramfs -----------------------------------------------------------
stage=$tmp/root
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc/vm,proc,sys,dev,tmp,run,root}
cp "$BUSYBOX" "$stage/bin/busybox"
echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
echo 'root:x:0:' >"$stage/etc/group"

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # quote one word for sh
extra_libdirs=""

# Copy an executable to DEST in the guest with the shared libraries ldd reports,
# at the same paths. Debug info is stripped from the copy.
copy_exe() { # SRC DEST
    local src=$1 dst=$stage$2 lib dir
    strip --strip-debug -o "$dst" "$src" 2>/dev/null || cp -- "$src" "$dst"
    chmod 755 "$dst"
    while read -r lib; do
        [[ -e $stage$lib ]] && continue
        mkdir -p "$stage$(dirname "$lib")"
        cp -L -- "$lib" "$stage$lib"
        dir=$(dirname "$lib")
        case $dir in
        /lib | /lib64 | /usr/lib | /lib/x86_64-linux-gnu | /usr/lib/x86_64-linux-gnu) ;;
        *) [[ :$extra_libdirs: == *:$dir:* ]] || extra_libdirs+=:$dir ;;
        esac
    done < <(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}
add_bin() { # PATH-or-command-name: into /usr/local/bin
    local src=$1
    [[ $src == */* ]] || src=$(command -v -- "$src") || die "--bin: '$1' not found"
    [[ -f $src && -x $src ]] || die "--bin: '$1' is not an executable file"
    copy_exe "$src" "/usr/local/bin/$(basename "$src")"
}

# CMD's /bin/sh is the host's dash when there is one: busybox's sh runs its own
# applets before searching PATH, which would shadow a --bin named like one
# (env, timeout, ...). Everything else stays busybox.
if [[ -x /bin/dash ]]; then copy_exe /bin/dash /bin/sh; fi

if ((with_scxtop)); then
    if [[ -n ${SCXTOP_BIN:-} ]]; then
        [[ -x $SCXTOP_BIN ]] || die "SCXTOP_BIN=$SCXTOP_BIN is not an executable"
        bins=("$SCXTOP_BIN" "${bins[@]}")
    else
        target=${CARGO_TARGET_DIR:-$ROOT/target}
        newest=""
        for b in "$target/debug/scxtop" "$target/release/scxtop"; do
            if [[ -x $b && (-z $newest || $b -nt $newest) ]]; then newest=$b; fi
        done
        [[ -z $newest ]] || bins=("$newest" "${bins[@]}")
    fi
fi
for b in ${bins[@]+"${bins[@]}"}; do add_bin "$b"; done

for i in "${!file_srcs[@]}"; do
    src=${file_srcs[i]} dest=${file_dests[i]}
    if [[ $dest == */ ]]; then
        mkdir -p "$stage$dest"
    else
        mkdir -p "$stage$(dirname "$dest")"
    fi
    cp -a -- "$src" "$stage$dest"
done

{
    [[ -z $extra_libdirs ]] || echo "export LD_LIBRARY_PATH=$(q "${extra_libdirs#:}")"
    for kv in ${envs[@]+"${envs[@]}"}; do
        [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env wants K=V, got '$kv'"
        echo "export ${kv%%=*}=$(q "${kv#*=}")"
    done
} >"$stage/etc/vm/env"

# CMD as shell text, then each ARG as one quoted word.
{
    printf '%s' "$1"
    shift
    for a in "$@"; do printf ' %s' "$(q "$a")"; done
    echo
} >"$stage/etc/vm/cmd"

# Markers the host looks for on the guest's output port; the random token
# keeps CMD's own output from faking them.
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
READY="@@scxtop-vm-ready-$token@@"
EXIT="@@scxtop-vm-exit-$token:"

# The guest tty: 120x40 and raw LF for the pipe reader; interactive runs get
# this terminal's size and CR LF line ends like any terminal.
rows=40 cols=120 onlcr=-onlcr ready_to=""
if ((interactive)); then
    [[ -t 0 && -t 1 ]] || die "--interactive needs a terminal on stdin and stdout"
    read -r rows cols < <(stty size)
    onlcr=onlcr ready_to=">/dev/ttyS2"
fi

cat >"$stage/init" <<EOF
#!/bin/busybox sh
# PID 1 of the test VM, generated by tests/vm/run.sh.
/bin/busybox --install -s
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=linux SCXTOP_VM=1

fail() { # setup failed: say why and report status 125 without running CMD
    echo "\$*"
    echo "${EXIT}125@@"
    stty -onlcr 2>/dev/null # waits for the tty to drain
    poweroff -f
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# From here on, everything goes to the host's reader on the second serial port.
exec </dev/ttyS1 >/dev/ttyS1 2>&1
# A serial tty reports a 0x0 size; give TUIs a real one. No CR before LF, so
# CMD's output reaches the host byte for byte.
stty rows $rows cols $cols $onlcr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts || fail "cannot mount devpts"
for d in /dev/shm /tmp /run; do mount -t tmpfs tmpfs \$d || fail "cannot mount tmpfs on \$d"; done
mount -t tracefs tracefs /sys/kernel/tracing || fail "cannot mount tracefs"
mount -t debugfs debugfs /sys/kernel/debug || fail "cannot mount debugfs"
mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs"
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true
ip link set lo up 2>/dev/null || true
hostname scxtop-vm
[ -d /sys/kernel/sched_ext ] ||
    fail "kernel \$(uname -r) has no sched_ext (/sys/kernel/sched_ext is missing); not running CMD"

. /etc/vm/env
cd /root
echo "$READY" $ready_to
# CMD gets a session of its own with the serial tty as controlling terminal,
# like a login. When that session's leader exits, the kernel hangs the tty up,
# dropping output not yet sent: so the leader drains the tty first (stty sets
# its modes with TCSADRAIN), and init opens the tty anew afterwards.
setsid -c /bin/sh -c '/bin/sh -c "\$(cat /etc/vm/cmd)"; s=\$?; stty -onlcr; exit \$s'
status=\$?
exec </dev/ttyS1 >/dev/ttyS1 2>&1
echo "$EXIT\$status@@" >/dev/ttyS2
echo "$EXIT\$status@@"
stty -onlcr
poweroff -f
EOF
chmod 755 "$stage/init"

initrd=$tmp/initramfs.cpio
(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$initrd"

# --- boot --------------------------------------------------------------------
cmdline="console=ttyS0 panic=-1 rdinit=/init"
((verbose)) || cmdline+=" quiet loglevel=1"
qemu=(
    # Single-threaded TCG: under multi-threaded TCG with several vCPUs the
    # guest can oops with int3 in __schedule when sched_ext flips its static
    # keys at enable or disable; thread=single does not.
    qemu-system-x86_64 -accel "tcg,thread=single" -cpu max -smp "$cpus" -m "$mem"
    -nodefaults -no-user-config -display none -no-reboot
    -kernel "$vmlinuz" -initrd "$initrd" -append "$cmdline$append"
    -serial "file:$tmp/console.log" # ttyS0: firmware and kernel log
)
if ((interactive)); then
    # ttyS1 on this terminal; qemu puts it in raw mode and passes Ctrl-C on.
    qemu+=(-chardev stdio,id=con,signal=off -serial chardev:con)
else
    qemu+=(-serial stdio) # ttyS1: the guest's init and CMD, read below
fi
side=${side:-$tmp/side.log}
qemu+=(-serial "file:$side") # ttyS2: the side channel (and CMD's exit status)
: >"$tmp/console.log"
if ((verbose)); then
    echo "vm: ${qemu[*]}" >&2
fi
usecs() { echo "${EPOCHREALTIME//[!0-9]/}"; } # microseconds, whatever the locale's decimal point
elapsed() { local t=$((($(usecs) - start) / 100000)); echo "$((t / 10)).$((t % 10))"; }
start=$(usecs)
crash_report() {
    grep -a -m5 -E 'Kernel panic|Oops:|BUG:|WARNING:' "$tmp/console.log" | tr -d '\r' | sed 's/^/vm: kernel: /' >&2 || true
    echo "vm: last kernel messages:" >&2
    tail -n 25 "$tmp/console.log" | tr -d '\r' | sed 's/^/vm:   /' >&2
    [[ ! -s $tmp/qemu.err ]] || sed 's/^/vm: qemu: /' "$tmp/qemu.err" >&2
}

if ((interactive)); then
    saved_tty=$(stty -g)
    set +e
    timeout --foreground -s KILL "$timeout" setpriv --pdeathsig KILL "${qemu[@]}" 2>"$tmp/qemu.err"
    qstatus=$?
    set -e
    stty "$saved_tty" # qemu killed by the timeout cannot restore it
    if ((qstatus == 137)); then
        echo "vm: timed out after ${timeout}s (guest hung?); killed qemu" >&2
        exit 124
    fi
    status=$(grep -ao "$EXIT[0-9]*@@" "$side" | tail -n1 || true)
    status=${status#"$EXIT"}
    status=${status%@@}
    if [[ -z $status ]]; then
        echo "vm: qemu exited without reporting CMD's exit status (kernel panic? init crash?)" >&2
        crash_report
        exit 125
    fi
    exit "$status"
fi

# qemu writes ttyS1 to a pipe we read; --pdeathsig kills it should this script die.
exec {vm}< <(exec setpriv --pdeathsig KILL "${qemu[@]}" </dev/null 2>"$tmp/qemu.err")
qemu_pid=$!
if ((verbose)); then
    tail -n +1 -f --pid="$qemu_pid" "$tmp/console.log" >&2 &
    klog_pid=$!
fi


deadline=$((start + timeout * 1000000)) # in microseconds
booted=0 status="" line="" timed_out=0
while :; do
    left=$((deadline - $(usecs)))
    if ((left <= 0)); then timed_out=1; break; fi
    if IFS= read -r -t "$((left / 1000000)).$(printf %06d $((left % 1000000)))" -u "$vm" line; then
        if [[ $line == *"$EXIT"* ]]; then
            status=${line##*"$EXIT"}
            status=${status%%@@*}
            line=${line%%"$EXIT"*}
            if ((booted)); then printf '%s' "$line"; fi # CMD's last line had no newline
            break
        elif ((booted)); then
            printf '%s\n' "$line"
        elif [[ $line == *"$READY"* ]]; then
            booted=1
            echo "vm: booted in $(elapsed)s" >&2
        else
            echo "$line" >>"$tmp/setup.log"
            if ((verbose)); then echo "$line" >&2; fi
        fi
    else
        if (($? > 128)); then timed_out=1; break; fi
        if ((booted)); then printf '%s' "$line"; fi
        break # EOF: qemu is gone
    fi
done

if ((timed_out)); then
    echo "vm: timed out after ${timeout}s (guest hung?); killed qemu" >&2
    exit 124 # cleanup kills qemu
fi
# Let the guest power off (milliseconds), reading what is left; kill it if it dawdles.
end=$(($(usecs) + 10000000))
while (($(usecs) < end)) && IFS= read -r -t 1 -u "$vm" _; do :; done || true
if ((verbose)); then echo "vm: done after $(elapsed)s" >&2; fi

if [[ -z $status ]]; then
    echo "vm: qemu exited without reporting CMD's exit status (kernel panic? init crash?)" >&2
    [[ ! -s $tmp/setup.log ]] || sed 's/^/vm: guest: /' "$tmp/setup.log" >&2
    crash_report
    exit 125
fi
if ((!booted)); then
    sed 's/^/vm: guest: /' "$tmp/setup.log" >&2 || true
    echo "vm: the guest failed before running CMD (status $status)" >&2
    exit 125
fi
[[ $status =~ ^[0-9]+$ ]] || die "bad exit status from the guest: '$status'"
exit "$status"
