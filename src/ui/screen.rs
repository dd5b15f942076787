//! The whole screen from the state: a pure function of `State`, drawn into
//! any ratatui buffer (the terminal's, or a test's).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::layout::{self, MIN_HEIGHT, MIN_WIDTH};
use super::theme::Theme;
use super::{
    cpu_queues, help, latency_chart, load_log, log_tail, status_bar, switch_rates, task_table,
};
use crate::app::state::{Pane, State};

pub fn draw(area: Rect, buf: &mut Buffer, state: &State, theme: Theme) {
    if layout::too_small(area) {
        let msg = format!(
            "terminal too small: {}x{}; scxtop needs at least {MIN_WIDTH}x{MIN_HEIGHT} (q quits)",
            area.width, area.height
        );
        Paragraph::new(Line::from(Span::styled(msg, theme.error())))
            .wrap(Wrap { trim: true })
            .render(area, buf);
        return;
    }
    let cpus = state.snap.as_ref().map_or(1, |s| s.probe.cpus.len().max(1));
    // The queue-depth pane is about as wide in either layout; a rough
    // width is enough to size it.
    let cpu_rows = cpu_queues::rows_needed(cpus, area.width * 42 / 100);
    let status_h = status_bar::height(state, area.width);
    let areas = layout::compute(area, state.focus, status_h, cpu_rows);
    status_bar::render(areas.status, buf, state, theme);
    status_bar::render_hints(areas.hints, buf, state, theme);
    for (pane, rect) in &areas.panes {
        let focused = *pane == state.focus;
        match pane {
            Pane::Tasks => task_table::render(*rect, buf, state, theme, focused),
            Pane::Latency => latency_chart::render(*rect, buf, state, theme, focused),
            Pane::Cpus => cpu_queues::render(*rect, buf, state, theme, focused),
            Pane::Rates => switch_rates::render(*rect, buf, state, theme, focused),
            Pane::Log => log_tail::render(*rect, buf, state, theme, focused),
        }
    }
    if state.load_log_open
        && let Some(log) = &state.load_log
    {
        load_log::render(area, buf, log, theme);
    }
    if state.help {
        help::render(area, buf, theme);
    }
}
