//! Everything the front ends read, in one place: the live view, the headless
//! JSON and `scxtop status` show these types and nothing else. The side that
//! owns the kernel (the worker, `status`) builds them; this module imports
//! nothing from `probe`, `sched` or `bpf`, so the JSON schema is reviewable
//! here alone.

mod band;
mod cpu;
mod exit;
pub mod histogram;
mod latency;
mod log;
mod sched;
mod sched_ext;
mod status;
mod task;
mod unavailable;

use serde::Serialize;

pub use band::{Band, BandStats, band_of_nice};
pub use cpu::{CpuRow, RateSource, RateSources, cpu_row};
pub use exit::{ExitInfo, ExitKind, ExitSource};
pub use histogram::{Histogram, LatencySummary};
pub use latency::{LabeledLatency, Latency, LatencyView};
pub use log::LogLine;
pub use sched::{AttachReport, BUILT_IN_NAME, Outcome, SchedSource, SchedStatus};
pub use sched_ext::{ScxState, ScxSysfs, Support};
pub use status::{ProbeSample, StatusReport};
pub use task::TaskRow;
pub use unavailable::{Measure, QUEUE_DEPTH_NOT_OURS, Unavailable};

/// One refresh.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Seconds since scxtop started.
    pub t: f64,
    pub sched: SchedStatus,
    /// The built-in scheduler's per-band counters (cumulative since attach).
    pub bands: Vec<BandStats>,
    /// Probe data; its `cpus` rows also carry our scheduler's queue depth.
    #[serde(flatten)]
    pub probe: ProbeSnapshot,
}

impl Snapshot {
    /// The entry saying why `what` is missing, if it is.
    pub fn unavailable(&self, what: Measure) -> Option<&Unavailable> {
        self.probe.unavailable.iter().find(|u| u.what == what)
    }
}

/// The probes' half of a snapshot.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProbeSnapshot {
    pub cpus: Vec<CpuRow>,
    pub tasks: Vec<TaskRow>,
    pub latency: LatencyView,
    /// Summed over CPUs; `None` when no source could count them.
    pub ctx_switches_per_s: Option<f64>,
    pub migrations_per_s: Option<f64>,
    pub bpf_ctx_switches_per_s: Option<f64>,
    /// Where each of the rates above (and the rows' rates) comes from.
    pub rate_sources: RateSources,
    /// bpf_printk lines that arrived since the previous refresh.
    pub log: Vec<LogLine>,
    /// Lines printed while the tail's ring buffer was full (cumulative).
    pub log_lost: u64,
    /// Where the lines come from (the tail's raw tracepoint).
    pub log_source: Option<String>,
    /// What could not be measured and why.
    pub unavailable: Vec<Unavailable>,
}
