//! Per-CPU rows: each source fills in what it knows about a CPU.

use serde::Serialize;

/// One CPU's rates. Every figure is `None` when its source is unavailable:
/// nothing is invented.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuRow {
    pub cpu: usize,
    /// From our scheduler's maps; `None` under any other scheduler.
    pub queue_depth: Option<u64>,
    pub queue_depth_max: Option<u64>,
    /// All tasks on the CPU; from the BPF probes, or from perf's software
    /// counters when asked for (`--perf-counters`) or when the probes
    /// cannot run: `rate_sources` says which.
    pub ctx_switches_per_s: Option<f64>,
    pub migrations_per_s: Option<f64>,
    /// The BPF sched_switch probe's count: with perf's counters, their
    /// cross-check.
    pub bpf_switches_per_s: Option<f64>,
    pub voluntary_per_s: Option<f64>,
    pub involuntary_per_s: Option<f64>,
}

/// Where a rate was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateSource {
    /// The BPF probes (sched_switch, sched_migrate_task).
    Bpf,
    /// perf's per-CPU software counters.
    Perf,
}

/// Where each rate field comes from, in the snapshot and in its per-CPU
/// rows alike; `None` where the field is `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RateSources {
    pub ctx_switches_per_s: Option<RateSource>,
    pub migrations_per_s: Option<RateSource>,
    /// Also the rows' `bpf_switches_per_s`.
    pub bpf_ctx_switches_per_s: Option<RateSource>,
    pub voluntary_per_s: Option<RateSource>,
    pub involuntary_per_s: Option<RateSource>,
}

/// The row of `cpu` in `rows` (kept sorted by CPU), added empty if missing:
/// each source fills in what it knows about a CPU the others may lack.
pub fn cpu_row(rows: &mut Vec<CpuRow>, cpu: usize) -> &mut CpuRow {
    let i = match rows.binary_search_by_key(&cpu, |r| r.cpu) {
        Ok(i) => i,
        Err(i) => {
            rows.insert(
                i,
                CpuRow {
                    cpu,
                    ..CpuRow::default()
                },
            );
            i
        }
    };
    &mut rows[i]
}
