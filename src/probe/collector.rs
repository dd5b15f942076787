//! Turns probe readings into the probe half of a Snapshot: per-interval
//! rates (per second of real elapsed time between reads), the task table and
//! the latency distributions. Owns every probe; each one that cannot start is
//! reported once as unavailable, and the rest keep working.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};

use libbpf_rs::OpenObject;

use super::ProbeError;
use super::perf_counters::{CpuCounters, PerfError};
use super::printk_tail::{PrintkTail, TailError, TailOptions};
use super::sched_probes::{
    LATENCY_UNSUPPORTED, PRIO_CLASSES, PRIO_RT, ProbeReading, SchedProbes, TaskRecord,
};
use crate::snapshot::{
    Band, CpuRow, Histogram, LabeledLatency, Latency, LatencyView, Measure, ProbeSnapshot,
    RateSource, TaskRow, Unavailable, band_of_nice, cpu_row,
};

/// How the collector starts.
#[derive(Clone, Debug, Default)]
pub struct CollectorOptions {
    /// Include scxtop's own threads in the task table.
    pub show_self: bool,
    /// Also open perf's per-CPU software counters and take switch and
    /// migration rates from them, the BPF counts then being their
    /// cross-check. Off by default: the BPF probes count the same events,
    /// and perf's counters add to the cost of every context switch.
    pub perf_counters: bool,
}

/// `'obj` is the open-object storage the BPF probes live in.
pub struct Collector<'obj> {
    probes: Result<SchedProbes<'obj>, ProbeError>,
    /// Opened when asked for, or when the BPF probes cannot run.
    perf: Option<Result<CpuCounters, PerfError>>,
    tail: Result<PrintkTail, TailError>,
    prev: Option<ProbeReading>,
    selected: Option<i32>,
    self_tgid: i32,
    show_self: bool,
}

/// The entry for a source that could not start; the kernel's refusal for
/// lack of privilege is marked so the live view can say to use sudo.
fn not_started(what: Measure, reason: String, denied: bool) -> Unavailable {
    if denied {
        Unavailable::denied(what, reason)
    } else {
        Unavailable::new(what, reason)
    }
}

fn prio_label(class: usize) -> String {
    if class == PRIO_RT {
        "rt".to_string()
    } else {
        format!("nice {}", class as i32 - 20)
    }
}

impl<'obj> Collector<'obj> {
    /// Starts every probe; the BPF ones in `storage`, which the caller keeps
    /// for as long as it keeps the collector.
    pub fn start(opts: &CollectorOptions, storage: &'obj mut MaybeUninit<OpenObject>) -> Self {
        let mut probes = SchedProbes::start(storage);
        let perf = (opts.perf_counters || probes.is_err()).then(CpuCounters::open);
        // The first refresh's rates then cover start -> refresh, as perf's do.
        let prev = probes.as_mut().ok().and_then(|p| p.read().ok());
        Self {
            probes,
            perf,
            tail: PrintkTail::open(TailOptions::default()),
            prev,
            selected: None,
            self_tgid: std::process::id() as i32,
            show_self: opts.show_self,
        }
    }

    pub fn select_task(&mut self, tid: Option<i32>) {
        self.selected = tid;
        if let Ok(p) = self.probes.as_mut() {
            p.select_task(tid.and_then(|t| u32::try_from(t).ok()));
        }
    }

    /// One refresh. `bands` says whether band labels apply (our scheduler is
    /// attached). `None` when `stop` was set before it was done.
    pub fn collect(&mut self, bands: bool, stop: &AtomicBool) -> Option<ProbeSnapshot> {
        let mut snap = ProbeSnapshot::default();
        match &mut self.perf {
            None => {}
            Some(Ok(perf)) => {
                let sample = perf.sample();
                snap.ctx_switches_per_s = Some(sample.total.ctx_switches_per_s);
                snap.migrations_per_s = Some(sample.total.migrations_per_s);
                snap.rate_sources.ctx_switches_per_s = Some(RateSource::Perf);
                snap.rate_sources.migrations_per_s = Some(RateSource::Perf);
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
                snap.unavailable.extend(sample.unavailable.iter().map(|u| {
                    Unavailable::new(Measure::SwitchRates, format!("cpu {}: {}", u.cpu, u.reason))
                }));
            }
            Some(Err(e)) => snap.unavailable.push(not_started(
                Measure::SwitchRates,
                format!("perf counters: {e}"),
                e.needs_privilege(),
            )),
        }
        self.collect_log(&mut snap);
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let reading = match &mut self.probes {
            Ok(p) => match p.read_until(stop) {
                Err(ProbeError::Stopped) => return None,
                r => r.map_err(|e| not_started(Measure::Tasks, format!("BPF probes: {e}"), false)),
            },
            Err(e) => Err(not_started(
                Measure::Tasks,
                format!("BPF probes: {e}"),
                e.needs_privilege(),
            )),
        };
        match reading {
            Ok(now) => {
                if now.latency_unsupported {
                    snap.unavailable
                        .push(Unavailable::new(Measure::Latency, LATENCY_UNSUPPORTED));
                }
                self.merge_probe_rates(&now, &mut snap);
                snap.tasks = self.task_rows(&now, bands);
                snap.latency = self.latency(&now);
                self.prev = Some(now);
            }
            Err(missing) => snap.unavailable.push(missing),
        }
        Some(snap)
    }

    fn collect_log(&mut self, snap: &mut ProbeSnapshot) {
        match &mut self.tail {
            Ok(tail) => {
                if let Err(e) = tail.poll() {
                    snap.unavailable.push(Unavailable::new(
                        Measure::PrintkTail,
                        format!("bpf_printk tail: {e}"),
                    ));
                }
                snap.log = tail.drain_new();
                snap.log_lost = tail.lost();
                snap.log_source = Some(tail.source().to_string());
            }
            Err(e) => snap.unavailable.push(not_started(
                Measure::PrintkTail,
                e.to_string(),
                e.needs_privilege(),
            )),
        }
    }

    /// The BPF counts' rates; they are also the switch and migration rates
    /// unless perf's counters (asked for, and open) already gave those.
    fn merge_probe_rates(&self, now: &ProbeReading, snap: &mut ProbeSnapshot) {
        let (Some(prev), Some(secs)) = (self.prev.as_ref(), self.elapsed_s(now)) else {
            return;
        };
        let main = snap.rate_sources.ctx_switches_per_s.is_none();
        let rate = |a: &[u64], b: &[u64], i: usize| {
            a.get(i)
                .zip(b.get(i))
                .map(|(x, y)| x.saturating_sub(*y) as f64 / secs)
        };
        let (mut total, mut migrations) = (0.0, 0.0);
        for cpu in 0..now.cpu_switches.len() {
            let switches = rate(&now.cpu_switches, &prev.cpu_switches, cpu);
            let voluntary = rate(&now.cpu_voluntary, &prev.cpu_voluntary, cpu);
            let moved = rate(&now.cpu_migrations, &prev.cpu_migrations, cpu);
            total += switches.unwrap_or(0.0);
            migrations += moved.unwrap_or(0.0);
            let row = cpu_row(&mut snap.cpus, cpu);
            row.bpf_switches_per_s = switches;
            row.voluntary_per_s = voluntary;
            row.involuntary_per_s = switches.zip(voluntary).map(|(s, v)| (s - v).max(0.0));
            if main {
                row.ctx_switches_per_s = switches;
                row.migrations_per_s = moved;
            }
        }
        let sources = &mut snap.rate_sources;
        snap.bpf_ctx_switches_per_s = Some(total);
        sources.bpf_ctx_switches_per_s = Some(RateSource::Bpf);
        sources.voluntary_per_s = Some(RateSource::Bpf);
        sources.involuntary_per_s = Some(RateSource::Bpf);
        if main {
            snap.ctx_switches_per_s = Some(total);
            snap.migrations_per_s = Some(migrations);
            sources.ctx_switches_per_s = Some(RateSource::Bpf);
            sources.migrations_per_s = Some(RateSource::Bpf);
        }
    }

    fn elapsed_s(&self, now: &ProbeReading) -> Option<f64> {
        let prev = self.prev.as_ref()?;
        let s = now.at.duration_since(prev.at).as_secs_f64();
        (s > 0.0).then_some(s)
    }

    fn task_rows(&self, now: &ProbeReading, bands: bool) -> Vec<TaskRow> {
        // Both readings are in tid order: one pass beside this one finds
        // each task's previous runtime.
        let prev: &[TaskRecord] = self.prev.as_ref().map_or(&[], |p| &p.tasks);
        let mut prev = prev.iter().peekable();
        let mut prev_runtime = |tid: i32| {
            while prev.next_if(|p| p.tid < tid).is_some() {}
            prev.next_if(|p| p.tid == tid).map(|p| p.runtime_ns)
        };
        let secs = self.elapsed_s(now);
        now.tasks
            .iter()
            .filter(|t| self.show_self || t.tgid != self.self_tgid)
            .map(|t: &TaskRecord| {
                let share = match (secs, prev_runtime(t.tid)) {
                    (Some(s), Some(before)) => t.runtime_ns.saturating_sub(before) as f64 / 1e9 / s,
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
        let mut bands: Vec<(Band, Histogram)> = Band::ALL
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
                label: band.name().to_string(),
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
