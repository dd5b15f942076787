//! One refresh: the probes' half from the collector, the scheduler's half
//! from the engine and, while the built-in scheduler runs, its maps.

use crate::probe::collector::Collector;
use crate::sched::Engine;
use crate::sched::loader::Attached;
use crate::snapshot::{
    Band, BandStats, Measure, QUEUE_DEPTH_NOT_OURS, SchedSource, Snapshot, Unavailable, cpu_row,
};

pub fn snapshot(t: f64, engine: &Engine, collector: &mut Collector<'_>) -> Snapshot {
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
        None => probe
            .unavailable
            .push(Unavailable::new(Measure::QueueDepth, QUEUE_DEPTH_NOT_OURS)),
    }
    let bands = attached
        .and_then(|a| a.band_stats())
        .unwrap_or_default()
        .into_iter()
        .zip(Band::ALL)
        .map(|(s, band)| BandStats {
            band,
            enqueued: s[0],
            dispatched: s[1],
            wait_ns: s[2],
            rescued: s[3],
            preempt_kicks: s[4],
        })
        .collect();
    Snapshot {
        t,
        sched: engine.status(),
        bands,
        probe,
    }
}
