//! `--headless`: one JSON object per interval on stdout, commands from stdin
//! (one per line), results and kernel-imposed exits as event lines. End of
//! input is not a quit: CI runs with no stdin.

use std::io::{self, BufRead, Write};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::app::action::{Action, UnknownCommand};
use crate::priority::{Priority, Role};
use crate::snapshot::{ExitInfo, Outcome};
use crate::worker::{Report, Request, Stopper, Worker, WorkerOptions};

pub struct HeadlessOptions {
    pub duration: Option<Duration>,
    pub worker: WorkerOptions,
}

#[derive(Serialize)]
struct EventLine<'a> {
    t: f64,
    event: &'a str,
    #[serde(flatten)]
    outcome: Option<&'a Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit: Option<&'a ExitInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

impl<'a> EventLine<'a> {
    fn new(t: f64, event: &'a str) -> Self {
        Self {
            t,
            event,
            outcome: None,
            exit: None,
            error: None,
        }
    }
}

/// Prints one JSON line; `false` once stdout is gone (reader exited).
/// Serialized straight into a buffered stdout: a snapshot of 10,000 tasks
/// is 2.5 MB, not worth building as a String first.
fn emit<T: Serialize>(value: &T) -> bool {
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => {}
        Err(e) if e.is_io() => return false,
        // Nothing of ours fails to serialize; the line is left unfinished.
        Err(_) => {}
    }
    out.write_all(b"\n").and_then(|_| out.flush()).is_ok()
}

/// Commands arrive on a plain thread: a blocked stdin read must not keep the
/// runtime from shutting down.
fn spawn_stdin_reader(
    priority: Priority,
    stopper: Stopper,
) -> mpsc::Receiver<Result<Action, UnknownCommand>> {
    let (tx, rx) = mpsc::channel(16);
    thread::spawn(move || {
        priority.apply_quietly(Role::FrontEnd);
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let parsed = match Action::parse_command(&line) {
                // The worker starts letting go now, while the main thread
                // may still be writing a snapshot of 10,000 tasks.
                Ok(Some(Action::Quit)) => {
                    stopper.stop();
                    Ok(Action::Quit)
                }
                Ok(Some(a)) => Ok(a),
                Ok(None) => continue,
                Err(e) => Err(e),
            };
            if tx.blocking_send(parsed).is_err() {
                break;
            }
        }
    });
    rx
}

/// Writes one report; `false` once stdout is gone.
fn emit_report(report: &Report, t: f64) -> bool {
    match report {
        Report::Snapshot(snap) => emit(snap),
        Report::Done(outcome) => emit(&EventLine {
            outcome: Some(outcome),
            ..EventLine::new(t, "action")
        }),
        Report::KernelExit(exit) => emit(&EventLine {
            exit: Some(exit),
            ..EventLine::new(t, "exit")
        }),
    }
}

pub async fn run(opts: HeadlessOptions) -> io::Result<()> {
    let started: Instant = opts.worker.started;
    let t = || started.elapsed().as_secs_f64();
    // Signals first: from here on they end the loop and the drops clean up.
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let priority = opts.worker.priority;
    let (worker, mut reports) = Worker::start(opts.worker)?;
    let mut commands = spawn_stdin_reader(priority, worker.stopper());
    let mut stdin_open = true;
    let mut deadline = opts.duration.map(|d| tokio::time::Instant::now() + d);
    // A run always shows at least one snapshot: under emulation loading the
    // scheduler alone can outlast a short --duration.
    let mut shown_snapshot = false;
    let mut overdue = false;

    loop {
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        // Signals and commands before reports: a quit must not wait behind
        // snapshots.
        tokio::select! {
            biased;
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => break,
            cmd = commands.recv(), if stdin_open => match cmd {
                None => stdin_open = false,
                Some(Ok(Action::Quit)) => break,
                Some(Ok(Action::Sched(cmd))) => { worker.send(Request::Sched(cmd)); }
                Some(Ok(_)) => {}
                Some(Err(unknown)) => {
                    let msg = unknown.to_string();
                    if !emit(&EventLine { error: Some(&msg), ..EventLine::new(t(), "error") }) { break; }
                }
            },
            report = reports.recv() => match report {
                Some(r) => {
                    if !emit_report(&r, t()) { break }
                    if matches!(r, Report::Snapshot(_)) {
                        shown_snapshot = true;
                        if overdue { break }
                    }
                }
                None => break,
            },
            _ = until_deadline => {
                if shown_snapshot { break }
                overdue = true;
                deadline = None;
            }
        }
    }
    // Stop the worker (it detaches our scheduler and the probes) while
    // draining reports, so a worker blocked on a full
    // channel can see the stop.
    drop(reports);
    drop(worker);
    Ok(())
}
