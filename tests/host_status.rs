//! `scxtop status` on the machine running the tests (no VM).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::headless::Headless;
use common::*;

fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn status_reports_sched_ext_support_as_sysfs_shows_it() {
    let out = run(Command::new(scxtop()).args(["status", "--json", "--sample", "100ms"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v = json_line(&out.stdout);
    assert_eq!(v["kernel_release"], release());
    if Path::new("/sys/kernel/sched_ext").is_dir() {
        assert_eq!(v["sched_ext"]["support"], "supported", "{v}");
    } else {
        assert_eq!(v["sched_ext"]["support"], "unsupported", "{v}");
        let reason = v["sched_ext"]["reason"].as_str().unwrap();
        assert!(reason.contains("CONFIG_SCHED_CLASS_EXT"), "{reason}");
        assert!(reason.contains(&release()), "{reason}");
    }
}

#[test]
fn status_text_says_why_sched_ext_is_missing() {
    if !require_host_without_sched_ext("status_text_says_why_sched_ext_is_missing") {
        return;
    }
    let out = run(Command::new(scxtop()).args(["status", "--sample", "50ms"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("sched_ext"))
        .unwrap_or_else(|| panic!("no sched_ext line in {stdout}"));
    assert!(line.contains("unsupported"), "{line}");
    assert!(line.contains("CONFIG_SCHED_CLASS_EXT"), "{line}");
    assert!(line.contains(&release()), "{line}");
}

/// The probe counts switches; its count must lie between the kernel's own
/// `ctxt` count inside its window and the one around the whole run.
#[test]
fn probe_counts_context_switches_like_proc_stat() {
    if !require_root("probe_counts_context_switches_like_proc_stat") {
        return;
    }
    let before = proc_stat_ctxt();
    let mut child = Command::new(scxtop())
        .args(["status", "--json", "--sample", "1s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A switch storm of our own through the whole sample, so the count is
    // large against the few switches a second (3 to 15 here) that this
    // host's kernel (6.18, a Firecracker guest) counts in ctxt without
    // running the sched_switch tracepoint; the VM's 7.x kernels are exact.
    let (_, ours) = ping_pong(|_| child.try_wait().unwrap().is_some());
    let out = child.wait_with_output().unwrap();
    let after = proc_stat_ctxt();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(ours >= 10_000, "the storm made only {ours} switches");
    assert_probe_matches_the_kernel(&json_line(&out.stdout), after - before, 0.01);
}

#[test]
fn without_privileges_the_probe_error_says_to_use_sudo() {
    if !require_root("without_privileges_the_probe_error_says_to_use_sudo") {
        return;
    }
    let out = run(unprivileged().args(["status", "--json", "--sample", "50ms"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v = json_line(&out.stdout);
    let err = v["probe"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(err.contains("sudo"), "{err}");
    assert!(err.contains("CAP_BPF"), "{err}");
}

/// Without privileges each refused source is one typed entry marked
/// `needs_root`, whose reason says to run as root.
#[test]
fn headless_without_privileges_lists_each_refused_source() {
    if !require_root("headless_without_privileges_lists_each_refused_source") {
        return;
    }
    let out = run(unprivileged().args([
        "--headless",
        "--no-attach",
        "--duration",
        "1s",
        "--interval",
        "300ms",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&text(&out.stdout));
    let snap = lines.iter().find(|v| is_snapshot(v)).expect("a snapshot");
    let entries = snap["unavailable"].as_array().unwrap();
    let refused: Vec<&str> = entries
        .iter()
        .filter(|u| u["needs_root"] == true)
        .map(|u| u["what"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["switch_rates", "printk_tail", "tasks"], "{snap}");
    for u in entries.iter().filter(|u| u["needs_root"] == true) {
        let reason = u["reason"].as_str().unwrap();
        assert!(reason.contains("sudo") || reason.contains("as root"), "{u}");
    }
}

#[test]
fn bad_duration_is_a_one_line_usage_error() {
    let out = run(Command::new(scxtop()).args(["status", "--sample", "soon"]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--sample"), "{stderr}");
}

/// Headless output: every line is one JSON object.
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn is_snapshot(v: &serde_json::Value) -> bool {
    v.get("sched").is_some()
}

/// No sched_ext here: headless mode still runs, says why it cannot attach,
/// keeps its interval, takes commands (an unknown one gets an error line)
/// and exits 0 on quit.
#[test]
fn headless_without_sched_ext_explains_and_exits_zero() {
    if !require_host_without_sched_ext("headless_without_sched_ext_explains_and_exits_zero") {
        return;
    }
    let mut h = Headless::start(Command::new(scxtop()).args(["--headless", "--interval", "500ms"]));
    let attach = h.wait_count("the attach result", 1, Duration::from_secs(60), |v| {
        v["action"] == "attach"
    });
    assert_eq!(attach[0]["ok"], false);
    let msg = attach[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("CONFIG_SCHED_CLASS_EXT") && msg.contains(&release()),
        "{msg}"
    );
    h.send("explode");
    let err = h.wait_count("an error line", 1, Duration::from_secs(60), |v| {
        v["event"] == "error"
    });
    let e = err[0]["error"].as_str().unwrap();
    assert!(e.contains("explode") && e.contains("attach, detach"), "{e}");
    h.wait_count("three snapshots", 3, Duration::from_secs(60), is_snapshot);
    assert!(h.quit(Duration::from_secs(30)).success());
    let snapshots = h.snapshots();
    for s in &snapshots {
        assert_eq!(s["sched"]["supported"], false, "{s}");
        assert_eq!(s["sched"]["attached"], false, "{s}");
        // As root every probe runs; only the queue depth (ours alone
        // reports it) is missing, said once, typed.
        assert_eq!(
            s["unavailable"],
            serde_json::json!([{
                "what": "queue_depth",
                "reason": "queue depth: only scxtop's built-in scheduler reports it, and it is not attached",
                "needs_root": false,
            }]),
            "{s}"
        );
    }
    // Ticks keep their interval: never a burst, whatever the load.
    for pair in snapshots.windows(2) {
        let gap = pair[1]["t"].as_f64().unwrap() - pair[0]["t"].as_f64().unwrap();
        assert!(gap >= 0.45, "snapshots {gap:.3} s apart: {pair:?}");
    }
}

/// `--duration` ends the run by itself: no snapshot comes later than the
/// duration after the first one (which comes after start-up, however long
/// that took).
#[test]
fn headless_duration_ends_the_run() {
    let out = run(Command::new(scxtop()).args([
        "--headless",
        "--no-attach",
        "--duration",
        "2s",
        "--interval",
        "500ms",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let t: Vec<f64> = json_lines(&stdout)
        .iter()
        .filter(|v| is_snapshot(v))
        .map(|v| v["t"].as_f64().unwrap())
        .collect();
    let (first, last) = (t[0], t[t.len() - 1]);
    assert!(
        last <= first + 2.0 + 0.1,
        "a snapshot at {last:.3} s, the first at {first:.3} s: {stdout}"
    );
}

/// `--printk-global-pipe` no longer does anything, but scripts that pass it
/// keep working: one line on stderr says so, and the run is as without it.
#[test]
fn the_retired_printk_global_pipe_flag_is_accepted_with_one_line() {
    let out = run(Command::new(scxtop()).args([
        "--headless",
        "--no-attach",
        "--printk-global-pipe",
        "--duration",
        "300ms",
        "--interval",
        "200ms",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("--printk-global-pipe"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].contains("no longer needed"), "{stderr}");
    assert!(
        json_lines(&text(&out.stdout)).iter().any(is_snapshot),
        "no snapshot"
    );
}

/// A --duration shorter than start-up still shows the attach result and one
/// snapshot (under emulation, loading the scheduler alone can take longer).
#[test]
fn headless_duration_shorter_than_startup_still_prints_a_snapshot() {
    if !require_host_without_sched_ext(
        "headless_duration_shorter_than_startup_still_prints_a_snapshot",
    ) {
        return;
    }
    let out =
        run(Command::new(scxtop()).args(["--headless", "--duration", "1ms", "--interval", "1s"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines = json_lines(&stdout);
    assert!(
        lines.iter().any(|v| v["action"] == "attach"),
        "no attach result: {stdout}"
    );
    assert_eq!(
        lines.iter().filter(|v| is_snapshot(v)).count(),
        1,
        "{stdout}"
    );
}
