//! The live view under stress on this machine's kernel, driven through tmux
//! like a user: a storm of window resizes, and ten thousand threads in the
//! task table (filter, sort and memory with the table full).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::live_view::{PANE_TITLES, quit_restores_the_terminal, script, scxtop_pid, task_counts};
use common::tmux::Tmux;
use common::{poll_until, require_root, scxtop};

const TOO_SMALL: &str = "terminal too small";

/// The full view drawn for a `w`x`h` window: every pane's title, no
/// too-small message, and the frame reaching the window's last line and
/// column (a frame drawn for an earlier size would stop short or be cut).
fn full_view_at(s: &str, w: u16, h: u16) -> bool {
    let lines: Vec<&str> = s.lines().collect();
    PANE_TITLES.iter().all(|p| s.contains(p))
        && !s.contains(TOO_SMALL)
        && lines.len() == usize::from(h)
        && lines.iter().map(|l| l.chars().count()).max() == Some(usize::from(w))
        // The key hints are the last line.
        && lines.last().is_some_and(|l| l.contains("q quit"))
}

fn too_small_at(s: &str, w: u16, h: u16) -> bool {
    s.contains(&format!(
        "{TOO_SMALL}: {w}x{h}; scxtop needs at least 80x24"
    )) && !s.contains("Context switches /s")
}

#[test]
fn a_resize_storm_ends_in_the_full_view_at_the_last_size_and_q_restores_the_terminal() {
    if !require_root("tui_host_stress resize") {
        return;
    }
    let bin = scxtop();
    let t = Tmux::start("resize", 120, 40, &script("", ""), &[("SCXTOP", &bin)]);
    t.wait_for("the full view", Duration::from_secs(20), |s| {
        full_view_at(s, 120, 40)
    });

    // Both layouts, the smallest full view, just too narrow or too short,
    // and sizes where nothing fits at all; the last one is the final size.
    let cycle: [(u16, u16); 10] = [
        (79, 24),
        (200, 60),
        (80, 23),
        (1, 1),
        (100, 30),
        (40, 10),
        (80, 24),
        (10, 3),
        (160, 48),
        (132, 43),
    ];
    let sizes: Vec<(u16, u16)> = cycle.iter().copied().cycle().take(50).collect();
    let (final_w, final_h) = sizes[sizes.len() - 1];
    // 50 resizes spread over 5 s, on a fixed schedule: a user dragging the
    // corner. This paces the load, it waits for nothing.
    let period = Duration::from_millis(100);
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    for (i, (w, h)) in sizes.iter().enumerate() {
        let due = start + period * u32::try_from(i).unwrap();
        thread::sleep(due.saturating_duration_since(Instant::now()));
        let sent = Instant::now();
        t.resize(*w, *h);
        slowest = slowest.max(sent.elapsed());
    }
    let storm = start.elapsed();
    let last_resize = Instant::now();
    t.wait_for(
        "the full view at the final size",
        Duration::from_secs(20),
        |s| full_view_at(s, final_w, final_h),
    );
    let settled = last_resize.elapsed();
    eprintln!(
        "resize storm: 50 resizes in {storm:?} (slowest tmux resize {slowest:?}); \
         full view at {final_w}x{final_h} {settled:?} after the last"
    );

    // Just below the minimum either way, then back up.
    for (w, h) in [(79, 24), (80, 23)] {
        t.resize(w, h);
        t.wait_for("the too-small message", Duration::from_secs(10), |s| {
            too_small_at(s, w, h)
        });
    }
    t.resize(final_w, final_h);
    t.wait_for("the full view again", Duration::from_secs(10), |s| {
        full_view_at(s, final_w, final_h)
    });
    quit_restores_the_terminal(&t);
}

/// Threads that sleep and wake, in two groups named so the filter can tell
/// them apart. Each wakes at least every second, and at once when the
/// generation changes; `woke` counts those that have run since it did.
struct Sleepers {
    handles: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    /// (group name, thread id), in spawn order.
    tids: Arc<Mutex<Vec<(&'static str, i32)>>>,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    generation: AtomicU64,
    woke: AtomicUsize,
}

impl Sleepers {
    fn spawn(groups: &[(&'static str, usize)]) -> Self {
        let shared = Arc::new(Shared::default());
        let tids = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for &(name, count) in groups {
            for _ in 0..count {
                let (shared, tids) = (shared.clone(), tids.clone());
                let h = thread::Builder::new()
                    .name(name.to_string())
                    // Small stacks keep 10,000 threads to a few hundred MB
                    // of address space and little resident memory.
                    .stack_size(64 << 10)
                    .spawn(move || {
                        let tid = common::gettid();
                        tids.lock().unwrap().push((name, tid));
                        let mut seen = 0;
                        while !shared.stop.load(Ordering::Acquire) {
                            let g = shared.generation.load(Ordering::Acquire);
                            if g != seen {
                                seen = g;
                                shared.woke.fetch_add(1, Ordering::AcqRel);
                            }
                            thread::park_timeout(Duration::from_secs(1));
                        }
                    })
                    .unwrap_or_else(|e| panic!("spawning thread {}: {e}", handles.len()));
                handles.push(h);
            }
        }
        Self {
            handles,
            shared,
            tids,
        }
    }

    /// Wakes every thread and returns once each has run since.
    fn wake_all(&self, timeout: Duration) {
        self.shared.woke.store(0, Ordering::Release);
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        for h in &self.handles {
            h.thread().unpark();
        }
        let n = self.handles.len();
        poll_until("every thread to wake", timeout, || {
            let woke = self.shared.woke.load(Ordering::Acquire);
            if woke >= n {
                Ok(())
            } else {
                Err(format!("{woke} of {n} woke"))
            }
        });
    }

    fn tids_of(&self, group: &str) -> Vec<i32> {
        let tids = self.tids.lock().unwrap();
        tids.iter()
            .filter(|(g, _)| *g == group)
            .map(|(_, t)| *t)
            .collect()
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for h in self.handles.drain(..) {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// A `/proc/PID/status` field in kB ("VmHWM:   23456 kB").
fn status_kb(pid: i32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status:\n{status}"))
}

/// The thread id and comm in the task table's first row (the line under
/// its header).
fn first_row(s: &str) -> Option<(i32, &str)> {
    let mut lines = s.lines();
    lines.find(|l| l.contains("TID") && l.contains("COMM"))?;
    let mut cells = lines.next()?.trim_start_matches('│').split_whitespace();
    Some((cells.next()?.parse().ok()?, cells.next()?))
}

#[test]
fn ten_thousand_threads_fill_the_table_filter_and_sort_work_and_memory_stays_small() {
    if !require_root("tui_host_stress threads") {
        return;
    }
    const A: usize = 7_000;
    const B: usize = 3_000;
    let started = Instant::now();
    let sleepers = Sleepers::spawn(&[("swarmA", A), ("swarmB", B)]);
    eprintln!("threads: {} spawned in {:?}", A + B, started.elapsed());

    let bin = scxtop();
    let t = Tmux::start("threads", 120, 40, &script("", ""), &[("SCXTOP", &bin)]);
    // The first refresh comes after the probes attached: from here on every
    // thread that runs gets a row.
    t.wait_for("the first refresh", Duration::from_secs(20), |s| {
        task_counts(s).is_some()
    });
    sleepers.wake_all(Duration::from_secs(60));
    let pid = scxtop_pid(&t);

    // Every thread ran under the probes and none has exited: all have rows,
    // beside the machine's own threads.
    let s = t.wait_for("a table with every thread", Duration::from_secs(30), |s| {
        task_counts(s).is_some_and(|(_, total)| total >= A + B)
    });
    let (_, total) = task_counts(&s).unwrap();
    let rss_full = status_kb(pid, "VmRSS");

    // Exactly our groups: "swarm" names both, "swarmB" one (the filter
    // ignores case).
    t.keys(&["/", "s", "w", "a", "r", "m", "Enter"]);
    t.wait_for("the filter on both groups", Duration::from_secs(10), |s| {
        s.contains("filter swarm ") && task_counts(s).is_some_and(|(shown, _)| shown == A + B)
    });
    t.keys(&["/", "B", "Enter"]);
    // One condition for the title and the rows: a capture can catch scxtop
    // halfway through writing a frame.
    t.wait_for("the filter on one group", Duration::from_secs(10), |s| {
        s.contains("filter swarmB")
            && task_counts(s).is_some_and(|(shown, _)| shown == B)
            && first_row(s).is_some_and(|(_, comm)| comm == "swarmB")
            && !s.contains("swarmA")
    });

    // `s` five times from cpu%: the thread id column, lowest first; `S`
    // reverses it. Home shows the top of the table.
    let b_tids = sleepers.tids_of("swarmB");
    let (lowest, highest) = (*b_tids.iter().min().unwrap(), *b_tids.iter().max().unwrap());
    t.keys(&["s", "s", "s", "s", "s", "Home"]);
    t.wait_for("the lowest thread id first", Duration::from_secs(10), |s| {
        s.contains("sort pid ↑") && first_row(s).is_some_and(|(tid, _)| tid == lowest)
    });
    t.keys(&["S", "Home"]);
    t.wait_for(
        "the highest thread id first",
        Duration::from_secs(10),
        |s| s.contains("sort pid ↓") && first_row(s).is_some_and(|(tid, _)| tid == highest),
    );
    t.keys(&["s"]);
    t.wait_for("the next sort column", Duration::from_secs(10), |s| {
        s.contains("sort comm ↑")
    });

    // The peak covers the whole run with the table full.
    let hwm = status_kb(pid, "VmHWM");
    eprintln!(
        "threads: {total} rows; scxtop VmRSS {rss_full} kB with the table full, \
         VmHWM {hwm} kB; {:?} in all",
        started.elapsed()
    );
    assert!(
        hwm < 50 * 1024,
        "scxtop peaked at {hwm} kB with {total} rows"
    );
    quit_restores_the_terminal(&t);
    drop(sleepers);
}
