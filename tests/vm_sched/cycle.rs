//! Attach, detach, reload and quit; `kill -9`; nothing leaks across reloads.

use super::*;

/// Attach at start, a busy thread in the ext class, detach (UNREG, read from
/// the scheduler's exit record), attach, reload (enable_seq + 1), 20 reloads
/// without leaking fds, quit cleanly.
#[test]
fn attach_detach_reload_cycle() {
    on_every_kernel(
        "attach_detach_reload_cycle",
        r#"
start_scxtop /tmp/out
wait_state enabled && say attached_state $(cat $SCX/state)
say ops $(cat $SCX/root/ops)
scxtop workload --name busyext --busy 0 --duration 60s >/dev/null &
W=$!
wait_until 600 thread_named $W busyext >/dev/null
say busy_ext "$(grep ext.enabled /proc/$W/task/$(thread_named $W busyext)/sched | awk '{print $3}')"
kill $W
wait $W
act /tmp/out detach
wait_state disabled && say detached_state $(cat $SCX/state)
act /tmp/out attach
wait_state enabled
seq0=$(cat $SCX/enable_seq)
act /tmp/out reload
wait_state enabled
say seq_before $seq0
say seq_after $(cat $SCX/enable_seq)
fd0=$(fd_count $SCXTOP_PID)
i=0
while [ $i -lt 20 ]; do send reload; i=$((i + 1)); done
wait_count /tmp/out '"action":"reload"' 21 3000
wait_state enabled
say reloads $(count /tmp/out '"action":"reload","ok":true')
say fd_before $fd0
say fd_after $(fd_count $SCXTOP_PID)
stop_scxtop
say quit_state $(cat $SCX/state)
cat /tmp/out
"#,
        |series, run| {
            assert_eq!(run.get("attached_state"), "enabled", "{series}: {run}");
            assert_eq!(run.get("ops"), "scxtop_prio", "{series}: {run}");
            assert_eq!(
                run.get("busy_ext"),
                "1",
                "{series}: busy thread not in the ext class: {run}"
            );
            assert_eq!(run.get("detached_state"), "disabled", "{series}: {run}");
            let detach = events(run, "action")
                .into_iter()
                .find(|v| v["action"] == "detach")
                .expect("no detach outcome");
            assert_eq!(detach["ok"], true, "{series}: {detach}");
            assert_eq!(detach["exit"]["kind"], "UNREG", "{series}: {detach}");
            assert_eq!(detach["exit"]["from"], "record", "{series}: {detach}");
            assert_eq!(
                detach["exit"]["reason"], "unregistered from user space",
                "{series}: {detach}"
            );
            assert_eq!(run.num("seq_after"), run.num("seq_before") + 1.0, "{run}");
            assert_eq!(run.num("reloads"), 21.0, "{series}: {run}");
            assert_eq!(
                run.num("fd_after"),
                run.num("fd_before"),
                "{series}: fd leak: {run}"
            );
            assert_eq!(run.get("quit_state"), "disabled", "{series}: {run}");
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
        },
    );
}

/// `kill -9` of scxtop: the kernel drops the scheduler with the process.
#[test]
fn kill_9_falls_back_to_fair_within_a_second() {
    on_every_kernel(
        "kill_9_falls_back_to_fair_within_a_second",
        r#"
scxtop --headless --interval 1s >/dev/null &
P=$!
wait_state enabled
say ops_at_kill $(cat $SCX/root/ops)
t0=$(now_cs)
kill -9 $P
# Polled every 10 ms: the bound is a second.
n=0
while ! state_is disabled && [ $n -lt 1000 ]; do sleep 0.01; n=$((n + 1)); done
say fallback_cs $(( $(now_cs) - t0 ))
say state $(cat $SCX/state)
"#,
        |series, run| {
            assert_eq!(
                run.get("ops_at_kill"),
                "scxtop_prio",
                "{series}: not attached before the kill: {run}"
            );
            assert_eq!(run.get("state"), "disabled", "{series}: {run}");
            assert!(
                run.num("fallback_cs") <= 100.0,
                "{series}: took {} cs: {run}",
                run.num("fallback_cs")
            );
        },
    );
}
