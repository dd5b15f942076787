//! What the kernel says about sched_ext, read without BPF.

pub mod kernel;
pub mod sysfs;
