//! Scheduler benchmark on a real sched_ext kernel (boots the VM harness).
//!
//! `cargo bench --bench sched_vm [-- ROUNDS]` prints:
//! - the waker's wakeup latency p99 under our scheduler over its p99 under
//!   fair, from A/B rounds interleaved in one boot (target: 0.5 or less),
//! - reload downtime (time on fair between detach and attach), median of 20,
//! - attach time, median.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

const LOAD: &str = "scxtop workload --duration 10s --busy 19x4 --busy -20 --waker -20";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/release/scxtop");
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--bin", "scxtop"])
        .current_dir(&root)
        .status()
        .expect("cargo build");
    assert!(status.success(), "building scxtop failed");

    // Guest: A/B rounds (fair first, then ours, alternating order each round
    // so drift does not favour one side), then 20 reloads.
    let script = format!(
        r#"
. /guest-lib.sh
i=0
while [ $i -lt {rounds} ]; do
    if [ $((i % 2)) -eq 0 ]; then order="fair ours"; else order="ours fair"; fi
    for side in $order; do
        if [ $side = ours ]; then start_scxtop /tmp/ab; wait_state enabled; fi
        echo "@$side $({LOAD})"
        if [ $side = ours ]; then stop_scxtop; wait_state disabled; fi
    done
    i=$((i + 1))
done
start_scxtop /tmp/out
wait_state enabled
i=0
while [ $i -lt 20 ]; do
    send reload
    i=$((i + 1))
    wait_line /tmp/out "\"action\":\"reload\"" 100
    n=$(grep -c '"action":"reload"' /tmp/out)
    while [ "$n" -lt $i ]; do sleep 0.1; n=$(grep -c '"action":"reload"' /tmp/out); done
done
stop_scxtop
grep '"action":"\(attach\|reload\)"' /tmp/out | sed 's/^/@outcome /'
"#
    );
    let out = Command::new(root.join("tests/vm/run.sh"))
        .env("SCXTOP_BIN", &bin)
        .arg("--file")
        .arg(format!(
            "{}:/guest-lib.sh",
            root.join("tests/vm/guest-lib.sh").display()
        ))
        .args(["--timeout", "3000", "--"])
        .arg(script)
        .output()
        .expect("running the VM harness");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "VM run failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values = |key: &str| -> Vec<serde_json::Value> {
        stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("@{key} ")))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let waker = |v: &serde_json::Value, k: &str| v["waker"][k].as_f64().unwrap();
    let (fair, ours) = (values("fair"), values("ours"));
    println!("round  fair p50/p99 us     ours p50/p99 us    p99 ours/fair   nice-20 share ours");
    let mut ratios = Vec::new();
    for (i, (f, o)) in fair.iter().zip(&ours).enumerate() {
        let ratio = waker(o, "p99_us") / waker(f, "p99_us");
        ratios.push(ratio);
        let hog = o["busy"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["nice"] == -20)
            .map_or(0.0, |b| b["share"].as_f64().unwrap());
        println!(
            "{:>5}  {:>7.0} / {:<7.0}    {:>7.0} / {:<7.0}   {:>8.2}        {:>6.3}",
            i + 1,
            waker(f, "p50_us"),
            waker(f, "p99_us"),
            waker(o, "p50_us"),
            waker(o, "p99_us"),
            ratio,
            hog
        );
    }
    println!(
        "waker p99 ours/fair: median {:.2} over {} interleaved rounds (target <= 0.50)",
        median(ratios),
        fair.len()
    );
    let outcomes = values("outcome");
    let downtime: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o["attach"]["downtime_ms"].as_f64())
        .collect();
    let attach: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o["attach"]["attach_ms"].as_f64())
        .collect();
    println!(
        "reload downtime (on fair between detach and attach): median {:.1} ms over {} reloads",
        median(downtime.clone()),
        downtime.len()
    );
    println!(
        "attach time: median {:.1} ms over {} attaches",
        median(attach.clone()),
        attach.len()
    );
}
