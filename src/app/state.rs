//! What the live view remembers between frames. Only `update::update` changes
//! it; the `ui` render functions read it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::snapshot::{ExitInfo, LabeledLatency, Latency, LatencyView, LogLine, Snapshot, TaskRow};

/// The panes, in focus order (Tab).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Tasks,
    Latency,
    Cpus,
    Rates,
    Log,
}

impl Pane {
    pub const ORDER: [Pane; 5] = [
        Pane::Tasks,
        Pane::Latency,
        Pane::Cpus,
        Pane::Rates,
        Pane::Log,
    ];
}

/// Task table columns, in the order `s` cycles through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Cpu,
    WaitAvg,
    WaitMax,
    Switches,
    Nice,
    Pid,
    Comm,
}

impl SortKey {
    pub const ORDER: [SortKey; 7] = [
        SortKey::Cpu,
        SortKey::WaitAvg,
        SortKey::WaitMax,
        SortKey::Switches,
        SortKey::Nice,
        SortKey::Pid,
        SortKey::Comm,
    ];

    /// Numbers read best biggest first; names and ids in order.
    pub fn descending_by_default(self) -> bool {
        !matches!(self, SortKey::Nice | SortKey::Pid | SortKey::Comm)
    }

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Cpu => "cpu%",
            SortKey::WaitAvg => "wait avg",
            SortKey::WaitMax => "wait max",
            SortKey::Switches => "switches",
            SortKey::Nice => "nice",
            SortKey::Pid => "pid",
            SortKey::Comm => "comm",
        }
    }
}

/// Which latency distribution the histogram pane shows (`h` cycles the
/// kind; Left/Right pick the level or CPU within it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistKind {
    All,
    /// Our scheduler's bands (shown only while it reports them).
    Band,
    Nice,
    Cpu,
    Task,
}

impl HistKind {
    pub const ORDER: [HistKind; 5] = [
        HistKind::All,
        HistKind::Band,
        HistKind::Nice,
        HistKind::Cpu,
        HistKind::Task,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistSource {
    pub kind: HistKind,
    /// Index into the kind's list (bands, nice levels with samples, CPUs).
    pub index: usize,
}

impl HistSource {
    /// The chosen distribution in `view`, with its label; `None` when the
    /// snapshot has no such entry (no selected task, index past the end).
    pub fn pick<'a>(&self, view: &'a LatencyView) -> Option<(String, &'a Latency)> {
        let labeled = |list: &'a [LabeledLatency]| {
            list.get(self.index).map(|l| (l.label.clone(), &l.latency))
        };
        match self.kind {
            HistKind::All => Some(("all tasks".to_string(), &view.all)),
            HistKind::Band => labeled(&view.per_band).map(|(l, h)| (format!("band {l}"), h)),
            HistKind::Nice => labeled(&view.per_prio),
            HistKind::Cpu => labeled(&view.per_cpu),
            HistKind::Task => view.task.as_ref().map(|t| (t.label.clone(), &t.latency)),
        }
    }

    /// How many entries the kind has in `view`.
    pub fn len_in(kind: HistKind, view: &LatencyView) -> usize {
        match kind {
            HistKind::All => 1,
            HistKind::Band => view.per_band.len(),
            HistKind::Nice => view.per_prio.len(),
            HistKind::Cpu => view.per_cpu.len(),
            HistKind::Task => usize::from(view.task.is_some()),
        }
    }
}

/// Histograms at one moment, to subtract from later ones, with the name of
/// the scheduler that ran from then on.
#[derive(Clone, Debug)]
pub struct Mark {
    pub t: f64,
    pub sched: String,
    /// `None`: the start (nothing to subtract).
    pub view: Option<LatencyView>,
}

/// A marked baseline: the distributions of one stretch of time (from the last
/// scheduler change to the moment `b` was pressed), shown beside the live
/// ones, which then count from the mark.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub from: Mark,
    pub to: Mark,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MessageKind {
    Ok,
    Error,
    /// The kernel ended a scheduler: shown until the next action.
    KernelExit,
}

#[derive(Clone, Debug)]
pub struct Message {
    pub text: String,
    pub kind: MessageKind,
}

/// What libbpf said about the last failed open, load or attach (the
/// verifier's log included), which `v` shows.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadLogView {
    /// The failed action's one-line message.
    pub title: String,
    pub lines: Vec<String>,
    /// Index into `lines` of the line that says what is wrong.
    pub error_line: Option<usize>,
    /// First line shown.
    pub scroll: usize,
}

/// Lines shown above the error line when the log opens, so the
/// instructions that led to it are in view.
pub const LOAD_LOG_CONTEXT: usize = 8;

impl LoadLogView {
    /// Where the view starts: a little above the error line, else at the end.
    pub fn initial_scroll(&self) -> usize {
        match self.error_line {
            Some(i) => i.saturating_sub(LOAD_LOG_CONTEXT),
            None => self.lines.len().saturating_sub(1),
        }
    }
}

/// One point of the context-switch history (sparkline).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatePoint {
    pub t: f64,
    pub switches_per_s: f64,
}

/// How much history the rates sparkline keeps.
pub const RATE_HISTORY_S: f64 = 60.0;
/// How many printk lines the log pane keeps.
pub const LOG_KEEP: usize = 2000;

pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
pub const MAX_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct TaskView {
    pub sort: SortKey,
    pub descending: bool,
    pub filter: String,
    /// Keys go into the filter (after `/`) instead of being commands.
    pub editing_filter: bool,
    /// The selected thread; the selection follows it across refreshes.
    pub selected_tid: Option<i32>,
}

#[derive(Clone, Debug)]
pub struct State {
    /// The snapshot on screen (frozen while paused).
    pub snap: Option<Box<Snapshot>>,
    pub paused: bool,
    pub interval: Duration,
    pub focus: Pane,
    pub help: bool,
    pub tasks: TaskView,
    pub hist: HistSource,
    /// The last scheduler change (attach, detach, reload, kernel exit):
    /// where a baseline starts.
    pub last_change: Mark,
    pub baseline: Option<Baseline>,
    pub rates: VecDeque<RatePoint>,
    pub log: VecDeque<LogLine>,
    /// Lines scrolled back from the newest; 0 follows new lines.
    pub log_scroll: usize,
    /// First CPU row shown in the queue-depth and rates panes.
    pub cpu_scroll: usize,
    pub message: Option<Message>,
    /// The log of the last failed load, kept until the next one.
    pub load_log: Option<LoadLogView>,
    /// The load log covers the panes (`v`).
    pub load_log_open: bool,
    pub last_kernel_exit: Option<ExitInfo>,
    /// The scheduler seen in the last snapshot (ops, enable_seq), to notice
    /// changes made by anyone.
    pub last_sched: Option<(Option<String>, Option<u64>)>,
    /// The shown task rows (indices into the snapshot's, filtered and
    /// sorted) and what they were computed from: with 10,000 tasks a sort is
    /// most of a frame's work, so it is done once per change, not per frame.
    order: Vec<usize>,
    order_key: Option<OrderKey>,
    /// Counts snapshots taken, so the order knows when its rows changed.
    snap_gen: u64,
}

#[derive(Clone, Debug, PartialEq)]
struct OrderKey {
    sort: SortKey,
    descending: bool,
    filter: String,
    snap_gen: u64,
}

impl State {
    pub fn new(interval: Duration) -> Self {
        Self {
            snap: None,
            paused: false,
            interval,
            focus: Pane::Tasks,
            help: false,
            tasks: TaskView {
                sort: SortKey::Cpu,
                descending: true,
                filter: String::new(),
                editing_filter: false,
                selected_tid: None,
            },
            hist: HistSource {
                kind: HistKind::All,
                index: 0,
            },
            last_change: Mark {
                t: 0.0,
                sched: String::new(),
                view: None,
            },
            baseline: None,
            rates: VecDeque::new(),
            log: VecDeque::new(),
            log_scroll: 0,
            cpu_scroll: 0,
            message: None,
            load_log: None,
            load_log_open: false,
            last_kernel_exit: None,
            last_sched: None,
            order: Vec::new(),
            order_key: None,
            snap_gen: 0,
        }
    }

    /// Puts a new snapshot on screen.
    pub(crate) fn set_snapshot(&mut self, snap: Box<Snapshot>) {
        self.snap = Some(snap);
        self.snap_gen += 1;
        self.refresh_order();
    }

    /// Sorts and filters the task rows again if the snapshot, the sort or
    /// the filter changed since the last time; `update` calls it after
    /// every action.
    pub(crate) fn refresh_order(&mut self) {
        let key = OrderKey {
            sort: self.tasks.sort,
            descending: self.tasks.descending,
            filter: self.tasks.filter.clone(),
            snap_gen: self.snap_gen,
        };
        if self.order_key.as_ref() == Some(&key) {
            return;
        }
        self.order = self.sorted_rows();
        self.order_key = Some(key);
    }

    fn sorted_rows(&self) -> Vec<usize> {
        let Some(snap) = &self.snap else {
            return Vec::new();
        };
        let tasks = &snap.probe.tasks;
        let filter = self.tasks.filter.to_lowercase();
        let mut rows: Vec<usize> = (0..tasks.len())
            .filter(|&i| matches_filter(&tasks[i], &filter))
            .collect();
        let key = self.tasks.sort;
        let descending = self.tasks.descending;
        // Ties in thread id order, so rows do not jump between frames.
        if let Some(num) = numeric_key(key) {
            // Keys computed once into one array: sorting 10,000 rows then
            // reads no row twice.
            let mut keyed: Vec<(u64, i32, usize)> = rows
                .iter()
                .map(|&i| {
                    let k = num(&tasks[i]);
                    (if descending { !k } else { k }, tasks[i].tid, i)
                })
                .collect();
            keyed.sort_unstable();
            return keyed.into_iter().map(|(_, _, i)| i).collect();
        }
        rows.sort_by(|&a, &b| {
            let (a, b) = (&tasks[a], &tasks[b]);
            let ord = compare(a, b, key);
            let ord = if descending { ord.reverse() } else { ord };
            ord.then(a.tid.cmp(&b.tid))
        });
        rows
    }

    /// The task rows on screen, filtered and sorted (as of the last
    /// `update`).
    pub fn visible_tasks(&self) -> Vec<&TaskRow> {
        let Some(snap) = &self.snap else {
            return Vec::new();
        };
        self.order
            .iter()
            .filter_map(|&i| snap.probe.tasks.get(i))
            .collect()
    }

    /// Index of the selected task among `rows`.
    pub fn selected_index(&self, rows: &[&TaskRow]) -> Option<usize> {
        let tid = self.tasks.selected_tid?;
        rows.iter().position(|r| r.tid == tid)
    }

    /// The histogram the pane shows now, counted from the baseline mark when
    /// there is one, with its label.
    pub fn live_latency(&self) -> Option<(String, Latency)> {
        let snap = self.snap.as_ref()?;
        let (label, now) = self.hist.pick(&snap.probe.latency)?;
        let from = self.baseline.as_ref().map(|b| &b.to);
        Some((label, since(now, from, self.hist)))
    }

    /// The baseline's histogram for the chosen source, with a label naming
    /// the scheduler and the stretch of time it covers.
    pub fn baseline_latency(&self) -> Option<(String, Latency)> {
        let b = self.baseline.as_ref()?;
        let (_, at_mark) = self.hist.pick(b.to.view.as_ref()?)?;
        let label = format!(
            "{} {:.0}s-{:.0}s",
            display_sched(&b.from.sched),
            b.from.t,
            b.to.t
        );
        Some((label, since(at_mark, Some(&b.from), self.hist)))
    }
}

/// The scheduler's name as the marks show it ("fair" when none is attached).
pub fn display_sched(name: &str) -> &str {
    if name.is_empty() { "fair" } else { name }
}

/// `now` minus the same source's histogram at `mark` (if any).
fn since(now: &Latency, mark: Option<&Mark>, source: HistSource) -> Latency {
    let earlier = mark
        .and_then(|m| m.view.as_ref())
        .and_then(|v| source.pick(v))
        .map(|(_, l)| l);
    match earlier {
        Some(e) => Latency {
            hist: now.hist.since(&e.hist),
            // The exact maximum cannot be split by time; the histogram's top
            // bucket bounds it instead.
            max_ns: None,
        },
        None => now.clone(),
    }
}

fn matches_filter(t: &TaskRow, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    if filter.bytes().all(|b| b.is_ascii_digit()) {
        return t.pid.to_string().starts_with(filter) || t.tid.to_string().starts_with(filter);
    }
    t.comm.to_lowercase().contains(filter)
}

/// A sort key as a u64 in the same order as `compare`, for the keys that
/// have one.
fn numeric_key(key: SortKey) -> Option<fn(&TaskRow) -> u64> {
    // i32 and f64 in an order-preserving u64 (the sign bit flipped, and for
    // a negative float every bit).
    fn from_i32(v: i32) -> u64 {
        u64::from((v as u32) ^ 0x8000_0000)
    }
    fn from_f64(v: f64) -> u64 {
        let b = v.to_bits();
        if b >> 63 == 1 { !b } else { b | 1 << 63 }
    }
    Some(match key {
        SortKey::Cpu => |t| from_f64(t.runtime_share),
        SortKey::WaitAvg => |t| t.wait_avg_ns,
        SortKey::WaitMax => |t| t.wait_max_ns,
        SortKey::Switches => |t| t.switches,
        SortKey::Nice => |t| from_i32(t.nice.unwrap_or(i32::MIN)),
        SortKey::Pid => |t| from_i32(t.pid) << 32 | from_i32(t.tid),
        SortKey::Comm => return None,
    })
}

fn compare(a: &TaskRow, b: &TaskRow, key: SortKey) -> std::cmp::Ordering {
    match key {
        SortKey::Cpu => a.runtime_share.total_cmp(&b.runtime_share),
        SortKey::WaitAvg => a.wait_avg_ns.cmp(&b.wait_avg_ns),
        SortKey::WaitMax => a.wait_max_ns.cmp(&b.wait_max_ns),
        SortKey::Switches => a.switches.cmp(&b.switches),
        // Real-time tasks (no nice) before nice -20.
        SortKey::Nice => a.nice.unwrap_or(i32::MIN).cmp(&b.nice.unwrap_or(i32::MIN)),
        // The column shows thread ids: a process's threads sort by theirs,
        // so reversing reverses them too (the tie order below does not).
        SortKey::Pid => a.pid.cmp(&b.pid).then(a.tid.cmp(&b.tid)),
        SortKey::Comm => a.comm.cmp(&b.comm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tid: i32, pid: i32, nice: Option<i32>, share: f64, n: u64) -> TaskRow {
        TaskRow {
            pid,
            tid,
            comm: "t".into(),
            nice,
            policy: 0,
            prio: 120,
            band: None,
            runtime_ns: 0,
            runtime_share: share,
            wait_ns: 0,
            wait_max_ns: n * 3,
            wait_avg_ns: n % 7,
            waits: 0,
            switches: n % 5,
            voluntary: 0,
            involuntary: 0,
            last_cpu: 0,
        }
    }

    /// The keyed sort orders rows exactly as `compare` does, for every key
    /// with a numeric form, negatives and ties included.
    #[test]
    fn numeric_keys_order_as_compare_does() {
        let shares = [0.0, -0.0, 1.5, -2.0, 0.25, f64::INFINITY, 1e-300];
        let nices = [None, Some(-20), Some(0), Some(19), Some(-1)];
        let rows: Vec<TaskRow> = (0..60)
            .map(|i| {
                let n = (i * 37 % 11) as u64;
                row(
                    i,
                    100 - i / 3,
                    nices[i as usize % 5],
                    shares[i as usize % 7],
                    n,
                )
            })
            .collect();
        for key in SortKey::ORDER.into_iter().filter(|k| *k != SortKey::Comm) {
            let num = numeric_key(key).unwrap();
            for (a, b) in rows.iter().flat_map(|a| rows.iter().map(move |b| (a, b))) {
                assert_eq!(num(a).cmp(&num(b)), compare(a, b, key), "{key:?}");
            }
        }
        assert!(numeric_key(SortKey::Comm).is_none());
    }
}
