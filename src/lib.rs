//! scxtop: a terminal monitor and controller for Linux sched_ext.
//!
//! Data flows one way: kernel readers (`sched_ext`, `probe`) produce owned
//! values, the command layer (`status`) gathers them, and `ui` turns them into
//! text without touching the kernel.

pub mod app;
pub mod bpf;
pub mod probe;
pub mod sched;
pub mod sched_ext;
pub mod snapshot;
pub mod status;
pub mod ui;
pub mod workload;
