//! The top lines: which scheduler runs and since when; what to do when the
//! kernel refused probes for lack of privilege; then the result of the last
//! action (or the last exit, highlighted when the kernel ejected a
//! scheduler). The bottom line: key hints.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::format;
use super::theme::Theme;
use crate::app::state::{MessageKind, State};
use crate::snapshot::{Measure, SchedSource, SchedStatus, ScxState};

/// "ours", "yours", "another loader's" or "fair", with the name.
pub fn scheduler_label(s: &SchedStatus) -> String {
    if !s.supported {
        return "fair (no sched_ext)".to_string();
    }
    let enabled = s.state == Some(ScxState::Enabled);
    let ops = s.ops.clone().unwrap_or_default();
    match (enabled, s.attached) {
        (true, true) if s.source == SchedSource::BuiltIn => format!("{ops} (ours)"),
        (true, true) => format!("{ops} (your object {})", s.source.describe()),
        (true, false) => format!("{ops} (another loader's)"),
        (false, _) => match &s.state {
            Some(st) if *st != ScxState::Disabled => format!("fair ({})", st.as_str()),
            _ => "fair".to_string(),
        },
    }
}

pub fn render(area: Rect, buf: &mut Buffer, state: &State, theme: Theme) {
    let mut top = vec![Span::styled(" scxtop ", theme.title())];
    match &state.snap {
        Some(snap) => {
            let s = &snap.sched;
            top.push(Span::raw("│ sched: "));
            top.push(Span::styled(scheduler_label(s), theme.title()));
            if let Some(for_s) = s.attached_for_s {
                top.push(Span::raw(format!(" for {}", format::elapsed(for_s))));
            }
            if let Some(seq) = s.enable_seq {
                top.push(Span::raw(format!(" │ enable_seq {seq}")));
            }
        }
        None => top.push(Span::raw("│ waiting for the first refresh")),
    }
    top.push(Span::raw(format!(
        " │ every {}",
        humantime::format_duration(state.interval)
    )));
    if state.paused {
        top.push(Span::raw(" "));
        top.push(Span::styled(" PAUSED ", theme.alert()));
    }
    let (message, style) = message(state, theme);
    let mut lines = vec![Line::from(top)];
    if let Some(line) = privilege_line(state, area.width) {
        lines.push(Line::from(Span::styled(line, theme.error())));
    }
    lines.extend(
        message_lines(&message, area.width)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, style))),
    );
    Paragraph::new(lines).render(area, buf);
}

/// The message under the scheduler line: word-wrapped, at most two lines
/// (a one-line error can still be long), cut with "…" beyond that.
fn message_lines(message: &str, width: u16) -> Vec<String> {
    let w = usize::from(width).saturating_sub(1);
    format::wrap(message, w, 2)
        .into_iter()
        .map(|l| format!(" {l}"))
        .collect()
}

/// Lines the status bar needs at `width`: the scheduler line, the
/// privilege line if any, then the message's lines (at least one).
pub fn height(state: &State, width: u16) -> u16 {
    let (message, _) = message(state, Theme { color: false });
    let lines = message_lines(&message, width).len().max(1);
    let privilege = u16::from(privilege_line(state, width).is_some());
    1 + privilege + u16::try_from(lines).unwrap_or(2)
}

/// One line on what to do when the kernel refused sources for lack of
/// privilege, action first so a narrow screen still shows it; every pane
/// that is empty because of it says so in full.
fn privilege_line(state: &State, width: u16) -> Option<String> {
    let refused = &state.snap.as_ref()?.probe.unavailable;
    let mut missing: Vec<&str> = Vec::new();
    for what in Measure::ALL {
        if refused.iter().any(|u| u.what == what && u.needs_root) {
            missing.extend(what.pane_names());
        }
    }
    missing.dedup();
    let (last, rest) = missing.split_last()?;
    let list = if rest.is_empty() {
        (*last).to_string()
    } else {
        format!("{} or {last}", rest.join(", "))
    };
    let text = format!("run scxtop with sudo: without root there is no {list}");
    let w = usize::from(width).saturating_sub(1);
    let line = format::wrap(&text, w, 1).into_iter().next()?;
    Some(format!(" {line}"))
}

/// The second line's text and style: the last action's result, else why
/// no scheduler can attach, else the last exit, else a hint.
fn message(state: &State, theme: Theme) -> (String, Style) {
    if let Some(m) = &state.message {
        let style = match m.kind {
            MessageKind::Ok => theme.ok(),
            MessageKind::Error => theme.error(),
            MessageKind::KernelExit => theme.alert(),
        };
        return (format::printable(&m.text), style);
    }
    let Some(snap) = &state.snap else {
        return (String::new(), theme.dim());
    };
    if let Some(reason) = &snap.sched.unsupported_reason {
        return (
            format!("scheduler unavailable: {}", format::printable(reason)),
            theme.error(),
        );
    }
    match &snap.sched.last_exit {
        Some(exit) => {
            let style = if exit.requested_by_user() {
                theme.dim()
            } else {
                theme.alert()
            };
            (
                format!("last exit: {}", format::printable(&exit.summary())),
                style,
            )
        }
        None => ("press ? for help".to_string(), theme.dim()),
    }
}

/// The key hints line, cut to the width.
pub fn render_hints(area: Rect, buf: &mut Buffer, state: &State, theme: Theme) {
    let mut hints: Vec<(&str, &str)> = if state.tasks.editing_filter {
        vec![
            ("Enter", "keep filter"),
            ("Esc", "clear"),
            ("Up/Down", "move"),
        ]
    } else if state.load_log_open {
        vec![
            ("v/Esc", "close log"),
            ("Up/Down", "scroll"),
            ("PgUp/PgDn", "page"),
            ("Home/End", "ends"),
            ("q", "quit"),
        ]
    } else {
        vec![
            ("q", "quit"),
            ("r", "reload"),
            ("d", "detach"),
            ("a", "attach"),
            ("?", "help"),
            ("Tab", "focus"),
            ("s", "sort"),
            ("/", "filter"),
            ("h", "histogram"),
            ("b", "baseline"),
            ("space", "pause"),
            ("+/-", "rate"),
            ("l", "printk"),
        ]
    };
    // Right after the scheduler keys, so it fits at 80 columns, and only
    // when there is a log to show.
    if state.load_log.is_some() && !state.load_log_open && !state.tasks.editing_filter {
        hints.insert(4, ("v", "load log"));
    }
    let mut spans = Vec::new();
    for (k, what) in hints {
        spans.push(Span::styled(format!(" {k}"), theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}
