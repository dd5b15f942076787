//! What the user can do and how it changes state. `action` is the one enum
//! of changes; `keymap` turns keys into actions and `update` applies them to
//! the view `state`. The `worker` thread owns the kernel side (engine and
//! probes, via `engine_ops`) and sends snapshots; `headless` and `tui` are
//! the two front ends on top of it.

pub mod action;
pub mod engine_ops;
pub mod headless;
pub mod keymap;
pub mod state;
pub mod tui;
pub mod update;
pub mod worker;
