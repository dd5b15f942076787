//! Keys to actions. The help screen is built from `BINDINGS`, so what `?`
//! shows is what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use crate::worker::SchedCommand;

/// (keys, what they do), in the order the help screen lists them.
pub const BINDINGS: &[(&str, &str)] = &[
    ("r", "reload the scheduler (built-in or --scheduler file)"),
    ("d", "detach: the kernel falls back to fair"),
    ("a", "attach the scheduler"),
    ("l", "toggle the built-in scheduler's bpf_printk"),
    ("q  Ctrl-C", "quit (detaches our scheduler)"),
    ("?", "this help"),
    ("Tab  Shift-Tab", "focus the next / previous pane"),
    (
        "Up Down  j k",
        "move the selection, scroll the focused pane",
    ),
    ("PgUp PgDn  Home End", "move by a page, to the ends"),
    ("Left Right", "histogram: previous / next level or CPU"),
    ("s  S", "task table: cycle the sort column / reverse it"),
    ("/", "filter by name or pid (Enter keeps, Esc clears)"),
    ("Esc", "close help or the log, clear the filter"),
    ("space", "pause / resume the display"),
    ("+  -", "refresh faster / slower"),
    ("h", "histogram: all, band, nice, CPU, selected task"),
    ("b", "baseline: mark since last scheduler change / clear"),
    ("v", "the last failed load's log (verifier, libbpf)"),
];

/// The action for a key press; `None` for keys that do nothing.
/// `typing_filter`: the task filter has the keyboard.
pub fn action_for(key: KeyEvent, typing_filter: bool) -> Option<Action> {
    // Key releases and repeats from terminals that report them are not new
    // presses.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c')) {
        return Some(Action::Quit);
    }
    if typing_filter {
        return match key.code {
            KeyCode::Esc => Some(Action::Escape),
            KeyCode::Enter => Some(Action::FilterDone),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) if !ctrl => Some(Action::FilterChar(c)),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('r') => Action::Sched(SchedCommand::Reload),
        KeyCode::Char('d') => Action::Sched(SchedCommand::Detach),
        KeyCode::Char('a') => Action::Sched(SchedCommand::Attach),
        KeyCode::Char('l') => Action::Sched(SchedCommand::TogglePrintk),
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Left => Action::Left,
        KeyCode::Right => Action::Right,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('S') => Action::ReverseSort,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Esc => Action::Escape,
        KeyCode::Char(' ') => Action::TogglePause,
        KeyCode::Char('+') | KeyCode::Char('=') => Action::Faster,
        KeyCode::Char('-') => Action::Slower,
        KeyCode::Char('h') => Action::CycleHistSource,
        KeyCode::Char('b') => Action::ToggleBaseline,
        KeyCode::Char('v') => Action::ToggleLoadLog,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_documented_single_key_maps_to_an_action() {
        for (keys, what) in BINDINGS {
            for k in keys.split_whitespace() {
                let code = match k {
                    "Up" => KeyCode::Up,
                    "Down" => KeyCode::Down,
                    "Left" => KeyCode::Left,
                    "Right" => KeyCode::Right,
                    "PgUp" => KeyCode::PageUp,
                    "PgDn" => KeyCode::PageDown,
                    "Home" => KeyCode::Home,
                    "End" => KeyCode::End,
                    "Tab" => KeyCode::Tab,
                    "Shift-Tab" => KeyCode::BackTab,
                    "Esc" => KeyCode::Esc,
                    "space" => KeyCode::Char(' '),
                    "Ctrl-C" => continue,
                    s if s.chars().count() == 1 => KeyCode::Char(s.chars().next().unwrap()),
                    other => panic!("help names a key the test cannot press: {other}"),
                };
                assert!(
                    action_for(press(code), false).is_some(),
                    "{k} ({what}) does nothing"
                );
            }
        }
    }

    #[test]
    fn scheduler_keys_are_the_headless_commands() {
        for (key, cmd) in [
            ('r', "reload"),
            ('d', "detach"),
            ('a', "attach"),
            ('l', "printk"),
            ('q', "quit"),
        ] {
            let word = |a: Action| match a {
                Action::Sched(c) => c.word(),
                Action::Quit => "quit",
                other => panic!("{other:?} is not a command"),
            };
            let a = action_for(press(KeyCode::Char(key)), false).unwrap();
            assert_eq!(word(a), cmd);
            assert_eq!(word(Action::parse_command(cmd).unwrap().unwrap()), cmd);
        }
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(matches!(action_for(ctrl_c, false), Some(Action::Quit)));
        assert!(matches!(action_for(ctrl_c, true), Some(Action::Quit)));
    }

    #[test]
    fn typing_a_filter_takes_letters_that_are_commands_otherwise() {
        assert!(matches!(
            action_for(press(KeyCode::Char('q')), true),
            Some(Action::FilterChar('q'))
        ));
        assert!(matches!(
            action_for(press(KeyCode::Char('d')), true),
            Some(Action::FilterChar('d'))
        ));
        assert!(matches!(
            action_for(press(KeyCode::Enter), true),
            Some(Action::FilterDone)
        ));
        assert!(matches!(
            action_for(press(KeyCode::Esc), true),
            Some(Action::Escape)
        ));
    }

    #[test]
    fn releases_are_ignored() {
        let mut k = press(KeyCode::Char('q'));
        k.kind = KeyEventKind::Release;
        assert!(action_for(k, false).is_none());
    }
}
