//! `perf sched`-style context-switch rates: the total with its voluntary /
//! involuntary split and migrations, a sparkline of the last minute, and a
//! row per CPU.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use super::format;
use super::pane::{block, unavailable};
use super::theme::Theme;
use crate::app::state::State;
use crate::snapshot::Measure;

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), format::count)
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: Theme, focused: bool) {
    let b = block(
        vec![Span::styled("Context switches /s", theme.title())],
        focused,
        theme,
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let Some(snap) = &state.snap else {
        Paragraph::new(Span::styled("waiting for the first refresh", theme.dim()))
            .render(inner, buf);
        return;
    };
    let p = &snap.probe;
    // Without perf the reason takes the head, wrapped so its advice shows,
    // and there is no history to draw: the sparkline's room goes to it.
    let perf_missing = unavailable(snap, Measure::SwitchRates).map(|why| {
        let room = usize::from(inner.height.saturating_sub(2)).max(1);
        format::wrap(&format::printable(why), usize::from(inner.width), room)
    });
    let (head_h, spark_h) = match &perf_missing {
        Some(lines) => (u16::try_from(lines.len()).unwrap_or(1), 0),
        None => (1, if inner.height >= 7 { 3 } else { 1 }),
    };
    let [head, spark, table] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Length(spark_h),
        Constraint::Fill(1),
    ])
    .areas(inner);

    let vol: f64 = p.cpus.iter().filter_map(|c| c.voluntary_per_s).sum();
    let invol: f64 = p.cpus.iter().filter_map(|c| c.involuntary_per_s).sum();
    let mut line = vec![Span::styled(
        format!("total {}", opt(p.ctx_switches_per_s)),
        theme.title(),
    )];
    // Short enough for the 48 columns this pane has at 120x40, with
    // million-a-second rates: the table below splits vol and invol per CPU.
    if vol + invol > 0.0 {
        line.push(Span::raw(format!(
            " · vol {:.0}%",
            vol * 100.0 / (vol + invol)
        )));
    }
    line.push(Span::raw(format!(" · migr {}", opt(p.migrations_per_s))));
    line.push(Span::styled(
        format!(" · bpf {}", opt(p.bpf_ctx_switches_per_s)),
        theme.dim(),
    ));
    match perf_missing {
        Some(lines) => Paragraph::new(
            lines
                .into_iter()
                .map(|l| Line::from(Span::styled(l, theme.error())))
                .collect::<Vec<_>>(),
        )
        .render(head, buf),
        None => Paragraph::new(Line::from(line)).render(head, buf),
    }

    // The newest points that fit, one column each.
    let data: Vec<u64> = state
        .rates
        .iter()
        .map(|r| r.switches_per_s.max(0.0) as u64)
        .collect();
    let from = data.len().saturating_sub(usize::from(spark.width));
    Sparkline::default()
        .data(&data[from..])
        .style(theme.bar())
        .render(spark, buf);

    let mut rows = vec![Line::from(Span::styled(
        format!(
            "{:>4} {:>7} {:>7} {:>7} {:>7} {:>7}",
            "CPU", "switch", "vol", "invol", "migr", "bpf"
        ),
        theme.header(),
    ))];
    let visible = usize::from(table.height.saturating_sub(1));
    let first = state.cpu_scroll.min(p.cpus.len().saturating_sub(visible));
    rows.extend(p.cpus.iter().skip(first).take(visible).map(|c| {
        Line::from(format!(
            "{:>4} {:>7} {:>7} {:>7} {:>7} {:>7}",
            c.cpu,
            opt(c.ctx_switches_per_s),
            opt(c.voluntary_per_s),
            opt(c.involuntary_per_s),
            opt(c.migrations_per_s),
            opt(c.bpf_switches_per_s)
        ))
    }));
    Paragraph::new(rows).render(table, buf);
}
