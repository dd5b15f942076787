//! The scheduler engine: loads a sched_ext scheduler object (the built-in one
//! or a user's `.bpf.o`), attaches and detaches it, notices when the kernel
//! ejects it, and says why in one line when any step fails.
//!
//! Every object goes through the same generic path (`loader`), so a user's
//! scheduler is handled exactly like ours.

pub mod btf;
pub mod engine;
pub mod error;
pub mod exit_info;
pub mod kmsg;
pub mod loader;
pub mod source;

pub use engine::Engine;
pub use error::SchedError;
