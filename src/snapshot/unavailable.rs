//! What could not be measured, and why: one entry per missing source, so a
//! pane finds its own by `what` and JSON readers get the same line.

use serde::Serialize;

/// The measurements a source can fail to provide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The BPF probes: task table, run-queue latency, BPF switch counts.
    Tasks,
    /// Run-queue latency alone (the probes run, but the kernel cannot time
    /// waits).
    Latency,
    /// Switch and migration rates from perf's per-CPU counters: asked for
    /// as a cross-check, or the fallback when the BPF probes cannot run.
    SwitchRates,
    /// The bpf_printk tail.
    PrintkTail,
    /// The built-in scheduler's per-CPU queue depth.
    QueueDepth,
}

impl Measure {
    /// In the order the live view names them.
    pub const ALL: [Measure; 5] = [
        Self::Tasks,
        Self::Latency,
        Self::SwitchRates,
        Self::PrintkTail,
        Self::QueueDepth,
    ];

    /// What the live view's privilege line calls the panes this source
    /// fills.
    pub fn pane_names(self) -> &'static [&'static str] {
        match self {
            Self::Tasks => &["task table", "latency"],
            Self::Latency => &["latency"],
            Self::SwitchRates => &["switch rates"],
            Self::PrintkTail => &["bpf_printk"],
            Self::QueueDepth => &["queue depth"],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unavailable {
    pub what: Measure,
    /// One line: what failed and what to do.
    pub reason: String,
    /// The kernel refused it for lack of privilege (sudo would help).
    pub needs_root: bool,
}

impl Unavailable {
    pub fn new(what: Measure, reason: impl Into<String>) -> Self {
        Self {
            what,
            reason: reason.into(),
            needs_root: false,
        }
    }

    pub fn denied(what: Measure, reason: impl Into<String>) -> Self {
        Self {
            needs_root: true,
            ..Self::new(what, reason)
        }
    }
}

/// Why the queue-depth pane is empty when no entry says otherwise.
pub const QUEUE_DEPTH_NOT_OURS: &str =
    "queue depth: only scxtop's built-in scheduler reports it, and it is not attached";
