//! The VM harness from the tests: boot a sched_ext kernel, run a guest
//! script with this build of scxtop and the BPF fixtures, read its results.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::{in_ci, repo_root, run, scxtop, text};

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
