//! Kernel probes that measure scheduling under any scheduler (ours, a user's,
//! or the kernel's fair class).

pub mod collector;
pub mod histogram;
pub mod perf_counters;
pub mod printk_tail;
pub mod sched_probes;
pub mod tracefs;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Bpf(String),
    #[error("map {map} returned {got} bytes per CPU, expected {want}")]
    BadValue {
        map: &'static str,
        got: usize,
        want: usize,
    },
}
