//! What every pane shares: its frame, and the reason a source is missing.

use ratatui::text::{Line, Span};
use ratatui::widgets::Block;

use super::theme::Theme;
use crate::snapshot::Snapshot;

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

/// The collector's one-line reason for a missing source whose message
/// starts with `prefix` ("perf counters", "BPF probes", ...).
pub fn unavailable<'a>(snap: &'a Snapshot, prefix: &str) -> Option<&'a str> {
    snap.probe
        .unavailable
        .iter()
        .find(|u| u.starts_with(prefix))
        .map(String::as_str)
}
