//! Per-CPU software counters (context switches, migrations) via perf events.
//!
//! One pair of counters per online CPU, each counting every task on that CPU
//! (`pid = -1, cpu = N`), as `perf sched` and `perf stat -a -A` do. They need
//! no BPF, so the rates are there under any scheduler and on kernels without
//! sched_ext. Dropping [`CpuCounters`] closes every perf fd (each lives only in
//! its `perf_event::Counter`).

use std::io;
use std::time::{Duration, Instant};

use perf_event::events::Software;
use perf_event::{Builder, Counter};
use serde::Serialize;

/// Where the kernel lists the online CPUs (e.g. `0-3,6`).
pub const ONLINE_CPUS: &str = "/sys/devices/system/cpu/online";

const SWITCHES: &str = "context-switches";
const MIGRATIONS: &str = "cpu-migrations";

#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    #[error("reading {path}: {error}: mount sysfs at /sys so scxtop can find the online CPUs")]
    OnlineCpus {
        path: &'static str,
        error: io::Error,
    },
    #[error("{path} holds {text:?}, not a CPU list like 0-3,5: report this kernel's format")]
    CpuList { path: &'static str, text: String },
    #[error("no CPU was given to count on: pass at least one online CPU")]
    NoCpus,
    #[error(
        "perf events need root or CAP_PERFMON (or kernel.perf_event_paranoid <= 0): run scxtop with sudo ({counter} on CPU {cpu}: {error})"
    )]
    Permission {
        cpu: usize,
        counter: &'static str,
        error: io::Error,
    },
    #[error(
        "this kernel has no perf {counter} event ({error}): boot a kernel with CONFIG_PERF_EVENTS=y"
    )]
    Unsupported {
        counter: &'static str,
        error: io::Error,
    },
    #[error(
        "out of file descriptors opening {counter} on CPU {cpu} ({error}): raise the limit with ulimit -n (2 per CPU)"
    )]
    TooManyFiles {
        cpu: usize,
        counter: &'static str,
        error: io::Error,
    },
    #[error("CPU {cpu} went offline ({counter}: {error}): it is skipped until scxtop restarts")]
    Offline {
        cpu: usize,
        counter: &'static str,
        error: io::Error,
    },
    #[error("{op} perf counter {counter} on CPU {cpu}: {error}")]
    Io {
        op: &'static str,
        cpu: usize,
        counter: &'static str,
        error: io::Error,
    },
}

impl PerfError {
    pub fn needs_privilege(&self) -> bool {
        matches!(self, Self::Permission { .. })
    }

    /// Turns an errno from `perf_event_open`/ioctl/read into advice.
    fn from_io(op: &'static str, cpu: usize, counter: &'static str, error: io::Error) -> Self {
        match error.raw_os_error() {
            Some(libc::EACCES | libc::EPERM) => Self::Permission {
                cpu,
                counter,
                error,
            },
            Some(libc::ENOENT | libc::ENOSYS | libc::EOPNOTSUPP) => {
                Self::Unsupported { counter, error }
            }
            Some(libc::EMFILE | libc::ENFILE) => Self::TooManyFiles {
                cpu,
                counter,
                error,
            },
            Some(libc::ENODEV | libc::ENXIO) => Self::Offline {
                cpu,
                counter,
                error,
            },
            _ => Self::Io {
                op,
                cpu,
                counter,
                error,
            },
        }
    }
}

/// Rates of one CPU over one sample window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CpuRates {
    pub cpu: usize,
    pub ctx_switches_per_s: f64,
    pub migrations_per_s: f64,
    /// Context switches since the previous sample.
    pub ctx_switches: u64,
    /// Migrations since the previous sample.
    pub migrations: u64,
}

/// All available CPUs together over the same window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RateTotals {
    pub ctx_switches_per_s: f64,
    pub migrations_per_s: f64,
    pub ctx_switches: u64,
    pub migrations: u64,
}

/// A CPU that has no counters, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnavailableCpu {
    pub cpu: usize,
    pub reason: String,
}

/// One [`CpuCounters::sample`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PerfSample {
    /// Real time between this sample's reads and the previous one's.
    pub window_s: f64,
    pub cpus: Vec<CpuRates>,
    pub total: RateTotals,
    pub unavailable: Vec<UnavailableCpu>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    switches: u64,
    migrations: u64,
}

struct CpuPair {
    cpu: usize,
    switches: Counter,
    migrations: Counter,
    last: Counts,
}

impl CpuPair {
    fn open(cpu: usize) -> Result<Self, PerfError> {
        let mut switches = open_counter(cpu, Software::CONTEXT_SWITCHES, SWITCHES)?;
        let mut migrations = open_counter(cpu, Software::CPU_MIGRATIONS, MIGRATIONS)?;
        switches
            .enable()
            .map_err(|e| PerfError::from_io("enabling", cpu, SWITCHES, e))?;
        migrations
            .enable()
            .map_err(|e| PerfError::from_io("enabling", cpu, MIGRATIONS, e))?;
        Ok(Self {
            cpu,
            switches,
            migrations,
            last: Counts::default(),
        })
    }

    fn read(&mut self) -> Result<Counts, PerfError> {
        let switches = self
            .switches
            .read()
            .map_err(|e| PerfError::from_io("reading", self.cpu, SWITCHES, e))?;
        let migrations = self
            .migrations
            .read()
            .map_err(|e| PerfError::from_io("reading", self.cpu, MIGRATIONS, e))?;
        Ok(Counts {
            switches,
            migrations,
        })
    }
}

fn open_counter(cpu: usize, event: Software, name: &'static str) -> Result<Counter, PerfError> {
    Builder::new(event)
        .any_pid()
        .one_cpu(cpu)
        // The kernel counts both events from kernel context (the scheduler),
        // and perf-event2 excludes the kernel by default: that would count 0.
        .include_kernel()
        .build()
        .map_err(|e| PerfError::from_io("opening", cpu, name, e))
}

/// Context-switch and migration counters on every online CPU.
pub struct CpuCounters {
    cpus: Vec<CpuPair>,
    unavailable: Vec<UnavailableCpu>,
    /// When the previous reads happened (midpoint of the read loop).
    last_at: Instant,
}

impl CpuCounters {
    /// Opens and starts the counters on every online CPU. A CPU whose counters
    /// cannot be opened is listed in [`unavailable`](Self::unavailable); the
    /// first CPU's error is returned only when no CPU works.
    pub fn open() -> Result<Self, PerfError> {
        Self::open_cpus(&online_cpus()?)
    }

    /// Like [`open`](Self::open) for the given CPUs.
    pub fn open_cpus(cpus: &[usize]) -> Result<Self, PerfError> {
        let mut opened = Vec::with_capacity(cpus.len());
        let mut failed = Vec::new();
        for &cpu in cpus {
            match CpuPair::open(cpu) {
                Ok(pair) => opened.push(pair),
                Err(e) => failed.push((cpu, e)),
            }
        }
        if opened.is_empty() {
            return Err(match failed.into_iter().next() {
                Some((_, e)) => e,
                None => PerfError::NoCpus,
            });
        }
        let mut counters = Self {
            cpus: opened,
            unavailable: failed
                .into_iter()
                .map(|(cpu, e)| UnavailableCpu {
                    cpu,
                    reason: e.to_string(),
                })
                .collect(),
            last_at: Instant::now(),
        };
        // The baseline read, so the first sample covers open -> sample.
        counters.sample();
        Ok(counters)
    }

    /// CPUs with working counters.
    pub fn cpus(&self) -> Vec<usize> {
        self.cpus.iter().map(|p| p.cpu).collect()
    }

    pub fn unavailable(&self) -> &[UnavailableCpu] {
        &self.unavailable
    }

    /// Counts since the previous sample (or since `open`) and their rates
    /// per second of real time between the two reads. A CPU whose counters
    /// fail to read is moved to `unavailable` and its fds are closed.
    pub fn sample(&mut self) -> PerfSample {
        let before = Instant::now();
        let mut reads = Vec::with_capacity(self.cpus.len());
        for pair in &mut self.cpus {
            reads.push(pair.read());
        }
        let at = midpoint(before, Instant::now());
        let elapsed = at.saturating_duration_since(self.last_at);
        self.last_at = at;

        let mut kept = Vec::with_capacity(self.cpus.len());
        let mut rates = Vec::with_capacity(self.cpus.len());
        for (mut pair, read) in self.cpus.drain(..).zip(reads) {
            match read {
                Ok(now) => {
                    rates.push(cpu_rates(pair.cpu, pair.last, now, elapsed));
                    pair.last = now;
                    kept.push(pair);
                }
                Err(e) => self.unavailable.push(UnavailableCpu {
                    cpu: pair.cpu,
                    reason: e.to_string(),
                }),
            }
        }
        self.cpus = kept;
        self.unavailable.sort_by_key(|u| u.cpu);

        PerfSample {
            window_s: elapsed.as_secs_f64(),
            total: totals(&rates, elapsed),
            cpus: rates,
            unavailable: self.unavailable.clone(),
        }
    }
}

/// The online CPUs, from [`ONLINE_CPUS`].
pub fn online_cpus() -> Result<Vec<usize>, PerfError> {
    let text = std::fs::read_to_string(ONLINE_CPUS).map_err(|error| PerfError::OnlineCpus {
        path: ONLINE_CPUS,
        error,
    })?;
    parse_cpu_list(&text).ok_or_else(|| PerfError::CpuList {
        path: ONLINE_CPUS,
        text: text.trim().to_string(),
    })
}

/// Parses the kernel's CPU list format (`0-3,5,7-8`). `None` when malformed
/// or empty, so a garbled file is never read as "no CPUs".
fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let (lo, hi): (usize, usize) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
            None => {
                let cpu = part.trim().parse().ok()?;
                (cpu, cpu)
            }
        };
        if lo > hi {
            return None;
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// Events between two reads of a counter. Perf counters only grow; a smaller
/// value (a reset) yields 0 rather than a wrapped, absurd count.
fn counter_delta(prev: u64, now: u64) -> u64 {
    now.saturating_sub(prev)
}

/// `count` events over `elapsed` as a rate; 0 for an empty window rather than
/// infinity or NaN.
fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

fn cpu_rates(cpu: usize, prev: Counts, now: Counts, elapsed: Duration) -> CpuRates {
    let ctx_switches = counter_delta(prev.switches, now.switches);
    let migrations = counter_delta(prev.migrations, now.migrations);
    CpuRates {
        cpu,
        ctx_switches_per_s: per_second(ctx_switches, elapsed),
        migrations_per_s: per_second(migrations, elapsed),
        ctx_switches,
        migrations,
    }
}

/// The total rate is the summed delta over the window, not a sum of rounded
/// per-CPU rates.
fn totals(cpus: &[CpuRates], elapsed: Duration) -> RateTotals {
    let ctx_switches = cpus.iter().map(|c| c.ctx_switches).sum();
    let migrations = cpus.iter().map(|c| c.migrations).sum();
    RateTotals {
        ctx_switches_per_s: per_second(ctx_switches, elapsed),
        migrations_per_s: per_second(migrations, elapsed),
        ctx_switches,
        migrations,
    }
}

/// Reading all counters takes a while on many CPUs; timing the window from the
/// middle of each read loop halves that error.
fn midpoint(a: Instant, b: Instant) -> Instant {
    a + b.saturating_duration_since(a) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_second_divides_by_real_elapsed_time() {
        assert_eq!(per_second(1000, Duration::from_secs(2)), 500.0);
        assert_eq!(per_second(150, Duration::from_millis(1500)), 100.0);
        assert_eq!(per_second(0, Duration::from_secs(1)), 0.0);
        assert_eq!(per_second(10, Duration::ZERO), 0.0);
    }

    #[test]
    fn counter_delta_never_wraps() {
        assert_eq!(counter_delta(10, 25), 15);
        assert_eq!(counter_delta(25, 10), 0);
        assert_eq!(counter_delta(0, u64::MAX), u64::MAX);
    }

    #[test]
    fn cpu_rates_are_deltas_over_the_window() {
        let prev = Counts {
            switches: 100,
            migrations: 7,
        };
        let now = Counts {
            switches: 400,
            migrations: 13,
        };
        let r = cpu_rates(3, prev, now, Duration::from_millis(500));
        assert_eq!(
            r,
            CpuRates {
                cpu: 3,
                ctx_switches_per_s: 600.0,
                migrations_per_s: 12.0,
                ctx_switches: 300,
                migrations: 6,
            }
        );
    }

    #[test]
    fn totals_sum_deltas_then_divide() {
        let w = Duration::from_millis(250);
        let zero = Counts::default();
        let cpus = [
            cpu_rates(
                0,
                zero,
                Counts {
                    switches: 10,
                    migrations: 1,
                },
                w,
            ),
            cpu_rates(
                1,
                zero,
                Counts {
                    switches: 30,
                    migrations: 2,
                },
                w,
            ),
        ];
        let t = totals(&cpus, w);
        assert_eq!(t.ctx_switches, 40);
        assert_eq!(t.migrations, 3);
        assert_eq!(t.ctx_switches_per_s, 160.0);
        assert_eq!(t.migrations_per_s, 12.0);
        assert_eq!(totals(&[], w), RateTotals::default());
    }

    #[test]
    fn midpoint_is_halfway() {
        let a = Instant::now();
        let b = a + Duration::from_millis(10);
        assert_eq!(midpoint(a, b), a + Duration::from_millis(5));
        assert_eq!(midpoint(b, a), b);
    }

    #[test]
    fn parses_kernel_cpu_lists() {
        assert_eq!(parse_cpu_list("0\n"), Some(vec![0]));
        assert_eq!(parse_cpu_list("0-3\n"), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse_cpu_list("0-1,4,6-7"), Some(vec![0, 1, 4, 6, 7]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("0-x"), None);
        assert_eq!(parse_cpu_list("0,,1"), None);
    }

    #[test]
    fn json_keys_match_the_headless_schema() {
        let r = CpuRates {
            cpu: 1,
            ctx_switches_per_s: 2.5,
            migrations_per_s: 0.5,
            ctx_switches: 5,
            migrations: 1,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["cpu"], 1);
        assert_eq!(v["ctx_switches_per_s"], 2.5);
        assert_eq!(v["migrations_per_s"], 0.5);
        assert_eq!(v["ctx_switches"], 5);
        assert_eq!(v["migrations"], 1);
    }

    #[test]
    fn errno_picks_the_advice() {
        let perm = PerfError::from_io(
            "opening",
            0,
            SWITCHES,
            io::Error::from_raw_os_error(libc::EACCES),
        );
        let msg = perm.to_string();
        assert!(msg.contains("CAP_PERFMON") && msg.contains("sudo"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        let fds = PerfError::from_io(
            "opening",
            1,
            MIGRATIONS,
            io::Error::from_raw_os_error(libc::EMFILE),
        );
        assert!(fds.to_string().contains("ulimit -n"), "{fds}");
        let off = PerfError::from_io(
            "opening",
            2,
            SWITCHES,
            io::Error::from_raw_os_error(libc::ENODEV),
        );
        assert!(matches!(off, PerfError::Offline { cpu: 2, .. }), "{off}");
        let other = PerfError::from_io(
            "reading",
            3,
            SWITCHES,
            io::Error::from_raw_os_error(libc::EIO),
        );
        assert!(
            other
                .to_string()
                .starts_with("reading perf counter context-switches on CPU 3"),
            "{other}"
        );
    }
}
