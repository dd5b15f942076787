//! One owned value per refresh: everything the front ends show. Built from
//! the engine and (later) the probes; the UI and the headless JSON read only
//! this.

use serde::Serialize;

use crate::probe::collector::{Collector, ProbeSnapshot, cpu_row};
use crate::sched::loader::Attached;
use crate::sched::{Engine, SchedSource, SchedStatus};

pub const BAND_NAMES: [&str; 3] = ["high", "normal", "low"];

/// The built-in scheduler's band for a nice level. sched.bpf.c bands by
/// weight (>= 300 high, <= 35 low), which is nice <= -5 and nice >= 5.
pub fn band_of_nice(nice: i32) -> &'static str {
    if nice <= -5 {
        BAND_NAMES[0]
    } else if nice >= 5 {
        BAND_NAMES[2]
    } else {
        BAND_NAMES[1]
    }
}

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
    pub fn collect(t: f64, engine: &Engine, collector: &mut Collector) -> Self {
        let attached = engine.attached();
        let ours = attached.is_some_and(|a| a.source == SchedSource::BuiltIn);
        let mut probe = collector.collect(ours);
        match attached.and_then(Attached::read_depths) {
            Some(depths) => {
                for (cpu, (depth, max)) in depths.into_iter().enumerate() {
                    let row = cpu_row(&mut probe.cpus, cpu);
                    row.queue_depth = Some(depth);
                    row.queue_depth_max = Some(max);
                }
            }
            None => probe.unavailable.push(
                "queue depth: only scxtop's built-in scheduler reports it, and it is not attached"
                    .to_string(),
            ),
        }
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
            bands,
            probe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's nice-to-weight table, in sched_ext's scale (1024 -> 100,
    /// rounded): band_of_nice must agree with sched.bpf.c's weight cut-offs.
    #[test]
    fn bands_by_nice_match_the_schedulers_weight_cutoffs() {
        const WEIGHT: [u64; 40] = [
            88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100,
            4904, 3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172,
            137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
        ];
        for (i, w) in WEIGHT.iter().enumerate() {
            let scx = (w * 100 + 512) / 1024;
            let by_weight = if scx >= 300 {
                "high"
            } else if scx <= 35 {
                "low"
            } else {
                "normal"
            };
            assert_eq!(
                band_of_nice(i as i32 - 20),
                by_weight,
                "nice {}",
                i as i32 - 20
            );
        }
    }
}
