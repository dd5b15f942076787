//! The `v` screen: everything libbpf and the verifier said about the last
//! failed load, over the panes, scrolled to the verifier's error line, which
//! stands out (marked `>>` so it does without color too).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::format;
use super::theme::Theme;
use crate::app::state::LoadLogView;

/// The first line shown: `log.scroll`, but never so far down that the page
/// has room left over.
pub fn first_line(log: &LoadLogView, rows: usize) -> usize {
    log.scroll.min(log.lines.len().saturating_sub(rows))
}

pub fn render(area: Rect, buf: &mut Buffer, log: &LoadLogView, theme: Theme) {
    let popup = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    Clear.render(popup, buf);
    let rows = usize::from(popup.height.saturating_sub(2));
    let inner_width = usize::from(popup.width.saturating_sub(2));
    let first = first_line(log, rows);
    let last = (first + rows).min(log.lines.len());
    let digits = log.lines.len().max(1).to_string().len();
    let lines: Vec<Line> = log.lines[first..last]
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let n = first + i;
            let is_error = log.error_line == Some(n);
            let mark = if is_error { ">>" } else { "  " };
            let prefix = format!("{mark}{:>digits$} ", n + 1);
            let room = inner_width.saturating_sub(prefix.chars().count());
            let body = format::cut(&format::printable(text), room);
            if is_error {
                Line::from(vec![
                    Span::styled(prefix, theme.alert()),
                    Span::styled(body, theme.alert()),
                ])
            } else {
                Line::from(vec![Span::styled(prefix, theme.dim()), Span::raw(body)])
            }
        })
        .collect();
    let title = format!(" Load log: {} ", format::printable(&log.title));
    let where_ = match log.error_line {
        Some(e) => format!(" error at line {} ·", e + 1),
        None => String::new(),
    };
    let footer = format!(
        " lines {}-{} of {} ·{where_} Up/Down PgUp/PgDn Home/End scroll · v or Esc closes ",
        (first + 1).min(last),
        last,
        log.lines.len()
    );
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(Span::styled(
                    format::cut(&title, inner_width.saturating_sub(2)),
                    theme.title(),
                ))
                .title_bottom(Span::styled(
                    format::cut(&footer, inner_width.saturating_sub(2)),
                    theme.dim(),
                ))
                .border_style(theme.focused_border()),
        )
        .render(popup, buf);
}
