//! Per-CPU queue depth from our scheduler's maps: a bar per CPU, current
//! depth solid and the maximum since the last refresh shaded, scaled to the
//! largest. CPUs wrap into columns; what does not fit scrolls.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::format;
use super::pane::{block, unavailable};
use super::theme::Theme;
use crate::app::state::State;
use crate::snapshot::{CpuRow, Measure, QUEUE_DEPTH_NOT_OURS};

/// Width of one CPU's cell: "c255 ██████░░░   12/15".
pub const CELL_W: u16 = 24;

/// How many columns of cells fit in `width`.
pub fn columns(width: u16) -> usize {
    usize::from((width / CELL_W).max(1))
}

/// Lines needed for `cpus` CPUs in a pane `width` wide (borders included).
pub fn rows_needed(cpus: usize, width: u16) -> u16 {
    u16::try_from(cpus.div_ceil(columns(width.saturating_sub(2)))).unwrap_or(u16::MAX)
}

fn cell<'a>(row: &CpuRow, scale: u64, theme: Theme) -> Vec<Span<'a>> {
    let label = format!("c{:<3} ", row.cpu);
    let (Some(depth), Some(max)) = (row.queue_depth, row.queue_depth_max) else {
        return vec![Span::raw(format!(
            "{label}{:<w$}",
            "n/a",
            w = (CELL_W - 5) as usize
        ))];
    };
    let bar_w = (CELL_W - 5 - 7) as u64; // label, then " ddd/mmm"
    let solid = (depth * bar_w).div_ceil(scale.max(1)).min(bar_w);
    let shade = (max * bar_w).div_ceil(scale.max(1)).min(bar_w).max(solid) - solid;
    let rest = bar_w - solid - shade;
    vec![
        Span::raw(label),
        Span::styled("█".repeat(solid as usize), theme.bar()),
        Span::styled("░".repeat(shade as usize), theme.bar()),
        Span::raw(" ".repeat(rest as usize)),
        Span::raw(format!(" {:>3}/{:<3}", depth.min(999), max.min(999))),
    ]
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: Theme, focused: bool) {
    let cpus: &[CpuRow] = state.snap.as_ref().map_or(&[], |s| &s.probe.cpus);
    let scale = cpus
        .iter()
        .filter_map(|c| c.queue_depth_max.max(c.queue_depth))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut title = vec![Span::styled("Queue depth", theme.title())];
    let inner_w = area.width.saturating_sub(2);
    let cols = columns(inner_w);
    let total_rows = cpus.len().div_ceil(cols);
    let visible = usize::from(area.height.saturating_sub(2));
    let first = (state.cpu_scroll / cols).min(total_rows.saturating_sub(visible));
    if total_rows > visible {
        title.push(Span::raw(format!(
            " cpus {}-{} of {}",
            first * cols,
            // A pane with no inner rows shows none: no underflow.
            ((first + visible) * cols).min(cpus.len()).saturating_sub(1),
            cpus.len()
        )));
    }
    let b = block(title, focused, theme);
    let any_depth = cpus.iter().any(|c| c.queue_depth.is_some());
    let lines: Vec<Line> = match &state.snap {
        None => vec![Line::from(Span::styled(
            "waiting for the first refresh",
            theme.dim(),
        ))],
        Some(snap) if !any_depth => {
            let why = unavailable(snap, Measure::QueueDepth).unwrap_or(QUEUE_DEPTH_NOT_OURS);
            vec![Line::from(Span::styled(
                format::printable(why),
                theme.dim(),
            ))]
        }
        Some(_) => cpus
            .chunks(cols)
            .skip(first)
            .take(visible)
            .map(|chunk| {
                Line::from(
                    chunk
                        .iter()
                        .flat_map(|c| cell(c, scale, theme))
                        .collect::<Vec<_>>(),
                )
            })
            .collect(),
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(b)
        .render(area, buf);
}
