//! The mixed load under fair and under ours in one boot: priorities hold
//! and the watchdog never ejects our scheduler.

use super::*;

/// What the workload's waker measured is a real measurement: its wakeup
/// cycles (the period plus the mean lateness) cover the run. A sleep 1 ms
/// long wakes about 3 ms late under TCG, so the cycle, not the period, is
/// what fills the duration.
fn assert_waker_measured(label: &str, w: &serde_json::Value) {
    let f = |k: &str| w["waker"][k].as_f64().unwrap();
    let covered = f("samples") * (f("period_us") + f("mean_us")) / 1e6;
    let duration = w["duration_s"].as_f64().unwrap();
    assert!(
        covered >= 0.9 * duration,
        "{label}: the waker's {} wakeups cover {covered:.1} s of {duration:.1} s: {w}",
        f("samples")
    );
    assert!(
        0.0 < f("p50_us") && f("p50_us") <= f("p99_us") && f("p99_us") <= f("max_us"),
        "{label}: {w}"
    );
}

/// Four busy loops at nice 19, one at nice -20 and a 1 ms waker at nice -20,
/// 20 s under fair and 20 s under ours in the same boot.
#[test]
fn mixed_load_priorities_hold_without_watchdog_exit() {
    on_every_kernel(
        "mixed_load_priorities_hold_without_watchdog_exit",
        r#"
LOAD="scxtop workload --duration 20s --busy 19x4 --busy -20 --waker -20"
say fair $($LOAD)
# scxtop only holds the scheduler here: a slow refresh keeps its own cost
# (a debug build under TCG) out of the loops' shares.
INTERVAL=2s start_scxtop /tmp/out
wait_state enabled
say ours $($LOAD)
say state_after $(cat $SCX/state)
stop_scxtop
grep '"event":"exit"' /tmp/out | sed 's/^/@exit_event /'
"#,
        |series, run| {
            assert_eq!(
                run.get("state_after"),
                "enabled",
                "{series}: ejected during the load: {run}"
            );
            assert!(
                run.all("exit_event").is_empty(),
                "{series}: kernel exit: {run}"
            );
            for label in ["fair", "ours"] {
                let w = json_of(run, label);
                let label = format!("{series} {label}");
                let busy = w["busy"].as_array().unwrap();
                let share = |nice: i64| -> Vec<f64> {
                    busy.iter()
                        .filter(|b| b["nice"] == nice)
                        .map(|b| b["share"].as_f64().unwrap())
                        .collect()
                };
                // The loop yields only to its peer at nice -20, the waker,
                // whose CPU time grows as the emulation slows down.
                let waker_share = w["waker"]["schedstat"]["cpu_ns"].as_f64().unwrap()
                    / 1e9
                    / w["duration_s"].as_f64().unwrap();
                let high = share(-20);
                assert!(
                    high.len() == 1 && high[0] >= 0.9 * (1.0 - waker_share),
                    "{label}: nice -20 loop got {high:?} of a CPU, the waker {waker_share:.3}: {w}"
                );
                let low = share(19);
                assert!(
                    low.len() == 4 && low.iter().all(|s| *s >= 0.1),
                    "{label}: nice 19 loops got {low:?} of a CPU each: {w}"
                );
                assert_waker_measured(&label, &w);
            }
            let p = |k: &str, q: &str| json_of(run, k)["waker"][q].as_f64().unwrap();
            eprintln!(
                "{series} waker wakeup latency: fair p50 {:.0} us p99 {:.0} us; ours p50 {:.0} us \
                 p99 {:.0} us; p99 ours/fair {:.2}",
                p("fair", "p50_us"),
                p("fair", "p99_us"),
                p("ours", "p50_us"),
                p("ours", "p99_us"),
                p("ours", "p99_us") / p("fair", "p99_us")
            );
        },
    );
}
