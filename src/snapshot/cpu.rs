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
    /// perf's software counters (all tasks on the CPU).
    pub ctx_switches_per_s: Option<f64>,
    pub migrations_per_s: Option<f64>,
    /// The BPF sched_switch probe's count, a cross-check of perf's.
    pub bpf_switches_per_s: Option<f64>,
    pub voluntary_per_s: Option<f64>,
    pub involuntary_per_s: Option<f64>,
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
