//! What the user can do and how it changes the view. `action` is the one
//! enum of changes (a scheduler command among them); `keymap` turns keys
//! into actions and `update` applies them to the view `state`, handing the
//! worker what only it can do.

pub mod action;
pub mod keymap;
pub mod state;
pub mod update;
