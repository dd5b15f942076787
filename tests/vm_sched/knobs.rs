//! The built-in scheduler's knobs and maps under a load that starves its low
//! band: the printk toggle, `--starve-after`, queue depth and band counters;
//! SIGHUP ends headless mode cleanly.

use super::*;

const STARVE_MS: u64 = 300;

/// The `waited=Nms` of a rescue line.
fn waited_ms(msg: &str) -> u64 {
    msg.split("waited=")
        .nth(1)
        .and_then(|w| w.strip_suffix("ms"))
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no waited=Nms in {msg:?}"))
}

#[test]
fn printk_toggle_starve_after_depth_bands_and_sighup() {
    on_every_kernel(
        "printk_toggle_starve_after_depth_bands_and_sighup",
        r#"
start_scxtop /tmp/out --starve-after 300ms
wait_state enabled
# Two nice 0 loops hold both CPUs in the normal band (this script and scxtop
# share it with them); the two nice 19 loops starve until the guard serves
# them.
scxtop workload --duration 600s --busy 0x2 --busy 19x2 >/dev/null &
W=$!
snaps() { count /tmp/out '"sched"'; }
# printk is off: five snapshots of the load, no rescue line.
wait_count /tmp/out '"sched"' $(( $(snaps) + 5 ))
say lines_while_off $(count /tmp/out 'scxtop: rescue')
act /tmp/out printk
wait_line /tmp/out 'scxtop: rescue'
act /tmp/out printk
# Lines printed before the switch went off may still be in the pipe.
wait_count /tmp/out '"sched"' $(( $(snaps) + 3 ))
say lines_at_off $(count /tmp/out 'scxtop: rescue')
wait_count /tmp/out '"sched"' $(( $(snaps) + 10 ))
say lines_later $(count /tmp/out 'scxtop: rescue')
kill $W
wait $W
kill -HUP $SCXTOP_PID
wait $SCXTOP_PID
say hup_rc $?
exec 3>&-
say hup_state $(cat $SCX/state)
cat /tmp/out
"#,
        |series, run| {
            assert_eq!(
                run.get("lines_while_off"),
                "0",
                "{series}: printk was on: {run}"
            );
            let at_off = run.num("lines_at_off");
            assert!(at_off >= 1.0, "{series}: {run}");
            assert_eq!(
                run.num("lines_later"),
                at_off,
                "{series}: lines kept coming after printk went off: {run}"
            );
            let printk: Vec<_> = events(run, "action")
                .into_iter()
                .filter(|a| a["action"] == "printk")
                .map(|a| a["message"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                printk,
                ["scheduler printk on", "scheduler printk off"],
                "{series}: {run}"
            );

            let snaps = run.json_with("sched");
            let rescues: Vec<String> = snaps
                .iter()
                .flat_map(|s| s["log"].as_array().unwrap().clone())
                .map(|l| l["msg"].as_str().unwrap().to_string())
                .filter(|m| m.starts_with("scxtop: rescue"))
                .collect();
            assert!(!rescues.is_empty(), "{series}: {run}");
            for m in &rescues {
                assert!(
                    waited_ms(m) >= STARVE_MS,
                    "{series}: rescued before --starve-after {STARVE_MS}ms: {m}"
                );
            }

            // While the load ran, the two nice 19 loops sat in our queues.
            let loaded: Vec<&serde_json::Value> = snaps
                .iter()
                .filter(|s| s["sched"]["attached"] == true)
                .filter(|s| {
                    s["bands"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|b| b["band"] == "low" && b["rescued"].as_u64().unwrap() > 0)
                })
                .collect();
            assert!(
                loaded.len() >= 10,
                "{series}: {} loaded snapshots",
                loaded.len()
            );
            let depth = |s: &serde_json::Value, k: &str| -> u64 {
                s["cpus"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c[k].as_u64().unwrap())
                    .sum()
            };
            let queued = loaded
                .iter()
                .filter(|s| depth(s, "queue_depth") >= 1)
                .count();
            assert!(
                queued * 2 >= loaded.len(),
                "{series}: queues empty in {} of {} loaded snapshots",
                loaded.len() - queued,
                loaded.len()
            );
            assert!(
                loaded.iter().any(|s| depth(s, "queue_depth_max") >= 2),
                "{series}: never both nice 19 loops queued"
            );
            let last = loaded.last().unwrap();
            for band in last["bands"].as_array().unwrap() {
                if band["band"] == "normal" || band["band"] == "low" {
                    for k in ["enqueued", "dispatched", "wait_ns"] {
                        assert!(band[k].as_u64().unwrap() > 0, "{series}: {k}: {band}");
                    }
                }
            }

            assert_eq!(run.get("hup_rc"), "0", "{series}: {run}");
            assert_eq!(run.get("hup_state"), "disabled", "{series}: {run}");
        },
    );
}
