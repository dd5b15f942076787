//! `quit` lets go of the kernel at once even when whoever reads the JSON
//! has stopped reading: the main thread is then stuck writing a line, and
//! the worker must neither wait for its next tick nor for room in the
//! report queue before it detaches the probes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use common::bpf_objects::{BpfFd, bpf_fds};
use common::*;

/// The smallest pipe the kernel makes: one snapshot line fills it.
const PIPE_BYTES: i32 = 4096;

fn links(pid: u32) -> usize {
    bpf_fds(pid)
        .iter()
        .filter(|f| matches!(f, BpfFd::Link { .. }))
        .count()
}

/// Starts headless scxtop with a one-page stdout pipe nobody reads, and
/// waits until its main thread is stuck writing to it with the probes open.
/// Unknown commands (one error line each) fill the pipe when snapshots do
/// not: one at a time, so none waits behind the stuck writer when `quit`
/// comes.
fn stalled(interval: &str) -> Child {
    let mut child = Command::new(scxtop())
        .args(["--headless", "--no-attach", "--interval", interval])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.as_ref().unwrap().as_raw_fd();
    // SAFETY: F_SETPIPE_SZ on a pipe descriptor this process owns.
    assert!(unsafe { libc::fcntl(out, libc::F_SETPIPE_SZ, PIPE_BYTES) } >= 0);
    let pid = child.id();
    let stdin = child.stdin.as_mut().unwrap();
    poll_until(
        "the main thread blocked on stdout",
        Duration::from_secs(30),
        || {
            let wchan = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
            let open = links(pid);
            if wchan.contains("pipe_write") && open > 0 {
                return Ok(());
            }
            if open > 0 {
                writeln!(stdin, "no-such-command").unwrap();
            }
            Err(format!("main thread in {wchan:?}, {open} BPF links"))
        },
    );
    child
}

fn quit_releases_while_stalled(interval: &str, settle: Duration) {
    let mut child = stalled(interval);
    let pid = child.id();
    // With a short interval, let the worker fill the report queue behind
    // the stuck writer (8 reports) so it is waiting for room, not a tick.
    thread::sleep(settle);
    writeln!(child.stdin.as_mut().unwrap(), "quit").unwrap();
    poll_until(
        "the probes released while stdout is stalled",
        Duration::from_secs(10),
        || {
            let open = links(pid);
            let names: Vec<String> = thread_policies(pid as i32)
                .into_iter()
                .map(|(name, ..)| name)
                .collect();
            let worker = names.iter().any(|n| n == "scxtop-worker");
            if open == 0 && !worker {
                Ok(())
            } else {
                Err(format!("{open} BPF links, threads {names:?}"))
            }
        },
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "scxtop ended before its reader took the line it was writing"
    );
    // Reading again lets the main thread finish its line and see the quit.
    let mut rest = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut rest).unwrap();
    let status = poll_until("scxtop to exit", Duration::from_secs(10), || {
        child
            .try_wait()
            .unwrap()
            .ok_or_else(|| "running".to_string())
    });
    assert!(status.success(), "{status}");
}

/// The worker waits for its next tick (30 s away): the quit must wake it.
#[test]
fn quit_wakes_a_worker_waiting_for_its_tick_while_stdout_is_stalled() {
    if !require_root("quit_wakes_a_worker_waiting_for_its_tick_while_stdout_is_stalled") {
        return;
    }
    quit_releases_while_stalled("30s", Duration::ZERO);
}

/// The worker waits for room for its report: the quit must not wait for
/// the reader.
#[test]
fn quit_stops_a_worker_waiting_for_room_while_stdout_is_stalled() {
    if !require_root("quit_stops_a_worker_waiting_for_room_while_stdout_is_stalled") {
        return;
    }
    // 20 intervals: the 8-report queue is full well before.
    quit_releases_while_stalled("50ms", Duration::from_secs(1));
}
