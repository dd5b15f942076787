//! Probe cost and overhead on this machine (root; no VM needed).
//!
//! `cargo bench --bench probes` prints:
//! - ns per invocation of each probe program (BPF_ENABLE_STATS run time /
//!   run count) under a context-switch storm (target: 150 ns or less),
//! - pipe ping-pong pinned to one CPU without scxtop, with scxtop running,
//!   with the BPF probes alone and with an empty sched_switch program (the
//!   floor), interleaved, median of 7 rounds (target: at most 10% slower),
//! - a messaging load (4 unpinned ping-pong pairs), the same way (target:
//!   within 3%),
//! - 60 s at 500k+ events/s: the BPF switch count against perf's (no loss).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use libbpf_rs::query::ProgInfoIter;

fn scxtop() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/scxtop")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn workload(args: &[&str]) -> serde_json::Value {
    let out = Command::new(scxtop())
        .arg("workload")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// scxtop writes its snapshots to a file: a pipe nobody drains would fill
/// up and stall it, hiding its own CPU use from the measurement.
fn start_scxtop(interval: &str) -> Child {
    let out = std::fs::File::create(snapshot_file()).unwrap();
    let child = Command::new(scxtop())
        .args(["--headless", "--no-attach", "--interval", interval])
        .stdin(Stdio::piped())
        .stdout(out)
        .spawn()
        .unwrap();
    // Let the probes attach before measuring.
    thread::sleep(Duration::from_millis(800));
    child
}

fn snapshot_file() -> PathBuf {
    std::env::temp_dir().join(format!("scxtop-bench-{}.jsonl", std::process::id()))
}

fn stop(mut child: Child) -> String {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    child.wait().unwrap();
    let text = std::fs::read_to_string(snapshot_file()).unwrap_or_default();
    let _ = std::fs::remove_file(snapshot_file());
    text
}

fn trips_per_s(args: &[&str]) -> f64 {
    let w = workload(args);
    w["pingpong_round_trips"].as_f64().unwrap() / w["duration_s"].as_f64().unwrap()
}

/// Only the BPF probes, no perf counters or printk tail: `scxtop status`
/// attaches the same programs for its sample window.
fn start_probes_only() -> Child {
    let child = Command::new(scxtop())
        .args(["status", "--sample", "1h"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(800));
    child
}

/// A sched_switch program that does nothing, attached by this process: the
/// floor any switch probe costs here. Dropping the object detaches it.
fn attach_empty_probe() -> (libbpf_rs::Object, libbpf_rs::Link) {
    let path = PathBuf::from(env!("SCXTOP_TEST_BPF_DIR")).join("empty_switch.bpf.o");
    let obj = libbpf_rs::ObjectBuilder::default()
        .open_file(&path)
        .unwrap()
        .load()
        .unwrap();
    let link = obj
        .progs_mut()
        .next()
        .expect("empty_switch.bpf.o has a program")
        .attach()
        .unwrap();
    (obj, link)
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Interleaved rounds: without scxtop, with scxtop as it runs (probes, perf
/// counters, printk tail), with the BPF probes alone, and with an empty
/// program on the same tracepoint; prints the per-round ratios and their
/// medians.
fn ab(label: &str, args: &[&str], rounds: usize) {
    let (mut whole, mut bpf_only, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let base = trips_per_s(args);
        let probe = start_scxtop("250ms");
        let with = trips_per_s(args);
        stop(probe);
        let probes = start_probes_only();
        let bpf = trips_per_s(args);
        kill(probes);
        let empty = attach_empty_probe();
        let nothing = trips_per_s(args);
        drop(empty);
        whole.push(with / base);
        bpf_only.push(bpf / base);
        floor.push(nothing / base);
        println!(
            "  {label} round {}: {base:.0} without, {with:.0} with scxtop ({:.3}), \
             {bpf:.0} with the BPF probes alone ({:.3}), {nothing:.0} with an empty \
             sched_switch program ({:.3}) round trips/s",
            i + 1,
            with / base,
            bpf / base,
            nothing / base
        );
    }
    for (what, ratios) in [
        ("scxtop", whole),
        ("BPF probes alone", bpf_only),
        ("an empty sched_switch program (the floor)", floor),
    ] {
        let m = median(ratios);
        println!(
            "{label}: with {what} / without = {m:.3} median of {rounds} ({:+.1}%)",
            (m - 1.0) * 100.0
        );
    }
}

fn probe_cost() {
    // SAFETY: plain syscall wrapper; a non-negative return is a new fd we own.
    let fd = unsafe {
        libbpf_rs::libbpf_sys::bpf_enable_stats(libbpf_rs::libbpf_sys::BPF_STATS_RUN_TIME)
    };
    assert!(fd >= 0, "BPF_ENABLE_STATS failed (root needed)");
    // SAFETY: fd is fresh from bpf_enable_stats and owned only here; closing
    // it turns the statistics off again.
    let _stats = unsafe { OwnedFd::from_raw_fd(fd) };
    let probe = start_scxtop("1s");
    let before: Vec<_> = ProgInfoIter::default().collect();
    workload(&["--pin", "0", "--pingpong", "1", "--duration", "5s"]);
    let after: Vec<_> = ProgInfoIter::default().collect();
    stop(probe);
    for a in &after {
        let name = a.name.to_string_lossy();
        if !(name.starts_with("on_") || name.starts_with("dump_tasks")) {
            continue;
        }
        let b = before.iter().find(|b| b.id == a.id);
        let (t0, c0) = b.map_or((0, 0), |b| (b.run_time_ns, b.run_cnt));
        let (dt, dc) = (a.run_time_ns - t0, a.run_cnt - c0);
        if dc == 0 {
            continue;
        }
        let ns = dt as f64 / dc as f64;
        if name.starts_with("dump_tasks") {
            println!("probe cost: {name}: {ns:.0} ns per task per refresh over {dc} tasks");
        } else {
            println!("probe cost: {name}: {ns:.0} ns per event over {dc} events (target <= 150)");
        }
    }
}

fn no_loss() {
    let probe = start_scxtop("1s");
    let w = workload(&["--pin", "0", "--pingpong", "1", "--duration", "60s"]);
    let out = stop(probe);
    let (mut perf, mut bpf, mut events) = (0.0, 0.0, 0.0);
    for line in out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let (Some(p), Some(b)) = (
            line["ctx_switches_per_s"].as_f64(),
            line["bpf_ctx_switches_per_s"].as_f64(),
        ) else {
            continue;
        };
        perf += p;
        bpf += b;
    }
    let trips = w["pingpong_round_trips"].as_f64().unwrap();
    // Each round trip is two wakeups and two switches on the storm's CPU.
    events += 4.0 * trips / w["duration_s"].as_f64().unwrap();
    println!(
        "no loss: {events:.0} probe events/s for 60 s; BPF switches / perf switches = {:.5} (1.00000 means none dropped)",
        bpf / perf
    );
}

/// `cargo bench --bench probes [-- SECTION...]`: cost, pipe, messaging,
/// noloss (all of them by default).
fn main() {
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--bin", "scxtop"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    let picked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |section: &str| picked.is_empty() || picked.iter().any(|p| p == section);
    if run("cost") {
        probe_cost();
    }
    if run("pipe") {
        ab(
            "pipe ping-pong pinned to CPU 0",
            &["--pin", "0", "--pingpong", "1", "--duration", "2s"],
            7,
        );
    }
    if run("messaging") {
        ab(
            "messaging (4 ping-pong pairs)",
            &["--pingpong", "4", "--duration", "2s"],
            7,
        );
    }
    if run("noloss") {
        no_loss();
    }
}
