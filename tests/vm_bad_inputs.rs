//! Bad scheduler inputs on real sched_ext kernels (VM): each gives its one
//! line that says what to do, nothing wrong reaches the kernel, and scxtop
//! keeps running its interval. One boot per kernel series covers them all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

/// Every case runs scxtop driven by what it printed, not by a clock: wait for
/// its start-up attach result, then for two snapshots after it, then quit.
const SCRIPT: &str = r#"
CC=/proc/sys/net/ipv4/tcp_available_congestion_control
ATTACH='"action":"attach"'

# begin_case LABEL [ARGS...]: scxtop --headless ARGS until its attach result
# and two snapshots after it are out.
begin_case() {
    label=$1
    shift
    start_scxtop "/tmp/$label.out" "$@"
    wait_line "/tmp/$label.out" "$ATTACH" || say "${label}_timeout" attach
    wait_after "/tmp/$label.out" "$ATTACH" '"sched"' 2 || say "${label}_timeout" snapshots
}

# end_case LABEL: quit, and report the exit status, the attach line and the
# snapshots after it.
end_case() {
    stop_scxtop
    say "${1}_rc" $?
    say "${1}_line" "$(grep "$ATTACH" "/tmp/$1.out" | head -n 1)"
    say "${1}_snapshots" "$(count_after "/tmp/$1.out" "$ATTACH" '"sched"')"
    say "${1}_events" "$(grep -c '"event":"exit"' "/tmp/$1.out")"
}

case_of() { begin_case "$@"; end_case "$1"; }

echo not a bpf object > /tmp/text.bpf.o
case_of missing --scheduler /nonexistent.bpf.o
case_of notelf --scheduler /tmp/text.bpf.o
case_of noops --scheduler /fixtures/no_ops.bpf.o

# A TCP congestion control: it must not be registered even for a moment.
# Had scxtop attached it, it would notice sched_ext is not running within a
# refresh and drop it again, so a reader watches the list all along.
rm -f /tmp/cc_seen /tmp/cc_reads /tmp/cc_stop
(
    n=0
    until [ -e /tmp/cc_stop ]; do
        read -r l <"$CC"
        n=$((n + 1))
        case " $l " in *" scxtop_cc "*) echo "$l" >/tmp/cc_seen ;; esac
    done
    echo "$n" >/tmp/cc_reads
) &
WATCH=$!
say tcp_seq_before "$(cat $SCX/enable_seq)"
begin_case tcp --scheduler /fixtures/tcp_cc.bpf.o
say tcp_cc_list "$(cat $CC)"
say tcp_state "$(cat $SCX/state)"
say tcp_seq_after "$(cat $SCX/enable_seq)"
end_case tcp
touch /tmp/cc_stop
wait $WATCH
say tcp_cc_seen "$(cat /tmp/cc_seen 2>/dev/null || echo never)"
say tcp_cc_reads "$(cat /tmp/cc_reads)"

case_of verifier --scheduler /fixtures/reject.bpf.o
case_of maybe_null --scheduler /fixtures/maybe_null.bpf.o
case_of kfunc_deny --scheduler /fixtures/kfunc_deny.bpf.o

SCXTOP_AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
case_of nonroot
SCXTOP_AS=

scxtop --headless --interval 1s >/dev/null &
P=$!
wait_state enabled
case_of busy
kill $P
wait $P
say term_rc $?
say state_after_term "$(cat $SCX/state)"
"#;

/// The checks of one kernel's run.
struct Checks<'a> {
    series: &'a str,
    run: &'a GuestRun,
}

impl Checks<'_> {
    /// The case's start-up attach line, after checking the case ran its
    /// course: no deadline hit, exit status 0, two snapshots after the
    /// attach result, and the attach refused.
    fn failed_attach(&self, label: &str) -> serde_json::Value {
        let (series, run) = (self.series, self.run);
        assert!(
            run.all(&format!("{label}_timeout")).is_empty(),
            "kernel {series}, {label}: a wait ran out: {run}"
        );
        assert_eq!(
            run.get(&format!("{label}_rc")),
            "0",
            "kernel {series}, {label}: {run}"
        );
        assert!(
            run.num(&format!("{label}_snapshots")) >= 2.0,
            "kernel {series}, {label}: {run}"
        );
        let line: serde_json::Value = serde_json::from_str(&run.get(&format!("{label}_line")))
            .unwrap_or_else(|e| panic!("kernel {series}, {label}: {e}: {run}"));
        assert_eq!(line["ok"], false, "kernel {series}, {label}: {line}");
        line
    }

    fn message(&self, label: &str) -> String {
        self.failed_attach(label)["message"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A verifier rejection: the message holds the verifier's own error line
    /// and the instruction, and not the 7.3 explanation; the `log` field has
    /// the whole log with `log_error_line` pointing at that line.
    fn verifier(&self, label: &str, object: &str, error: &str, insn: &str) {
        let series = self.series;
        let line = self.failed_attach(label);
        let m = line["message"].as_str().unwrap();
        assert!(
            m.contains(&format!("the verifier rejected /fixtures/{object}")),
            "kernel {series}, {label}: {m}"
        );
        assert!(
            m.contains(&format!(": {error} (at insn ")),
            "kernel {series}, {label}: the verifier's error line {error:?} is not in: {m}"
        );
        assert!(
            m.contains(insn),
            "kernel {series}, {label}: no {insn:?} in {m}"
        );
        for noise in [
            "Suggestion",
            "Instruction context",
            "Verification failed",
            " | ",
        ] {
            assert!(
                !m.contains(noise),
                "kernel {series}, {label}: {noise:?} in {m}"
            );
        }
        let log: Vec<&str> = line["log"]
            .as_array()
            .unwrap_or_else(|| panic!("kernel {series}, {label}: no log array: {line}"))
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let at = line["log_error_line"]
            .as_u64()
            .unwrap_or_else(|| panic!("kernel {series}, {label}: no log_error_line: {line}"));
        assert_eq!(log[at as usize], error, "kernel {series}, {label}");
        // The whole log: libbpf's own lines around the verifier's.
        assert!(
            log.iter().any(|l| l.contains("-- BEGIN PROG LOAD LOG --"))
                && log.iter().any(|l| l.contains("-- END PROG LOAD LOG --"))
                && log.iter().any(|l| l.starts_with("processed ")),
            "kernel {series}, {label}: {log:#?}"
        );
    }
}

#[test]
fn bad_scheduler_inputs_give_clear_errors() {
    if !require_vm("bad_scheduler_inputs_give_clear_errors") {
        return;
    }
    for series in vm_kernels() {
        let started = std::time::Instant::now();
        let run = vm_script(&series, SCRIPT);
        eprintln!("kernel {series}: {:.1}s", started.elapsed().as_secs_f64());
        assert!(run.ok, "kernel {series}: {run}");
        let c = Checks {
            series: &series,
            run: &run,
        };

        let m = c.message("missing");
        assert!(
            m.contains("/nonexistent.bpf.o") && m.contains("No such file"),
            "kernel {series}: {m}"
        );
        let m = c.message("notelf");
        assert!(m.contains("not an ELF file"), "kernel {series}: {m}");
        let m = c.message("noops");
        assert!(m.contains("no struct_ops map"), "kernel {series}: {m}");

        // A TCP congestion control is never registered, with sched_ext or
        // anywhere else, and is named for what it is.
        assert!(
            run.num("tcp_cc_reads") > 0.0,
            "kernel {series}: the watcher never read the list: {run}"
        );
        assert_eq!(
            run.get("tcp_cc_seen"),
            "never",
            "kernel {series}: scxtop_cc was registered as a congestion control"
        );
        let listed = run.get("tcp_cc_list");
        assert!(
            listed.contains("cubic") && !listed.contains("scxtop_cc"),
            "kernel {series}: registered as a congestion control: {listed}"
        );
        assert_eq!(run.get("tcp_state"), "disabled", "kernel {series}: {run}");
        assert_eq!(
            run.get("tcp_seq_after"),
            run.get("tcp_seq_before"),
            "kernel {series}: {run}"
        );
        assert_eq!(run.get("tcp_events"), "0", "kernel {series}: {run}");
        let m = c.message("tcp");
        assert!(
            m.contains(
                "/fixtures/tcp_cc.bpf.o implements tcp_congestion_ops, not sched_ext_ops: \
                 only a sched_ext scheduler can be attached"
            ),
            "kernel {series}: {m}"
        );

        // The verifier's own error line, the same on 7.2 and 7.3 (7.3 adds
        // an explanation after it that the message leaves out).
        c.verifier(
            "verifier",
            "reject.bpf.o",
            "R5 unbounded memory access, make sure to bounds check any such access",
            "8: (79) r2 = *(u64 *)(r5 +0)",
        );
        c.verifier(
            "maybe_null",
            "maybe_null.bpf.o",
            "R1 invalid mem access 'trusted_ptr_or_null_'",
            "1: (79) r1 = *(u64 *)(r1 +",
        );
        c.verifier(
            "kfunc_deny",
            "kfunc_deny.bpf.o",
            "calling kernel function bpf_sock_destroy is not allowed",
            "3: (85) call bpf_sock_destroy#",
        );

        let m = c.message("nonroot");
        assert!(
            m.contains("sudo") && m.contains("CAP_SYS_ADMIN"),
            "kernel {series}: {m}"
        );
        let m = c.message("busy");
        assert!(
            m.contains("another sched_ext scheduler (scxtop_prio) is attached"),
            "kernel {series}: {m}"
        );
        assert_eq!(run.get("term_rc"), "0", "kernel {series}: {run}");
        assert_eq!(
            run.get("state_after_term"),
            "disabled",
            "kernel {series}: SIGTERM left it attached: {run}"
        );
    }
}
