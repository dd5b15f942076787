//! The per-task table: what each thread is getting (CPU share, waits,
//! switches) next to its priority (nice, and our band while we schedule).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

use super::format;
use super::pane::{block, unavailable};
use super::theme::Theme;
use crate::app::state::{SortKey, State};
use crate::snapshot::{Band, Measure, TaskRow};

const COLUMNS: [(&str, Option<SortKey>, Constraint); 10] = [
    ("TID", Some(SortKey::Pid), Constraint::Length(7)),
    ("COMM", Some(SortKey::Comm), Constraint::Min(8)),
    ("NI", Some(SortKey::Nice), Constraint::Length(3)),
    ("BAND", None, Constraint::Length(6)),
    ("CPU%", Some(SortKey::Cpu), Constraint::Length(5)),
    ("WAIT~", Some(SortKey::WaitAvg), Constraint::Length(7)),
    ("WMAX", Some(SortKey::WaitMax), Constraint::Length(7)),
    ("SWITCH", Some(SortKey::Switches), Constraint::Length(7)),
    ("VOL%", None, Constraint::Length(4)),
    ("C", None, Constraint::Length(3)),
];

fn title<'a>(state: &State, shown: usize, total: usize, theme: Theme) -> Vec<Span<'a>> {
    let arrow = if state.tasks.descending { "↓" } else { "↑" };
    let mut t = vec![
        Span::styled("Tasks", theme.title()),
        Span::raw(format!(
            " {shown}/{total} · sort {} {arrow}",
            state.tasks.sort.name()
        )),
    ];
    if state.tasks.editing_filter || !state.tasks.filter.is_empty() {
        let cursor = if state.tasks.editing_filter { "_" } else { "" };
        t.push(Span::raw(" · filter "));
        t.push(Span::styled(
            format!("{}{cursor}", format::printable(&state.tasks.filter)),
            theme.marker(),
        ));
    }
    t
}

fn row<'a>(t: &TaskRow) -> Row<'a> {
    let nice = t.nice.map_or_else(|| "rt".to_string(), |n| n.to_string());
    let vol = if t.switches > 0 {
        format!("{:.0}", t.voluntary as f64 * 100.0 / t.switches as f64)
    } else {
        "-".to_string()
    };
    Row::new(vec![
        Cell::from(t.tid.to_string()),
        Cell::from(format::printable(&t.comm)),
        Cell::from(nice),
        Cell::from(t.band.map_or("-", Band::name)),
        Cell::from(format!("{:.1}", t.runtime_share * 100.0)),
        Cell::from(format::ns(t.wait_avg_ns)),
        Cell::from(format::ns(t.wait_max_ns)),
        Cell::from(format::count(t.switches as f64)),
        Cell::from(vol),
        Cell::from(t.last_cpu.to_string()),
    ])
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: Theme, focused: bool) {
    let rows = state.visible_tasks();
    let total = state.snap.as_ref().map_or(0, |s| s.probe.tasks.len());
    let block = block(title(state, rows.len(), total, theme), focused, theme);
    if rows.is_empty() {
        let why = match &state.snap {
            None => "waiting for the first refresh".to_string(),
            Some(s) => match unavailable(s, Measure::Tasks) {
                Some(reason) => format!("task statistics unavailable: {reason}"),
                None if !state.tasks.filter.is_empty() => {
                    format!("no task matches {:?} (Esc clears)", state.tasks.filter)
                }
                None => "no tasks seen yet".to_string(),
            },
        };
        // Wrapped: the advice comes at the end of the reason.
        Paragraph::new(Line::from(Span::styled(
            format::printable(&why),
            theme.dim(),
        )))
        .wrap(Wrap { trim: true })
        .block(block)
        .render(area, buf);
        return;
    }
    let header = Row::new(COLUMNS.iter().map(|(name, key, _)| {
        let style = if *key == Some(state.tasks.sort) {
            theme.header().patch(theme.marker())
        } else {
            theme.header()
        };
        Cell::from(Span::styled(*name, style))
    }));
    // Only the rows that fit are formatted: with thousands of tasks the
    // rest would be built and thrown away every frame.
    let fit = usize::from(area.height.saturating_sub(3)).max(1);
    let selected = state.selected_index(&rows);
    let first = selected.map_or(0, |i| (i + 1).saturating_sub(fit));
    let shown = rows.iter().skip(first).take(fit);
    let table = Table::new(shown.map(|t| row(t)), COLUMNS.iter().map(|(_, _, c)| *c))
        .header(header)
        .block(block)
        .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(selected.map(|i| i - first));
    StatefulWidget::render(table, area, buf, &mut table_state);
}
