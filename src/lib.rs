//! scxtop: a terminal monitor and controller for Linux sched_ext.
//!
//! Data flows one way. Kernel readers (`sched_ext`, `probe`, the scheduler
//! engine in `sched`) are owned by the `worker` thread, which builds one
//! `snapshot::Snapshot` per tick. `app::update` turns snapshots and user
//! actions into view state, `ui` draws that state without touching the
//! kernel, and the `frontend`s (live view, headless) wire them together.
//! `snapshot` is the bottom: it imports nothing from the kernel side.

pub mod app;
pub mod bpf;
pub mod frontend;
pub mod priority;
pub mod probe;
pub mod sched;
pub mod sched_ext;
pub mod snapshot;
pub mod status;
pub mod ui;
pub mod worker;
pub mod workload;
