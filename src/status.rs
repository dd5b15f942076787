//! `scxtop status`: one report of the kernel's sched_ext state plus a short
//! sample from the switch-counting probe, which proves the BPF build, load and
//! attach path end to end.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use procfs::{FromReadSI, KernelStats};
use serde::Serialize;

use crate::probe::sched_probes::SchedProbes;
use crate::sched_ext::kernel;
use crate::sched_ext::sysfs::{Roots, Support};

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub kernel_release: String,
    #[serde(serialize_with = "ok_or_error")]
    pub sched_ext: Result<Support, String>,
    #[serde(serialize_with = "ok_or_error")]
    pub probe: Result<ProbeSample, String>,
}

/// JSON readers get the value itself, or `{"error": "..."}` in its place.
fn ok_or_error<T: Serialize, S: serde::Serializer>(
    value: &Result<T, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct ErrorField<'a> {
        error: &'a str,
    }
    match value {
        Ok(v) => v.serialize(serializer),
        Err(e) => ErrorField { error: e }.serialize(serializer),
    }
}

#[derive(Debug, Serialize)]
pub struct ProbeSample {
    pub program: &'static str,
    pub window_s: f64,
    pub switches: u64,
    pub per_cpu: Vec<u64>,
    /// The kernel's own count (`/proc/stat` ctxt) over a window inside the
    /// probe's: the probe can count a few more, never fewer. `None` when
    /// /proc/stat could not be read.
    pub kernel_switches: Option<u64>,
}

impl ProbeSample {
    pub fn per_second(&self) -> f64 {
        if self.window_s > 0.0 {
            self.switches as f64 / self.window_s
        } else {
            0.0
        }
    }
}

pub fn gather(roots: &Roots, window: Duration) -> StatusReport {
    StatusReport {
        kernel_release: kernel::release(&roots.proc),
        sched_ext: roots.read_support().map_err(|e| e.to_string()),
        probe: sample_switches(&roots.proc, window).map_err(|e| e.to_string()),
    }
}

/// Context switches since boot, summed over CPUs by the kernel. Read under
/// the injectable proc root, not procfs's fixed /proc, so tests with a fake
/// root stay away from the host's.
fn proc_stat_ctxt(proc: &Path) -> Option<u64> {
    KernelStats::from_file(proc.join("stat"), procfs::current_system_info())
        .ok()
        .map(|s| s.ctxt)
}

fn sample_switches(proc: &Path, window: Duration) -> Result<ProbeSample, crate::probe::ProbeError> {
    let probes = SchedProbes::start()?;
    let before = probes.cpu_switches()?;
    let started = Instant::now();
    let kernel_before = proc_stat_ctxt(proc);
    thread::sleep(window);
    let kernel_after = proc_stat_ctxt(proc);
    let after = probes.cpu_switches()?;
    let elapsed = started.elapsed();
    let per_cpu: Vec<u64> = after
        .iter()
        .zip(before.iter().chain(std::iter::repeat(&0)))
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    Ok(ProbeSample {
        program: "tp_btf/sched_switch",
        window_s: elapsed.as_secs_f64(),
        switches: per_cpu.iter().sum(),
        per_cpu,
        kernel_switches: kernel_after
            .zip(kernel_before)
            .map(|(a, b)| a.saturating_sub(b)),
    })
}
