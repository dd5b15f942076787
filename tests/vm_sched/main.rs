//! The built-in scheduler and the engine on real sched_ext kernels (VM),
//! each test on every kernel series the harness offers. One test binary, so
//! the tests share the two test threads; one file per capability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod cycle;
mod ejections;
mod foreign;
mod knobs;
mod mixed_load;
mod reload_restores;
mod user_objects;

use common::{GuestRun, events, json_of, on_every_kernel};
