//! Carries out a scheduler action on the engine and describes the result in
//! one line (run by the worker thread).

use serde::Serialize;

use super::action::Action;
use crate::sched::engine::AttachReport;
use crate::sched::{Engine, ExitInfo, SchedError};

/// The result of one action, as the status bar and headless output show it.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub action: &'static str,
    pub ok: bool,
    /// One line: "reloaded scxtop_prio in 12.3 ms", "detach failed: ...".
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<AttachReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// Everything libbpf said about a failed open, load or attach (the
    /// verifier's log included), which `message` can only quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<String>>,
    /// Index into `log` of the line that says what is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_error_line: Option<usize>,
}

impl Outcome {
    fn new(action: &Action, ok: bool, message: String) -> Self {
        Self {
            action: action.command().unwrap_or("view"),
            ok,
            message,
            attach: None,
            exit: None,
            log: None,
            log_error_line: None,
        }
    }

    /// A failed scheduler action, with libbpf's log when there is one.
    pub fn failed(action: &Action, verb: &str, err: &SchedError) -> Self {
        let log = err.load_log();
        Self {
            log: log.map(|l| l.lines.clone()),
            log_error_line: log.and_then(|l| l.error_line),
            ..Self::new(action, false, format!("{verb} failed: {err}"))
        }
    }
}

/// Runs `action` against the engine. `Quit` does nothing here: the front end
/// ends its loop, and dropping the engine detaches.
pub fn apply(engine: &mut Engine, action: &Action) -> Outcome {
    match action {
        Action::Attach | Action::Reload => {
            let verb = if matches!(action, Action::Attach) {
                "attach"
            } else {
                "reload"
            };
            let result = if matches!(action, Action::Attach) {
                engine.attach()
            } else {
                engine.reload()
            };
            match result {
                Ok(report) => {
                    let mut msg = format!(
                        "{verb}ed {} (load {:.1} ms, attach {:.1} ms)",
                        report.ops, report.load_ms, report.attach_ms
                    );
                    if let Some(down) = report.downtime_ms {
                        msg.push_str(&format!(" ({down:.1} ms on fair)"));
                    }
                    Outcome {
                        attach: Some(report),
                        ..Outcome::new(action, true, msg)
                    }
                }
                Err(e) => Outcome::failed(action, verb, &e),
            }
        }
        Action::Detach => match engine.detach() {
            Ok(info) => Outcome {
                exit: Some(info.clone()),
                ..Outcome::new(action, true, format!("detached: {}", info.summary()))
            },
            Err(e) => Outcome::failed(action, "detach", &e),
        },
        Action::TogglePrintk => {
            let on = !engine.printk();
            let applied = engine.set_printk(on);
            let state = if on { "on" } else { "off" };
            let msg = if applied {
                format!("scheduler printk {state}")
            } else {
                format!("scheduler printk {state} (applies when the built-in scheduler attaches)")
            };
            Outcome::new(action, true, msg)
        }
        Action::Quit => Outcome::new(action, true, "quitting".into()),
        _ => Outcome::new(action, false, "not a scheduler action".into()),
    }
}
