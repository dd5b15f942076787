//! The one thread that touches the kernel: it owns the scheduler engine and
//! the probe collector, builds a `Snapshot` every interval (`collect`) and
//! sends it, and the outcome of every scheduler command (`command`), to the
//! front end over a channel. Front ends never block on the kernel, and
//! nothing is shared but messages.

mod collect;
mod command;

use std::mem::MaybeUninit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub use command::SchedCommand;

use crate::priority::{Priority, Role};
use crate::probe::collector::{Collector, CollectorOptions};
use crate::sched::Engine;
use crate::sched::loader::BuiltInOptions;
use crate::sched_ext::sysfs::Roots;
use crate::snapshot::{ExitInfo, Outcome, SchedSource, Snapshot};

/// What a front end asks of the worker.
#[derive(Clone, Debug)]
pub enum Request {
    Sched(SchedCommand),
    SetInterval(Duration),
    /// Follow this thread's latency in its own histogram.
    Select(Option<i32>),
}

/// What the worker tells the front end, in the order it happened.
#[derive(Debug)]
pub enum Report {
    Snapshot(Box<Snapshot>),
    Done(Outcome),
    /// The kernel ended our scheduler (stall, error, sysrq).
    KernelExit(ExitInfo),
}

pub struct WorkerOptions {
    pub source: SchedSource,
    pub builtin: BuiltInOptions,
    pub roots: Roots,
    pub interval: Duration,
    pub attach_at_start: bool,
    pub collector: CollectorOptions,
    /// Snapshot times count from here (scxtop's start).
    pub started: Instant,
    /// Applied to the worker's threads; the front end's too.
    pub priority: Priority,
}

/// Handle to the running worker. Dropping it stops the thread and waits for
/// it, so the scheduler and the probes are detached before the front end
/// restores the terminal or exits.
pub struct Worker {
    /// Also the worker's queue: requests go through its sender.
    stop: Stopper,
    thread: Option<JoinHandle<()>>,
}

/// What reaches the worker's queue: a front end's request, or a wake-up
/// that makes it look at the stop flag now rather than at its next tick.
#[derive(Debug)]
enum Message {
    Request(Request),
    Wake,
}

/// Tells the worker to stop: a worker waiting for its next tick wakes at
/// once, a refresh under way gives up between two kernel reads, and the
/// worker lets go of everything. Any thread may hold one (the headless
/// stdin reader stops it the moment it reads `quit`, while the front end
/// may still be writing a snapshot).
#[derive(Clone, Debug)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    queue: std_mpsc::Sender<Message>,
}

impl Stopper {
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Relaxed);
        // Fails only when the worker has already ended.
        let _ = self.queue.send(Message::Wake);
    }
}

impl Worker {
    pub fn start(opts: WorkerOptions) -> std::io::Result<(Self, mpsc::Receiver<Report>)> {
        let (req_tx, req_rx) = std_mpsc::channel();
        // A few reports of slack: a slow front end makes the worker wait
        // rather than pile up snapshots.
        let (rep_tx, rep_rx) = mpsc::channel(8);
        let stop = Stopper {
            flag: Arc::default(),
            queue: req_tx,
        };
        let flag = stop.flag.clone();
        let thread = thread::Builder::new()
            .name("scxtop-worker".into())
            .spawn(move || run(opts, &req_rx, &rep_tx, &flag))?;
        Ok((
            Self {
                stop,
                thread: Some(thread),
            },
            rep_rx,
        ))
    }

    pub fn stopper(&self) -> Stopper {
        self.stop.clone()
    }

    /// Sends a request; `false` if the worker has ended.
    pub fn send(&self, request: Request) -> bool {
        self.stop.queue.send(Message::Request(request)).is_ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    opts: WorkerOptions,
    requests: &std_mpsc::Receiver<Message>,
    reports: &mpsc::Sender<Report>,
    stop: &AtomicBool,
) {
    let WorkerOptions {
        source,
        builtin,
        roots,
        interval,
        attach_at_start,
        collector: collector_opts,
        started,
        priority,
    } = opts;
    priority.apply_quietly(Role::Worker);
    let mut engine = Engine::new(source, builtin, roots);
    // The probes' BPF object lives here, on this thread's stack, for as long
    // as the collector does.
    let mut probe_storage = MaybeUninit::uninit();
    let mut collector = Collector::start(&collector_opts, &mut probe_storage);
    let ticks = Ticks {
        interval,
        attach_at_start,
        started,
    };
    serve(&ticks, requests, reports, &mut engine, &mut collector, stop);
    release(engine, collector);
}

/// Lets go on the worker thread itself: a thread started now would begin at
/// normal priority (reset on fork) and, on a saturated machine, could wait
/// seconds for its first turn. The scheduler goes first, so the machine is
/// back on fair as soon as possible. Its link's release returns only when
/// the kernel's disable work has moved every task back to fair (the
/// unregistration flushes it): in the TCG guest that is most of a loaded
/// exit, 240 ms to 1.3 s with 10,000 tasks, and it is what guarantees
/// nothing stays attached. The collector then closes perf events and BPF
/// links, which the kernel frees after a grace period without making us
/// wait.
fn release(engine: Engine, collector: Collector<'_>) {
    drop(engine);
    drop(collector);
}

/// How often a worker whose reports are not being taken looks at the stop
/// flag. Only a front end that fell behind (a stalled reader of headless
/// output) makes it wait at all.
const FULL_QUEUE_POLL: Duration = Duration::from_millis(5);

/// Queues a report, waiting while the front end has not taken the earlier
/// ones; `false` once the front end is gone or the worker was told to stop.
/// A stop must not wait for a reader: the scheduler and the probes are
/// released even while stdout is blocked.
fn send_unless_stopped(
    reports: &mpsc::Sender<Report>,
    mut report: Report,
    stop: &AtomicBool,
) -> bool {
    loop {
        match reports.try_send(report) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(r)) => {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                report = r;
                thread::sleep(FULL_QUEUE_POLL);
            }
        }
    }
}

/// How `serve` runs.
struct Ticks {
    interval: Duration,
    attach_at_start: bool,
    /// Snapshot times count from here.
    started: Instant,
}

/// Ticks and requests until the front end goes away.
fn serve(
    opts: &Ticks,
    requests: &std_mpsc::Receiver<Message>,
    reports: &mpsc::Sender<Report>,
    engine: &mut Engine,
    collector: &mut Collector<'_>,
    stop: &AtomicBool,
) {
    let send = |r: Report| send_unless_stopped(reports, r, stop);
    if opts.attach_at_start && !send(Report::Done(command::apply(engine, SchedCommand::Attach))) {
        return;
    }
    let mut interval = opts.interval;
    let mut next_tick = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let wait = next_tick.saturating_duration_since(Instant::now());
        match requests.recv_timeout(wait) {
            Ok(Message::Wake) => {}
            Ok(Message::Request(Request::Sched(cmd))) => {
                if !send(Report::Done(command::apply(engine, cmd))) {
                    return;
                }
            }
            Ok(Message::Request(Request::SetInterval(d))) => {
                interval = d;
                next_tick = next_tick.min(Instant::now() + d);
            }
            Ok(Message::Request(Request::Select(tid))) => collector.select_task(tid),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            Err(std_mpsc::RecvTimeoutError::Timeout) => {
                if let Some(exit) = engine.poll()
                    && !send(Report::KernelExit(exit))
                {
                    return;
                }
                let t = opts.started.elapsed().as_secs_f64();
                let Some(snap) = collect::snapshot(t, engine, collector, stop) else {
                    return;
                };
                if !send(Report::Snapshot(Box::new(snap))) {
                    return;
                }
                // Fixed-rate ticks, but never a burst to catch up after a
                // slow action (a reload can take longer than an interval).
                next_tick += interval;
                let now = Instant::now();
                if next_tick < now {
                    next_tick = now + interval;
                }
            }
        }
    }
}
