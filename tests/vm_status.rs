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
        let run = vm_script(
            &series,
            r#"
say ctxt_before $(awk '/^ctxt/ { print $2 }' /proc/stat)
say status $(scxtop status --json --sample 1s)
say ctxt_after $(awk '/^ctxt/ { print $2 }' /proc/stat)
"#,
        );
        assert!(run.ok, "kernel {series}: {run}");
        let v: serde_json::Value = serde_json::from_str(&run.get("status")).unwrap();
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
        let outer = run.num("ctxt_after") as u64 - run.num("ctxt_before") as u64;
        // These kernels run the tracepoint for every switch they count.
        assert_probe_matches_the_kernel(&v, outer, 0.0);
    }
}
