//! One owned value per refresh: everything the front ends show. Built from
//! the engine and (later) the probes; the UI and the headless JSON read only
//! this.

use serde::Serialize;

use crate::sched::{Engine, SchedStatus};

pub const BAND_NAMES: [&str; 3] = ["high", "normal", "low"];

#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Seconds since scxtop started.
    pub t: f64,
    pub sched: SchedStatus,
    /// Per-CPU queue depth; empty when no scheduler of ours reports it.
    pub cpus: Vec<CpuQueue>,
    /// The built-in scheduler's per-band counters (cumulative since attach).
    pub bands: Vec<BandStats>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CpuQueue {
    pub cpu: usize,
    pub queue_depth: u64,
    pub queue_depth_max: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BandStats {
    pub band: &'static str,
    pub enqueued: u64,
    pub dispatched: u64,
    pub wait_ns: u64,
    pub rescued: u64,
    pub preempt_kicks: u64,
}

impl Snapshot {
    pub fn collect(t: f64, engine: &Engine, nr_cpus: usize) -> Self {
        let attached = engine.attached();
        let cpus = attached
            .and_then(|a| a.read_depths(nr_cpus))
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(cpu, (queue_depth, queue_depth_max))| CpuQueue {
                cpu,
                queue_depth,
                queue_depth_max,
            })
            .collect();
        let bands = attached
            .and_then(|a| a.band_stats())
            .unwrap_or_default()
            .into_iter()
            .zip(BAND_NAMES)
            .map(|(s, band)| BandStats {
                band,
                enqueued: s[0],
                dispatched: s[1],
                wait_ns: s[2],
                rescued: s[3],
                preempt_kicks: s[4],
            })
            .collect();
        Self {
            t,
            sched: engine.status(),
            cpus,
            bands,
        }
    }
}
