//! Kernel probes that measure scheduling under any scheduler (ours, a user's,
//! or the kernel's fair class).

pub mod collector;
pub mod perf_counters;
pub mod printk_tail;
pub mod sched_probes;
pub mod task_table;

use std::fmt;

use crate::bpf::intf::LayoutError;

/// A libbpf step of starting or reading the probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeStep {
    Open,
    Load,
    Attach,
    ReadCpuStats,
    ReadPrioHists,
    StartTaskWalk,
    MapDirtyRing,
    DrainDirtyRing,
    RefreshTasks,
}

impl fmt::Display for ProbeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "opening the probe object",
            Self::Load => "loading the probe programs",
            Self::Attach => return write!(f, "attaching {}", sched_probes::PROGRAMS),
            Self::ReadCpuStats => "reading the per-CPU counters",
            Self::ReadPrioHists => "reading the per-priority histograms",
            Self::StartTaskWalk => "starting the task walk",
            Self::MapDirtyRing => "mapping the dirty-task ring",
            Self::DrainDirtyRing => "draining the dirty-task ring",
            Self::RefreshTasks => "running refresh_tasks",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A libbpf step failed; `why` is the verifier's error line or libbpf's
    /// error.
    #[error("{step}: {why}")]
    Bpf {
        step: ProbeStep,
        why: String,
        source: libbpf_rs::Error,
    },
    /// The kernel refused a step for lack of privilege; `why` says to use
    /// sudo.
    #[error("{step}: {why}")]
    Denied {
        step: ProbeStep,
        why: String,
        source: libbpf_rs::Error,
    },
    #[error("reading the task walk: {0}")]
    TaskWalk(#[source] std::io::Error),
    /// A map value or task record is not the size probe.h gives it.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("the probes' .bss is not memory-mapped: the kernel needs mmapable BPF arrays (5.5+)")]
    BssNotMapped,
    #[error("the task iterator did not attach: the kernel needs BPF task iterators (5.8+)")]
    NoTaskIterator,
    /// The owner asked to stop while the read was under way.
    #[error("stopped: scxtop is exiting")]
    Stopped,
}

impl ProbeError {
    pub fn needs_privilege(&self) -> bool {
        matches!(self, Self::Denied { .. })
    }
}
