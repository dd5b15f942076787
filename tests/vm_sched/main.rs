//! The built-in scheduler and the engine on real sched_ext kernels (VM),
//! each test on every kernel series the harness offers. One test binary, so
//! the tests share the two test threads; one file per capability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod cycle;
mod ejections;
mod foreign;
mod knobs;
mod mixed_load;
mod user_objects;

use common::{GuestRun, require_vm, vm_kernels, vm_script};

/// Runs `script` in a VM on every kernel series and hands each run to
/// `check` with the series' name. Stays silent (outside CI) without qemu.
fn on_every_kernel(test: &str, script: &str, check: impl Fn(&str, &GuestRun)) {
    if !require_vm(test) {
        return;
    }
    for series in vm_kernels() {
        let run = vm_script(&series, script);
        assert!(run.ok, "{test} on kernel {series}: {run}");
        check(&series, &run);
    }
}

/// The JSON event lines of `run` with `"event": event` (action, exit, error).
fn events(run: &GuestRun, event: &str) -> Vec<serde_json::Value> {
    run.json_with("event")
        .into_iter()
        .filter(|v| v["event"] == event)
        .collect()
}

/// A `@key` value that is one JSON line.
fn json_of(run: &GuestRun, key: &str) -> serde_json::Value {
    let text = run.get(key);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("@{key} is not JSON ({e}): {run}"))
}
