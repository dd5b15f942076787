//! The live view: a ratatui screen over the worker's snapshots. Keys and
//! reports both become `Action`s for `update`; the screen is redrawn from the
//! state after each. The terminal guard and the worker are dropped on every
//! way out, so the terminal is restored and our scheduler detached.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crossterm::event::{self, Event};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::app::action::Action;
use crate::app::keymap;
use crate::app::state::State;
use crate::app::update::{Effect, update};
use crate::priority::{Priority, Role};
use crate::ui::screen;
use crate::ui::terminal::TerminalGuard;
use crate::ui::theme::Theme;
use crate::worker::{Report, Worker, WorkerOptions};

pub struct TuiOptions {
    pub duration: Option<Duration>,
    pub worker: WorkerOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("the live view needs a terminal on stdout; use --headless for JSON output")]
    NotATerminal,
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
    #[error("the collector thread stopped unexpectedly")]
    WorkerGone,
}

impl From<Report> for Action {
    fn from(r: Report) -> Self {
        match r {
            Report::Snapshot(s) => Action::Snapshot(s),
            Report::Done(o) => Action::Done(Box::new(o)),
            Report::KernelExit(e) => Action::KernelExit(Box::new(e)),
        }
    }
}

/// `first` and every report already waiting behind it, as actions in the
/// order they happened, except that several snapshots become the newest one
/// carrying all their log lines: a view that fell behind draws the present
/// once instead of replaying the past, and loses no bpf_printk line.
fn with_backlog(first: Report, reports: &mut mpsc::Receiver<Report>) -> Vec<Action> {
    let mut backlog = vec![first];
    while let Ok(r) = reports.try_recv() {
        backlog.push(r);
    }
    let mut actions = Vec::with_capacity(backlog.len());
    let mut earlier_lines = Vec::new();
    let newest = backlog
        .iter()
        .rposition(|r| matches!(r, Report::Snapshot(_)));
    for (i, report) in backlog.into_iter().enumerate() {
        match report {
            Report::Snapshot(mut snap) if Some(i) == newest => {
                earlier_lines.append(&mut snap.probe.log);
                snap.probe.log = earlier_lines;
                earlier_lines = Vec::new();
                actions.push(Action::Snapshot(snap));
            }
            Report::Snapshot(mut snap) => earlier_lines.append(&mut snap.probe.log),
            other => actions.push(Action::from(other)),
        }
    }
    actions
}

/// Terminal events on a plain thread (crossterm's reads block); it polls so
/// it can notice `stop` and end with the view.
fn spawn_event_reader(stop: Arc<AtomicBool>, priority: Priority) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(64);
    thread::spawn(move || {
        priority.apply_quietly(Role::FrontEnd);
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.blocking_send(ev).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                Ok(false) => {}
                Err(_) => break,
            }
        }
    });
    rx
}

pub async fn run(opts: TuiOptions) -> Result<(), TuiError> {
    if !io::stdout().is_terminal() {
        return Err(TuiError::NotATerminal);
    }
    let theme = Theme::from_env();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut state = State::new(opts.worker.interval);
    let priority = opts.worker.priority;
    let (worker, mut reports) = Worker::start(opts.worker)?;
    let mut guard = TerminalGuard::take()?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut events = spawn_event_reader(stop.clone(), priority);
    let deadline = opts.duration.map(|d| tokio::time::Instant::now() + d);
    let mut result = Ok(());
    // Lets the end-to-end test prove a panic restores the terminal first;
    // release builds have no such hook.
    let panic_for_test = cfg!(debug_assertions) && std::env::var_os("SCXTOP_TEST_PANIC").is_some();

    loop {
        guard
            .terminal
            .draw(|f| screen::draw(f.area(), f.buffer_mut(), &state, theme))?;
        if panic_for_test && state.snap.is_some() {
            panic!("SCXTOP_TEST_PANIC is set: panicking on purpose");
        }
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        // Keys and signals before reports: under load a key must not wait
        // behind snapshots that piled up while this thread was off the CPU.
        let actions = tokio::select! {
            biased;
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => break,
            ev = events.recv() => match ev {
                Some(Event::Key(key)) => {
                    keymap::action_for(key, state.tasks.editing_filter).into_iter().collect()
                }
                // A resize redraws at once (the loop draws first thing).
                Some(_) => Vec::new(),
                None => break,
            },
            report = reports.recv() => match report {
                Some(r) => with_backlog(r, &mut reports),
                None => { result = Err(TuiError::WorkerGone); break; }
            },
            _ = until_deadline => break,
        };
        let mut quit = false;
        for action in actions {
            match update(&mut state, action) {
                Effect::None => {}
                Effect::Worker(req) => {
                    if !worker.send(req) {
                        result = Err(TuiError::WorkerGone);
                        quit = true;
                        break;
                    }
                }
                Effect::Quit => {
                    quit = true;
                    break;
                }
            }
        }
        if quit {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    // The screen first, so the user sees their shell while the worker
    // detaches the scheduler.
    drop(guard);
    drop(reports);
    drop(worker);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{LogLine, Outcome, ProbeSnapshot, SchedSource, SchedStatus, Snapshot};

    fn snap(t: f64, lines: &[&str]) -> Report {
        Report::Snapshot(Box::new(Snapshot {
            t,
            sched: SchedStatus {
                supported: false,
                unsupported_reason: None,
                state: None,
                ops: None,
                enable_seq: None,
                attached: false,
                source: SchedSource::BuiltIn,
                attached_for_s: None,
                last_exit: None,
            },
            bands: Vec::new(),
            probe: ProbeSnapshot {
                log: lines
                    .iter()
                    .map(|m| LogLine {
                        ts: t,
                        pid: 1,
                        cpu: 0,
                        comm: "x".into(),
                        msg: (*m).into(),
                    })
                    .collect(),
                ..ProbeSnapshot::default()
            },
        }))
    }

    #[test]
    fn a_backlog_of_snapshots_becomes_the_newest_with_every_log_line() {
        let (tx, mut rx) = mpsc::channel(8);
        tx.try_send(Report::Done(Outcome::new("reload", true, "ok".into())))
            .unwrap();
        tx.try_send(snap(2.0, &["b"])).unwrap();
        tx.try_send(snap(3.0, &["c", "d"])).unwrap();
        let actions = with_backlog(snap(1.0, &["a"]), &mut rx);
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(matches!(&actions[0], Action::Done(o) if o.action == "reload"));
        let Action::Snapshot(newest) = &actions[1] else {
            panic!("{actions:?}")
        };
        assert_eq!(newest.t, 3.0);
        let msgs: Vec<&str> = newest.probe.log.iter().map(|l| l.msg.as_str()).collect();
        assert_eq!(msgs, ["a", "b", "c", "d"]);
    }
}
