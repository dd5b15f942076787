//! The live view's own cost (root and tmux needed; no VM).
//!
//! `cargo bench --bench tui` prints:
//! - frame build + render of the whole 160x48 screen with 1,000 tasks
//!   (update with a new snapshot, then draw into a buffer): median and p99
//!   over 500 frames, and the median's ratio to the 2 ms target;
//! - the real `scxtop` at 4 Hz in a 160x48 tmux pane for 30 s while this
//!   process keeps 1,000 threads waking every 100 ms: its CPU time from
//!   /proc/PID/schedstat as a share of one core (target 2%) and its peak RSS
//!   (VmHWM; target 50 MB).
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
use fixture::FixtureSpec;

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn render_bench() {
    let spec = FixtureSpec {
        tasks: 1000,
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
        "frame build+render 160x48, 1000 tasks: median {median:.3} ms, p99 {p99:.3} ms, median/target(2 ms) = {:.3}",
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

fn live_bench() {
    let bin = scxtop();
    assert!(bin.exists(), "build first: cargo build --release");
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..1000)
        .map(|_| {
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(100));
                }
            })
        })
        .collect();
    let session = format!("scxtop-bench-{}", std::process::id());
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-s", &session, "-x", "160", "-y", "48"])
        .arg(format!("{} --interval 250ms --no-attach", bin.display()))
        .status()
        .unwrap();
    assert!(status.success(), "tmux failed");
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
        t.join().unwrap();
    }
    let share = (cpu1 - cpu0) as f64 / 1e9 / wall;
    println!(
        "live view 4 Hz, {tasks} tasks in the table: CPU {:.2}% of one core (target 2%, ratio {:.2}), peak RSS {:.1} MB (target 50 MB, ratio {:.2})",
        share * 100.0,
        share / 0.02,
        hwm as f64 / 1024.0,
        hwm as f64 / 1024.0 / 50.0
    );
}

fn main() {
    render_bench();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("live view: skipped, needs root (BPF probes)");
        return;
    }
    live_bench();
}
