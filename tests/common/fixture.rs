//! Made-up but plausible snapshots, for the render tests and the render
//! benchmark: the panes are drawn from these exactly as from live ones.
//! Every number is derived from the arguments, so a test can predict what
//! the screen must show. Test code: included by path, never part of the
//! product.
#![allow(dead_code)]

use scxtop::snapshot::{
    CpuRow, Histogram, LabeledLatency, Latency, LatencyView, LogLine, Measure, ProbeSnapshot,
    QUEUE_DEPTH_NOT_OURS, RateSource, RateSources, SchedSource, SchedStatus, ScxState, Snapshot,
    TaskRow, Unavailable, band_of_nice,
};

/// What the fixture should contain.
#[derive(Clone, Debug)]
pub struct FixtureSpec {
    pub cpus: usize,
    pub tasks: usize,
    /// Latency samples in the all-tasks histogram (0: empty histograms).
    pub samples: u64,
    pub log_lines: usize,
    /// Our scheduler attached (bands, queue depth) or plain fair.
    pub ours: bool,
}

impl Default for FixtureSpec {
    fn default() -> Self {
        Self {
            cpus: 4,
            tasks: 12,
            samples: 1000,
            log_lines: 5,
            ours: true,
        }
    }
}

/// A histogram of `n` samples: 90% at 5 us, 9% at 200 us, 1% at 3 ms.
pub fn latency(n: u64) -> Latency {
    let mut hist = Histogram::default();
    let slow = n / 100;
    let mid = n * 9 / 100;
    for _ in 0..n - slow - mid {
        hist.record(5_000);
    }
    for _ in 0..mid {
        hist.record(200_000);
    }
    for _ in 0..slow {
        hist.record(3_000_000);
    }
    Latency {
        hist,
        max_ns: (n > 0).then_some(3_100_000),
    }
}

fn sched(ours: bool) -> SchedStatus {
    SchedStatus {
        supported: true,
        unsupported_reason: None,
        state: Some(if ours {
            ScxState::Enabled
        } else {
            ScxState::Disabled
        }),
        ops: ours.then(|| "scxtop_prio".into()),
        enable_seq: Some(3),
        attached: ours,
        source: SchedSource::BuiltIn,
        attached_for_s: ours.then_some(62.0),
        last_exit: None,
    }
}

/// Task `i`: nice cycles through -20..19, CPU share falls with `i`.
pub fn task(i: usize, ours: bool) -> TaskRow {
    let nice = (i % 40) as i32 - 20;
    let switches = 1000 + i as u64 * 7;
    TaskRow {
        pid: 1000 + i as i32,
        tid: 1000 + i as i32,
        comm: format!("task-{i}").into(),
        nice: Some(nice),
        policy: 0,
        prio: 120 + nice,
        band: ours.then(|| band_of_nice(nice)),
        runtime_ns: 1_000_000 * (i as u64 + 1),
        runtime_share: 1.0 / (i as f64 + 1.0),
        wait_ns: 10_000 * switches,
        wait_max_ns: 100_000 + i as u64 * 1000,
        wait_avg_ns: 10_000,
        waits: switches,
        switches,
        voluntary: switches * 3 / 4,
        involuntary: switches - switches * 3 / 4,
        last_cpu: (i % 4) as u32,
    }
}

pub fn snapshot(spec: &FixtureSpec) -> Snapshot {
    let cpus = (0..spec.cpus)
        .map(|cpu| CpuRow {
            cpu,
            queue_depth: spec.ours.then_some((cpu % 5) as u64),
            queue_depth_max: spec.ours.then_some((cpu % 5) as u64 + 2),
            ctx_switches_per_s: Some(1000.0 + cpu as f64 * 10.0),
            migrations_per_s: Some(5.0),
            bpf_switches_per_s: Some(1000.0 + cpu as f64 * 10.0),
            voluntary_per_s: Some(600.0),
            involuntary_per_s: Some(400.0 + cpu as f64 * 10.0),
        })
        .collect::<Vec<_>>();
    let all = latency(spec.samples);
    let labeled = |label: String| LabeledLatency {
        label,
        latency: all.clone(),
    };
    let latency = LatencyView {
        all: all.clone(),
        per_cpu: (0..spec.cpus)
            .map(|c| labeled(format!("cpu {c}")))
            .collect(),
        per_prio: vec![labeled("nice -20".into()), labeled("nice 0".into())],
        per_band: if spec.ours {
            ["high", "normal", "low"]
                .iter()
                .map(|b| labeled((*b).into()))
                .collect()
        } else {
            Vec::new()
        },
        task: None,
    };
    let log = (0..spec.log_lines)
        .map(|i| LogLine {
            ts: 100.0 + i as f64 * 0.25,
            pid: 4242,
            cpu: (i % 2) as u32,
            comm: "scx-bench".into(),
            msg: format!("scxtop_prio: dispatch #{i}"),
        })
        .collect();
    let total: f64 = cpus.iter().filter_map(|c| c.ctx_switches_per_s).sum();
    let unavailable = if spec.ours {
        Vec::new()
    } else {
        vec![Unavailable::new(Measure::QueueDepth, QUEUE_DEPTH_NOT_OURS)]
    };
    Snapshot {
        t: 30.0,
        sched: sched(spec.ours),
        bands: Vec::new(),
        probe: ProbeSnapshot {
            cpus,
            tasks: (0..spec.tasks).map(|i| task(i, spec.ours)).collect(),
            latency,
            ctx_switches_per_s: Some(total),
            migrations_per_s: Some(5.0 * spec.cpus as f64),
            bpf_ctx_switches_per_s: Some(total),
            rate_sources: RateSources {
                ctx_switches_per_s: Some(RateSource::Bpf),
                migrations_per_s: Some(RateSource::Bpf),
                bpf_ctx_switches_per_s: Some(RateSource::Bpf),
                voluntary_per_s: Some(RateSource::Bpf),
                involuntary_per_s: Some(RateSource::Bpf),
            },
            log,
            log_lost: 0,
            log_source: Some(scxtop::probe::printk_tail::SOURCE.into()),
            unavailable,
        },
    }
}
