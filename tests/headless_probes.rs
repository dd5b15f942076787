//! Headless snapshots with the probes: the bpf_printk tail's link lives
//! exactly as long as scxtop (and no tracefs instance is made), and our
//! scheduler's bpf_printk lines reach the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::bpf_objects::{BpfFd, link_exists, printk_links};
use common::headless::Headless;
use common::*;

/// Switch and migration rates come from the BPF probes, and perf's
/// counters are never opened (they cost more per switch), unless
/// --perf-counters asks for them: then the rates are perf's and the BPF
/// count stands beside them. `rate_sources` says which, every time.
#[test]
fn rates_come_from_bpf_unless_perf_counters_are_asked_for() {
    if !require_root("rates_come_from_bpf_unless_perf_counters_are_asked_for") {
        return;
    }
    for (flag, want) in [(None, "bpf"), (Some("--perf-counters"), "perf")] {
        let mut h = Headless::start(
            Command::new(scxtop())
                .args(["--headless", "--no-attach", "--interval", "200ms"])
                .args(flag),
        );
        let snaps = h.wait_count("two snapshots", 2, Duration::from_secs(20), |v| {
            v.get("sched").is_some()
        });
        let fds = perf_fds(h.pid());
        assert!(h.quit(Duration::from_secs(20)).success());
        let s = &snaps[1];
        let sources = &s["rate_sources"];
        assert_eq!(sources["ctx_switches_per_s"], want, "{flag:?}: {s}");
        assert_eq!(sources["migrations_per_s"], want, "{flag:?}: {s}");
        for bpf in [
            "bpf_ctx_switches_per_s",
            "voluntary_per_s",
            "involuntary_per_s",
        ] {
            assert_eq!(sources[bpf], "bpf", "{flag:?}: {s}");
        }
        assert!(s["ctx_switches_per_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["migrations_per_s"].as_f64().is_some(), "{s}");
        for row in s["cpus"].as_array().unwrap() {
            for key in [
                "ctx_switches_per_s",
                "migrations_per_s",
                "bpf_switches_per_s",
            ] {
                assert!(row[key].as_f64().is_some(), "{flag:?}: no {key} in {row}");
            }
        }
        if flag.is_none() {
            assert_eq!(s["ctx_switches_per_s"], s["bpf_ctx_switches_per_s"], "{s}");
            assert_eq!(fds, 0, "perf counters opened without --perf-counters");
        } else {
            assert!(fds > 0, "--perf-counters opened no perf counter");
        }
    }
}

/// The tail's raw tracepoint link exists while scxtop runs and is gone after
/// SIGTERM (and after SIGINT); no tracefs instance is made.
#[test]
fn printk_link_is_gone_after_sigterm_and_sigint() {
    if !require_root("printk_link_is_gone_after_sigterm_and_sigint") {
        return;
    }
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut child = Command::new(scxtop())
            .args(["--headless", "--no-attach", "--interval", "200ms"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let link = poll_until(
            "the bpf_printk link",
            Duration::from_secs(20),
            || match printk_links(pid)[..] {
                [BpfFd::Link { id, .. }] => Ok(id),
                ref seen => Err(format!("{seen:?}")),
            },
        );
        let dir = format!("/sys/kernel/tracing/instances/scxtop-{pid}");
        assert!(!Path::new(&dir).exists(), "{dir} was made");
        // SAFETY: signalling our own child by pid.
        assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
        let status = child.wait().unwrap();
        assert!(status.success(), "signal {signal}: {status}");
        poll_until("the link to go", Duration::from_secs(10), || {
            if link_exists(link) {
                Err(format!("link {link} after signal {signal}"))
            } else {
                Ok(())
            }
        });
    }
}

/// With printk on, the built-in scheduler's starvation rescues show up in the
/// snapshot's log, parsed, through the tail's raw tracepoint link (no
/// tracefs instance); on every kernel the harness offers.
#[test]
fn scheduler_printk_lines_reach_the_log() {
    on_every_kernel(
        "scheduler_printk_lines_reach_the_log",
        r#"
start_scxtop /tmp/out --printk
wait_state enabled
# The nice 0 loops starve the nice 19 one (the guard then serves it), and
# share their band with scxtop, which keeps reading the tail.
scxtop workload --duration 3s --busy 0x2 --busy 19 > /dev/null
# The tail can trail the load: wait for a snapshot with a rescue line.
wait_line /tmp/out 'scxtop: rescue'
say instances_running $(ls /sys/kernel/tracing/instances | grep -c scxtop-)
say printk_links $(grep -l 'tp_name:.*bpf_trace_printk' /proc/$SCXTOP_PID/fdinfo/* 2>/dev/null | wc -l)
say snapshots $(count /tmp/out '"sched"')
stop_scxtop
cat /tmp/out
"#,
        |series, run| {
            assert_eq!(run.get("instances_running"), "0", "{series}: {run}");
            assert_eq!(run.get("printk_links"), "1", "{series}: {run}");
            let snaps = run.json_with("log");
            let lines: Vec<serde_json::Value> = snaps
                .iter()
                .flat_map(|s| s["log"].as_array().unwrap().clone())
                .collect();
            let rescues: Vec<_> = lines
                .iter()
                .filter(|l| l["msg"].as_str().unwrap().starts_with("scxtop: rescue"))
                .collect();
            assert!(
                !rescues.is_empty(),
                "{series}: no rescue lines in {lines:?}\n{run}"
            );
            for l in &rescues {
                assert!(
                    l["ts"].as_f64().unwrap() > 0.0 && l["cpu"].as_u64().unwrap() < 2,
                    "{series}: {l}"
                );
            }
            // At most printk_per_sec (10) lines a second of the kernel's own
            // clock reach the log, however long the run took here.
            let ts: Vec<f64> = rescues.iter().map(|l| l["ts"].as_f64().unwrap()).collect();
            let span = ts.iter().cloned().fold(f64::MIN, f64::max)
                - ts.iter().cloned().fold(f64::MAX, f64::min);
            assert!(
                rescues.len() as f64 <= 10.0 * (span.ceil() + 1.0),
                "{series}: {} rescue lines in {span:.2} s",
                rescues.len()
            );
        },
    );
}
