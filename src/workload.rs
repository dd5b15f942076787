//! `scxtop workload`: a CPU load with known priorities and a periodic waker
//! that measures how late it wakes. Run it under the fair class and under a
//! sched_ext scheduler to compare them (the same load the tests use).

use std::ffi::CString;
use std::thread;
use std::time::{Duration, Instant};

use procfs::FromRead;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("bad --busy {0:?}: use NICE or NICExCOUNT, e.g. 19x4 or -20")]
    BadSpec(String),
    #[error("setting nice {nice}: {err} (negative nice needs root)")]
    Nice { nice: i32, err: std::io::Error },
    #[error("pinning to CPU {cpu}: {err}")]
    Pin { cpu: usize, err: std::io::Error },
    #[error("a workload thread panicked")]
    Thread,
    #[error("creating a pipe: {0}")]
    Pipe(std::io::Error),
}

/// `NICE` or `NICExCOUNT`.
pub fn parse_busy(spec: &str) -> Result<(i32, usize), WorkloadError> {
    let bad = || WorkloadError::BadSpec(spec.to_string());
    let (nice, count) = match spec.split_once('x') {
        Some((n, c)) => (n, c.parse::<usize>().map_err(|_| bad())?),
        None => (spec, 1),
    };
    let nice: i32 = nice.parse().map_err(|_| bad())?;
    if !(-20..=19).contains(&nice) || count == 0 {
        return Err(bad());
    }
    Ok((nice, count))
}

/// What to run; also the `scxtop workload` command line.
#[derive(Clone, Debug, clap::Args)]
pub struct WorkloadSpec {
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Busy loops: NICE or NICExCOUNT (repeatable), e.g. --busy 19x4 --busy -20.
    #[arg(long, value_parser = parse_busy_arg, allow_hyphen_values = true)]
    pub busy: Vec<(i32, usize)>,
    /// Nice of a waker that sleeps --period and records how late it wakes.
    #[arg(long, allow_hyphen_values = true)]
    pub waker: Option<i32>,
    #[arg(long, default_value = "1ms", value_parser = humantime::parse_duration)]
    pub period: Duration,
    /// Pin every thread to this CPU.
    #[arg(long)]
    pub pin: Option<usize>,
    /// Name (comm) of every thread, so a scheduler can pick them out.
    #[arg(long)]
    pub name: Option<String>,
    /// Pairs of threads bouncing a byte over two pipes (a context-switch
    /// storm, like `perf bench sched pipe`); pinned with --pin.
    #[arg(long, default_value_t = 0)]
    pub pingpong: usize,
    /// Keep the threads alive (asleep) this long after the load, so an
    /// observer can read their final numbers.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub linger: Duration,
}

fn parse_busy_arg(s: &str) -> Result<(i32, usize), String> {
    parse_busy(s).map_err(|e| e.to_string())
}

#[derive(Debug, Serialize)]
pub struct BusyResult {
    pub nice: i32,
    pub tid: i32,
    /// On-CPU time from /proc/thread-self/schedstat.
    pub cpu_s: f64,
    /// cpu_s over the wall time the loop ran.
    pub share: f64,
    pub iterations: u64,
}

/// The kernel's own account of a thread (/proc/thread-self/schedstat).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Schedstat {
    pub cpu_ns: u64,
    pub run_delay_ns: u64,
    pub timeslices: u64,
}

/// Zeros when the kernel has no schedstat (CONFIG_SCHED_INFO off): the load
/// still runs, and its report shows the missing numbers as 0.
fn schedstat() -> Schedstat {
    // thread-self, not procfs's Process::myself(): that is the process,
    // and each load thread reports only its own time.
    procfs::process::Schedstat::from_file("/proc/thread-self/schedstat")
        .map(|s| Schedstat {
            cpu_ns: s.sum_exec_runtime,
            run_delay_ns: s.run_delay,
            timeslices: s.pcount,
        })
        .unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub struct WakerResult {
    pub tid: i32,
    /// Read when the load ended, before lingering.
    pub schedstat: Schedstat,
    pub nice: i32,
    pub period_us: f64,
    pub samples: usize,
    /// Mean lateness: with the period, how long one wakeup cycle took.
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

#[derive(Debug, Serialize)]
pub struct WorkloadResult {
    pub duration_s: f64,
    pub busy: Vec<BusyResult>,
    pub waker: Option<WakerResult>,
    /// Round trips completed by all ping-pong pairs.
    pub pingpong_round_trips: u64,
}

/// One end of a ping-pong pair: `first` starts by writing.
fn pingpong_end(
    mut rx: std::fs::File,
    mut tx: std::fs::File,
    first: bool,
    deadline: Instant,
    spec: &WorkloadSpec,
) -> Result<u64, WorkloadError> {
    use std::io::{Read, Write};
    prepare_thread(0, spec.pin, spec.name.as_deref())?;
    let mut byte = [0u8; 1];
    let mut trips = 0;
    if first && tx.write_all(&byte).is_err() {
        return Ok(0);
    }
    while rx.read_exact(&mut byte).is_ok() {
        trips += 1;
        // The first end stops the game; the other follows when its pipe closes.
        if first && Instant::now() >= deadline {
            break;
        }
        if tx.write_all(&byte).is_err() {
            break;
        }
    }
    Ok(trips)
}

fn pipe() -> Result<(std::fs::File, std::fs::File), WorkloadError> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe() fills two fds we then own exclusively.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(WorkloadError::Pipe(std::io::Error::last_os_error()));
    }
    // SAFETY: both fds are fresh from pipe() and owned by nobody else.
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

fn prepare_thread(nice: i32, pin: Option<usize>, name: Option<&str>) -> Result<(), WorkloadError> {
    let tid = gettid();
    // SAFETY: plain syscall on our own thread id; errors come back as -1.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) } != 0 {
        return Err(WorkloadError::Nice {
            nice,
            err: std::io::Error::last_os_error(),
        });
    }
    if let Some(cpu) = pin {
        // SAFETY: cpu_set_t is plain data; CPU_SET and sched_setaffinity only
        // touch the set we own, for our own thread.
        let rc = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        if rc != 0 {
            return Err(WorkloadError::Pin {
                cpu,
                err: std::io::Error::last_os_error(),
            });
        }
    }
    if let Some(name) = name.and_then(|n| CString::new(n).ok()) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string we keep alive.
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
    }
    Ok(())
}

fn thread_cpu_ns() -> u64 {
    schedstat().cpu_ns
}

fn busy_loop(
    nice: i32,
    deadline: Instant,
    spec: &WorkloadSpec,
) -> Result<BusyResult, WorkloadError> {
    prepare_thread(nice, spec.pin, spec.name.as_deref())?;
    let start = Instant::now();
    let cpu_before = thread_cpu_ns();
    let mut iterations = 0u64;
    while Instant::now() < deadline {
        for _ in 0..1000 {
            iterations = std::hint::black_box(iterations.wrapping_add(1));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu_s = (thread_cpu_ns() - cpu_before) as f64 / 1e9;
    thread::sleep(spec.linger);
    Ok(BusyResult {
        nice,
        tid: gettid(),
        cpu_s,
        share: if wall > 0.0 { cpu_s / wall } else { 0.0 },
        iterations,
    })
}

fn waker_loop(
    nice: i32,
    deadline: Instant,
    spec: &WorkloadSpec,
) -> Result<WakerResult, WorkloadError> {
    prepare_thread(nice, spec.pin, spec.name.as_deref())?;
    let mut late_ns: Vec<u64> = Vec::new();
    while Instant::now() < deadline {
        let t0 = Instant::now();
        thread::sleep(spec.period);
        let slept = t0.elapsed();
        late_ns.push(slept.saturating_sub(spec.period).as_nanos() as u64);
    }
    let stat = schedstat();
    thread::sleep(spec.linger);
    late_ns.sort_unstable();
    let pct = |p: f64| -> f64 {
        if late_ns.is_empty() {
            return 0.0;
        }
        let idx = ((late_ns.len() as f64 - 1.0) * p).round() as usize;
        late_ns[idx.min(late_ns.len() - 1)] as f64 / 1e3
    };
    Ok(WakerResult {
        tid: gettid(),
        schedstat: stat,
        nice,
        period_us: spec.period.as_secs_f64() * 1e6,
        samples: late_ns.len(),
        mean_us: if late_ns.is_empty() {
            0.0
        } else {
            late_ns.iter().sum::<u64>() as f64 / late_ns.len() as f64 / 1e3
        },
        p50_us: pct(0.50),
        p90_us: pct(0.90),
        p99_us: pct(0.99),
        max_us: late_ns.last().map_or(0.0, |&v| v as f64 / 1e3),
    })
}

pub fn run(spec: &WorkloadSpec) -> Result<WorkloadResult, WorkloadError> {
    let started = Instant::now();
    let deadline = started + spec.duration;
    let mut pairs = Vec::new();
    for _ in 0..spec.pingpong {
        let (a_rx, b_tx) = pipe()?;
        let (b_rx, a_tx) = pipe()?;
        pairs.push(((a_rx, a_tx), (b_rx, b_tx)));
    }
    thread::scope(|s| {
        let busy: Vec<_> = spec
            .busy
            .iter()
            .flat_map(|&(nice, count)| std::iter::repeat_n(nice, count))
            .map(|nice| s.spawn(move || busy_loop(nice, deadline, spec)))
            .collect();
        let waker = spec
            .waker
            .map(|nice| s.spawn(move || waker_loop(nice, deadline, spec)));
        let pingpong: Vec<_> = pairs
            .into_iter()
            .flat_map(|((a_rx, a_tx), (b_rx, b_tx))| {
                [
                    s.spawn(move || pingpong_end(a_rx, a_tx, true, deadline, spec)),
                    s.spawn(move || pingpong_end(b_rx, b_tx, false, deadline, spec)),
                ]
            })
            .collect();
        let busy = busy
            .into_iter()
            .map(|h| h.join().map_err(|_| WorkloadError::Thread)?)
            .collect::<Result<Vec<_>, _>>()?;
        let waker = match waker {
            Some(h) => Some(h.join().map_err(|_| WorkloadError::Thread)??),
            None => None,
        };
        let mut trips = 0;
        for (i, h) in pingpong.into_iter().enumerate() {
            let t = h.join().map_err(|_| WorkloadError::Thread)??;
            // Each round trip is counted once, by the starting end.
            if i % 2 == 0 {
                trips += t;
            }
        }
        Ok(WorkloadResult {
            duration_s: (started.elapsed().saturating_sub(spec.linger)).as_secs_f64(),
            busy,
            waker,
            pingpong_round_trips: trips,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_specs_parse_and_reject_nonsense() {
        assert_eq!(parse_busy("19x4").unwrap(), (19, 4));
        assert_eq!(parse_busy("-20").unwrap(), (-20, 1));
        for bad in ["", "x", "20", "-21", "5x0", "5xx", "a"] {
            assert!(parse_busy(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_short_run_measures_its_threads() {
        let spec = WorkloadSpec {
            duration: Duration::from_millis(200),
            busy: vec![(0, 1)],
            waker: Some(0),
            period: Duration::from_millis(1),
            pin: None,
            name: None,
            linger: Duration::ZERO,
            pingpong: 1,
        };
        let r = run(&spec).unwrap();
        assert_eq!(r.busy.len(), 1);
        assert!(r.busy[0].cpu_s > 0.0 && r.busy[0].iterations > 0);
        let w = r.waker.unwrap();
        assert!(w.samples > 10, "{w:?}");
        assert!(w.p50_us <= w.p99_us && w.p99_us <= w.max_us, "{w:?}");
        assert!(r.pingpong_round_trips > 100, "{}", r.pingpong_round_trips);
    }
}
