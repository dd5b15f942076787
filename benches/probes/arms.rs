//! What runs beside the load in each arm, started and stopped by guards:
//! every child is killed and reaped, and every scratch directory removed, on
//! every way out of a measurement (an error, a panic, the bench's own SIGINT
//! or SIGTERM), and a child dies with the bench even on SIGKILL.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use libbpf_rs::OpenObject;
use scxtop::probe::perf_counters::CpuCounters;
use scxtop::probe::sched_probes::SchedProbes;
use tempfile::TempDir;

use crate::interrupted;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm {
    /// An empty tp_btf/sched_switch program: what any switch probe pays.
    Floor,
    /// scxtop's BPF probes alone, attached in this process, never read.
    Probes,
    /// scxtop's perf software counters alone (2 per CPU), never read.
    PerfCounters,
    /// The probes and the perf counters, never read: scxtop's kernel side.
    ProbesPerf,
    /// scxtop started but refreshing once an hour: everything it attaches,
    /// none of its per-refresh work.
    ScxtopNoTick,
    /// `scxtop --headless --no-attach` at its default 250 ms refresh.
    Scxtop,
    /// The same with `--perf-counters`: perf's per-CPU counters opened too,
    /// as every scxtop did before the BPF probes counted switches and
    /// migrations themselves.
    ScxtopPerf,
    /// `perf sched record`, system-wide, to a scratch file.
    PerfSched,
    /// A runqlat-style bpftrace script.
    Bpftrace,
}

/// bcc's runqlat in bpftrace: a wait starts at wakeup, or when a preempted
/// task is put back (prev_state 0 is TASK_RUNNING), and ends when the task
/// is switched in. BEGIN runs once every probe is attached: "ready" then
/// says the measurement may start.
const RUNQLAT_BT: &str = r#"
BEGIN { printf("ready\n"); }
tracepoint:sched:sched_wakeup,
tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; }
tracepoint:sched:sched_switch {
	if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; }
	$ns = @qtime[args->next_pid];
	if ($ns) { @usecs = hist((nsecs - $ns) / 1000); }
	delete(@qtime[args->next_pid]);
}
END { clear(@qtime); }
"#;

impl Arm {
    pub const ALL: [Arm; 9] = [
        Arm::Floor,
        Arm::Probes,
        Arm::PerfCounters,
        Arm::ProbesPerf,
        Arm::ScxtopNoTick,
        Arm::Scxtop,
        Arm::ScxtopPerf,
        Arm::PerfSched,
        Arm::Bpftrace,
    ];
    /// What the table compares: scxtop, its probes, the floor, and the tools
    /// a user would run instead.
    pub const DEFAULT: [Arm; 5] = [
        Arm::Floor,
        Arm::Probes,
        Arm::Scxtop,
        Arm::PerfSched,
        Arm::Bpftrace,
    ];

    /// The name `--arms` takes.
    pub fn name(self) -> &'static str {
        match self {
            Arm::Floor => "floor",
            Arm::Probes => "probes",
            Arm::PerfCounters => "perfctr",
            Arm::ProbesPerf => "probes+perfctr",
            Arm::ScxtopNoTick => "scxtop-notick",
            Arm::Scxtop => "scxtop",
            Arm::ScxtopPerf => "scxtop-perfctr",
            Arm::PerfSched => "perf-sched",
            Arm::Bpftrace => "bpftrace",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Arm::Floor => "empty sched_switch prog (floor)",
            Arm::Probes => "scxtop's BPF probes alone",
            Arm::PerfCounters => "scxtop's perf counters alone",
            Arm::ProbesPerf => "BPF probes + perf counters",
            Arm::ScxtopNoTick => "scxtop, 1 h refresh (no ticks)",
            Arm::Scxtop => "scxtop --headless --no-attach",
            Arm::ScxtopPerf => "the same, --perf-counters",
            Arm::PerfSched => "perf sched record",
            Arm::Bpftrace => "bpftrace runqlat-style script",
        }
    }

    pub fn parse(name: &str) -> Option<Arm> {
        Arm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Why this arm cannot run here (its tool is missing), if it cannot.
    pub fn missing_tool(self) -> Option<String> {
        let (tool, args, package) = match self {
            Arm::PerfSched => ("perf", ["sched", "--help"], "linux-perf"),
            Arm::Bpftrace => ("bpftrace", ["--version", ""], "bpftrace"),
            _ => return None,
        };
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let ok = Command::new(tool)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (!ok).then(|| {
            format!(
                "`{tool}` does not run here: install Debian's {package} (scripts/bench.sh does)"
            )
        })
    }

    /// Starts the arm and returns once it measures (probes attached, events
    /// enabled). `storage` holds the in-process probes' BPF object.
    pub fn start<'a>(
        self,
        storage: &'a mut MaybeUninit<OpenObject>,
    ) -> Result<Running<'a>, String> {
        Ok(match self {
            Arm::Floor => {
                let (obj, link) = attach_empty_probe()?;
                Running::Floor(obj, link)
            }
            Arm::Probes => Running::Probes(probes(storage)?),
            Arm::PerfCounters => Running::PerfCounters(perf_counters()?),
            Arm::ProbesPerf => Running::ProbesPerf(probes(storage)?, perf_counters()?),
            Arm::ScxtopNoTick => Running::Tool(Scxtop::start("1h", &[])?.0),
            Arm::Scxtop | Arm::ScxtopPerf => {
                let extra: &[&str] = if self == Arm::ScxtopPerf {
                    &["--perf-counters"]
                } else {
                    &[]
                };
                let (tool, _) = Scxtop::start("250ms", extra)?;
                // The first snapshot just went out: starting the window half
                // a refresh later puts whole refreshes in it, never one on
                // its edge (the window should be a multiple of 250 ms).
                thread::sleep(Duration::from_millis(125));
                Running::Tool(tool)
            }
            Arm::PerfSched => Running::Tool(perf_sched()?),
            Arm::Bpftrace => Running::Tool(bpftrace()?),
        })
    }
}

/// A started arm; dropping it (or `stop`) takes it all down.
#[expect(dead_code, reason = "held, never read: dropping them detaches")]
pub enum Running<'a> {
    Floor(libbpf_rs::Object, libbpf_rs::Link),
    Probes(SchedProbes<'a>),
    PerfCounters(CpuCounters),
    ProbesPerf(SchedProbes<'a>, CpuCounters),
    Tool(Tool),
}

impl Running<'_> {
    /// CPU time (ns) the arm's own processes have had; 0 for the arms that
    /// run only in the kernel, in the load's context.
    pub fn cpu_ns(&self) -> u64 {
        match self {
            Running::Tool(tool) => tool.cpu_ns(),
            _ => 0,
        }
    }

    /// Ends the arm the way a user would (SIGINT, so perf writes its file
    /// and bpftrace prints its histogram) and waits for it: what it does on
    /// the way out must not land in the next measurement.
    pub fn stop(self) -> Result<(), String> {
        match self {
            Running::Tool(tool) => tool.stop().map(|_| ()),
            other => {
                drop(other);
                Ok(())
            }
        }
    }
}

fn probes(storage: &mut MaybeUninit<OpenObject>) -> Result<SchedProbes<'_>, String> {
    SchedProbes::start(storage).map_err(|e| format!("scxtop's probes: {e}"))
}

fn perf_counters() -> Result<CpuCounters, String> {
    CpuCounters::open().map_err(|e| format!("perf counters: {e}"))
}

/// A sched_switch program that does nothing, attached by this process.
/// Dropping the object detaches it.
pub fn attach_empty_probe() -> Result<(libbpf_rs::Object, libbpf_rs::Link), String> {
    let path = PathBuf::from(env!("SCXTOP_TEST_BPF_DIR")).join("empty_switch.bpf.o");
    let obj = libbpf_rs::ObjectBuilder::default()
        .open_file(&path)
        .and_then(|o| o.load())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let link = obj
        .progs_mut()
        .next()
        .ok_or("empty_switch.bpf.o has no program")?
        .attach()
        .map_err(|e| format!("attaching the empty program: {e}"))?;
    Ok((obj, link))
}

/// A child process: SIGKILLed and reaped when dropped unless stopped, and
/// SIGKILLed by the kernel when this bench dies first.
pub struct ChildGuard {
    child: Option<Child>,
    what: &'static str,
}

impl ChildGuard {
    pub fn spawn(cmd: &mut Command, what: &'static str) -> Result<Self, String> {
        // SAFETY: prctl is async-signal-safe and touches only the new
        // process, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| format!("starting {what}: {e}"))?;
        Ok(Self {
            child: Some(child),
            what,
        })
    }

    /// The exit status if the child has ended.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// SIGINT, then SIGKILL if it is still there after `grace`; reaped.
    pub fn stop(mut self, grace: Duration) -> Result<ExitStatus, String> {
        let mut child = self.child.take().ok_or("already stopped")?;
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: signalling our own unreaped child, so the pid is its.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} did not end within {grace:?} of SIGINT; killed",
                        self.what
                    ));
                }
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A tool run in its own scratch directory. The child goes first (fields
/// drop in order): the directory is removed once nothing writes to it.
pub struct Tool {
    child: ChildGuard,
    dir: TempDir,
    /// How long it may take to finish after SIGINT (perf writes its file).
    grace: Duration,
}

impl Tool {
    /// Stops the tool and returns what it wrote to `out`, if anything.
    fn stop(self) -> Result<String, String> {
        let Tool { child, dir, grace } = self;
        let what = child.what;
        let status = child.stop(grace)?;
        let out = fs::read_to_string(dir.path().join("out")).unwrap_or_default();
        // SIGINT is how these tools are told to finish.
        let clean = status.success() || status.signal() == Some(libc::SIGINT);
        if !clean {
            return Err(format!(
                "{what} ended with {status}: {}",
                last_lines(&dir.path().join("log"))
            ));
        }
        Ok(out)
    }

    /// Every thread's CPU time so far. A thread that ends takes its time
    /// with it; these tools' threads live as long as they do.
    pub fn cpu_ns(&self) -> u64 {
        let Some(pid) = self.pid() else { return 0 };
        fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|t| crate::load::schedstat_ns(&format!("{}/schedstat", t.path().display())))
            .sum()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.child.as_ref().map(Child::id)
    }

    fn log(&self) -> String {
        last_lines(&self.dir.path().join("log"))
    }
}

fn last_lines(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

fn scratch(prefix: &str) -> Result<TempDir, String> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("making a scratch directory: {e}"))
}

fn create(path: &Path) -> Result<File, String> {
    File::create(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Polls until `ready` says yes, the child ends, the deadline passes or
/// the bench is interrupted.
fn wait_ready(
    tool: &mut Tool,
    limit: Duration,
    mut ready: impl FnMut(&Path) -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        if ready(tool.dir.path()) {
            return Ok(());
        }
        if let Some(status) = tool.child.exited() {
            return Err(format!(
                "{} ended at start ({status}): {}",
                tool.child.what,
                tool.log()
            ));
        }
        if interrupted() {
            return Err("interrupted".into());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} not ready after {limit:?}: {}",
                tool.child.what,
                tool.log()
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn scxtop_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/scxtop")
}

/// scxtop headless, writing its snapshots to a file: a pipe nobody drains
/// would fill up and stall it, hiding its own CPU use.
pub struct Scxtop;

impl Scxtop {
    /// Returns once the first snapshot is out (probes and counters started),
    /// with that snapshot.
    pub fn start(interval: &str, extra: &[&str]) -> Result<(Tool, serde_json::Value), String> {
        let dir = scratch("scxtop-bench-")?;
        let out = create(&dir.path().join("out"))?;
        let log = create(&dir.path().join("log"))?;
        let child = ChildGuard::spawn(
            Command::new(scxtop_bin())
                .args(["--headless", "--no-attach", "--interval", interval])
                .args(extra)
                // Kept open and never written: end of input is not a quit.
                .stdin(Stdio::piped())
                .stdout(out)
                .stderr(log),
            "scxtop",
        )?;
        let mut tool = Tool {
            child,
            dir,
            grace: Duration::from_secs(30),
        };
        let mut first = None;
        wait_ready(&mut tool, Duration::from_secs(30), |dir| {
            first = fs::read_to_string(dir.join("out"))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find(|l| l.contains("\"sched\""))
                        .map(str::to_string)
                })
                .and_then(|l| serde_json::from_str::<serde_json::Value>(&l).ok());
            first.is_some()
        })?;
        let first = first.unwrap_or_default();
        // An arm whose probes did not start would measure nothing.
        for u in first["unavailable"].as_array().into_iter().flatten() {
            if matches!(u["what"].as_str(), Some("tasks" | "switch_rates")) {
                return Err(format!(
                    "scxtop started without {}: {}",
                    u["what"], u["reason"]
                ));
            }
        }
        Ok((tool, first))
    }

    /// Stops it and returns every snapshot line it wrote.
    pub fn stop(tool: Tool) -> Result<String, String> {
        tool.stop()
    }
}

fn mkfifo(path: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{}: a NUL in the path", path.display()))?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(format!(
            "mkfifo {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// `perf sched record` as a user runs it (system-wide, every sched
/// tracepoint it takes), writing into a scratch directory. It starts with
/// its events off and turns them on at "enable" on its control fifo,
/// answering "ack": so the measurement starts when recording does.
/// `--no-buildid`: the build-id pass at exit reads the whole file back, which
/// costs bench time after the measurement and nothing during it.
fn perf_sched() -> Result<Tool, String> {
    let dir = scratch("scxtop-bench-perf-")?;
    let (ctl, ack) = (dir.path().join("ctl"), dir.path().join("ack"));
    mkfifo(&ctl)?;
    mkfifo(&ack)?;
    // Read and write, so neither open waits for perf to open its end.
    let open = |p: &Path| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p)
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let (mut ctl_fd, mut ack_fd) = (open(&ctl)?, open(&ack)?);
    let log = create(&dir.path().join("log"))?;
    let log2 = log.try_clone().map_err(|e| format!("log: {e}"))?;
    let child = ChildGuard::spawn(
        Command::new("perf")
            .args(["sched", "record", "--no-buildid", "-D", "-1", "-o"])
            .arg(dir.path().join("perf.data"))
            .arg(format!(
                "--control=fifo:{},{}",
                ctl.display(),
                ack.display()
            ))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2),
        "perf sched record",
    )?;
    let mut tool = Tool {
        child,
        dir,
        grace: Duration::from_secs(60),
    };
    ctl_fd
        .write_all(b"enable\n")
        .map_err(|e| format!("perf's control fifo: {e}"))?;
    let mut answer = Vec::new();
    wait_ready(&mut tool, Duration::from_secs(30), |_| {
        let mut buf = [0u8; 64];
        if let Ok(n) = ack_fd.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
        }
        answer.starts_with(b"ack")
    })?;
    Ok(tool)
}

/// The runqlat-style script; its stdout goes to a file (bpftrace flushes
/// stdout, not its `-o` file, at each printf), which says "ready".
fn bpftrace() -> Result<Tool, String> {
    let dir = scratch("scxtop-bench-bpftrace-")?;
    let out = create(&dir.path().join("out"))?;
    let log = create(&dir.path().join("log"))?;
    let child = ChildGuard::spawn(
        Command::new("bpftrace")
            .args(["-e", RUNQLAT_BT])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(log),
        "bpftrace",
    )?;
    let mut tool = Tool {
        child,
        dir,
        grace: Duration::from_secs(30),
    };
    // Compiling the script takes a few seconds on a busy machine.
    wait_ready(&mut tool, Duration::from_secs(120), |dir| {
        fs::read_to_string(dir.join("out")).is_ok_and(|t| t.lines().any(|l| l == "ready"))
    })?;
    Ok(tool)
}
