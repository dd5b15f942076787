//! The built-in scheduler and the engine on a real sched_ext kernel (VM).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

/// Attach at start, a busy task in the ext class, detach (UNREG), attach,
/// reload (enable_seq + 1), 20 reloads without leaking fds, quit cleanly.
#[test]
fn attach_detach_reload_cycle() {
    if !require_vm("attach_detach_reload_cycle") {
        return;
    }
    for series in vm_kernels() {
        let run = vm_script(
            &series,
            r#"
start_scxtop /tmp/out
wait_state enabled && say attached_state $(cat $SCX/state)
say ops $(cat $SCX/root/ops)
scxtop workload --busy 0 --duration 2s >/dev/null &
W=$!
sleep 0.5
say busy_ext "$(grep ext.enabled /proc/$W/sched | awk '{print $3}')"
wait $W
send detach
wait_state disabled && say detached_state $(cat $SCX/state)
wait_line /tmp/out '"action":"detach"'
send attach
wait_state enabled
seq0=$(cat $SCX/enable_seq)
send reload
wait_line /tmp/out '"action":"reload"'
wait_state enabled
say seq_before $seq0
say seq_after $(cat $SCX/enable_seq)
fd0=$(fd_count $SCXTOP_PID)
i=0
while [ $i -lt 20 ]; do send reload; i=$((i + 1)); done
n=0
while [ "$(grep -c '"action":"reload"' /tmp/out)" -lt 21 ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
wait_state enabled
say reloads $(grep -c '"action":"reload","ok":true' /tmp/out)
say fd_before $fd0
say fd_after $(fd_count $SCXTOP_PID)
stop_scxtop
say quit_state $(cat $SCX/state)
cat /tmp/out
"#,
        );
        assert!(run.ok, "kernel {series}: {run}");
        assert_eq!(run.get("attached_state"), "enabled", "{run}");
        assert_eq!(run.get("ops"), "scxtop_prio", "{run}");
        assert_eq!(
            run.get("busy_ext"),
            "1",
            "busy task not in the ext class: {run}"
        );
        assert_eq!(run.get("detached_state"), "disabled", "{run}");
        let detach = run
            .json_with("action")
            .into_iter()
            .find(|v| v["action"] == "detach")
            .expect("no detach outcome");
        assert_eq!(detach["ok"], true, "{detach}");
        assert_eq!(detach["exit"]["kind"], "UNREG", "{detach}");
        assert_eq!(run.num("seq_after"), run.num("seq_before") + 1.0, "{run}");
        assert_eq!(run.num("reloads"), 21.0, "{run}");
        assert_eq!(run.num("fd_after"), run.num("fd_before"), "fd leak: {run}");
        assert_eq!(run.get("quit_state"), "disabled", "{run}");
        let snapshots = run.json_with("sched");
        let attached = snapshots
            .iter()
            .find(|s| s["sched"]["attached"] == true)
            .expect("no snapshot while attached");
        assert_eq!(attached["sched"]["state"], "enabled");
        assert_eq!(attached["sched"]["ops"], "scxtop_prio");
        assert!(
            attached["cpus"].as_array().is_some_and(|c| !c.is_empty()),
            "{attached}"
        );
    }
}

/// Mixed load: 4 busy loops at nice 19, one at nice -20 and a 1 ms waker at
/// nice -20, 20 s under fair and 20 s under ours in the same boot.
#[test]
fn mixed_load_priorities_hold_without_watchdog_exit() {
    if !require_vm("mixed_load_priorities_hold_without_watchdog_exit") {
        return;
    }
    let run = vm_script(
        &default_kernel(),
        r#"
LOAD="scxtop workload --duration 20s --busy 19x4 --busy -20 --waker -20"
say fair $($LOAD)
start_scxtop /tmp/out
wait_state enabled
say ours $($LOAD)
say state_after $(cat $SCX/state)
stop_scxtop
grep '"event":"exit"' /tmp/out | sed 's/^/@exit_event /'
"#,
    );
    assert!(run.ok, "{run}");
    assert_eq!(
        run.get("state_after"),
        "enabled",
        "ejected during the load: {run}"
    );
    assert!(run.all("exit_event").is_empty(), "kernel exit: {run}");
    let parse = |k: &str| -> serde_json::Value { serde_json::from_str(&run.get(k)).unwrap() };
    let (fair, ours) = (parse("fair"), parse("ours"));
    for busy in ours["busy"].as_array().unwrap() {
        let share = busy["share"].as_f64().unwrap();
        if busy["nice"] == -20 {
            assert!(
                share >= 0.9,
                "nice -20 loop got {share:.2} of a CPU: {ours}"
            );
        } else {
            assert!(
                busy["iterations"].as_u64().unwrap() > 0,
                "nice 19 starved: {ours}"
            );
            assert!(share > 0.0, "nice 19 starved: {ours}");
        }
    }
    let p = |v: &serde_json::Value, k: &str| v["waker"][k].as_f64().unwrap();
    eprintln!(
        "waker wakeup latency: fair p50 {:.0} us p99 {:.0} us; ours p50 {:.0} us p99 {:.0} us; \
         p99 ours/fair {:.2}",
        p(&fair, "p50_us"),
        p(&fair, "p99_us"),
        p(&ours, "p50_us"),
        p(&ours, "p99_us"),
        p(&ours, "p99_us") / p(&fair, "p99_us")
    );
}

/// `kill -9` of scxtop: the kernel drops the scheduler with the process.
#[test]
fn kill_9_falls_back_to_fair_within_a_second() {
    if !require_vm("kill_9_falls_back_to_fair_within_a_second") {
        return;
    }
    let run = vm_script(
        &default_kernel(),
        r#"
scxtop --headless --interval 1s >/dev/null &
P=$!
wait_state enabled
t0=$(now_cs)
kill -9 $P
wait_state disabled 50
say fallback_cs $(( $(now_cs) - t0 ))
say state $(cat $SCX/state)
"#,
    );
    assert!(run.ok, "{run}");
    assert_eq!(run.get("state"), "disabled", "{run}");
    assert!(
        run.num("fallback_cs") <= 100.0,
        "took {} cs: {run}",
        run.num("fallback_cs")
    );
}

/// A user's scheduler that stalls a task: the kernel ejects it, scxtop says
/// why and stays up, and the built-in scheduler attaches afterwards.
#[test]
fn stalling_user_scheduler_is_reported_and_builtin_attaches_after() {
    if !require_vm("stalling_user_scheduler_is_reported_and_builtin_attaches_after") {
        return;
    }
    let run = vm_script(
        &default_kernel(),
        r#"
start_scxtop /tmp/out --scheduler /fixtures/stall.bpf.o
wait_state enabled && say stall_ops $(cat $SCX/root/ops)
scxtop workload --name stallme --busy 0 --duration 6s >/dev/null &
wait_line /tmp/out '"event":"exit"' 150
wait_state disabled
say alive $(kill -0 $SCXTOP_PID && echo yes)
scxtop --headless --duration 2s --interval 500ms > /tmp/builtin
say builtin_seen_enabled $(grep -c '"state":"enabled","ops":"scxtop_prio"' /tmp/builtin)
stop_scxtop
wait
cat /tmp/out
"#,
    );
    assert!(run.ok, "{run}");
    assert_eq!(run.get("stall_ops"), "scxtop_stall", "{run}");
    assert_eq!(run.get("alive"), "yes", "scxtop died after the exit: {run}");
    let exit = run
        .json_with("event")
        .into_iter()
        .find(|v| v["event"] == "exit")
        .expect("no exit event");
    assert_eq!(exit["exit"]["kind"], "ERROR_STALL", "{exit}");
    assert!(
        exit["exit"]["msg"].as_str().unwrap().contains("stallme"),
        "{exit}"
    );
    let after = run.json_with("sched");
    let last = after.last().unwrap();
    assert_eq!(last["sched"]["last_exit"]["kind"], "ERROR_STALL", "{last}");
    assert_eq!(last["sched"]["attached"], false, "{last}");
    assert!(run.num("builtin_seen_enabled") >= 1.0, "{run}");
}
