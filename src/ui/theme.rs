//! Colors that read on dark and light terminals: the terminal's own
//! foreground and background for text, a few accents for meaning, and
//! modifiers (bold, reverse) that work without color. `NO_COLOR` turns the
//! accents off (https://no-color.org).

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Color unless `NO_COLOR` is set to anything non-empty.
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    fn accent(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn focused_border(self) -> Style {
        self.accent(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn border(self) -> Style {
        Style::new()
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::new().add_modifier(Modifier::DIM)
        } else {
            Style::new()
        }
    }

    pub fn bar(self) -> Style {
        self.accent(Color::Cyan)
    }

    pub fn baseline_bar(self) -> Style {
        self.accent(Color::Magenta)
    }

    pub fn marker(self) -> Style {
        self.accent(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn ok(self) -> Style {
        self.accent(Color::Green)
    }

    pub fn error(self) -> Style {
        self.accent(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// The kernel ejected a scheduler: must catch the eye without color too.
    pub fn alert(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn header(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn key(self) -> Style {
        self.accent(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}
