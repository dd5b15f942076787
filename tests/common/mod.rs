//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod headless;
pub mod live_view;
pub mod tmux;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

pub fn scxtop() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scxtop"))
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

/// Context switches of the calling thread so far (voluntary and not), as
/// the kernel counts them when the thread is switched out.
pub fn own_switches() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .map(|l| l.split_whitespace().last().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Two threads bounce a byte through a pair of pipes until `done(trips so
/// far)`: a thread waiting for the byte blocks, so this makes context
/// switches. Returns the round trips made and how often the two threads
/// were switched out meanwhile.
pub fn ping_pong(mut done: impl FnMut(u64) -> bool) -> (u64, u64) {
    let (mut to_b_r, mut to_b_w) = std::io::pipe().unwrap();
    let (mut to_a_r, mut to_a_w) = std::io::pipe().unwrap();
    let echo = thread::spawn(move || {
        let before = own_switches();
        let mut byte = [0u8];
        // EOF (A dropped its writer) ends the echo.
        while to_b_r.read(&mut byte).unwrap() == 1 {
            to_a_w.write_all(&byte).unwrap();
        }
        own_switches() - before
    });
    let before = own_switches();
    let mut trips = 0u64;
    let mut byte = [0u8];
    while !done(trips) {
        to_b_w.write_all(&byte).unwrap();
        to_a_r.read_exact(&mut byte).unwrap();
        trips += 1;
    }
    let mine = own_switches() - before;
    drop(to_b_w);
    (trips, mine + echo.join().unwrap())
}

/// Context switches since boot, summed over CPUs by the kernel.
pub fn proc_stat_ctxt() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let line = stat.lines().find(|l| l.starts_with("ctxt ")).unwrap();
    line["ctxt ".len()..].trim().parse().unwrap()
}

/// `scxtop status --json`'s probe against the kernel's own count, both ways:
/// the kernel's count inside the probe's window is a floor (less `slack`, a
/// fraction), and the switches the kernel counted around the whole run
/// (`outer`) a ceiling.
pub fn assert_probe_matches_the_kernel(v: &serde_json::Value, outer: u64, slack: f64) {
    let probe = &v["probe"];
    let switches = probe["switches"].as_u64().unwrap_or_else(|| panic!("{v}"));
    let per_cpu: u64 = probe["per_cpu"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(switches, per_cpu, "{v}");
    let inner = probe["kernel_switches"]
        .as_u64()
        .unwrap_or_else(|| panic!("no kernel count: {v}"));
    assert!(inner > 0, "the kernel counted no switch in a second: {v}");
    let floor = (inner as f64 * (1.0 - slack)).floor() as u64;
    assert!(
        floor <= switches && switches <= outer,
        "probe {switches} outside [{floor}, {outer}] (kernel inside {inner}, around {outer}): {v}"
    );
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

/// The VM harness, `tests/vm/run.sh`.
pub fn vm_harness() -> PathBuf {
    repo_root().join("tests/vm/run.sh")
}

/// `true` when qemu is there to boot the VM. CI must have it (the test
/// command installs it); elsewhere VM tests say how to get it and do nothing.
pub fn require_vm(test: &str) -> bool {
    let have_qemu = Command::new("sh")
        .args(["-c", "command -v qemu-system-x86_64"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have_qemu {
        return true;
    }
    assert!(
        !in_ci(),
        "{test}: CI must have qemu (scripts/install-deps.sh --test)"
    );
    eprintln!("{test}: skipped, no qemu (run scripts/install-deps.sh --test)");
    false
}

/// The kernel series the harness offers, default first.
pub fn vm_kernels() -> Vec<String> {
    let out = run(Command::new(vm_harness()).arg("--list-kernels"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// Runs `cmd` as root in a VM booted with kernel `series`, with this build of
/// scxtop on the guest's PATH.
pub fn vm_run(series: &str, cmd: &str) -> Output {
    run(Command::new(vm_harness())
        .env("SCXTOP_BIN", scxtop())
        .args(["--kernel", series, "--"])
        .arg(cmd))
}

/// Directory of the test BPF objects build.rs compiles (tests/bpf/*.bpf.c).
pub fn bpf_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("SCXTOP_TEST_BPF_DIR")).join(format!("{name}.bpf.o"))
}

/// Output of a guest script: its stdout plus the `@KEY VALUE` result lines.
pub struct GuestRun {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl GuestRun {
    /// Every value reported as `@key VALUE`, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        let prefix = format!("@{key} ");
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }

    /// The single value reported as `@key VALUE`.
    pub fn get(&self, key: &str) -> String {
        let all = self.all(key);
        assert_eq!(all.len(), 1, "@{key} reported {} times:\n{self}", all.len());
        all[0].clone()
    }

    pub fn num(&self, key: &str) -> f64 {
        let v = self.get(key);
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("@{key} is {v:?}, not a number:\n{self}"))
    }

    /// The output the guest printed with `part NAME FILE` (guest-lib.sh), as
    /// a run of its own.
    pub fn part(&self, name: &str) -> GuestRun {
        let header = format!("@@part {name}");
        let stdout = self
            .stdout
            .split_inclusive('\n')
            .skip_while(|l| l.trim_end() != header)
            .skip(1)
            .take_while(|l| !l.starts_with("@@part "))
            .collect();
        GuestRun {
            ok: self.ok,
            code: self.code,
            stdout,
            stderr: String::new(),
        }
    }

    /// JSON lines of the guest output that have `key`.
    pub fn json_with(&self, key: &str) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get(key).is_some())
            .collect()
    }
}

impl std::fmt::Display for GuestRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs a guest shell script (with tests/vm/guest-lib.sh sourced and the BPF
/// fixtures in /fixtures) in a VM booted with kernel `series`.
pub fn vm_script(series: &str, script: &str) -> GuestRun {
    let mut cmd = Command::new(vm_harness());
    // util-linux setpriv (busybox's cannot change uid) for the non-root tests.
    cmd.env("SCXTOP_BIN", scxtop())
        .args(["--kernel", series, "--bin", "setpriv"]);
    cmd.arg("--file").arg(format!(
        "{}:/guest-lib.sh",
        repo_root().join("tests/vm/guest-lib.sh").display()
    ));
    // Every object build.rs compiled (tests/bpf/*.bpf.c, and ours).
    let dir = PathBuf::from(env!("SCXTOP_TEST_BPF_DIR"));
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    objects.sort();
    for o in objects {
        cmd.arg("--file").arg(format!("{}:/fixtures/", o.display()));
    }
    cmd.arg("--").arg(format!(". /guest-lib.sh\n{script}"));
    let out = run(&mut cmd);
    GuestRun {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// Runs `script` in a VM on every kernel series the harness offers and
/// hands each run to `check` with the series' name. Stays silent (outside
/// CI) without qemu.
pub fn on_every_kernel(test: &str, script: &str, check: impl Fn(&str, &GuestRun)) {
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
pub fn events(run: &GuestRun, event: &str) -> Vec<serde_json::Value> {
    run.json_with("event")
        .into_iter()
        .filter(|v| v["event"] == event)
        .collect()
}

/// A `@key` value that is one JSON line.
pub fn json_of(run: &GuestRun, key: &str) -> serde_json::Value {
    let text = run.get(key);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("@{key} is not JSON ({e}): {run}"))
}
