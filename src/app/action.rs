//! Everything that can change scxtop's state. Keys (see `keymap`), headless
//! commands and the worker's reports all become one of these; `update::update`
//! is the only place that applies them.

use crate::snapshot::{ExitInfo, Outcome, Snapshot};
use crate::worker::SchedCommand;

#[derive(Clone, Debug)]
pub enum Action {
    /// A command for the scheduler, which the worker carries out.
    Sched(SchedCommand),
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

const QUIT_WORD: &str = "quit";

/// A headless command line that names no command.
#[derive(Debug, thiserror::Error)]
#[error("unknown command {word:?}: use one of {}", known_words().join(", "))]
pub struct UnknownCommand {
    pub word: String,
}

fn known_words() -> Vec<&'static str> {
    SchedCommand::ALL
        .iter()
        .map(|c| c.word())
        .chain([QUIT_WORD])
        .collect()
}

impl Action {
    /// Parses one headless command line (a scheduler command's word, or
    /// `quit`); blank lines are `Ok(None)`.
    pub fn parse_command(line: &str) -> Result<Option<Self>, UnknownCommand> {
        let word = line.trim();
        if word.is_empty() {
            return Ok(None);
        }
        if word == QUIT_WORD {
            return Ok(Some(Self::Quit));
        }
        SchedCommand::ALL
            .into_iter()
            .find(|c| c.word() == word)
            .map(|c| Some(Self::Sched(c)))
            .ok_or_else(|| UnknownCommand {
                word: word.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheduler_command_round_trips_through_its_word() {
        for c in SchedCommand::ALL {
            let parsed = Action::parse_command(c.word()).unwrap().unwrap();
            assert!(matches!(parsed, Action::Sched(p) if p == c), "{c:?}");
        }
        assert!(matches!(
            Action::parse_command("  reload \n"),
            Ok(Some(Action::Sched(SchedCommand::Reload)))
        ));
        assert!(matches!(
            Action::parse_command("quit"),
            Ok(Some(Action::Quit))
        ));
        assert!(matches!(Action::parse_command(""), Ok(None)));
    }

    #[test]
    fn view_actions_are_not_commands() {
        assert!(Action::parse_command("help").is_err());
    }

    #[test]
    fn unknown_commands_list_the_known_ones() {
        let err = Action::parse_command("explode").unwrap_err().to_string();
        assert!(
            err.contains("explode") && err.contains("attach, detach, reload, printk, quit"),
            "{err}"
        );
    }
}
