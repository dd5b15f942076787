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

/// Terminal events on a plain thread (crossterm's reads block); it polls so
/// it can notice `stop` and end with the view.
fn spawn_event_reader(stop: Arc<AtomicBool>) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(64);
    thread::spawn(move || {
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
    let (worker, mut reports) = Worker::start(opts.worker)?;
    let mut guard = TerminalGuard::take()?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut events = spawn_event_reader(stop.clone());
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
        let action = tokio::select! {
            report = reports.recv() => match report {
                Some(r) => Some(Action::from(r)),
                None => { result = Err(TuiError::WorkerGone); break; }
            },
            ev = events.recv() => match ev {
                Some(Event::Key(key)) => keymap::action_for(key, state.tasks.editing_filter),
                // A resize redraws at once (the loop draws first thing).
                Some(_) => None,
                None => break,
            },
            _ = until_deadline => break,
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => break,
        };
        if let Some(action) = action {
            match update(&mut state, action) {
                Effect::None => {}
                Effect::Worker(req) => {
                    if !worker.send(req) {
                        result = Err(TuiError::WorkerGone);
                        break;
                    }
                }
                Effect::Quit => break,
            }
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
