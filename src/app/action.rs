//! Everything that can change scxtop's state. Keys (see `keymap`), headless
//! commands and the worker's reports all become one of these; `update::update`
//! is the only place that applies them.

use super::engine_ops::Outcome;
use crate::sched::ExitInfo;
use crate::snapshot::Snapshot;

#[derive(Clone, Debug)]
pub enum Action {
    // The scheduler (these are also the headless commands).
    Attach,
    Detach,
    Reload,
    TogglePrintk,
    Quit,

    // The view.
    ToggleHelp,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    CycleSort,
    ReverseSort,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// Enter while typing a filter: keep it and go back to the keys.
    FilterDone,
    /// Esc: close help, stop typing, clear the filter.
    Escape,
    TogglePause,
    Faster,
    Slower,
    CycleHistSource,
    ToggleBaseline,
    /// Show or hide the log of the last failed load.
    ToggleLoadLog,

    // From the worker.
    Snapshot(Box<Snapshot>),
    Done(Box<Outcome>),
    KernelExit(Box<ExitInfo>),
}

/// The scheduler actions, which the worker carries out; each has a headless
/// command word.
pub const SCHEDULER_ACTIONS: [Action; 5] = [
    Action::Attach,
    Action::Detach,
    Action::Reload,
    Action::TogglePrintk,
    Action::Quit,
];

impl Action {
    /// The headless command for a scheduler action.
    pub fn command(&self) -> Option<&'static str> {
        Some(match self {
            Self::Attach => "attach",
            Self::Detach => "detach",
            Self::Reload => "reload",
            Self::TogglePrintk => "printk",
            Self::Quit => "quit",
            _ => return None,
        })
    }

    /// Whether the worker (the engine) carries this action out.
    pub fn is_scheduler_action(&self) -> bool {
        matches!(
            self,
            Self::Attach | Self::Detach | Self::Reload | Self::TogglePrintk
        )
    }

    /// Parses one headless command line; blank lines are `Ok(None)`.
    pub fn parse_command(line: &str) -> Result<Option<Self>, String> {
        let word = line.trim();
        if word.is_empty() {
            return Ok(None);
        }
        SCHEDULER_ACTIONS
            .into_iter()
            .find(|a| a.command() == Some(word))
            .map(Some)
            .ok_or_else(|| {
                let known: Vec<&str> = SCHEDULER_ACTIONS
                    .iter()
                    .filter_map(Action::command)
                    .collect();
                format!("unknown command {word:?}: use one of {}", known.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheduler_action_round_trips_through_its_command() {
        for a in SCHEDULER_ACTIONS {
            let word = a.command().unwrap();
            let parsed = Action::parse_command(word).unwrap().unwrap();
            assert_eq!(parsed.command(), Some(word));
        }
        assert!(matches!(
            Action::parse_command("  reload \n"),
            Ok(Some(Action::Reload))
        ));
        assert!(matches!(Action::parse_command(""), Ok(None)));
    }

    #[test]
    fn view_actions_are_not_commands() {
        assert_eq!(Action::ToggleHelp.command(), None);
        assert!(Action::parse_command("help").is_err());
        assert!(!Action::Quit.is_scheduler_action());
        assert!(Action::Reload.is_scheduler_action());
    }

    #[test]
    fn unknown_commands_list_the_known_ones() {
        let err = Action::parse_command("explode").unwrap_err();
        assert!(
            err.contains("explode") && err.contains("attach, detach"),
            "{err}"
        );
    }
}
