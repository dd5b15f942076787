//! Helpers shared by the integration tests.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod bpf_objects;
pub mod headless;
pub mod live_view;
pub mod switches;
pub mod tmux;
pub mod vm;

pub use switches::*;
pub use vm::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

pub fn scxtop() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scxtop"))
}

/// scxtop as `nobody` with no capabilities: what a user without sudo runs.
pub fn unprivileged() -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ])
    .arg(scxtop());
    cmd
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Root-only tests run in CI (which is root) and must not silently pass
/// elsewhere: outside CI they say why they did nothing.
pub fn require_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(!in_ci(), "{test}: CI must run as root");
    eprintln!("{test}: skipped, needs root (run the test command with sudo)");
    false
}

/// Tests that need a kernel without sched_ext (they check how scxtop says
/// why it cannot attach) and would attach for real on one that has it.
/// Outside CI they say why they did nothing; CI must run them, so there they
/// fail: the VM tests cover the supported case, not these checks.
pub fn require_host_without_sched_ext(test: &str) -> bool {
    if !Path::new("/sys/kernel/sched_ext").exists() {
        return true;
    }
    assert!(
        !in_ci(),
        "{test}: this host has sched_ext, and the check needs a kernel without it \
         (the test never attaches a scheduler to the machine running the tests)"
    );
    eprintln!("{test}: skipped, this kernel has sched_ext (the check needs one without)");
    false
}

/// The one way tests wait: calls `attempt` every 50 ms until it returns
/// `Ok`, and panics with `what` and the last `Err` (what was seen instead)
/// once `timeout` has passed. Deadlines are generous: they only bound a
/// failure, a passing test never waits for them.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match attempt() {
            Ok(v) => return v,
            Err(seen) => assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {what}; last seen:\n{seen}"
            ),
        }
        thread::sleep(Duration::from_millis(50));
    }
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn json_line(stdout: &[u8]) -> serde_json::Value {
    let text = text(stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Each thread of a process: its name, its scheduling policy as
/// sched_getscheduler reports it (SCHED_RESET_ON_FORK included) and its
/// real-time priority (0 for normal threads).
pub fn thread_policies(pid: i32) -> Vec<(String, i32, i32)> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap();
        let Ok(tid) = t.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        // SAFETY: sched_getscheduler only reads the thread's policy; a tid
        // gone meanwhile returns -1.
        let policy = unsafe { libc::sched_getscheduler(tid) };
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: as above; `param` is a valid sched_param to write.
        let got = unsafe { libc::sched_getparam(tid, &mut param) };
        if policy >= 0 && got == 0 {
            out.push((comm.trim().to_string(), policy, param.sched_priority));
        }
    }
    out
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// Pins the calling thread to `cpu`; the kernel moves it there before the
/// call returns.
pub fn pin_to(cpu: usize) {
    // SAFETY: cpu_set_t is plain bits; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: callers pass an online CPU, so it is < CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is this thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    assert_eq!(
        rc,
        0,
        "sched_setaffinity({cpu}): {}",
        std::io::Error::last_os_error()
    );
}

/// SCHED_FIFO, reset on fork: how scxtop's threads run as root.
pub const REALTIME: i32 = libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK;

/// As root: every thread real-time, the worker at the lowest priority and
/// the front end's threads (event loop, key or stdin reader) one above it,
/// so they preempt a refresh. At least those three threads.
pub fn assert_realtime_roles(policies: &[(String, i32, i32)]) {
    use scxtop::priority::{FRONT_END_RT_PRIORITY, WORKER_RT_PRIORITY};
    assert!(policies.len() >= 3, "{policies:?}");
    assert!(policies.iter().all(|t| t.1 == REALTIME), "{policies:?}");
    for (name, _, prio) in policies {
        let want = if name == "scxtop-worker" {
            WORKER_RT_PRIORITY
        } else {
            FRONT_END_RT_PRIORITY
        };
        assert_eq!(*prio, want, "{name}: {policies:?}");
    }
    assert_eq!(
        policies.iter().filter(|t| t.0 == "scxtop-worker").count(),
        1,
        "{policies:?}"
    );
}

/// perf_event fds a process holds.
pub fn perf_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy() == "anon_inode:[perf_event]")
        .count()
}
