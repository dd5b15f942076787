//! The live view's own cost and responsiveness (root; tmux for `live`; no
//! VM).
//!
//! `cargo bench --bench tui [-- render|live|keys]` (all by default) prints:
//! - `render`: frame build + render of the whole 160x48 screen with 10,000 tasks
//!   (update with a new snapshot, then draw into a buffer): median and p99
//!   over 500 frames, and the median's ratio to the 2 ms target;
//! - `live`: the real `scxtop` at 4 Hz in a 160x48 tmux pane for 30 s while this
//!   process keeps 10,000 threads, first asleep, then each waking once a
//!   second (so every task's row changes every 4 refreshes): its CPU time
//!   from /proc/PID/schedstat as a share of one core (target 2%) and its
//!   peak RSS (VmHWM; target 50 MB), per round and as the median of rounds;
//! - `keys`: key → screen, `q` → exit, headless `quit` → exit and the
//!   headless snapshot gaps, quiet and under load (see `tui/keys.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use scxtop::app::action::Action;
use scxtop::app::state::State;
use scxtop::app::update::update;
use scxtop::ui::screen;
use scxtop::ui::theme::Theme;

#[path = "../tests/common/fixture.rs"]
mod fixture;
#[path = "tui/keys.rs"]
mod keys;
#[path = "tui/vt.rs"]
mod vt;
use fixture::FixtureSpec;

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Issue 11 §3: the screen and the live view with this many threads.
const TASKS: usize = 10_000;

fn render_bench() {
    let spec = FixtureSpec {
        tasks: TASKS,
        cpus: 2,
        samples: 100_000,
        log_lines: 20,
        ours: true,
    };
    let snaps: Vec<_> = (0..8)
        .map(|i| {
            let mut s = fixture::snapshot(&spec);
            s.t = i as f64;
            s
        })
        .collect();
    let mut state = State::new(Duration::from_millis(250));
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let theme = Theme { color: true };
    let mut times = Vec::new();
    for i in 0..550 {
        let snap = Box::new(snaps[i % snaps.len()].clone());
        let start = Instant::now();
        update(&mut state, Action::Snapshot(snap));
        term.draw(|f| screen::draw(f.area(), f.buffer_mut(), &state, theme))
            .unwrap();
        let took = start.elapsed().as_secs_f64() * 1e3;
        if i >= 50 {
            times.push(took); // the first frames warm caches up
        }
    }
    let median = percentile(&mut times, 0.5);
    let p99 = percentile(&mut times, 0.99);
    println!(
        "frame build+render 160x48, {TASKS} tasks: median {median:.3} ms, p99 {p99:.3} ms, median/target(2 ms) = {:.3}",
        median / 2.0
    );
}

fn scxtop() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/scxtop")
}

/// (CPU ns, VmHWM kB) of a process.
fn usage(pid: u32) -> (u64, u64) {
    let sched = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap();
    let cpu: u64 = sched.split_whitespace().next().unwrap().parse().unwrap();
    // Threads' CPU time is in the process's total only once they exit, so
    // add each live thread's.
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let p = t.unwrap().path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(p) {
            total += s.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    (total.max(cpu), hwm)
}

fn live_bench(rounds: usize) {
    for wake in [false, true] {
        let load = if wake { "waking 1/s" } else { "asleep" };
        let mut shares: Vec<f64> = (0..rounds.max(1)).map(|_| live_round(wake, load)).collect();
        if shares.len() > 1 {
            let max = shares.iter().copied().fold(0.0, f64::max);
            let min = shares.iter().copied().fold(f64::MAX, f64::min);
            let median = percentile(&mut shares, 0.5);
            println!(
                "live view 4 Hz, 10,000 threads {load}: CPU median {:.2}% of one core over {} rounds \
                 (min {:.2}, max {:.2}; ratio to the 2% target {:.2})",
                median * 100.0,
                shares.len(),
                min * 100.0,
                max * 100.0,
                median / 0.02
            );
        }
    }
}

/// One 30 s run (`load` names it); returns scxtop's CPU share.
fn live_round(wake: bool, load: &str) -> f64 {
    let bin = scxtop();
    let stop = Arc::new(AtomicBool::new(false));
    let session = format!("scxtop-bench-{}", std::process::id());
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-s", &session, "-x", "160", "-y", "48"])
        .arg(format!("{} --interval 250ms --no-attach", bin.display()))
        .status()
        .unwrap();
    assert!(status.success(), "tmux failed");
    thread::sleep(Duration::from_secs(2));
    let threads: Vec<_> = (0..TASKS)
        .map(|_| {
            let stop = stop.clone();
            thread::Builder::new()
                .stack_size(64 << 10)
                .spawn(move || {
                    // Once at least, so the probes see it: the table holds
                    // the tasks that ran since scxtop started.
                    thread::sleep(Duration::from_millis(10));
                    while !stop.load(Ordering::Relaxed) {
                        if wake {
                            thread::sleep(Duration::from_secs(1));
                        } else {
                            thread::park();
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    thread::sleep(Duration::from_secs(3));
    let pane_pid = Command::new("tmux")
        .args(["display-message", "-p", "-t", &session, "#{pane_pid}"])
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&pane_pid.stdout)
        .trim()
        .parse()
        .unwrap();
    let screen = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", &session])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&screen.stdout).into_owned();
    let tasks = screen
        .split("Tasks ")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("?")
        .to_string();
    let (cpu0, _) = usage(pid);
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(30));
    let (cpu1, hwm) = usage(pid);
    let wall = t0.elapsed().as_secs_f64();
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.thread().unpark();
        t.join().unwrap();
    }
    let share = (cpu1 - cpu0) as f64 / 1e9 / wall;
    println!(
        "live view 4 Hz, threads {load}, {tasks} tasks in the table: CPU {:.2}% of one core (target 2%, ratio {:.2}), peak RSS {:.1} MB (target 50 MB, ratio {:.2})",
        share * 100.0,
        share / 0.02,
        hwm as f64 / 1024.0,
        hwm as f64 / 1024.0 / 50.0
    );
    share
}

/// The command line: sections (`render`, `live`, `keys`; all when none is
/// named), `--rounds N` for `keys` and `live`, `--vm` to run `keys` in the VM harness on
/// every kernel series it offers (under the built-in scheduler, or fair
/// with `--no-attach`, to tell the scheduler's share of an exit), and
/// `--in-guest`, which the bench passes to itself inside the VM.
struct Args {
    sections: Vec<String>,
    rounds: usize,
    vm: bool,
    no_attach: bool,
    in_guest: bool,
}

fn args() -> Args {
    let mut a = Args {
        sections: Vec::new(),
        rounds: 5,
        vm: false,
        no_attach: false,
        in_guest: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rounds" => {
                let n = it.next().and_then(|n| n.parse().ok());
                a.rounds = n.expect("--rounds takes a number, e.g. --rounds 5");
            }
            "--vm" => a.vm = true,
            "--no-attach" => a.no_attach = true,
            "--in-guest" => a.in_guest = true,
            // cargo bench passes --bench.
            s if s.starts_with('-') => {}
            s => a.sections.push(s.to_string()),
        }
    }
    a
}

/// Runs `keys` in the VM on every kernel series the harness offers, this
/// bench binary and scxtop inside; the guest's table streams to stdout.
fn keys_in_vm(rounds: usize, no_attach: bool) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let harness = root.join("tests/vm/run.sh");
    let me = std::env::current_exe().unwrap();
    let name = me.file_name().unwrap().to_string_lossy().into_owned();
    let out = Command::new(&harness)
        .arg("--list-kernels")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tests/vm/run.sh --list-kernels failed"
    );
    for series in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let under = if no_attach {
            "fair (--no-attach)"
        } else {
            "the built-in scheduler"
        };
        println!("keys in the VM, kernel {series}, under {under}:");
        let status = Command::new(&harness)
            .args(["--kernel", series, "--timeout", "3600", "--mem", "4G"])
            .env("SCXTOP_BIN", scxtop())
            .arg("--bin")
            .arg(&me)
            .args(["--", &name, "keys", "--in-guest", "--rounds"])
            .arg(rounds.to_string())
            .args(no_attach.then_some("--no-attach"))
            .status()
            .unwrap();
        assert!(
            status.success(),
            "keys in the VM ({series}) failed: {status}"
        );
    }
}

fn main() {
    let args = args();
    if args.in_guest {
        keys::bench(
            PathBuf::from("/usr/local/bin/scxtop"),
            args.rounds,
            !args.no_attach,
        );
        return;
    }
    let run =
        |section: &str| args.sections.is_empty() || args.sections.iter().any(|p| p == section);
    if run("render") {
        render_bench();
    }
    if !run("live") && !run("keys") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("live, keys: skipped, need root (BPF probes)");
        return;
    }
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--bin", "scxtop"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "building scxtop failed");
    if run("live") {
        live_bench(args.rounds);
    }
    if run("keys") {
        if args.vm {
            keys_in_vm(args.rounds, args.no_attach);
        } else {
            keys::bench(scxtop(), args.rounds, false);
        }
    }
}
