//! `--headless`: one JSON object per interval on stdout, commands from stdin
//! (one per line), results and kernel-imposed exits as event lines. End of
//! input is not a quit: CI runs with no stdin.

use std::io::{self, BufRead, Write};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::action::Action;
use super::update::{Outcome, apply};
use crate::probe::collector::{Collector, CollectorOptions};
use crate::sched::{Engine, ExitInfo};
use crate::snapshot::Snapshot;

pub struct HeadlessOptions {
    pub duration: Option<Duration>,
    pub interval: Duration,
    pub attach_at_start: bool,
    pub collector: CollectorOptions,
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

/// Prints one JSON line; `false` once stdout is gone (reader exited).
fn emit<T: Serialize>(value: &T) -> bool {
    let Ok(line) = serde_json::to_string(value) else {
        return true;
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
}

fn outcome_line(outcome: &Outcome, t: f64) -> EventLine<'_> {
    EventLine {
        t,
        event: "action",
        outcome: Some(outcome),
        exit: None,
        error: None,
    }
}

/// Commands arrive on a plain thread: a blocked stdin read must not keep the
/// runtime from shutting down.
fn spawn_stdin_reader() -> mpsc::Receiver<Result<Action, String>> {
    let (tx, rx) = mpsc::channel(16);
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let parsed = match Action::parse_command(&line) {
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

pub async fn run(engine: &mut Engine, opts: HeadlessOptions) -> io::Result<()> {
    let started = Instant::now();
    let t = || started.elapsed().as_secs_f64();
    // Signals first: from here on they end the loop and the drops clean up.
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut collector = Collector::start(&opts.collector);
    let mut commands = spawn_stdin_reader();
    let mut stdin_open = true;
    let deadline = opts.duration.map(|d| tokio::time::Instant::now() + d);
    let mut ticker = tokio::time::interval(opts.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    if opts.attach_at_start {
        let outcome = apply(engine, Action::Attach);
        if !emit(&outcome_line(&outcome, t())) {
            return Ok(());
        }
    }

    loop {
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {
                if let Some(exit) = engine.poll() {
                    let line = EventLine { t: t(), event: "exit", outcome: None, exit: Some(&exit), error: None };
                    if !emit(&line) { break; }
                }
                if !emit(&Snapshot::collect(t(), engine, &mut collector)) { break; }
            }
            cmd = commands.recv(), if stdin_open => match cmd {
                None => stdin_open = false,
                Some(Ok(Action::Quit)) => break,
                Some(Ok(action)) => {
                    let outcome = apply(engine, action);
                    if !emit(&outcome_line(&outcome, t())) { break; }
                }
                Some(Err(msg)) => {
                    let line = EventLine { t: t(), event: "error", outcome: None, exit: None, error: Some(&msg) };
                    if !emit(&line) { break; }
                }
            },
            _ = until_deadline => break,
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => break,
        }
    }
    Ok(())
}
