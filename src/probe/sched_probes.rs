//! Loads the scheduling probes (probe.bpf.c) and reads what they aggregated:
//! latency histograms per CPU, per priority and for one selected task,
//! per-CPU switch counts, and per-task totals from the task iterator.

use std::cell::RefCell;
use std::io::Read;
use std::mem::{MaybeUninit, size_of};
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{
    Iter, MapCore, MapFlags, OpenObject, ProgramInput as Input, RingBuffer, RingBufferBuilder,
};

use super::task_table::{TaskTable, Update};
use super::{ProbeError, ProbeStep};
use crate::bpf::intf::probe::{REFRESH_MAX, cpu_stat, hist, refresh_args, task_rec};
use crate::bpf::intf::{self, read};
use crate::bpf::libbpf_log;
use crate::bpf::load_error::{is_denied, why};
use crate::bpf::skel::probe::types::bss as BssData;
use crate::bpf::skel::probe::{ProbeSkel, ProbeSkelBuilder};
use crate::snapshot::histogram::{self, BUCKETS, Histogram};

/// Nice -20..19 then real-time.
pub const PRIO_CLASSES: usize = intf::probe::PRIO_CLASSES as usize;
pub const PRIO_RT: usize = intf::probe::PRIO_RT as usize;

// The snapshot module keeps its own copy of the bucket layout (it imports
// nothing from the kernel side); the build fails when it is not probe.h's.
const _: () = {
    assert!(intf::probe::HIST_MIN_SHIFT == histogram::MIN_SHIFT);
    assert!(intf::probe::HIST_MAX_SHIFT == histogram::MAX_SHIFT);
    assert!(intf::probe::HIST_SUB_BITS == histogram::SUB_BITS);
    assert!(intf::probe::HIST_SUB as usize == histogram::SUB);
    assert!(intf::probe::HIST_BUCKETS as usize == histogram::BUCKETS);
};

pub const PROGRAMS: &str = "tp_btf/sched_switch and tp_btf/sched_migrate_task";

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
    pub comm: Arc<str>,
}

impl TaskRecord {
    pub fn nice(&self) -> Option<i32> {
        (self.prio >= 100).then_some(self.static_prio - 120)
    }
}

impl From<&task_rec> for TaskRecord {
    fn from(r: &task_rec) -> Self {
        let comm: Vec<u8> = r
            .comm
            .iter()
            .map(|&c| c as u8)
            .take_while(|&c| c != 0)
            .collect();
        Self {
            tgid: r.tgid,
            tid: r.pid,
            prio: r.prio,
            static_prio: r.static_prio,
            policy: r.policy,
            last_cpu: r.last_cpu,
            runtime_ns: r.t.runtime_ns,
            wait_total_ns: r.t.wait_total_ns,
            wait_max_ns: r.t.wait_max_ns,
            waits: r.t.waits,
            voluntary: r.t.voluntary,
            involuntary: r.t.involuntary,
            comm: String::from_utf8_lossy(&comm).into(),
        }
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
    pub cpu_migrations: Vec<u64>,
    /// In thread id order.
    pub tasks: Vec<TaskRecord>,
    /// The kernel lacks what latency needs (see LATENCY_UNSUPPORTED).
    pub latency_unsupported: bool,
}

/// One CPU's counters (struct cpu_stat).
struct CpuStat {
    counts: CpuCounts,
    /// The task running there (0: idle).
    curr_tid: i32,
    lat_max_ns: u64,
    lat: Histogram,
}

/// One CPU's event counts since attach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuCounts {
    pub switches: u64,
    /// Switches where the task left went to sleep (the kernel's nvcsw);
    /// the rest were preemptions (nivcsw).
    pub voluntary: u64,
    /// Tasks this CPU moved to another CPU (perf's cpu-migrations).
    pub migrations: u64,
}

impl From<&cpu_stat> for CpuStat {
    fn from(c: &cpu_stat) -> Self {
        Self {
            counts: CpuCounts {
                switches: c.switches,
                voluntary: c.voluntary,
                migrations: c.migrations,
            },
            curr_tid: c.curr_tid,
            lat_max_ns: c.lat_max_ns,
            lat: Histogram::from_counts(&c.lat.b),
        }
    }
}

/// The attached probes. Dropping this detaches every program. They live in
/// the open-object storage their owner keeps for them (`'obj`).
pub struct SchedProbes<'obj> {
    /// Before `skel`: fields drop in order, and the ring maps one of its maps.
    dirty: RingBuffer<'static>,
    /// What the ring's callback took since the last refresh.
    pushed: Rc<RefCell<Vec<i32>>>,
    table: TaskTable,
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
        let skel = open_load_attach(storage)?;
        let pushed = Rc::new(RefCell::new(Vec::new()));
        let dirty = {
            let sink = pushed.clone();
            let mut builder = RingBufferBuilder::new();
            builder
                .add(&skel.maps.dirty_tids, move |bytes: &[u8]| {
                    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
                        sink.borrow_mut().push(i32::from_ne_bytes(b));
                    }
                    0
                })
                .map_err(|e| step_err(ProbeStep::MapDirtyRing, e))?;
            builder
                .build()
                .map_err(|e| step_err(ProbeStep::MapDirtyRing, e))?
        };
        Ok(Self {
            dirty,
            pushed,
            table: TaskTable::default(),
            skel,
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
                Ok(CpuStat::from(&read::<cpu_stat>(
                    "a per-CPU counter row",
                    b,
                )?))
            })
            .collect()
    }

    /// Context switches per CPU since attach (one map read; `scxtop status`
    /// needs nothing else).
    pub fn cpu_switches(&self) -> Result<Vec<u64>, ProbeError> {
        Ok(self.cpu_counts()?.iter().map(|c| c.switches).collect())
    }

    /// Every possible CPU's switch and migration counts since attach, in
    /// CPU order (one map read).
    pub fn cpu_counts(&self) -> Result<Vec<CpuCounts>, ProbeError> {
        Ok(self.cpu_stats()?.iter().map(|c| c.counts).collect())
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
                    let row = read::<hist>("a per-priority histogram row", row)?;
                    h.add(&Histogram::from_counts(&row.b));
                }
                Ok(h)
            })
            .collect()
    }

    pub fn read(&mut self) -> Result<ProbeReading, ProbeError> {
        self.read_until(&AtomicBool::new(false))
    }

    /// `read`, given up with ProbeError::Stopped as soon as `stop` is set
    /// between two of its kernel reads: an exit must not wait for a walk of
    /// every task (hundreds of ms under emulation).
    pub fn read_until(&mut self, stop: &AtomicBool) -> Result<ProbeReading, ProbeError> {
        // Switch counts first, at `at`, so their rates line up with perf's
        // counters read just before; the rest takes longer.
        let at = Instant::now();
        let cpus = self.cpu_stats()?;
        let curr: Vec<i32> = cpus.iter().map(|c| c.curr_tid).collect();
        self.refresh_tasks(at, &curr, stop)?;
        let bss = self.bss()?;
        Ok(ProbeReading {
            at,
            cpu_switches: cpus.iter().map(|c| c.counts.switches).collect(),
            cpu_voluntary: cpus.iter().map(|c| c.counts.voluntary).collect(),
            cpu_migrations: cpus.iter().map(|c| c.counts.migrations).collect(),
            cpu_max_ns: cpus.iter().map(|c| c.lat_max_ns).collect(),
            cpu_hists: cpus.into_iter().map(|c| c.lat).collect(),
            prio_hists: self.prio_hists()?,
            task_hist: Histogram::from_counts(&read_row(&bss.task_hist.b)),
            tasks: self.table.rows().to_vec(),
            // SAFETY: a u32 in the live mmapped .bss; see read_row.
            latency_unsupported: unsafe { ptr::read_volatile(&bss.latency_unsupported) } != 0,
        })
    }

    /// Brings the task table up to date: the tasks that can have changed,
    /// or every task when the table says so (see TaskTable).
    fn refresh_tasks(
        &mut self,
        now: Instant,
        curr: &[i32],
        stop: &AtomicBool,
    ) -> Result<(), ProbeError> {
        let drained = self.dirty.consume();
        let pushed = std::mem::take(&mut *self.pushed.borrow_mut());
        drained.map_err(|e| step_err(ProbeStep::DrainDirtyRing, e))?;
        // SAFETY: a u64 in the live mmapped .bss; see read_row.
        let lost = unsafe { ptr::read_volatile(&self.bss()?.dirty_lost) };
        if self.table.needs_full_walk(now, lost) {
            // The walk clears every mark, so what the ring held is stale.
            let rows = self.walk_tasks(stop)?;
            self.table.replace(rows, now, lost, curr);
            return Ok(());
        }
        let tids = self.table.tids_to_read(&pushed, curr);
        let mut updates = Vec::with_capacity(tids.len());
        for batch in tids.chunks(REFRESH_MAX as usize) {
            stopped(stop)?;
            updates.extend(self.read_batch(batch)?);
        }
        self.table.merge(updates);
        Ok(())
    }

    /// Runs refresh_tasks on at most REFRESH_MAX tids.
    fn read_batch(&mut self, tids: &[i32]) -> Result<Vec<Update>, ProbeError> {
        let bss = self
            .skel
            .maps
            .bss_data
            .as_deref_mut()
            .ok_or(ProbeError::BssNotMapped)?;
        let n = tids.len().min(bss.refresh_tids.len());
        bss.refresh_tids[..n].copy_from_slice(&tids[..n]);
        let mut args = crate::bpf::intf::to_bytes(&refresh_args { n: n as u32 });
        let input = Input {
            context_in: Some(&mut args),
            ..Input::default()
        };
        self.skel
            .progs
            .refresh_tasks
            .test_run(input)
            .map_err(|e| step_err(ProbeStep::RefreshTasks, e))?;
        let out = &self.bss()?.refresh_out[..n];
        // SAFETY: `out` is n initialised task_rec in the mmapped .bss, which
        // only refresh_tasks writes, and it has returned; a task_rec is plain
        // bytes (intf's layout checks), read back through decode_tasks.
        let bytes = unsafe {
            std::slice::from_raw_parts(out.as_ptr().cast::<u8>(), std::mem::size_of_val(out))
        };
        Ok(decode_tasks(bytes)?
            .into_iter()
            .map(|r| {
                if r.tgid == 0 {
                    Update::Gone(r.tid)
                } else {
                    Update::Alive(r)
                }
            })
            .collect())
    }

    /// Every task the probes have seen, by the task iterator.
    fn walk_tasks(&self, stop: &AtomicBool) -> Result<Vec<TaskRecord>, ProbeError> {
        let link = self
            .skel
            .links
            .dump_tasks
            .as_ref()
            .ok_or(ProbeError::NoTaskIterator)?;
        let mut iter = Iter::new(link).map_err(|e| step_err(ProbeStep::StartTaskWalk, e))?;
        // In chunks, to see a stop between them.
        let mut bytes = Vec::new();
        let mut chunk = vec![0; WALK_CHUNK];
        loop {
            stopped(stop)?;
            match iter.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ProbeError::TaskWalk(e)),
            }
        }
        decode_tasks(&bytes)
    }
}

/// What one read of the task walk takes: about 700 records.
const WALK_CHUNK: usize = 64 << 10;

fn stopped(stop: &AtomicBool) -> Result<(), ProbeError> {
    if stop.load(Ordering::Relaxed) {
        Err(ProbeError::Stopped)
    } else {
        Ok(())
    }
}

/// The task walk's output: whole struct task_rec records, back to back.
fn decode_tasks(bytes: &[u8]) -> Result<Vec<TaskRecord>, ProbeError> {
    let records = bytes.chunks(size_of::<task_rec>());
    records
        .map(|b| Ok(TaskRecord::from(&read::<task_rec>("a task record", b)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::intf::to_bytes;

    /// A task record as the walk delivers it, all zeros but what `fill` sets.
    fn record(fill: impl FnOnce(&mut task_rec)) -> Vec<u8> {
        let mut r = read::<task_rec>("a test record", &[0; size_of::<task_rec>()]).unwrap();
        fill(&mut r);
        to_bytes(&r)
    }

    #[test]
    fn task_records_decode_by_field() {
        let mut walk = record(|r| {
            r.tgid = 10;
            r.pid = 11;
            r.prio = 120;
            r.static_prio = 139;
            r.t.runtime_ns = 5;
            r.t.involuntary = 9;
            for (slot, b) in r.comm.iter_mut().zip(b"busy") {
                *slot = *b as std::ffi::c_char;
            }
        });
        walk.extend(record(|r| r.pid = 12));
        let tasks = decode_tasks(&walk).unwrap();
        let r = &tasks[0];
        assert_eq!((r.tgid, r.tid, r.runtime_ns, r.involuntary), (10, 11, 5, 9));
        assert_eq!(&*r.comm, "busy");
        assert_eq!(r.nice(), Some(19));
        assert_eq!(tasks[1].tid, 12);
    }

    #[test]
    fn a_walk_of_partial_records_is_an_error() {
        let walk = record(|_| ());
        let err = decode_tasks(&walk[..50]).unwrap_err().to_string();
        assert!(
            err.starts_with("a task record is 50 bytes, not the 88 of struct task_rec"),
            "{err}"
        );
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
        let r = decode_tasks(&record(|r| r.prio = 50)).unwrap();
        assert_eq!(r[0].nice(), None);
    }
}
