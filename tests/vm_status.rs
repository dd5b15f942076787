//! `scxtop status` on real sched_ext kernels, booted by the VM harness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn status_in_vm_reports_disabled_sched_ext_and_counts_switches() {
    if !require_vm("status_in_vm_reports_disabled_sched_ext_and_counts_switches") {
        return;
    }
    let kernels = vm_kernels();
    assert!(kernels.len() >= 2, "harness offers {kernels:?}");
    for series in kernels {
        let out = vm_run(&series, "scxtop status --json --sample 1s");
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "kernel {series}: {stdout}\n{}",
            text(&out.stderr)
        );
        let v = json_line(&out.stdout);
        let scx = &v["sched_ext"];
        assert_eq!(scx["support"], "supported", "kernel {series}: {v}");
        assert_eq!(scx["state"], "disabled", "kernel {series}: {v}");
        assert!(scx["ops"].is_null(), "kernel {series}: {v}");
        assert!(scx["enable_seq"].is_u64(), "kernel {series}: {v}");
        let release = v["kernel_release"].as_str().unwrap();
        assert!(
            release.starts_with(&format!("{series}.")),
            "kernel {series} booted {release}"
        );
        let switches = v["probe"]["switches"].as_u64().unwrap_or(0);
        assert!(switches > 0, "kernel {series}: {v}");
    }
}
