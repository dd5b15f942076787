//! The task table's rows: what each task got since the probes first saw it.

use std::sync::Arc;

use serde::Serialize;

use super::band::Band;

#[derive(Clone, Debug, Serialize)]
pub struct TaskRow {
    pub pid: i32,
    pub tid: i32,
    /// Shared with the probes' table: a refresh copies no names.
    pub comm: Arc<str>,
    /// `None` for real-time and deadline tasks.
    pub nice: Option<i32>,
    pub policy: u32,
    pub prio: i32,
    /// The built-in scheduler's band while it is attached, else `None`.
    pub band: Option<Band>,
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
