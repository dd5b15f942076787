//! The scheduler commands a front end sends the worker, and how the worker
//! carries one out on the engine and describes the result in one line.

use crate::sched::{Engine, SchedError};
use crate::snapshot::Outcome;

/// What a front end can ask of the scheduler. Each has a headless command
/// word; keys map onto the same commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedCommand {
    Attach,
    Detach,
    Reload,
    /// The built-in scheduler's own bpf_printk lines, on or off.
    TogglePrintk,
}

impl SchedCommand {
    pub const ALL: [SchedCommand; 4] =
        [Self::Attach, Self::Detach, Self::Reload, Self::TogglePrintk];

    /// The headless command word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Attach => "attach",
            Self::Detach => "detach",
            Self::Reload => "reload",
            Self::TogglePrintk => "printk",
        }
    }

    /// What the status bar says while the command runs.
    pub fn progress(self) -> &'static str {
        match self {
            Self::Attach => "attaching",
            Self::Detach => "detaching",
            Self::Reload => "reloading",
            Self::TogglePrintk => "switching scheduler printk",
        }
    }
}

/// A failed command, with libbpf's log when there is one.
fn failed(cmd: SchedCommand, err: &SchedError) -> Outcome {
    let log = err.load_log();
    Outcome {
        log: log.map(|l| l.lines.clone()),
        log_error_line: log.and_then(|l| l.error_line),
        ..Outcome::new(cmd.word(), false, format!("{} failed: {err}", cmd.word()))
    }
}

/// Runs `cmd` against the engine.
pub fn apply(engine: &mut Engine, cmd: SchedCommand) -> Outcome {
    let word = cmd.word();
    match cmd {
        SchedCommand::Attach | SchedCommand::Reload => {
            let result = if cmd == SchedCommand::Attach {
                engine.attach()
            } else {
                engine.reload()
            };
            match result {
                Ok(report) => {
                    let mut msg = format!(
                        "{word}ed {} (load {:.1} ms, attach {:.1} ms)",
                        report.ops, report.load_ms, report.attach_ms
                    );
                    if let Some(down) = report.downtime_ms {
                        msg.push_str(&format!(" ({down:.1} ms on fair)"));
                    }
                    Outcome {
                        attach: Some(report),
                        ..Outcome::new(word, true, msg)
                    }
                }
                Err(e) => failed(cmd, &e),
            }
        }
        SchedCommand::Detach => match engine.detach() {
            Ok(info) => Outcome {
                message: format!("detached: {}", info.summary()),
                exit: Some(info),
                ..Outcome::new(word, true, String::new())
            },
            Err(e) => failed(cmd, &e),
        },
        SchedCommand::TogglePrintk => {
            let on = !engine.printk();
            let applied = engine.set_printk(on);
            let state = if on { "on" } else { "off" };
            let msg = if applied {
                format!("scheduler printk {state}")
            } else {
                format!("scheduler printk {state} (applies when the built-in scheduler attaches)")
            };
            Outcome::new(word, true, msg)
        }
    }
}
