//! One refresh: the probes' half from the collector, the scheduler's half
//! from the engine and, while the built-in scheduler runs, its maps.

use std::sync::atomic::AtomicBool;

use crate::bpf::intf::sched as bpf;
use crate::probe::collector::Collector;
use crate::sched::Engine;
use crate::sched::loader::Attached;
use crate::snapshot::{
    Band, BandStats, Measure, QUEUE_DEPTH_NOT_OURS, SchedSource, Snapshot, Unavailable, cpu_row,
};

// Band::ALL is in the scheduler's `enum band` order (the band_stats keys);
// the build fails when sched.h says otherwise.
const _: () = {
    assert!(bpf::NR_BANDS as usize == Band::ALL.len());
    assert!(matches!(
        Band::ALL[bpf::band_BAND_HIGH as usize],
        Band::High
    ));
    assert!(matches!(
        Band::ALL[bpf::band_BAND_NORMAL as usize],
        Band::Normal
    ));
    assert!(matches!(Band::ALL[bpf::band_BAND_LOW as usize], Band::Low));
};

/// `None` when `stop` was set before it was done.
pub fn snapshot(
    t: f64,
    engine: &Engine,
    collector: &mut Collector<'_>,
    stop: &AtomicBool,
) -> Option<Snapshot> {
    let attached = engine.attached();
    let ours = attached.is_some_and(|a| a.source == SchedSource::BuiltIn);
    let mut probe = collector.collect(ours, stop)?;
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
            enqueued: s.enqueued,
            dispatched: s.dispatched,
            wait_ns: s.wait_ns,
            rescued: s.rescued,
            preempt_kicks: s.preempt_kicks,
        })
        .collect();
    Some(Snapshot {
        t,
        sched: engine.status(),
        bands,
        probe,
    })
}
