//! Loads the scheduling probes (probe.bpf.c) and reads what they aggregated:
//! latency histograms per CPU, per priority and for one selected task,
//! per-CPU switch counts, and per-task totals from the task iterator.

use std::io::Read;
use std::mem::MaybeUninit;
use std::ptr;
use std::time::Instant;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Iter, MapCore, MapFlags, OpenObject};

use super::{ProbeError, ProbeStep};
use crate::bpf::libbpf_log;
use crate::bpf::load_error::{is_denied, why};
use crate::bpf::skel::probe::types::bss as BssData;
use crate::bpf::skel::probe::{ProbeSkel, ProbeSkelBuilder};
use crate::snapshot::histogram::{BUCKETS, Histogram};

/// Nice -20..19 then real-time (PRIO_CLASSES in probe.h).
pub const PRIO_CLASSES: usize = 41;
pub const PRIO_RT: usize = 40;

pub const PROGRAMS: &str = "tp_btf/sched_switch";

/// Why latency is missing when the kernel lacks the fields the probe reads;
/// it starts with LATENCY_UNSUPPORTED_PREFIX, which the latency pane finds.
pub const LATENCY_UNSUPPORTED_PREFIX: &str = "run-queue latency";
pub const LATENCY_UNSUPPORTED: &str = "run-queue latency: this kernel has no \
    sched_info.last_queued or per-CPU cfs_rq->rq (CONFIG_SCHED_INFO and \
    CONFIG_FAIR_GROUP_SCHED are needed); switch counts and the task table still work";

/// One task's totals since the probes first saw it switch in (struct task_rec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    pub tgid: i32,
    pub tid: i32,
    pub prio: i32,
    pub static_prio: i32,
    pub policy: u32,
    pub last_cpu: u32,
    pub runtime_ns: u64,
    pub wait_total_ns: u64,
    pub wait_max_ns: u64,
    pub waits: u64,
    pub voluntary: u64,
    pub involuntary: u64,
    pub comm: String,
}

/// struct task_rec: six 4-byte fields, six u64, comm[16].
pub const TASK_REC_SIZE: usize = 6 * 4 + 6 * 8 + 16;

/// struct cpu_stat: four u64 counters, then the histogram.
const CPU_STAT_WORDS: usize = 4 + BUCKETS;

impl TaskRecord {
    pub fn nice(&self) -> Option<i32> {
        (self.prio >= 100).then_some(self.static_prio - 120)
    }

    /// Parses one record; `None` when `b` is too short.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let i32_at = |o: usize| Some(i32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?));
        let u32_at = |o: usize| Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?));
        let u64_at = |o: usize| Some(u64::from_ne_bytes(b.get(o..o + 8)?.try_into().ok()?));
        let comm = b.get(72..88)?;
        let end = comm.iter().position(|&c| c == 0).unwrap_or(comm.len());
        Some(Self {
            tgid: i32_at(0)?,
            tid: i32_at(4)?,
            prio: i32_at(8)?,
            static_prio: i32_at(12)?,
            policy: u32_at(16)?,
            last_cpu: u32_at(20)?,
            runtime_ns: u64_at(24)?,
            wait_total_ns: u64_at(32)?,
            wait_max_ns: u64_at(40)?,
            waits: u64_at(48)?,
            voluntary: u64_at(56)?,
            involuntary: u64_at(64)?,
            comm: String::from_utf8_lossy(&comm[..end]).into_owned(),
        })
    }
}

/// Everything the probes hold at one instant (cumulative since attach).
#[derive(Clone, Debug)]
pub struct ProbeReading {
    pub at: Instant,
    pub cpu_hists: Vec<Histogram>,
    pub cpu_max_ns: Vec<u64>,
    pub prio_hists: Vec<Histogram>,
    pub task_hist: Histogram,
    pub cpu_switches: Vec<u64>,
    pub cpu_voluntary: Vec<u64>,
    pub tasks: Vec<TaskRecord>,
    /// The kernel lacks what latency needs (see LATENCY_UNSUPPORTED).
    pub latency_unsupported: bool,
}

/// One CPU's counters (struct cpu_stat).
struct CpuStat {
    switches: u64,
    voluntary: u64,
    lat_max_ns: u64,
    lat: Histogram,
}

impl CpuStat {
    fn parse(b: &[u8]) -> Option<Self> {
        let w = words(b);
        if w.len() != CPU_STAT_WORDS {
            return None;
        }
        Some(Self {
            switches: w[0],
            voluntary: w[1],
            lat_max_ns: w[2],
            lat: Histogram::from_counts(&w[4..]),
        })
    }
}

/// Native-endian u64 words of a map value.
fn words(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(u64::from_ne_bytes))
        .collect()
}

/// The attached probes. Dropping this detaches every program. They live in
/// the open-object storage their owner keeps for them (`'obj`).
pub struct SchedProbes<'obj> {
    skel: ProbeSkel<'obj>,
}

fn open_load_attach(storage: &mut MaybeUninit<OpenObject>) -> Result<ProbeSkel<'_>, ProbeError> {
    libbpf_log::clear();
    let open = ProbeSkelBuilder::default()
        .open(storage)
        .map_err(|e| step_err(ProbeStep::Open, e))?;
    let mut skel = open.load().map_err(|e| step_err(ProbeStep::Load, e))?;
    skel.attach().map_err(|e| step_err(ProbeStep::Attach, e))?;
    if let Some(bss) = skel.maps.bss_data.as_deref_mut() {
        bss.watching_since_ns = monotonic_ns();
    }
    Ok(skel)
}

/// CLOCK_MONOTONIC in ns: the clock of `task_struct.start_time`.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A failed libbpf step, marked when it failed for lack of privilege (the
/// live view then says once what to do).
fn step_err(step: ProbeStep, source: libbpf_rs::Error) -> ProbeError {
    let why = why(&source);
    if is_denied(&source) {
        ProbeError::Denied { step, why, source }
    } else {
        ProbeError::Bpf { step, why, source }
    }
}

/// Copies `src` with volatile reads: the kernel updates it concurrently, and
/// the compiler must not assume it is stable.
fn read_row(src: &[u64]) -> Vec<u64> {
    // SAFETY: every pointer comes from a live slice element; u64 reads are
    // atomic on the architectures BPF runs on, and tearing across elements
    // only skews a count by a sample.
    src.iter()
        .map(|v| unsafe { ptr::read_volatile(v) })
        .collect()
}

impl<'obj> SchedProbes<'obj> {
    /// Opens, loads and attaches the probes in `storage`, which the caller
    /// keeps for as long as it keeps the probes.
    pub fn start(storage: &'obj mut MaybeUninit<OpenObject>) -> Result<Self, ProbeError> {
        Ok(Self {
            skel: open_load_attach(storage)?,
        })
    }

    /// Follow this thread in the selected-task histogram (`None`: nobody).
    /// The histogram restarts empty for a new task.
    pub fn select_task(&mut self, tid: Option<u32>) {
        if let Some(bss) = self.skel.maps.bss_data.as_deref_mut() {
            bss.task_hist.b = [0; BUCKETS];
            bss.target_tid = tid.unwrap_or(0);
        }
    }

    fn bss(&self) -> Result<&BssData, ProbeError> {
        self.skel
            .maps
            .bss_data
            .as_deref()
            .ok_or(ProbeError::BssNotMapped)
    }

    /// Every possible CPU's counters, in CPU order.
    fn cpu_stats(&self) -> Result<Vec<CpuStat>, ProbeError> {
        let rows = self
            .skel
            .maps
            .cpu_stats
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| step_err(ProbeStep::ReadCpuStats, e))?
            .unwrap_or_default();
        rows.iter()
            .map(|b| {
                CpuStat::parse(b).ok_or_else(|| {
                    ProbeError::Layout(format!(
                        "a per-CPU counter row is {} bytes, not {}: probe.h and \
                         sched_probes.rs disagree",
                        b.len(),
                        CPU_STAT_WORDS * 8
                    ))
                })
            })
            .collect()
    }

    /// Context switches per CPU since attach (one map read; `scxtop status`
    /// needs nothing else).
    pub fn cpu_switches(&self) -> Result<Vec<u64>, ProbeError> {
        Ok(self.cpu_stats()?.iter().map(|c| c.switches).collect())
    }

    /// One histogram per priority class, each summed over CPUs.
    fn prio_hists(&self) -> Result<Vec<Histogram>, ProbeError> {
        let map = &self.skel.maps.prio_hists;
        (0..PRIO_CLASSES as u32)
            .map(|class| {
                let rows = map
                    .lookup_percpu(&class.to_ne_bytes(), MapFlags::ANY)
                    .map_err(|e| step_err(ProbeStep::ReadPrioHists, e))?
                    .unwrap_or_default();
                let mut h = Histogram::default();
                for row in &rows {
                    h.add(&Histogram::from_counts(&words(row)));
                }
                Ok(h)
            })
            .collect()
    }

    pub fn read(&self) -> Result<ProbeReading, ProbeError> {
        let bss = self.bss()?;
        // Switch counts first, at `at`, so their rates line up with perf's
        // counters read just before; the rest takes longer.
        let at = Instant::now();
        let cpus = self.cpu_stats()?;
        Ok(ProbeReading {
            at,
            cpu_switches: cpus.iter().map(|c| c.switches).collect(),
            cpu_voluntary: cpus.iter().map(|c| c.voluntary).collect(),
            cpu_max_ns: cpus.iter().map(|c| c.lat_max_ns).collect(),
            cpu_hists: cpus.into_iter().map(|c| c.lat).collect(),
            prio_hists: self.prio_hists()?,
            task_hist: Histogram::from_counts(&read_row(&bss.task_hist.b)),
            tasks: self.read_tasks()?,
            // SAFETY: a u32 in the live mmapped .bss; see read_row.
            latency_unsupported: unsafe { ptr::read_volatile(&bss.latency_unsupported) } != 0,
        })
    }

    fn read_tasks(&self) -> Result<Vec<TaskRecord>, ProbeError> {
        let link = self
            .skel
            .links
            .dump_tasks
            .as_ref()
            .ok_or(ProbeError::NoTaskIterator)?;
        let mut iter = Iter::new(link).map_err(|e| step_err(ProbeStep::StartTaskWalk, e))?;
        let mut bytes = Vec::new();
        iter.read_to_end(&mut bytes).map_err(ProbeError::TaskWalk)?;
        // A walk that is not whole records means probe.h and this file
        // disagree on struct task_rec.
        if bytes.len() % TASK_REC_SIZE != 0 {
            return Err(ProbeError::Layout(format!(
                "the task walk returned {} bytes, not a multiple of the {TASK_REC_SIZE}-byte \
                 record: probe.h and sched_probes.rs disagree",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(TASK_REC_SIZE)
            .filter_map(TaskRecord::parse)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_records_decode_at_their_offsets() {
        let mut b = vec![0u8; TASK_REC_SIZE];
        b[0..4].copy_from_slice(&10i32.to_ne_bytes());
        b[4..8].copy_from_slice(&11i32.to_ne_bytes());
        b[8..12].copy_from_slice(&120i32.to_ne_bytes());
        b[12..16].copy_from_slice(&139i32.to_ne_bytes());
        b[24..32].copy_from_slice(&5u64.to_ne_bytes());
        b[64..72].copy_from_slice(&9u64.to_ne_bytes());
        b[72..76].copy_from_slice(b"busy");
        let r = TaskRecord::parse(&b).unwrap();
        assert_eq!((r.tgid, r.tid, r.runtime_ns, r.involuntary), (10, 11, 5, 9));
        assert_eq!(r.comm, "busy");
        assert_eq!(r.nice(), Some(19));
        assert_eq!(TaskRecord::parse(&b[..50]), None);
    }

    /// The kernel's EACCES for lack of privilege: one line that says to use
    /// sudo, marked so the live view says it once, with libbpf's error kept.
    #[test]
    fn a_denied_step_says_to_use_sudo() {
        let eacces = std::io::Error::from_raw_os_error(libc::EACCES);
        let err = step_err(ProbeStep::Load, libbpf_rs::Error::from(eacces));
        assert!(err.needs_privilege());
        assert_eq!(
            err.to_string(),
            "loading the probe programs: permission denied: loading BPF needs root \
             (CAP_BPF, CAP_PERFMON and, for schedulers, CAP_SYS_ADMIN); run scxtop with sudo"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn real_time_tasks_have_no_nice() {
        let mut b = vec![0u8; TASK_REC_SIZE];
        b[8..12].copy_from_slice(&50i32.to_ne_bytes());
        assert_eq!(TaskRecord::parse(&b).unwrap().nice(), None);
    }
}
