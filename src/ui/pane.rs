//! What every pane shares: its frame, and the reason a source is missing.

use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

use super::theme::Theme;
use crate::snapshot::{Measure, Snapshot};

/// A bordered block with a title; the focused pane's border stands out.
pub fn block<'a>(title: Vec<Span<'a>>, focused: bool, theme: Theme) -> Block<'a> {
    let mut spans = vec![Span::styled(" ", theme.title())];
    spans.extend(title);
    spans.push(Span::raw(" "));
    Block::bordered()
        .title(Line::from(spans))
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme.border()
        })
}

/// The one-line reason `what` is missing, if it is.
pub fn unavailable(snap: &Snapshot, what: Measure) -> Option<&str> {
    snap.unavailable(what).map(|u| u.reason.as_str())
}
