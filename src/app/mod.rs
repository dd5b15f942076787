//! What the user can do and how it changes state: the `Action` enum (the only
//! way state changes), its effect on the engine, and the front ends that
//! produce actions (headless stdin now, keys in the TUI).

pub mod action;
pub mod headless;
pub mod update;
