//! The run-queue latency distribution as horizontal bars, one row per power
//! of two (merged when the pane is short), with p50/p90/p99/max marked on
//! their rows. With a baseline, the two distributions sit side by side on the
//! same rows, as shares of their totals so their shapes compare.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::format;
use super::pane::{block, unavailable};
use super::theme::Theme;
use crate::app::state::{HistKind, HistSource, State};
use crate::snapshot::histogram::{BUCKETS, SUB, bounds};
use crate::snapshot::{Histogram, Latency, Measure};

/// One display row: `[lo, hi)` in ns and each histogram's count in it.
#[derive(Debug, PartialEq)]
pub struct ChartRow {
    pub lo: u64,
    pub hi: u64,
    pub counts: Vec<u64>,
}

/// Bucket ranges `[first, last]` that split each power of two into `split`
/// rows (1, 2 or 4), plus the underflow and overflow buckets.
fn segments(split: usize) -> Vec<(usize, usize)> {
    let step = SUB / split;
    let mut out = vec![(0, 0)];
    out.extend((1..BUCKETS - 1).step_by(step).map(|b| (b, b + step - 1)));
    out.push((BUCKETS - 1, BUCKETS - 1));
    out
}

/// Rows covering every non-empty bucket of any of `hists`: as fine as fits
/// in `max_rows` (a power of two split in 4, 2 or whole), merging whole
/// powers of two when even that does not fit.
pub fn chart_rows(hists: &[&Histogram], max_rows: usize) -> Vec<ChartRow> {
    let max_rows = max_rows.max(1);
    let used =
        |(a, b): (usize, usize)| hists.iter().any(|h| h.counts[a..=b].iter().any(|c| *c > 0));
    let mut chosen = Vec::new();
    for split in [4, 2, 1] {
        let segs = segments(split);
        let (Some(first), Some(last)) = (
            segs.iter().position(|s| used(*s)),
            segs.iter().rposition(|s| used(*s)),
        ) else {
            return Vec::new();
        };
        chosen = segs[first..=last].to_vec();
        if chosen.len() <= max_rows {
            break;
        }
    }
    let group = chosen.len().div_ceil(max_rows);
    chosen
        .chunks(group)
        .map(|c| {
            let (a, b) = (c[0].0, c[c.len() - 1].1);
            ChartRow {
                lo: bounds(a).0,
                hi: bounds(b).1,
                counts: hists.iter().map(|h| h.counts[a..=b].iter().sum()).collect(),
            }
        })
        .collect()
}

/// "1.0us" style bound with two significant digits; "inf" for the top.
fn short(ns: u64) -> String {
    if ns == u64::MAX {
        return "inf".into();
    }
    if ns == 0 {
        return "0".into();
    }
    let (v, unit) = match ns {
        n if n < 1_000 => (n as f64, "ns"),
        n if n < 1_000_000 => (n as f64 / 1e3, "us"),
        n if n < 1_000_000_000 => (n as f64 / 1e6, "ms"),
        n => (n as f64 / 1e9, "s"),
    };
    if v < 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.0}{unit}")
    }
}

/// The label (if any) and the percentiles, wrapped into `area`.
fn draw_summary(area: Rect, buf: &mut Buffer, label: Option<&str>, lat: &Latency, theme: Theme) {
    let s = lat.summary();
    let p = |v: Option<f64>| v.map_or_else(|| "-".to_string(), format::us);
    let mut spans = Vec::new();
    if let Some(label) = label {
        spans.push(Span::styled(
            format!("{} ", format::printable(label)),
            theme.title(),
        ));
    }
    spans.push(Span::raw(format!("n={} ", format::count(s.count as f64))));
    for (name, v) in [
        ("p50", s.p50_us),
        ("p90", s.p90_us),
        ("p99", s.p99_us),
        ("max", s.max_us),
    ] {
        spans.push(Span::styled(name, theme.marker()));
        spans.push(Span::raw(format!(" {} ", p(v))));
    }
    Paragraph::new(Line::from(spans))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// Where p50, p90, p99 and the maximum lie (ns), computed once per frame.
struct Marks([(&'static str, Option<u64>); 4]);

impl Marks {
    fn of(lat: &Latency) -> Self {
        let h = &lat.hist;
        // Without the exact maximum, the top non-empty bucket's last ns.
        let max = lat
            .max_ns
            .or_else(|| h.max_bound().map(|b| b.saturating_sub(1)));
        Self([
            ("p50", h.percentile(0.5)),
            ("p90", h.percentile(0.9)),
            ("p99", h.percentile(0.99)),
            ("max", max),
        ])
    }

    /// The names of those in `[lo, hi)`.
    fn within(&self, lo: u64, hi: u64) -> String {
        self.0
            .iter()
            .filter(|(_, v)| v.is_some_and(|v| v >= lo && v < hi))
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

const LABEL_W: usize = 13;
const VALUE_W: usize = 7;
const MARK_W: usize = 16;

/// One distribution to draw: its index in the rows' counts, and whether to
/// print shares of the total (side-by-side mode) instead of counts.
struct Column<'a> {
    index: usize,
    lat: &'a Latency,
    share: bool,
    style: Style,
}

fn draw_column(area: Rect, buf: &mut Buffer, rows: &[ChartRow], col: Column, theme: Theme) {
    let Column {
        index: column,
        lat,
        share,
        style: bar_style,
    } = col;
    let total = lat.hist.count().max(1) as f64;
    let biggest = rows
        .iter()
        .map(|r| r.counts[column])
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bar_w = (area.width as usize).saturating_sub(LABEL_W + VALUE_W + MARK_W + 3);
    let marks = Marks::of(lat);
    let lines: Vec<Line> = rows
        .iter()
        .map(|r| {
            let c = r.counts[column];
            let filled = ((c as f64 / biggest) * bar_w as f64).round() as usize;
            let filled = if c > 0 { filled.max(1) } else { 0 };
            let value = if share {
                format!("{:.1}%", c as f64 * 100.0 / total)
            } else {
                format::count(c as f64)
            };
            Line::from(vec![
                Span::raw(format!(
                    "{:>w$} ",
                    format!("{}-{}", short(r.lo), short(r.hi)),
                    w = LABEL_W
                )),
                Span::styled("█".repeat(filled), bar_style),
                Span::raw(" ".repeat(bar_w - filled.min(bar_w))),
                Span::raw(format!(" {value:>w$} ", w = VALUE_W)),
                Span::styled(marks.within(r.lo, r.hi), theme.marker()),
            ])
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
}

fn title(state: &State) -> String {
    let kind = match state.hist.kind {
        HistKind::All => "all tasks",
        HistKind::Band => "by band",
        HistKind::Nice => "by nice",
        HistKind::Cpu => "by CPU",
        HistKind::Task => "selected task",
    };
    let mut t = format!("Latency: {kind}");
    if let Some(snap) = &state.snap {
        let n = HistSource::len_in(state.hist.kind, &snap.probe.latency);
        if n > 1 {
            t.push_str(&format!(" {}/{n} ←→", state.hist.index + 1));
        }
    }
    t.push_str(" · h source · b baseline");
    t
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: Theme, focused: bool) {
    let b = block(
        vec![Span::styled(title(state), theme.title())],
        focused,
        theme,
    );
    let inner = b.inner(area);
    b.render(area, buf);
    // No probes, or probes on a kernel that cannot time waits: say why
    // rather than show an empty chart.
    let why = state.snap.as_ref().and_then(|s| {
        unavailable(s, Measure::Tasks)
            .map(|reason| format!("latency unavailable: {reason}"))
            .or_else(|| unavailable(s, Measure::Latency).map(str::to_string))
    });
    if let Some(why) = why {
        Paragraph::new(Span::styled(format::printable(&why), theme.dim()))
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    let live = state.live_latency();
    let Some((label, live)) = live else {
        let why = match &state.snap {
            None => "waiting for the first refresh",
            Some(_) if state.hist.kind == HistKind::Task => {
                "select a task in the table to follow its latency"
            }
            Some(_) => "no samples for this source yet",
        };
        Paragraph::new(Span::styled(why, theme.dim())).render(inner, buf);
        return;
    };
    let baseline = state.baseline_latency();
    let rows_h = inner.height.saturating_sub(2) as usize;
    match baseline {
        None => {
            // The title names the kind; only a level or CPU needs its label.
            let own_label = (state.hist.kind != HistKind::All).then_some(label.as_str());
            let rows = chart_rows(&[&live.hist], rows_h);
            let col = Column {
                index: 0,
                lat: &live,
                share: false,
                style: theme.bar(),
            };
            draw_panel(inner, buf, own_label, &rows, col, theme);
        }
        Some((base_label, base)) => {
            let [left, right] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
            let rows = chart_rows(&[&base.hist, &live.hist], rows_h);
            for (area, index, lbl, lat, style) in [
                (
                    left,
                    0,
                    format!("A: {base_label}"),
                    &base,
                    theme.baseline_bar(),
                ),
                (right, 1, format!("B: live {label}"), &live, theme.bar()),
            ] {
                let col = Column {
                    index,
                    lat,
                    share: true,
                    style,
                };
                draw_panel(area, buf, Some(&lbl), &rows, col, theme);
            }
        }
    }
}

/// One distribution: its summary line over its bars.
fn draw_panel(
    area: Rect,
    buf: &mut Buffer,
    label: Option<&str>,
    rows: &[ChartRow],
    col: Column,
    theme: Theme,
) {
    let [head, body] = Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(area);
    draw_summary(head, buf, label, col.lat, theme);
    if col.lat.hist.count() == 0 {
        Paragraph::new(Span::styled("no samples yet", theme.dim())).render(body, buf);
    } else {
        draw_column(body, buf, rows, col, theme);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_the_buckets() {
        for split in [1, 2, 4] {
            let segs = segments(split);
            let mut next = 0;
            for (a, b) in &segs {
                assert_eq!(*a, next, "split {split}");
                next = b + 1;
            }
            assert_eq!(next, BUCKETS);
        }
    }

    #[test]
    fn rows_span_the_used_octaves_and_merge_to_fit() {
        let mut h = Histogram::default();
        h.record(1_500); // 1-2 us
        h.record(3_000_000); // 2-4 ms
        // 12 powers of two, split in 4 when there is room.
        let rows = chart_rows(&[&h], 100);
        assert_eq!(rows.first().unwrap().lo, 1024 + 256);
        assert_eq!(rows.last().unwrap().hi, 3 << 20);
        assert_eq!(rows.len(), 45);
        let whole = chart_rows(&[&h], 12);
        assert_eq!(whole.len(), 12);
        assert_eq!((whole[0].lo, whole[11].hi), (1024, 1 << 22));
        assert_eq!(rows.iter().map(|r| r.counts[0]).sum::<u64>(), 2);
        let merged = chart_rows(&[&h], 5);
        assert!(merged.len() <= 5, "{}", merged.len());
        assert_eq!(merged.iter().map(|r| r.counts[0]).sum::<u64>(), 2);
        assert!(chart_rows(&[&Histogram::default()], 10).is_empty());
    }

    #[test]
    fn percentile_markers_land_on_their_rows() {
        let mut h = Histogram::default();
        for _ in 0..98 {
            h.record(1_500);
        }
        h.record(3_000_000);
        h.record(3_100_000);
        let lat = Latency {
            hist: h,
            max_ns: Some(3_100_000),
        };
        let marks = Marks::of(&lat);
        assert_eq!(marks.within(1024, 2048), "p50 p90");
        assert_eq!(marks.within(1 << 21, 1 << 22), "p99 max");
        assert_eq!(marks.within(2048, 4096), "");
    }
}
