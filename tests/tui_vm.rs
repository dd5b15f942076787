//! The live view on a real sched_ext kernel: the VM harness puts scxtop on
//! the guest's serial console, which tmux on the host shows and types into.
//! `d` must bring the guest to fair (the status bar says so and the guest's
//! sysfs says disabled), `r` must bring our scheduler back with a higher
//! enable_seq, and `q` must end it all cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::Tmux;
use common::{poll_until, require_vm, scxtop, vm_harness, vm_kernels};

/// The guest reports its sched_ext state on the side channel every 200 ms
/// while scxtop runs on the console.
const GUEST: &str = "( while :; do echo \"@state $(cat /sys/kernel/sched_ext/state) $(cat /sys/kernel/sched_ext/enable_seq)\" >/dev/ttyS2; sleep 0.2; done ) & exec scxtop --interval 250ms";

const SCRIPT: &str = r#""$VM" --interactive --kernel "$SERIES" --side "$SIDE" --timeout 600 -- "$GUEST"; echo "vm-exit=$?"; sleep 300"#;

/// The guest's latest (state, enable_seq).
fn guest_state(side: &Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(side).ok()?;
    let line = text.lines().rev().find(|l| l.starts_with("@state "))?;
    let mut words = line.split_whitespace().skip(1);
    Some((words.next()?.to_string(), words.next()?.parse().ok()?))
}

fn screen_seq(s: &str) -> Option<u64> {
    s.split("enable_seq ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn wait_guest(side: &Path, want: &str, min_seq: u64) -> u64 {
    poll_until(
        &format!("the guest to report {want} (seq >= {min_seq})"),
        Duration::from_secs(30),
        || match guest_state(side) {
            Some((state, seq)) if state == want && seq >= min_seq => Ok(seq),
            last => Err(format!("{last:?}")),
        },
    )
}

#[test]
fn d_detaches_to_fair_and_r_brings_our_scheduler_back() {
    if !require_vm("tui_vm") {
        return;
    }
    for series in vm_kernels() {
        d_and_r_on(&series);
    }
}

fn d_and_r_on(series: &str) {
    let dir = tempfile::tempdir().unwrap();
    let side = dir.path().join("side.log");
    let bin = scxtop();
    let vm = vm_harness();
    let guest_file = dir.path().join("guest.sh");
    std::fs::write(&guest_file, GUEST).unwrap();
    // The guest command is passed as text; tmux's environment carries it.
    let script = format!(r#"GUEST=$(cat "$GUEST_FILE"); {SCRIPT}"#);
    let t = Tmux::start(
        "vm",
        120,
        40,
        &script,
        &[
            ("VM", &vm),
            ("SIDE", &side),
            ("SCXTOP_BIN", &bin),
            ("GUEST_FILE", &guest_file),
            ("SERIES", Path::new(series)),
        ],
    );

    let s = t.wait_for(
        "our scheduler on the console",
        Duration::from_secs(180),
        |s| s.contains("scxtop_prio (ours)") && s.contains("Context switches /s"),
    );
    let seq0 = screen_seq(&s).unwrap();
    let guest0 = wait_guest(&side, "enabled", seq0);
    assert_eq!(guest0, seq0, "status bar and guest disagree:\n{s}");

    t.keys(&["d"]);
    let s = t.wait_for("fair in the status bar", Duration::from_secs(60), |s| {
        s.contains("sched: fair") && s.contains("detached")
    });
    assert!(s.contains("UNREG"), "{s}");
    wait_guest(&side, "disabled", seq0);

    t.keys(&["r"]);
    let s = t.wait_for("ours again", Duration::from_secs(60), |s| {
        s.contains("scxtop_prio (ours)") && screen_seq(s).is_some_and(|n| n > seq0)
    });
    let seq1 = screen_seq(&s).unwrap();
    let guest1 = wait_guest(&side, "enabled", seq0 + 1);
    assert_eq!(guest1, seq1, "status bar and guest disagree:\n{s}");

    t.keys(&["q"]);
    let s = t.wait_for("the VM to end", Duration::from_secs(60), |s| {
        s.contains("vm-exit=")
    });
    assert!(s.contains("vm-exit=0"), "{s}");
}
