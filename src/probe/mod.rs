//! Kernel probes that measure scheduling under any scheduler (ours, a user's,
//! or the kernel's fair class).

pub mod collector;
pub mod perf_counters;
pub mod printk_tail;
pub mod sched_probes;
pub mod tracefs;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A BPF step failed; the text says which and what to do.
    #[error("{0}")]
    Bpf(String),
    /// The kernel refused a BPF step for lack of privilege; the text says to
    /// use sudo.
    #[error("{0}")]
    Denied(String),
}

impl ProbeError {
    pub fn needs_privilege(&self) -> bool {
        matches!(self, Self::Denied(_))
    }
}
