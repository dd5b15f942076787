//! The `bpf_printk` tail's lines.

use serde::Serialize;

/// One bpf_printk line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogLine {
    /// When it was printed, in seconds of CLOCK_MONOTONIC (the kernel's
    /// `bpf_ktime_get_ns`): comparable between lines, and with
    /// `clock_gettime(CLOCK_MONOTONIC)`.
    pub ts: f64,
    /// The printing thread's id.
    pub pid: i32,
    pub cpu: u32,
    pub comm: String,
    pub msg: String,
}
