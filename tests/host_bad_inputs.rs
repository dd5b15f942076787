//! Bad scheduler inputs on this host, whose kernel has no sched_ext: what
//! is wrong with the object comes before what is missing in the kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;

/// A TCP congestion control is named for what it is, so the user learns
/// their object would not do on a sched_ext kernel either.
#[test]
fn a_struct_ops_object_of_another_kind_is_named_even_without_sched_ext() {
    if !require_host_without_sched_ext(
        "a_struct_ops_object_of_another_kind_is_named_even_without_sched_ext",
    ) {
        return;
    }
    let tcp = bpf_fixture("tcp_cc");
    // --duration never ends a run before the start-up attach result is out.
    let out = run(Command::new(scxtop())
        .args([
            "--headless",
            "--duration",
            "1ms",
            "--interval",
            "1s",
            "--scheduler",
        ])
        .arg(&tcp));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let attach: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["action"] == "attach")
        .unwrap_or_else(|| panic!("no attach result: {stdout}"));
    assert_eq!(attach["ok"], false, "{attach}");
    let m = attach["message"].as_str().unwrap();
    assert!(
        m.contains(&format!(
            "{} implements tcp_congestion_ops, not sched_ext_ops: only a sched_ext \
             scheduler can be attached",
            tcp.display()
        )),
        "{m}"
    );
    assert!(!m.contains("CONFIG_SCHED_CLASS_EXT"), "{m}");
}
