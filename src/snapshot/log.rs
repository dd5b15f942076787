//! The `bpf_printk` tail's lines.

use serde::Serialize;

/// One bpf_printk line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogLine {
    /// Trace timestamp, in seconds of the instance's trace clock.
    pub ts: f64,
    /// The printing thread's id.
    pub pid: i32,
    pub cpu: u32,
    pub comm: String,
    pub msg: String,
}
