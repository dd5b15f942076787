//! `keys`: how fast scxtop answers, quiet and under load (issue 11 §1).
//!
//! The real release binary runs in a 160x48 pseudo-terminal this bench owns
//! (`--no-attach --interval 250ms`), its output drained at once into a model
//! of the screen. Four measures, each quiet and under load, the two
//! interleaved in rounds whose order alternates so drift hits both alike:
//! - key → screen: `?` then Esc, alternately, ~200 ms apart: from writing the
//!   key to the master until the help box's title is on the modelled screen
//!   (`?`) or gone from it (Esc); 50 keys (target 100 ms at p99);
//! - `q` → exit: a fresh scxtop each run, `q` as soon as its first snapshot
//!   is drawn (the status bar names the scheduler), until the process has
//!   exited (waitid; target 300 ms);
//! - headless `quit` → exit: the same with `quit` on a piped stdin;
//! - snapshot gaps: differences of consecutive `t` in the headless runs'
//!   output (target: none over twice the interval).
//!
//! The load: `scxtop workload` with 2 ping-pong pairs and 2 busy loops
//! (every CPU of this 2-core host busy and switching), plus 10,000 threads
//! in this process that each wake once a second, at random phases.
//!
//! scxtop runs in a session of its own (and so, with autogroup scheduling,
//! in its own group), as when started from another terminal than the load;
//! the load shares this process's. The table ends with scxtop's threads'
//! time on a CPU and waiting for one (schedstat), to tell its own work from
//! waiting for its turn.
//!
//! Every child gets a parent-death signal and is stopped (SIGTERM, then
//! SIGKILL after a grace period) and reaped when its guard drops, so a
//! failed measurement or a killed bench leaves nothing running.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use super::vt::Screen;

const COLS: u16 = 160;
const ROWS: u16 = 48;
const INTERVAL_MS: f64 = 250.0;
/// Per round and condition: 10 keys (50 in all), 3 `q` runs and 3 headless
/// runs (15 each).
const KEYS_PER_ROUND: usize = 10;
const QUITS_PER_ROUND: usize = 3;
/// How long each headless run collects snapshots before `quit`.
const HEADLESS_RUN: Duration = Duration::from_secs(4);
const WAKERS: usize = 10_000;
/// Longer than any answer the issue allows by far: a key or exit that takes
/// this long is reported as lost, not waited for.
const GIVE_UP: Duration = Duration::from_secs(20);

/// The help box's title (src/ui/help.rs): on screen exactly while it is open.
const HELP_TITLE: &str = "Keys (? or Esc closes)";
/// The status bar says "waiting for the first refresh" until the first
/// snapshot is drawn, then names the scheduler.
const DRAWN: &str = "sched: ";

/// The scxtop under test and how it is started.
struct Target {
    bin: PathBuf,
    /// Attach the built-in scheduler (VM) rather than `--no-attach` (host).
    attach: bool,
}

impl Target {
    fn command(&self, headless: bool) -> Command {
        let mut cmd = Command::new(&self.bin);
        if headless {
            cmd.arg("--headless");
        }
        if !self.attach {
            cmd.arg("--no-attach");
        }
        cmd.args(["--interval", "250ms"]);
        cmd
    }
}

/// The instrument's threads (the screen drain, the exit waiters and the
/// main thread that writes keys) run SCHED_FIFO one above scxtop's own
/// priority, so that under load their wakeup is not what the numbers show:
/// nice does not help here, the load shares this process's autogroup (see
/// src/priority.rs). A failure only leaves the thread as it was.
fn urgent() {
    let _ = scxtop::priority::set_fifo(scxtop::priority::FRONT_END_RT_PRIORITY + 1);
}

/// Spawns an instrument thread that is SCHED_FIFO from its first
/// instruction. A thread that raises itself must first get a CPU at normal
/// priority (the caller's reset-on-fork), and under the load that took
/// longer than GIVE_UP: a screen drain that never ran left scxtop blocked
/// writing to a full pty, which read as "a live view drew no snapshot".
/// The caller drops reset-on-fork only around the spawn, so the scxtop
/// processes it starts still begin as any process would.
fn spawn_urgent<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let param = libc::sched_param {
        sched_priority: scxtop::priority::FRONT_END_RT_PRIORITY + 1,
    };
    // SAFETY: pid 0 is the calling thread; param lives across the call.
    let inheritable = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0;
    let handle = thread::spawn(move || {
        urgent();
        f()
    });
    if inheritable {
        urgent();
    }
    handle
}

/// xorshift64: jitter and wake phases need no more.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self(nanos | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// When a child exited, seen without reaping it.
#[derive(Default)]
struct Exit {
    at: Mutex<Option<Instant>>,
    cv: Condvar,
}

/// A child that cannot outlive its guard, nor this process.
struct Proc {
    child: Child,
    exit: Arc<Exit>,
    waiter: Option<JoinHandle<()>>,
}

impl Proc {
    /// Spawns from the calling thread, which must live as long as the child:
    /// the parent-death signal fires when the thread that forked exits.
    fn spawn(mut cmd: Command, on_parent_death: libc::c_int) -> Self {
        // SAFETY: prctl is async-signal-safe and touches only the new
        // process.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, on_parent_death as libc::c_ulong);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawning scxtop");
        // Dropping the command closes our copies of the child's stdio (the
        // pty slave): the master then reads EIO once the child is gone.
        drop(cmd);
        let exit = Arc::new(Exit::default());
        let pid = child.id();
        let seen = exit.clone();
        let waiter = spawn_urgent(move || {
            // SAFETY: siginfo_t is plain data that waitid fills in.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            loop {
                // SAFETY: WNOWAIT leaves the child a zombie, so its pid stays
                // ours until Child::wait reaps it in Drop.
                let rc = unsafe {
                    libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT)
                };
                if rc == 0
                    || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
                {
                    break;
                }
            }
            let now = Instant::now();
            *seen.at.lock().unwrap() = Some(now);
            seen.cv.notify_all();
        });
        Self {
            child,
            exit,
            waiter: Some(waiter),
        }
    }

    fn exited_within(&self, timeout: Duration) -> Option<Instant> {
        let at = self.exit.at.lock().unwrap();
        let (at, _) = self
            .exit
            .cv
            .wait_timeout_while(at, timeout, |at| at.is_none())
            .unwrap();
        *at
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: the pid is our unreaped child (it is reaped only once its
        // exit was seen, and then never signalled), so it names no other
        // process.
        unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
    }

    /// After the exit was seen: None for a clean exit, else how it ended.
    /// A signal means someone else ended it, and the run measures nothing.
    fn failure(&mut self) -> Option<String> {
        match self.child.wait() {
            Ok(st) if st.success() => None,
            Ok(st) => Some(format!("scxtop ended with {st}")),
            Err(e) => Some(format!("waiting for scxtop: {e}")),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited_within(Duration::ZERO).is_none() {
            // SIGTERM first: scxtop then lets go of its probes (and its
            // scheduler) as it does for any user.
            self.signal(libc::SIGTERM);
            if self.exited_within(Duration::from_secs(15)).is_none() {
                self.signal(libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
        if let Some(w) = self.waiter.take() {
            let _ = w.join();
        }
    }
}

/// What the drain thread has seen on the modelled screen.
#[derive(Default)]
struct Seen {
    drawn: bool,
    help: bool,
    /// When the help box last appeared or went away.
    changed: Option<Instant>,
    /// The master read EOF or EIO: the child and its pty are gone.
    closed: bool,
    /// The screen's first and last rows as last drawn before the first
    /// snapshot, for a failure.
    edges: Vec<String>,
}

type Shared = Arc<(Mutex<Seen>, Condvar)>;

/// scxtop's live view in a pseudo-terminal of ours.
struct Live {
    master: File,
    seen: Shared,
    // Dropped before `drain` is joined: the child must be gone (its slave
    // closed) for the drain thread to see EIO and end.
    proc: Option<Proc>,
    drain: Option<JoinHandle<()>>,
}

fn open_pty() -> (File, OwnedFd) {
    let ws = libc::winsize {
        ws_row: ROWS,
        ws_col: COLS,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into our locals; the null name and
    // termios pointers are allowed, and ws outlives the call.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both fds are fresh from openpty and owned by nobody else.
    let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
        // SAFETY: fcntl on an fd we own. Close-on-exec keeps other children
        // (the load, later sessions) from holding this pty open.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    // SAFETY: TIOCSWINSZ reads a winsize that lives across the call.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(rc, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    (master, slave)
}

impl Live {
    fn start(target: &Target) -> Self {
        let (master, slave) = open_pty();
        let mut cmd = target.command(false);
        cmd.env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe; std has already
        // put the slave on fd 0 when this runs, so it becomes the new
        // session's controlling terminal, as in a terminal emulator.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let proc = Proc::spawn(cmd, libc::SIGTERM);
        let seen: Shared = Arc::default();
        let mut reader = master.try_clone().unwrap();
        let shared = seen.clone();
        // Drains the master as fast as scxtop writes, so the pty never
        // pushes back on it.
        let drain = spawn_urgent(move || {
            let mut screen = Screen::new(COLS.into(), ROWS.into());
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let now = Instant::now();
                screen.feed(&buf[..n]);
                let help = screen.contains(HELP_TITLE);
                let drawn = screen.contains(DRAWN);
                let (lock, cv) = &*shared;
                let mut s = lock.lock().unwrap();
                s.drawn |= drawn;
                // Only a view not drawn yet can need them: this thread is
                // part of the instrument and must stay cheap.
                if !s.drawn {
                    let rows = screen.text_rows();
                    let tail = rows.len().saturating_sub(2);
                    s.edges = rows[..rows.len().min(2)].to_vec();
                    s.edges
                        .extend(rows[tail.max(2).min(rows.len())..].iter().cloned());
                }
                if help != s.help {
                    s.help = help;
                    s.changed = Some(now);
                }
                cv.notify_all();
            }
            let (lock, cv) = &*shared;
            lock.lock().unwrap().closed = true;
            cv.notify_all();
        });
        Self {
            master,
            seen,
            proc: Some(proc),
            drain: Some(drain),
        }
    }

    fn wait(&self, timeout: Duration, done: impl Fn(&Seen) -> bool) -> bool {
        let (lock, cv) = &*self.seen;
        let s = lock.lock().unwrap();
        let (s, _) = cv
            .wait_timeout_while(s, timeout, |s| !done(s) && !s.closed)
            .unwrap();
        done(&s)
    }

    fn drawn(&self) -> bool {
        self.wait(GIVE_UP, |s| s.drawn)
    }

    /// Writes `key` and waits for the help box to be `open`: when the key
    /// was written and when the screen showed it (None if it never did).
    fn press(&mut self, key: &[u8], open: bool) -> (Instant, Option<Instant>) {
        let before = self.wait(Duration::ZERO, |s| s.help == open);
        assert!(!before, "the help box is already as the key would make it");
        let t0 = Instant::now();
        self.master.write_all(key).unwrap();
        if !self.wait(GIVE_UP, |s| s.help == open) {
            return (t0, None);
        }
        (t0, self.seen.0.lock().unwrap().changed)
    }

    fn closed(&self) -> bool {
        self.wait(Duration::ZERO, |s| s.closed)
    }

    /// How the live view ended, if it has; "still running" otherwise, with
    /// what the screen showed and where each of scxtop's threads was.
    fn failure(&mut self) -> String {
        let edges = self.seen.0.lock().unwrap().edges.join(" | ");
        let proc = self.proc_mut();
        if proc.exited_within(Duration::ZERO).is_none() {
            let threads = thread_states(proc.child.id());
            return format!("still running; screen: {edges}; threads: {threads}");
        }
        proc.failure().unwrap_or_else(|| "exited 0".into())
    }

    fn proc(&self) -> &Proc {
        self.proc.as_ref().unwrap()
    }

    fn proc_mut(&mut self) -> &mut Proc {
        self.proc.as_mut().unwrap()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        drop(self.proc.take());
        if let Some(d) = self.drain.take() {
            let _ = d.join();
        }
    }
}

/// The load: every CPU busy and switching, plus many sleepers waking.
struct Load {
    _workload: Proc,
    stop: Arc<AtomicBool>,
    wakers: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(bin: &Path, rng: &mut Rng) -> Self {
        let mut cmd = Command::new(bin);
        cmd.args([
            "workload",
            "--pingpong",
            "2",
            "--busy",
            "0x2",
            "--duration",
            "1h",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
        let workload = Proc::spawn(cmd, libc::SIGKILL);
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let wakers = (0..WAKERS)
            .map(|_| {
                let stop = stop.clone();
                let mut next = start + Duration::from_nanos(rng.below(1_000_000_000));
                thread::Builder::new()
                    .name("waker".into())
                    .stack_size(64 << 10)
                    .spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            thread::sleep(next.saturating_duration_since(Instant::now()));
                            next += Duration::from_secs(1);
                        }
                    })
                    .expect("spawning a waker thread")
            })
            .collect();
        // Let the first wakeups happen and scxtop's table fill before the
        // measurement starts.
        thread::sleep(Duration::from_secs(2));
        Self {
            _workload: workload,
            stop,
            wakers,
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.wakers.drain(..) {
            let _ = w.join();
        }
    }
}

/// One measure's samples in ms. A key or exit that never came counts as
/// `GIVE_UP` (so p99 and max are lower bounds) and in `lost`.
#[derive(Default)]
struct Metric {
    ms: Vec<f64>,
    lost: usize,
}

impl Metric {
    fn push(&mut self, from: Instant, at: Option<Instant>) {
        match at {
            Some(at) => self.ms.push(at.duration_since(from).as_secs_f64() * 1e3),
            None => {
                self.ms.push(GIVE_UP.as_secs_f64() * 1e3);
                self.lost += 1;
            }
        }
    }
}

#[derive(Default)]
struct Results {
    open: Metric,
    close: Metric,
    quit: Metric,
    headless_quit: Metric,
    gaps: Metric,
    /// Runs that measured nothing, and why.
    failed: Vec<String>,
    /// scxtop's own account from its first snapshot on: (on-CPU s,
    /// runnable-but-waiting s, wall s), live view and headless.
    live_time: (f64, f64, f64),
    headless_time: (f64, f64, f64),
}

/// On-CPU and run-queue wait seconds of all of a process's threads (their
/// schedstat): whether slow answers come from scxtop's own work or from
/// waiting for a CPU.
fn cpu_and_wait(pid: u32) -> (f64, f64) {
    let mut sum = (0.0, 0.0);
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return sum;
    };
    for t in tasks.flatten() {
        let text = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        let mut f = text
            .split_whitespace()
            .map(|v| v.parse::<f64>().unwrap_or(0.0));
        sum.0 += f.next().unwrap_or(0.0) / 1e9;
        sum.1 += f.next().unwrap_or(0.0) / 1e9;
    }
    sum
}

/// scxtop's account at a moment: start-up is left out (until a process or
/// thread has made itself SCHED_FIFO it waits behind the load like any
/// other, and that is not the view's steady state).
struct Baseline {
    cpu: f64,
    wait: f64,
    at: Instant,
}

impl Baseline {
    fn now(pid: u32) -> Self {
        let (cpu, wait) = cpu_and_wait(pid);
        Self {
            cpu,
            wait,
            at: Instant::now(),
        }
    }
}

fn account(into: &mut (f64, f64, f64), pid: u32, since: &Baseline) {
    let (cpu, wait) = cpu_and_wait(pid);
    into.0 += cpu - since.cpu;
    into.1 += wait - since.wait;
    into.2 += since.at.elapsed().as_secs_f64();
}

/// Each thread of `pid` as `comm state policy wchan` (policy 1 is FIFO).
fn thread_states(pid: u32) -> String {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return "gone".into();
    };
    let mut out = Vec::new();
    for task in dir.flatten() {
        let read = |f: &str| std::fs::read_to_string(task.path().join(f)).unwrap_or_default();
        let stat = read("stat");
        // Fields after the parenthesised comm: state is the first, policy
        // the 39th (field 41 of the whole line).
        let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let state = fields.first().copied().unwrap_or("?");
        let policy = fields.get(38).copied().unwrap_or("?");
        out.push(format!(
            "{} {state} p{policy} {}",
            read("comm").trim(),
            read("wchan").trim()
        ));
    }
    out.join(", ")
}

fn key_session(target: &Target, rng: &mut Rng, r: &mut Results) {
    let mut live = Live::start(target);
    if !live.drawn() {
        r.failed
            .push(format!("a live view drew no snapshot ({})", live.failure()));
        return;
    }
    let since = Baseline::now(live.proc().child.id());
    thread::sleep(Duration::from_secs(1));
    for i in 0..KEYS_PER_ROUND {
        let open = i % 2 == 0;
        let (key, m): (&[u8], _) = if open {
            (b"?", &mut r.open)
        } else {
            (b"\x1b", &mut r.close)
        };
        let (t0, at) = live.press(key, open);
        if at.is_none() && live.closed() {
            r.failed.push(format!(
                "a live view ended during the keys ({})",
                live.failure()
            ));
            return;
        }
        m.push(t0, at);
        if at.is_none() {
            // The screen is not where the next key expects it.
            return;
        }
        thread::sleep(Duration::from_millis(150 + rng.below(100)));
    }
    account(&mut r.live_time, live.proc().child.id(), &since);
    live.master.write_all(b"q").unwrap();
    let _ = live.proc().exited_within(GIVE_UP);
}

fn quit_run(target: &Target, r: &mut Results) {
    let mut live = Live::start(target);
    if !live.drawn() {
        r.failed
            .push(format!("a live view drew no snapshot ({})", live.failure()));
        return;
    }
    let t0 = Instant::now();
    live.master.write_all(b"q").unwrap();
    let at = live.proc().exited_within(GIVE_UP);
    if at.is_some()
        && let Some(why) = live.proc_mut().failure()
    {
        r.failed.push(format!("q: {why}"));
        return;
    }
    r.quit.push(t0, at);
}

fn headless_run(target: &Target, r: &mut Results) {
    // Snapshots go to an unnamed file: a pipe would push back on scxtop
    // whenever this process is slow to read, and the file needs no cleanup.
    let mut out = tempfile::tempfile().unwrap();
    let mut cmd = target.command(true);
    cmd.stdin(Stdio::piped())
        .stdout(out.try_clone().unwrap())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches only the new process.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut proc = Proc::spawn(cmd, libc::SIGTERM);
    let mut stdin = proc.child.stdin.take().unwrap();
    let started = Instant::now();
    let pid = proc.child.id();
    while out.metadata().unwrap().len() == 0 {
        if started.elapsed() > GIVE_UP || proc.exited_within(Duration::ZERO).is_some() {
            r.failed.push("a headless run wrote no snapshot".into());
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let since = Baseline::now(pid);
    thread::sleep(HEADLESS_RUN);
    account(&mut r.headless_time, pid, &since);
    if proc.exited_within(Duration::ZERO).is_some() {
        let why = proc.failure().unwrap_or_else(|| "exited".into());
        r.failed.push(format!("a headless run ended early: {why}"));
        return;
    }
    let t0 = Instant::now();
    stdin.write_all(b"quit\n").unwrap();
    let at = proc.exited_within(GIVE_UP);
    if at.is_some()
        && let Some(why) = proc.failure()
    {
        r.failed.push(format!("quit: {why}"));
        return;
    }
    r.headless_quit.push(t0, at);
    drop(proc);
    drop(stdin);
    let mut text = String::new();
    out.rewind().unwrap();
    out.read_to_string(&mut text).unwrap();
    let ts: Vec<f64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("event").is_none())
        .filter_map(|v| v["t"].as_f64())
        .collect();
    r.gaps.ms.extend(ts.windows(2).map(|w| (w[1] - w[0]) * 1e3));
}

fn block(target: &Target, rng: &mut Rng, r: &mut Results) {
    key_session(target, rng, r);
    for _ in 0..QUITS_PER_ROUND {
        quit_run(target, r);
    }
    for _ in 0..QUITS_PER_ROUND {
        headless_run(target, r);
    }
}

fn percentile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn row(metric: &str, cond: &str, m: &Metric, target: f64) {
    let v = &m.ms;
    let (p50, p99, max) = (percentile(v, 0.5), percentile(v, 0.99), percentile(v, 1.0));
    println!(
        "  {metric:<22} {cond:<7} {p50:>9.1} {p99:>9.1} {max:>9.1} {:>4} {:>4} {target:>6.0} {:>10.2}",
        v.len(),
        m.lost,
        p99 / target,
    );
}

/// `attach`: scxtop attaches the built-in scheduler (in the VM) rather than
/// running with `--no-attach` (the host has no sched_ext).
pub fn bench(bin: PathBuf, rounds: usize, attach: bool) {
    urgent();
    let target = Target { bin, attach };
    let mut rng = Rng::seeded();
    let (mut quiet, mut loaded) = (Results::default(), Results::default());
    println!(
        "keys: {rounds} rounds, quiet and under load (2 ping-pong pairs + 2 busy loops + \
         {WAKERS} threads waking 1/s), order alternating"
    );
    for round in 0..rounds {
        for loaded_now in [round % 2 == 1, round % 2 == 0] {
            let t = Instant::now();
            if loaded_now {
                let _load = Load::start(&target.bin, &mut rng);
                block(&target, &mut rng, &mut loaded);
            } else {
                block(&target, &mut rng, &mut quiet);
            }
            println!(
                "  round {} {}: {:.0} s",
                round + 1,
                if loaded_now { "loaded" } else { "quiet" },
                t.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "  {:<22} {:<7} {:>9} {:>9} {:>9} {:>4} {:>4} {:>6} {:>10}",
        "ms", "", "p50", "p99", "max", "n", "lost", "target", "p99/target"
    );
    for (cond, r) in [("quiet", &quiet), ("loaded", &loaded)] {
        let keys = Metric {
            ms: r.open.ms.iter().chain(&r.close.ms).copied().collect(),
            lost: r.open.lost + r.close.lost,
        };
        row("key -> screen", cond, &keys, 100.0);
        row("  ? (help opens)", cond, &r.open, 100.0);
        row("  Esc (help closes)", cond, &r.close, 100.0);
        row("q -> exit", cond, &r.quit, 300.0);
        row("headless quit -> exit", cond, &r.headless_quit, 300.0);
        row("snapshot gap", cond, &r.gaps, 2.0 * INTERVAL_MS);
    }
    for (cond, r) in [("quiet", &quiet), ("loaded", &loaded)] {
        println!(
            "  snapshot gap {cond}: max/interval = {:.2} (target 2 or less)",
            percentile(&r.gaps.ms, 1.0) / INTERVAL_MS
        );
    }
    println!(
        "  (lost: no answer in {} s, counted as {} s, so p99 and max are then lower bounds)",
        GIVE_UP.as_secs(),
        GIVE_UP.as_secs()
    );
    for (cond, r) in [("quiet", &quiet), ("loaded", &loaded)] {
        for (what, (cpu, wait, wall)) in [("live view", r.live_time), ("headless", r.headless_time)]
        {
            println!(
                "  scxtop {what} {cond}: its threads on a CPU {:.1}% and runnable but waiting \
                 for one {:.1}% of the wall time from the first snapshot on (schedstat, summed \
                 over threads)",
                100.0 * cpu / wall,
                100.0 * wait / wall
            );
        }
    }
    for (cond, r) in [("quiet", &quiet), ("loaded", &loaded)] {
        for what in &r.failed {
            println!("  {cond}: measured nothing: {what}");
        }
    }
}
