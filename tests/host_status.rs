//! `scxtop status` on the machine running the tests (no VM).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

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
    if Path::new("/sys/kernel/sched_ext").is_dir() {
        eprintln!("this kernel has sched_ext; the VM tests cover the supported case");
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

/// The probe counts switches; its count must be in the same range as the
/// kernel's own `ctxt` counter over a window that encloses the sample.
#[test]
fn probe_counts_context_switches_like_proc_stat() {
    if !require_root("probe_counts_context_switches_like_proc_stat") {
        return;
    }
    let ctxt = || -> u64 {
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let line = stat.lines().find(|l| l.starts_with("ctxt ")).unwrap();
        line[5..].trim().parse().unwrap()
    };
    let before = ctxt();
    let out = run(Command::new(scxtop()).args(["status", "--json", "--sample", "1s"]));
    let after = ctxt();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v = json_line(&out.stdout);
    let switches = v["probe"]["switches"]
        .as_u64()
        .unwrap_or_else(|| panic!("{v}"));
    let per_cpu: u64 = v["probe"]["per_cpu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(switches, per_cpu, "{v}");
    assert!(switches > 0, "{v}");
    // The probe's window lies inside [before, after], so it cannot see more.
    assert!(
        switches <= after - before,
        "probe {switches} > kernel {}",
        after - before
    );
}

#[test]
fn without_privileges_the_probe_error_says_to_use_sudo() {
    if !require_root("without_privileges_the_probe_error_says_to_use_sudo") {
        return;
    }
    let out = run(Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(scxtop())
        .args(["status", "--json", "--sample", "50ms"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v = json_line(&out.stdout);
    let err = v["probe"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(err.contains("sudo"), "{err}");
    assert!(err.contains("CAP_BPF"), "{err}");
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

/// No sched_ext here: headless mode still runs, says why it cannot attach,
/// and exits 0.
#[test]
fn headless_without_sched_ext_explains_and_exits_zero() {
    if Path::new("/sys/kernel/sched_ext").is_dir() {
        eprintln!("this kernel has sched_ext; the VM tests cover attaching");
        return;
    }
    let out =
        run(Command::new(scxtop()).args(["--headless", "--duration", "2s", "--interval", "500ms"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines = json_lines(&stdout);
    let attach = lines.iter().find(|v| v["action"] == "attach").unwrap();
    assert_eq!(attach["ok"], false);
    let msg = attach["message"].as_str().unwrap();
    assert!(
        msg.contains("CONFIG_SCHED_CLASS_EXT") && msg.contains(&release()),
        "{msg}"
    );
    let snapshots: Vec<_> = lines.iter().filter(|v| v.get("sched").is_some()).collect();
    assert!(snapshots.len() >= 3, "{stdout}");
    for s in snapshots {
        assert_eq!(s["sched"]["supported"], false, "{s}");
        assert_eq!(s["sched"]["attached"], false, "{s}");
        assert!(s["t"].as_f64().unwrap() < 2.5, "{s}");
    }
}

/// A --duration shorter than start-up still shows the attach result and one
/// snapshot (under emulation, loading the scheduler alone can take longer).
#[test]
fn headless_duration_shorter_than_startup_still_prints_a_snapshot() {
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
        lines.iter().filter(|v| v.get("sched").is_some()).count(),
        1,
        "{stdout}"
    );
}
