//! The load every arm is measured beside: ping-pong pairs (a byte bounced
//! over two pipes, like `perf bench sched pipe`) that run for a whole
//! section while arms come and go. Windows are read off running counters,
//! so no window pays for starting threads, and arms start and stop between
//! windows without the load noticing.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub struct Load {
    pub name: &'static str,
    pub label: &'static str,
    pub pin: Option<usize>,
    pub pairs: usize,
}

pub const PIPE: Load = Load {
    name: "pipe",
    label: "pipe ping-pong pinned to CPU 0 (1 pair)",
    pin: Some(0),
    pairs: 1,
};

pub const MESSAGING: Load = Load {
    name: "messaging",
    label: "messaging (4 unpinned ping-pong pairs)",
    pin: None,
    pairs: 4,
};

/// The load, running. Dropping it stops and joins every thread.
pub struct Running {
    stop: Arc<AtomicBool>,
    /// Round trips so far, one counter per pair.
    trips: Vec<Arc<AtomicU64>>,
    /// Each thread's schedstat file, for its CPU time.
    schedstat: Vec<String>,
    threads: Vec<JoinHandle<()>>,
}

/// Where a window stands: when, how many round trips, how much CPU time
/// the load's threads had.
#[derive(Clone, Copy)]
pub struct Mark {
    pub at: Instant,
    pub trips: u64,
    pub cpu_ns: u64,
}

/// The CPU time (ns) a thread or process had, from a schedstat file: the
/// kernel's own sum_exec_runtime, from the task clock, which leaves out
/// time stolen by the hypervisor and spent in interrupts.
pub fn schedstat_ns(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: pipe() fills two fds we then own exclusively.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: both fds are fresh from pipe() and owned by nobody else.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

fn pin_to(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; CPU_SET and sched_setaffinity only
    // touch the set we own, for this thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(
        rc,
        0,
        "pinning to CPU {cpu}: {}",
        std::io::Error::last_os_error()
    );
}

impl Running {
    /// Starts the pairs; they inherit this thread's nice level.
    pub fn start(load: &Load) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut trips = Vec::new();
        let mut threads = Vec::new();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        for _ in 0..load.pairs {
            let (a_rx, b_tx) = pipe();
            let (b_rx, a_tx) = pipe();
            let count = Arc::new(AtomicU64::new(0));
            let pin = load.pin;
            let (stop_a, count_a) = (stop.clone(), count.clone());
            let (tx_a, tx_b) = (tid_tx.clone(), tid_tx.clone());
            threads.push(thread::spawn(move || {
                if let Some(cpu) = pin {
                    pin_to(cpu);
                }
                let _ = tx_a.send(gettid());
                end(a_rx, a_tx, Some((&stop_a, &count_a)));
            }));
            threads.push(thread::spawn(move || {
                if let Some(cpu) = pin {
                    pin_to(cpu);
                }
                let _ = tx_b.send(gettid());
                end(b_rx, b_tx, None);
            }));
            trips.push(count);
        }
        let schedstat = (0..threads.len())
            .filter_map(|_| tid_rx.recv().ok())
            .map(|tid| format!("/proc/self/task/{tid}/schedstat"))
            .collect();
        Self {
            stop,
            trips,
            schedstat,
            threads,
        }
    }

    pub fn mark(&self) -> Mark {
        Mark {
            at: Instant::now(),
            trips: self.trips.iter().map(|t| t.load(Ordering::Relaxed)).sum(),
            cpu_ns: self.schedstat.iter().map(|p| schedstat_ns(p)).sum(),
        }
    }

    /// Round trips per second over the next `window`.
    pub fn rate(&self, window: Duration) -> f64 {
        let a = self.mark();
        thread::sleep(window);
        let b = self.mark();
        (b.trips - a.trips) as f64 / (b.at - a.at).as_secs_f64()
    }
}

/// One end of a pair. The first end (with the stop flag and the counter)
/// serves first, counts each round trip and ends the game; the other
/// follows when its pipe closes.
fn end(mut rx: File, mut tx: File, first: Option<(&AtomicBool, &AtomicU64)>) {
    let mut byte = [0u8; 1];
    let mut n = 0u64;
    if first.is_some() && tx.write_all(&byte).is_err() {
        return;
    }
    while rx.read_exact(&mut byte).is_ok() {
        if let Some((stop, count)) = first {
            n += 1;
            // A plain store on x86: the count costs no atomic operation.
            count.store(n, Ordering::Relaxed);
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        if tx.write_all(&byte).is_err() {
            break;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
