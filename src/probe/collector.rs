//! Turns probe readings into the probe half of a Snapshot: per-interval
//! rates (per second of real elapsed time between reads), the task table and
//! the latency distributions. Owns every probe; each one that cannot start is
//! reported once as unavailable, and the rest keep working.

use std::collections::HashMap;

use serde::{Serialize, Serializer};

use super::histogram::{Histogram, LatencySummary};
use super::perf_counters::CpuCounters;
use super::printk_tail::{LogLine, PrintkTail, TailOptions};
use super::sched_probes::{
    LATENCY_UNSUPPORTED, PRIO_CLASSES, PRIO_RT, ProbeReading, SchedProbes, TaskRecord,
};
use crate::snapshot::band_of_nice;

/// A histogram with its exact maximum; serialized as its summary.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    pub hist: Histogram,
    pub max_ns: Option<u64>,
}

impl Latency {
    pub fn summary(&self) -> LatencySummary {
        self.hist.summary(self.max_ns)
    }
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.summary().serialize(s)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LabeledLatency {
    pub label: String,
    #[serde(flatten)]
    pub latency: Latency,
}

/// Run-queue latency since the probes attached.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencyView {
    pub all: Latency,
    pub per_cpu: Vec<LabeledLatency>,
    /// Nice levels that saw samples ("nice -20" .. "nice 19", "rt").
    pub per_prio: Vec<LabeledLatency>,
    /// The built-in scheduler's bands, aggregated from nice levels.
    pub per_band: Vec<LabeledLatency>,
    /// The selected task, when one is selected.
    pub task: Option<LabeledLatency>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskRow {
    pub pid: i32,
    pub tid: i32,
    pub comm: String,
    /// `None` for real-time and deadline tasks.
    pub nice: Option<i32>,
    pub policy: u32,
    pub prio: i32,
    /// The built-in scheduler's band while it is attached, else `None`.
    pub band: Option<&'static str>,
    pub runtime_ns: u64,
    /// Share of one CPU over the last interval.
    pub runtime_share: f64,
    pub wait_ns: u64,
    pub wait_max_ns: u64,
    pub wait_avg_ns: u64,
    pub waits: u64,
    pub switches: u64,
    pub voluntary: u64,
    pub involuntary: u64,
    pub last_cpu: u32,
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

#[derive(Clone, Debug, Default, Serialize)]
pub struct ProbeSnapshot {
    pub cpus: Vec<CpuRow>,
    pub tasks: Vec<TaskRow>,
    pub latency: LatencyView,
    /// Summed over CPUs, from perf; `None` when perf is unavailable.
    pub ctx_switches_per_s: Option<f64>,
    pub migrations_per_s: Option<f64>,
    pub bpf_ctx_switches_per_s: Option<f64>,
    /// bpf_printk lines that arrived since the previous refresh.
    pub log: Vec<LogLine>,
    /// Lines the kernel dropped before we read them (cumulative).
    pub log_lost: u64,
    /// Where the lines come from (our tracefs instance, or the global pipe).
    pub log_source: Option<String>,
    /// What could not be measured and why (one line each).
    pub unavailable: Vec<String>,
    /// What is missing because the kernel refused it for lack of privilege
    /// ("task table", "switch rates", ...): the live view's one line on what
    /// to do. The `unavailable` lines already say it for JSON readers.
    #[serde(skip)]
    pub needs_root: Vec<&'static str>,
}

/// How the collector starts.
#[derive(Clone, Debug, Default)]
pub struct CollectorOptions {
    /// Include scxtop's own threads in the task table.
    pub show_self: bool,
    /// Read the global trace_pipe (stealing lines from other readers) when
    /// a private tracefs instance cannot be made.
    pub printk_global_fallback: bool,
}

pub struct Collector {
    probes: Result<SchedProbes, String>,
    perf: Result<CpuCounters, String>,
    tail: Result<PrintkTail, String>,
    prev: Option<ProbeReading>,
    selected: Option<i32>,
    self_tgid: i32,
    show_self: bool,
    needs_root: Vec<&'static str>,
}

fn prio_label(class: usize) -> String {
    if class == PRIO_RT {
        "rt".to_string()
    } else {
        format!("nice {}", class as i32 - 20)
    }
}

impl Collector {
    pub fn start(opts: &CollectorOptions) -> Self {
        let probes = SchedProbes::start();
        let perf = CpuCounters::open();
        let tail = PrintkTail::open(TailOptions {
            global_fallback: opts.printk_global_fallback,
            ..TailOptions::default()
        });
        let mut needs_root = Vec::new();
        if probes.as_ref().is_err_and(|e| e.needs_privilege()) {
            needs_root.extend(["task table", "latency"]);
        }
        if perf.as_ref().is_err_and(|e| e.needs_privilege()) {
            needs_root.push("switch rates");
        }
        if tail.as_ref().is_err_and(|e| e.needs_privilege()) {
            needs_root.push("bpf_printk");
        }
        Self {
            probes: probes.map_err(|e| format!("BPF probes: {e}")),
            perf: perf.map_err(|e| format!("perf counters: {e}")),
            tail: tail.map_err(|e| e.to_string()),
            prev: None,
            selected: None,
            self_tgid: std::process::id() as i32,
            show_self: opts.show_self,
            needs_root,
        }
    }

    pub fn select_task(&mut self, tid: Option<i32>) {
        self.selected = tid;
        if let Ok(p) = self.probes.as_mut() {
            p.select_task(tid.and_then(|t| u32::try_from(t).ok()));
        }
    }

    /// One refresh. `bands` says whether band labels apply (our scheduler is
    /// attached).
    pub fn collect(&mut self, bands: bool) -> ProbeSnapshot {
        let mut snap = ProbeSnapshot {
            needs_root: self.needs_root.clone(),
            ..ProbeSnapshot::default()
        };
        match &mut self.perf {
            Ok(perf) => {
                let sample = perf.sample();
                snap.ctx_switches_per_s = Some(sample.total.ctx_switches_per_s);
                snap.migrations_per_s = Some(sample.total.migrations_per_s);
                snap.cpus = sample
                    .cpus
                    .iter()
                    .map(|c| CpuRow {
                        cpu: c.cpu,
                        ctx_switches_per_s: Some(c.ctx_switches_per_s),
                        migrations_per_s: Some(c.migrations_per_s),
                        ..CpuRow::default()
                    })
                    .collect();
                // cpu_row() finds rows by binary search.
                snap.cpus.sort_by_key(|r| r.cpu);
                snap.unavailable.extend(
                    sample
                        .unavailable
                        .iter()
                        .map(|u| format!("cpu {}: {}", u.cpu, u.reason)),
                );
            }
            Err(e) => snap.unavailable.push(e.clone()),
        }
        self.collect_log(&mut snap);
        let reading = match &self.probes {
            Ok(p) => p.read().map_err(|e| format!("BPF probes: {e}")),
            Err(e) => Err(e.clone()),
        };
        match reading {
            Ok(now) => {
                if now.latency_unsupported {
                    snap.unavailable.push(LATENCY_UNSUPPORTED.to_string());
                }
                self.merge_probe_rates(&now, &mut snap);
                snap.tasks = self.task_rows(&now, bands);
                snap.latency = self.latency(&now);
                self.prev = Some(now);
            }
            Err(e) => snap.unavailable.push(e),
        }
        snap
    }

    fn collect_log(&mut self, snap: &mut ProbeSnapshot) {
        match &mut self.tail {
            Ok(tail) => {
                if let Err(e) = tail.poll() {
                    snap.unavailable.push(format!("bpf_printk tail: {e}"));
                }
                snap.log = tail.drain_new();
                snap.log_lost = tail.lost();
                snap.log_source = Some(tail.source().to_string());
            }
            Err(e) => snap.unavailable.push(e.clone()),
        }
    }

    fn merge_probe_rates(&self, now: &ProbeReading, snap: &mut ProbeSnapshot) {
        let (Some(prev), Some(secs)) = (self.prev.as_ref(), self.elapsed_s(now)) else {
            return;
        };
        let rate = |a: &[u64], b: &[u64], i: usize| {
            a.get(i)
                .zip(b.get(i))
                .map(|(x, y)| x.saturating_sub(*y) as f64 / secs)
        };
        let mut total = 0.0;
        for cpu in 0..now.cpu_switches.len() {
            let switches = rate(&now.cpu_switches, &prev.cpu_switches, cpu);
            let voluntary = rate(&now.cpu_voluntary, &prev.cpu_voluntary, cpu);
            total += switches.unwrap_or(0.0);
            let row = cpu_row(&mut snap.cpus, cpu);
            row.bpf_switches_per_s = switches;
            row.voluntary_per_s = voluntary;
            row.involuntary_per_s = switches.zip(voluntary).map(|(s, v)| (s - v).max(0.0));
        }
        snap.bpf_ctx_switches_per_s = Some(total);
    }

    fn elapsed_s(&self, now: &ProbeReading) -> Option<f64> {
        let prev = self.prev.as_ref()?;
        let s = now.at.duration_since(prev.at).as_secs_f64();
        (s > 0.0).then_some(s)
    }

    fn task_rows(&self, now: &ProbeReading, bands: bool) -> Vec<TaskRow> {
        let prev_runtime: HashMap<i32, u64> = self
            .prev
            .as_ref()
            .map(|p| p.tasks.iter().map(|t| (t.tid, t.runtime_ns)).collect())
            .unwrap_or_default();
        let secs = self.elapsed_s(now);
        now.tasks
            .iter()
            .filter(|t| self.show_self || t.tgid != self.self_tgid)
            .map(|t: &TaskRecord| {
                let share = match (secs, prev_runtime.get(&t.tid)) {
                    (Some(s), Some(before)) => {
                        t.runtime_ns.saturating_sub(*before) as f64 / 1e9 / s
                    }
                    _ => 0.0,
                };
                TaskRow {
                    pid: t.tgid,
                    tid: t.tid,
                    comm: t.comm.clone(),
                    nice: t.nice(),
                    policy: t.policy,
                    prio: t.prio,
                    band: if bands {
                        t.nice().map(band_of_nice)
                    } else {
                        None
                    },
                    runtime_ns: t.runtime_ns,
                    runtime_share: share,
                    wait_ns: t.wait_total_ns,
                    wait_max_ns: t.wait_max_ns,
                    wait_avg_ns: t.wait_total_ns.checked_div(t.waits).unwrap_or(0),
                    waits: t.waits,
                    switches: t.voluntary + t.involuntary,
                    voluntary: t.voluntary,
                    involuntary: t.involuntary,
                    last_cpu: t.last_cpu,
                }
            })
            .collect()
    }

    fn latency(&self, now: &ProbeReading) -> LatencyView {
        let mut all = Latency::default();
        let per_cpu = now
            .cpu_hists
            .iter()
            .zip(&now.cpu_max_ns)
            .enumerate()
            .map(|(cpu, (h, max))| {
                all.hist.add(h);
                all.max_ns = all.max_ns.max(Some(*max)).filter(|m| *m > 0);
                LabeledLatency {
                    label: format!("cpu {cpu}"),
                    latency: Latency {
                        hist: h.clone(),
                        max_ns: (*max > 0).then_some(*max),
                    },
                }
            })
            .collect();
        let per_prio = (0..PRIO_CLASSES)
            .filter_map(|class| {
                let h = now.prio_hists.get(class)?;
                (h.count() > 0).then(|| LabeledLatency {
                    label: prio_label(class),
                    latency: Latency {
                        hist: h.clone(),
                        max_ns: None,
                    },
                })
            })
            .collect();
        let mut bands: Vec<(&'static str, Histogram)> = crate::snapshot::BAND_NAMES
            .iter()
            .map(|b| (*b, Histogram::default()))
            .collect();
        for class in 0..PRIO_RT {
            let band = band_of_nice(class as i32 - 20);
            if let (Some(slot), Some(h)) = (
                bands.iter_mut().find(|(b, _)| *b == band),
                now.prio_hists.get(class),
            ) {
                slot.1.add(h);
            }
        }
        let per_band = bands
            .into_iter()
            .map(|(band, hist)| LabeledLatency {
                label: band.to_string(),
                latency: Latency { hist, max_ns: None },
            })
            .collect();
        let task = self.selected.map(|tid| LabeledLatency {
            label: format!("tid {tid}"),
            latency: Latency {
                hist: now.task_hist.clone(),
                max_ns: None,
            },
        });
        LatencyView {
            all,
            per_cpu,
            per_prio,
            per_band,
            task,
        }
    }
}
