//! Presentation: pure functions from owned state to the screen. Nothing here
//! reads the kernel or changes state; `screen::draw` is the entry point and
//! each pane has its own file.

pub mod cpu_queues;
pub mod format;
pub mod help;
pub mod latency_chart;
pub mod layout;
pub mod load_log;
pub mod log_tail;
pub mod pane;
pub mod screen;
pub mod status_bar;
pub mod status_text;
pub mod switch_rates;
pub mod task_table;
pub mod terminal;
pub mod theme;
