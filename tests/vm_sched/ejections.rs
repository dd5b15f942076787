//! Exits the kernel imposes (watchdog stall, sysrq-S, scx_bpf_error): scxtop
//! reports the kind and the reason, stays up, and can attach again. Objects
//! without an exit record are explained from the kernel log.

use super::*;

/// The one exit event of a part of the run.
fn exit_event(part: &GuestRun) -> serde_json::Value {
    let exits = events(part, "exit");
    assert_eq!(exits.len(), 1, "exit events: {exits:?}\n{part}");
    exits[0]["exit"].clone()
}

/// A user's scheduler that stalls a task: the kernel ejects it, scxtop says
/// why and stays up, and the built-in scheduler attaches afterwards.
#[test]
fn stalling_user_scheduler_is_reported_and_builtin_attaches_after() {
    on_every_kernel(
        "stalling_user_scheduler_is_reported_and_builtin_attaches_after",
        r#"
start_scxtop /tmp/out --scheduler /fixtures/stall.bpf.o
wait_state enabled && say stall_ops $(cat $SCX/root/ops)
scxtop workload --name stallme --busy 0 --duration 6s >/dev/null &
wait_line /tmp/out '"event":"exit"'
wait_state disabled
say alive $(kill -0 $SCXTOP_PID && echo yes)
scxtop --headless --duration 2s --interval 500ms > /tmp/builtin
say builtin_seen_enabled $(count /tmp/builtin '"state":"enabled","ops":"scxtop_prio"')
stop_scxtop
wait
cat /tmp/out
"#,
        |series, run| {
            assert_eq!(run.get("stall_ops"), "scxtop_stall", "{series}: {run}");
            assert_eq!(
                run.get("alive"),
                "yes",
                "{series}: scxtop died after the exit: {run}"
            );
            let exit = exit_event(run);
            assert_eq!(exit["kind"], "ERROR_STALL", "{series}: {exit}");
            assert_eq!(exit["from"], "record", "{series}: {exit}");
            assert!(exit["msg"].as_str().unwrap().contains("stallme"), "{exit}");
            let last = run.json_with("sched").pop().unwrap();
            assert_eq!(last["sched"]["last_exit"]["kind"], "ERROR_STALL", "{last}");
            assert_eq!(last["sched"]["attached"], false, "{last}");
            assert!(run.num("builtin_seen_enabled") >= 1.0, "{series}: {run}");
        },
    );
}

/// sysrq-S ejects ours (SYSRQ) and the same process attaches again;
/// scx_bpf_error() ejects a user's object with its message (ERROR_BPF, from
/// its exit record); an object without an exit record is explained from the
/// kernel log, for an error and for a plain detach alike.
#[test]
fn ejections_are_reported_with_their_kind_and_message() {
    on_every_kernel(
        "ejections_are_reported_with_their_kind_and_message",
        r#"
start_scxtop /tmp/sysrq
wait_state enabled
echo S > /proc/sysrq-trigger
wait_line /tmp/sysrq '"event":"exit"'
wait_state disabled
act /tmp/sysrq attach
say sysrq_state $(cat $SCX/state)
stop_scxtop
say sysrq_after_quit $(cat $SCX/state)

start_scxtop /tmp/error --scheduler /fixtures/error.bpf.o
wait_state enabled
scxtop workload --name failme --busy 0 --duration 1s >/dev/null
wait_line /tmp/error '"event":"exit"'
wait_state disabled
stop_scxtop

start_scxtop /tmp/nouei --scheduler /fixtures/no_uei.bpf.o
wait_state enabled
scxtop workload --name failme --busy 0 --duration 1s >/dev/null
wait_line /tmp/nouei '"event":"exit"'
wait_state disabled
act /tmp/nouei attach
act /tmp/nouei detach
stop_scxtop
dmesg | grep sched_ext: | sed 's/^/@kmsg /'
part sysrq /tmp/sysrq
part error /tmp/error
part nouei /tmp/nouei
"#,
        |series, run| {
            let sysrq = run.part("sysrq");
            let exit = exit_event(&sysrq);
            assert_eq!(exit["kind"], "SYSRQ", "{series}: {exit}");
            assert_eq!(exit["from"], "record", "{series}: {exit}");
            assert_eq!(exit["ops"], "scxtop_prio", "{series}: {exit}");
            let attach = events(&sysrq, "action");
            let again = attach.last().unwrap();
            assert_eq!(again["action"], "attach", "{again}");
            assert_eq!(
                again["ok"], true,
                "{series}: no attach after sysrq-S: {again}"
            );
            assert_eq!(run.get("sysrq_state"), "enabled", "{series}: {run}");
            assert_eq!(run.get("sysrq_after_quit"), "disabled", "{series}: {run}");

            let exit = exit_event(&run.part("error"));
            assert_eq!(exit["kind"], "ERROR_BPF", "{series}: {exit}");
            assert_eq!(exit["from"], "record", "{series}: {exit}");
            assert_eq!(exit["ops"], "scxtop_error", "{series}: {exit}");
            let msg = exit["msg"].as_str().unwrap();
            assert!(msg.contains("told to fail by failme"), "{series}: {exit}");

            let nouei = run.part("nouei");
            let exit = exit_event(&nouei);
            assert_eq!(exit["kind"], "ERROR_BPF", "{series}: {exit}\n{run}");
            assert_eq!(exit["reason"], "scx_bpf_error", "{series}: {exit}");
            assert_eq!(exit["from"], "kernel_log", "{series}: {exit}");
            let msg = exit["msg"].as_str().unwrap();
            assert!(
                msg.contains("no exit info, failing for failme"),
                "{series}: {exit}"
            );
            let detach = events(&nouei, "action")
                .into_iter()
                .find(|v| v["action"] == "detach")
                .unwrap();
            assert_eq!(detach["exit"]["kind"], "UNREG", "{series}: {detach}\n{run}");
            assert_eq!(detach["exit"]["from"], "kernel_log", "{series}: {detach}");
            assert_eq!(
                detach["exit"]["reason"], "unregistered from user space",
                "{series}: {detach}"
            );
        },
    );
}
