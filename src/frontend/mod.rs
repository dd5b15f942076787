//! The two front ends on top of the worker: the live view (`live`) and
//! `--headless` JSON lines. Both map their input onto the same actions.

pub mod headless;
pub mod live;
