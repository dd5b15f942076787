//! Everything a user can ask for. Keys and headless commands both become one
//! of these.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Attach,
    Detach,
    Reload,
    TogglePrintk,
    Quit,
}

impl Action {
    /// The headless command for this action, one per stdin line.
    pub fn command(self) -> &'static str {
        match self {
            Self::Attach => "attach",
            Self::Detach => "detach",
            Self::Reload => "reload",
            Self::TogglePrintk => "printk",
            Self::Quit => "quit",
        }
    }

    const ALL: [Self; 5] = [
        Self::Attach,
        Self::Detach,
        Self::Reload,
        Self::TogglePrintk,
        Self::Quit,
    ];

    /// Parses one headless command line; blank lines are `Ok(None)`.
    pub fn parse_command(line: &str) -> Result<Option<Self>, String> {
        let word = line.trim();
        if word.is_empty() {
            return Ok(None);
        }
        Self::ALL
            .into_iter()
            .find(|a| a.command() == word)
            .map(Some)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|a| a.command()).collect();
                format!("unknown command {word:?}: use one of {}", known.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_command() {
        for a in Action::ALL {
            assert_eq!(Action::parse_command(a.command()), Ok(Some(a)));
        }
        assert_eq!(
            Action::parse_command("  reload \n"),
            Ok(Some(Action::Reload))
        );
        assert_eq!(Action::parse_command(""), Ok(None));
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
