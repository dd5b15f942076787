//! scxtop's own threads and the CPU: as root every thread runs SCHED_FIFO
//! (reset on fork) unless `--priority normal`; without the privilege an
//! explicit `--priority realtime` costs one line and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::headless::Headless;
use common::*;

/// The threads of a headless scxtop once it has written a snapshot.
fn policies_of(extra: &[&str]) -> Vec<(String, i32, i32)> {
    let mut h = Headless::start(
        Command::new(scxtop())
            .args(["--headless", "--no-attach", "--interval", "100ms"])
            .args(extra),
    );
    h.wait_count("a snapshot", 1, Duration::from_secs(30), |v| {
        v.get("sched").is_some()
    });
    let policies = thread_policies(h.pid() as i32);
    assert!(h.quit(Duration::from_secs(30)).success());
    policies
}

#[test]
fn as_root_every_thread_is_realtime_unless_normal_is_asked() {
    if !require_root("as_root_every_thread_is_realtime_unless_normal_is_asked") {
        return;
    }
    // The event loop, the worker and the stdin reader at least.
    assert_realtime_roles(&policies_of(&[]));

    let normal = policies_of(&["--priority", "normal"]);
    assert!(normal.len() >= 3, "{normal:?}");
    assert!(
        normal.iter().all(|t| t.1 == libc::SCHED_OTHER),
        "{normal:?}"
    );
}

#[test]
fn without_privilege_realtime_is_one_line_and_the_run_goes_on() {
    if !require_root("without_privilege_realtime_is_one_line_and_the_run_goes_on") {
        return;
    }
    let nobody = |extra: &[&str]| {
        run(unprivileged()
            .args(["--headless", "--no-attach", "--duration", "600ms"])
            .args(["--interval", "100ms"])
            .args(extra))
    };
    let asked = nobody(&["--priority", "realtime"]);
    assert!(asked.status.success(), "{asked:?}");
    let err = text(&asked.stderr);
    let lines: Vec<_> = err.lines().filter(|l| l.contains("priority")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("--priority normal"), "{err}");
    assert!(
        text(&asked.stdout).lines().any(|l| l.contains("\"sched\"")),
        "no snapshot after the refusal"
    );

    // Not root, not asked: nothing to say.
    let auto = nobody(&[]);
    assert!(auto.status.success(), "{auto:?}");
    assert!(!text(&auto.stderr).contains("priority"), "{auto:?}");
}
