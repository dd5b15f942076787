//! The one place the live view's state changes: `update(state, action)`.
//! It never touches the kernel; what the worker must do comes back as an
//! `Effect`.

use std::time::Duration;

use super::action::Action;
use super::state::{
    Baseline, HistKind, HistSource, LOG_KEEP, LoadLogView, MAX_INTERVAL, MIN_INTERVAL, Mark,
    Message, MessageKind, Pane, RATE_HISTORY_S, RatePoint, SortKey, State,
};
use crate::snapshot::{Outcome, ScxState, Snapshot};
use crate::worker::Request;

#[derive(Debug)]
pub enum Effect {
    None,
    Worker(Request),
    Quit,
}

/// Refresh intervals `+`/`-` step through.
const INTERVAL_STEPS_MS: [u64; 8] = [100, 250, 500, 1000, 2000, 3000, 5000, 10000];
const PAGE: usize = 10;

pub fn update(state: &mut State, action: Action) -> Effect {
    let effect = apply(state, action);
    state.refresh_order();
    effect
}

fn apply(state: &mut State, action: Action) -> Effect {
    match action {
        Action::Quit => Effect::Quit,
        Action::Sched(cmd) => {
            state.message = Some(Message {
                text: format!("{}...", cmd.progress()),
                kind: MessageKind::Ok,
            });
            Effect::Worker(Request::Sched(cmd))
        }
        Action::ToggleHelp => {
            state.help = !state.help;
            Effect::None
        }
        Action::Escape => {
            if state.help {
                state.help = false;
            } else if state.load_log_open {
                state.load_log_open = false;
            } else {
                state.tasks.editing_filter = false;
                state.tasks.filter.clear();
            }
            Effect::None
        }
        Action::FocusNext | Action::FocusPrev => {
            let order = Pane::ORDER;
            let i = order.iter().position(|p| *p == state.focus).unwrap_or(0);
            let step = if matches!(action, Action::FocusNext) {
                1
            } else {
                order.len() - 1
            };
            state.focus = order[(i + step) % order.len()];
            Effect::None
        }
        Action::Up => move_by(state, -1),
        Action::Down => move_by(state, 1),
        Action::PageUp => move_by(state, -(PAGE as isize)),
        Action::PageDown => move_by(state, PAGE as isize),
        Action::Top => move_by(state, isize::MIN),
        Action::Bottom => move_by(state, isize::MAX),
        Action::Left => step_hist(state, -1),
        Action::Right => step_hist(state, 1),
        Action::CycleSort => {
            let order = SortKey::ORDER;
            let i = order
                .iter()
                .position(|k| *k == state.tasks.sort)
                .unwrap_or(0);
            state.tasks.sort = order[(i + 1) % order.len()];
            state.tasks.descending = state.tasks.sort.descending_by_default();
            Effect::None
        }
        Action::ReverseSort => {
            state.tasks.descending = !state.tasks.descending;
            Effect::None
        }
        Action::StartFilter => {
            state.tasks.editing_filter = true;
            state.focus = Pane::Tasks;
            Effect::None
        }
        Action::FilterChar(c) => {
            state.tasks.filter.push(c);
            keep_selection_visible(state, None)
        }
        Action::FilterBackspace => {
            state.tasks.filter.pop();
            keep_selection_visible(state, None)
        }
        Action::FilterDone => {
            state.tasks.editing_filter = false;
            Effect::None
        }
        Action::TogglePause => {
            state.paused = !state.paused;
            Effect::None
        }
        Action::Faster | Action::Slower => {
            let next = step_interval(state.interval, matches!(action, Action::Slower));
            if next == state.interval {
                return Effect::None;
            }
            state.interval = next;
            Effect::Worker(Request::SetInterval(next))
        }
        Action::CycleHistSource => cycle_hist_kind(state),
        Action::ToggleBaseline => toggle_baseline(state),
        Action::ToggleLoadLog => toggle_load_log(state),
        Action::Snapshot(snap) => take_snapshot(state, snap),
        Action::Done(outcome) => {
            keep_load_log(state, &outcome);
            state.message = Some(Message {
                text: outcome.message,
                kind: if outcome.ok {
                    MessageKind::Ok
                } else {
                    MessageKind::Error
                },
            });
            Effect::None
        }
        Action::KernelExit(exit) => {
            state.message = Some(Message {
                text: format!("kernel ended the scheduler: {}", exit.summary()),
                kind: MessageKind::KernelExit,
            });
            state.last_kernel_exit = Some(*exit);
            Effect::None
        }
    }
}

fn step_interval(now: Duration, slower: bool) -> Duration {
    let ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
    let next = if slower {
        INTERVAL_STEPS_MS.iter().copied().find(|&s| s > ms)
    } else {
        INTERVAL_STEPS_MS.iter().rev().copied().find(|&s| s < ms)
    };
    next.map(Duration::from_millis)
        .unwrap_or(now)
        .clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// A failed action's log replaces the one kept; an action without one
/// leaves it, so `v` still explains the last failure.
fn keep_load_log(state: &mut State, outcome: &Outcome) {
    let Some(lines) = &outcome.log else { return };
    let mut log = LoadLogView {
        title: outcome.message.clone(),
        lines: lines.clone(),
        error_line: outcome.log_error_line.filter(|&i| i < lines.len()),
        scroll: 0,
    };
    log.scroll = log.initial_scroll();
    state.load_log = Some(log);
}

fn toggle_load_log(state: &mut State) -> Effect {
    match &mut state.load_log {
        Some(log) => {
            state.load_log_open = !state.load_log_open;
            if state.load_log_open {
                log.scroll = log.initial_scroll();
            }
        }
        None => {
            state.message = Some(Message {
                text: "no load log: v shows what libbpf and the verifier said after an attach \
                       or reload fails"
                    .into(),
                kind: MessageKind::Ok,
            });
        }
    }
    Effect::None
}

/// Moves within the focused pane by `delta` rows (`isize::MIN`/`MAX` for the
/// ends); the load log takes the keys while it is open.
fn move_by(state: &mut State, delta: isize) -> Effect {
    if state.load_log_open
        && let Some(log) = &mut state.load_log
    {
        log.scroll = offset(log.scroll, delta, log.lines.len().max(1));
        return Effect::None;
    }
    match state.focus {
        Pane::Tasks => {
            let rows = state.visible_tasks();
            if rows.is_empty() {
                return Effect::None;
            }
            let cur = state.selected_index(&rows).unwrap_or(0);
            let next = offset(cur, delta, rows.len());
            let tid = rows[next].tid;
            select(state, Some(tid))
        }
        Pane::Log => {
            // Up goes back in time: the scroll counts lines from the newest.
            let len = state.log.len();
            state.log_scroll = offset(state.log_scroll, -delta, len.max(1));
            Effect::None
        }
        Pane::Cpus | Pane::Rates => {
            let n = state.snap.as_ref().map_or(0, |s| s.probe.cpus.len());
            state.cpu_scroll = offset(state.cpu_scroll, delta, n.max(1));
            Effect::None
        }
        Pane::Latency => step_hist(state, delta.signum()),
    }
}

/// `cur + delta`, kept within `0..len`.
fn offset(cur: usize, delta: isize, len: usize) -> usize {
    let max = len.saturating_sub(1);
    if delta < 0 {
        cur.saturating_sub(delta.unsigned_abs())
    } else {
        cur.saturating_add(delta.unsigned_abs()).min(max)
    }
}

fn select(state: &mut State, tid: Option<i32>) -> Effect {
    if state.tasks.selected_tid == tid {
        return Effect::None;
    }
    state.tasks.selected_tid = tid;
    Effect::Worker(Request::Select(tid))
}

/// After the rows changed: keep the selected task if it is still shown,
/// else take the row where it was (`old_index`), else the first.
fn keep_selection_visible(state: &mut State, old_index: Option<usize>) -> Effect {
    state.refresh_order();
    let rows = state.visible_tasks();
    if state.selected_index(&rows).is_some() {
        return Effect::None;
    }
    let tid = if rows.is_empty() {
        None
    } else {
        let i = old_index.unwrap_or(0).min(rows.len() - 1);
        Some(rows[i].tid)
    };
    select(state, tid)
}

fn step_hist(state: &mut State, delta: isize) -> Effect {
    let Some(snap) = &state.snap else {
        return Effect::None;
    };
    let len = HistSource::len_in(state.hist.kind, &snap.probe.latency);
    state.hist.index = offset(state.hist.index, delta, len.max(1));
    Effect::None
}

fn cycle_hist_kind(state: &mut State) -> Effect {
    let has_bands = state
        .snap
        .as_ref()
        .is_some_and(|s| !s.probe.latency.per_band.is_empty());
    let order = HistKind::ORDER;
    let mut i = order
        .iter()
        .position(|k| *k == state.hist.kind)
        .unwrap_or(0);
    loop {
        i = (i + 1) % order.len();
        // Bands exist only while our scheduler runs.
        if order[i] != HistKind::Band || has_bands {
            break;
        }
    }
    state.hist = HistSource {
        kind: order[i],
        index: 0,
    };
    Effect::None
}

fn toggle_baseline(state: &mut State) -> Effect {
    if state.baseline.take().is_some() {
        state.message = Some(Message {
            text: "baseline cleared; histograms count from the start again".into(),
            kind: MessageKind::Ok,
        });
        return Effect::None;
    }
    let Some(snap) = &state.snap else {
        return Effect::None;
    };
    let to = Mark {
        t: snap.t,
        sched: state.last_change.sched.clone(),
        view: Some(snap.probe.latency.clone()),
    };
    let baseline = Baseline {
        from: state.last_change.clone(),
        to,
    };
    state.message = Some(Message {
        text: format!(
            "baseline marked: {} {:.0}s-{:.0}s; live histograms count from now",
            super::state::display_sched(&baseline.from.sched),
            baseline.from.t,
            baseline.to.t
        ),
        kind: MessageKind::Ok,
    });
    state.baseline = Some(baseline);
    Effect::None
}

/// The name of the scheduler running in a snapshot ("" for fair).
fn sched_name(snap: &Snapshot) -> String {
    match (&snap.sched.state, &snap.sched.ops) {
        (Some(ScxState::Enabled), Some(ops)) => ops.clone(),
        _ => String::new(),
    }
}

fn take_snapshot(state: &mut State, snap: Box<Snapshot>) -> Effect {
    // Scheduler changes are noted even while paused: they are where the
    // next baseline starts.
    let key = (Some(sched_name(&snap)), snap.sched.enable_seq);
    match &state.last_sched {
        None => {
            state.last_change = Mark {
                t: 0.0,
                sched: sched_name(&snap),
                view: None,
            }
        }
        Some(prev) if *prev != key => {
            state.last_change = Mark {
                t: snap.t,
                sched: sched_name(&snap),
                view: Some(snap.probe.latency.clone()),
            }
        }
        Some(_) => {}
    }
    state.last_sched = Some(key);

    // New printk lines are kept while paused too (they would be lost
    // otherwise); a view that is scrolled back or paused stays on its lines.
    let added = snap.probe.log.len();
    state.log.extend(snap.probe.log.iter().cloned());
    let overflow = state.log.len().saturating_sub(LOG_KEEP);
    state.log.drain(..overflow);
    if state.paused || state.log_scroll > 0 {
        state.log_scroll = (state.log_scroll + added).min(state.log.len().saturating_sub(1));
    }
    if state.paused {
        return Effect::None;
    }

    if let Some(rate) = snap.probe.ctx_switches_per_s {
        state.rates.push_back(RatePoint {
            t: snap.t,
            switches_per_s: rate,
        });
    }
    while state
        .rates
        .front()
        .is_some_and(|p| p.t < snap.t - RATE_HISTORY_S)
    {
        state.rates.pop_front();
    }

    let old_index = {
        let rows = state.visible_tasks();
        state.selected_index(&rows)
    };
    state.set_snapshot(snap);
    keep_selection_visible(state, old_index)
}
