#!/usr/bin/env bash
# End-to-end test of the VM harness: boots every kernel series offered and checks
# what run.sh and fetch-kernel.sh promise. One "ok - ..." / "not ok - ..." line
# per check, then "N passed, M failed"; exits non-zero if any check failed.
# Takes about a minute and a half (each VM boots in ~4 s under TCG).
#
# Usage: tests/vm/selftest.sh
# shellcheck disable=SC2016 # $... in single quotes is for the guest's shell
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$HERE/run.sh
FETCH=$HERE/fetch-kernel.sh

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { # DESCRIPTION [DETAIL-FILE...]
    echo "not ok - $1"
    shift
    local f
    for f in "$@"; do [[ ! -s $f ]] || sed 's/^/#   /' "$f" | tail -n 20; done
    failed=$((failed + 1))
}

work=$(mktemp -d "${TMPDIR:-/tmp}/scxtop-vm-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS

"$HERE/install-deps.sh"

# vm NAME [run.sh args...]: run a VM the way CI does (no stdin, stdout a file);
# sets $rc and leaves NAME.out / NAME.err in $work.
vm() {
    local name=$1
    shift
    rc=0
    "$RUN" --timeout 180 "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err" || rc=$?
    boot=$(sed -n 's/^vm: booted in \(.*\)$/\1/p' "$work/$name.err")
}

# a. Every series boots and has sched_ext, disabled (no scheduler loaded).
mapfile -t series < <("$RUN" --list-kernels)
if ((${#series[@]} > 0)); then ok "run.sh --list-kernels offers: ${series[*]}"; else not_ok "run.sh --list-kernels lists nothing"; fi
for s in "${series[@]}"; do
    vm "sched_ext-$s" --kernel "$s" --no-scxtop -- 'test -d /sys/kernel/sched_ext && cat /sys/kernel/sched_ext/state'
    if [[ $rc == 0 && $(cat "$work/sched_ext-$s.out") == disabled ]]; then
        ok "kernel $s: /sys/kernel/sched_ext/state is 'disabled' (booted in ${boot:-?})"
    else
        not_ok "kernel $s: sched_ext state check (exit $rc)" "$work/sched_ext-$s.out" "$work/sched_ext-$s.err"
    fi
done

# b. The guest's exit status comes back.
vm exit7 --no-scxtop -- 'exit 7'
if [[ $rc == 7 ]]; then ok "run.sh -- 'exit 7' exits 7"; else not_ok "run.sh -- 'exit 7' exited $rc" "$work/exit7.err"; fi
vm true --no-scxtop -- true
if [[ $rc == 0 ]]; then ok "run.sh -- true exits 0"; else not_ok "run.sh -- true exited $rc" "$work/true.err"; fi

# c. A command that never ends is killed at the timeout, leaving no qemu and no
# temp dir behind (a TMPDIR of its own lets us find both).
mkdir "$work/tmp"
t0=$SECONDS rc=0
TMPDIR=$work/tmp "$RUN" --no-scxtop --timeout 20 -- 'sleep 1000' </dev/null >"$work/timeout.out" 2>"$work/timeout.err" || rc=$?
took=$((SECONDS - t0))
if [[ $rc == 124 ]] && ((took <= 40)) && grep -q '^vm: timed out after 20s (guest hung?); killed qemu$' "$work/timeout.err"; then
    ok "run.sh --timeout 20 -- 'sleep 1000' exits 124 after ${took}s with the timeout message"
else
    not_ok "timeout: exit $rc after ${took}s" "$work/timeout.err"
fi
sleep 0.5
left=$(grep -las -- "$work/tmp/" /proc/[0-9]*/cmdline || true)
if [[ -z $left && -z $(ls -A "$work/tmp") ]]; then
    ok "no qemu process and no temp dir left after the timeout"
else
    not_ok "left behind after the timeout: processes ${left:-none}; files: $(ls -A "$work/tmp")"
fi

# d. A second fetch of the default kernel uses the cache: no download, the same
# file (inode and mtime), and no network either (the index is < 12 h old).
default=${series[0]}
k1=$("$FETCH" "$default" 2>"$work/fetch1.err" | tail -n1)
id1=$(stat -c '%i %Y' "$k1")
k2=$(http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 "$FETCH" "$default" 2>"$work/fetch2.err" | tail -n1) || true
id2=$(stat -c '%i %Y' "$k2" 2>/dev/null || true)
if [[ $k1 == "$k2" && $id1 == "$id2" ]] && grep -q "^kernel $default: using cached " "$work/fetch2.err" &&
    ! grep -qE 'downloading|refreshing|warning' "$work/fetch2.err"; then
    ok "second fetch-kernel.sh $default: $(sed -n "s/^kernel $default: //p" "$work/fetch2.err"), no download"
else
    not_ok "second fetch-kernel.sh $default did not just use the cache" "$work/fetch2.err"
fi

# e. --bin brings dynamically linked host binaries with their libraries; the
# originals are left alone (only the guest's copies are stripped).
sum=$(sha256sum /usr/bin/gpgv /usr/bin/env)
vm bin --no-scxtop --bin /usr/bin/env --bin gpgv -- 'command -v env; env --version | head -n1; gpgv --version | head -n1'
want=$(printf '%s\n' /usr/local/bin/env "$(env --version | head -n1)" "$(gpgv --version | head -n1)")
if [[ $rc == 0 && $(cat "$work/bin.out") == "$want" && $(sha256sum /usr/bin/gpgv /usr/bin/env) == "$sum" ]]; then
    ok "--bin /usr/bin/env --bin gpgv run in the guest with their shared libraries"
else
    not_ok "--bin (exit $rc)" "$work/bin.out" "$work/bin.err"
fi

# f. ARGS (appended to CMD as quoted words), --env and --file arrive intact
# (a SRC with ':/' in it, a DEST with ':'); CMD has a 120x40 tty; its output
# reaches a pipe byte for byte, even a last line without newline.
mkdir -p "$work/files/d" "$work/files/c:"
echo "file content" >"$work/files/f"
echo "in a dir" >"$work/files/d/x"
echo "colons" >"$work/files/c:/d"
rc=0
out=$("$RUN" --no-scxtop --timeout 180 --env "GREETING=it's \$HOME" --file "$work/files/f:/etc/f" --file "$work/files/d:/opt/d" \
    --file "$work/files/c:/d:/etc/c:d" \
    -- 'printf "[%s]\n" "$GREETING"; cat /etc/f /opt/d/x /etc/c:d; stty size; tty; printf "%s|"' \
    '' 'a b' "c'd" '$x' </dev/null 2>"$work/misc.err" | cat) || rc=$?
want="[it's \$HOME]
file content
in a dir
colons
40 120
/dev/ttyS1
|a b|c'd|\$x|"
if [[ $rc == 0 && $out == "$want" ]]; then
    ok "ARGS quoting, --env, --file, a 120x40 tty and a last line without newline come through"
else
    echo "$out" >"$work/misc.out"
    not_ok "ARGS/--env/--file/tty (exit $rc)" "$work/misc.out" "$work/misc.err"
fi

# g. A --file that is not SRC:DEST with an absolute DEST, or whose SRC (up to
# the last ':/') does not exist, is refused before any boot: exit 2 and one line.
for bad in "$work/files/f" "$work/files/f:etc/f" "$work/files/f:/x:/etc/f"; do
    rc=0
    "$RUN" --no-scxtop --file "$bad" -- true </dev/null >"$work/badfile.out" 2>"$work/badfile.err" || rc=$?
    if [[ $rc == 2 && $(wc -l <"$work/badfile.err") == 1 ]] && grep -q "^vm: --file '" "$work/badfile.err"; then
        ok "--file '${bad#"$work/"}' refused: $(sed "s|$work/||g" "$work/badfile.err")"
    else
        not_ok "--file '${bad#"$work/"}' (exit $rc)" "$work/badfile.err"
    fi
done

echo "# selftest took $((SECONDS - start))s"
echo "$passed passed, $failed failed"
((failed == 0))
