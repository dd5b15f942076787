//! The bpf_printk tail: newest lines at the bottom, following new ones
//! unless scrolled back; the title says where lines come from and how many
//! the kernel dropped.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::format;
use super::pane::block;
use super::theme::Theme;
use crate::app::state::State;
use crate::snapshot::Measure;

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: Theme, focused: bool) {
    let mut title = vec![Span::styled("bpf_printk", theme.title())];
    if let Some(snap) = &state.snap {
        if let Some(src) = &snap.probe.log_source {
            title.push(Span::raw(format!(" · {}", format::printable(src))));
        }
        let lost = snap.probe.log_lost;
        let style = if lost > 0 { theme.error() } else { theme.dim() };
        title.push(Span::styled(format!(" · lost {lost}"), style));
    }
    if state.log_scroll > 0 {
        title.push(Span::styled(
            format!(" · {} back (End follows)", state.log_scroll),
            theme.marker(),
        ));
    }
    let b = block(title, focused, theme);
    let height = usize::from(area.height.saturating_sub(2));
    if state.log.is_empty() {
        let why = state
            .snap
            .as_ref()
            .and_then(|s| s.unavailable(Measure::PrintkTail))
            .map_or_else(
                || "no bpf_printk lines yet (l toggles the built-in scheduler's)".to_string(),
                |u| format!("unavailable: {}", u.reason),
            );
        // Wrapped: the advice comes at the end of the reason.
        Paragraph::new(Span::styled(format::printable(&why), theme.dim()))
            .wrap(Wrap { trim: true })
            .block(b)
            .render(area, buf);
        return;
    }
    let end = state.log.len() - state.log_scroll.min(state.log.len() - 1);
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = state
        .log
        .range(start..end)
        .map(|l| {
            Line::from(vec![
                Span::styled(format!("{:>12.6} ", l.ts), theme.dim()),
                Span::raw(format!("[{:03}] ", l.cpu)),
                Span::styled(
                    format!("{}-{}", format::printable(&l.comm), l.pid),
                    theme.title(),
                ),
                Span::raw(format!(": {}", format::printable(&l.msg))),
            ])
        })
        .collect();
    Paragraph::new(lines).block(b).render(area, buf);
}
