//! `scxtop status`: one report of the kernel's sched_ext state plus a short
//! sample from the switch-counting probe, which proves the BPF build, load and
//! attach path end to end.

use std::mem::MaybeUninit;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use procfs::{FromReadSI, KernelStats};

use crate::probe::sched_probes::SchedProbes;
use crate::sched_ext::kernel;
use crate::sched_ext::sysfs::Roots;
use crate::snapshot::{ProbeSample, StatusReport};

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
    let mut storage = MaybeUninit::uninit();
    let probes = SchedProbes::start(&mut storage)?;
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
