//! The task table between full walks (root only: BPF probes). A refresh reads
//! only the tasks that can have changed; these tests check the two cases no
//! switch-in marks: a task that exits, and one that runs without switching.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use scxtop::probe::sched_probes::{SchedProbes, TaskRecord};
use scxtop::probe::task_table::FULL_WALK_EVERY;

/// One test at a time: the second pins a real-time spinner to a CPU.
static SERIAL: Mutex<()> = Mutex::new(());

fn row(tasks: &[TaskRecord], tid: i32) -> Option<&TaskRecord> {
    tasks.iter().find(|t| t.tid == tid)
}

#[test]
fn an_exited_thread_leaves_the_table_at_the_next_refresh() {
    if !require_root("an_exited_thread_leaves_the_table_at_the_next_refresh") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut storage = MaybeUninit::uninit();
    let mut probes = SchedProbes::start(&mut storage).unwrap();
    let walked = Instant::now();
    probes.read().unwrap();

    let (tid_tx, tid_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        tid_tx.send(gettid()).unwrap();
        let _ = go_rx.recv();
    });
    let tid = tid_rx.recv().unwrap();
    poll_until("the new thread's row", Duration::from_secs(4), || {
        let r = probes.read().unwrap();
        row(&r.tasks, tid)
            .map(|_| ())
            .ok_or_else(|| format!("{} rows, none for tid {tid}", r.tasks.len()))
    });
    go_tx.send(()).unwrap();
    worker.join().unwrap();
    let r = probes.read().unwrap();
    // Within FULL_WALK_EVERY of the first walk: only the exit's push can
    // have removed the row.
    assert!(
        walked.elapsed() < FULL_WALK_EVERY,
        "the test took {:?}, so a full walk may have run",
        walked.elapsed()
    );
    assert!(
        row(&r.tasks, tid).is_none(),
        "tid {tid} exited and is still in the table"
    );
}

/// A real-time thread alone on its CPU is never switched out, so no
/// switch-in marks it after the first: its runtime still grows at every
/// refresh, because the task on each CPU is always read.
#[test]
fn a_thread_that_keeps_its_cpu_gains_runtime_at_every_refresh() {
    if !require_root("a_thread_that_keeps_its_cpu_gains_runtime_at_every_refresh") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cpus = thread::available_parallelism().unwrap().get();
    let cpu = cpus - 1;
    let mut storage = MaybeUninit::uninit();
    let mut probes = SchedProbes::start(&mut storage).unwrap();
    let walked = Instant::now();
    probes.read().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (tid_tx, tid_rx) = mpsc::channel();
    let spinner = {
        let stop = stop.clone();
        thread::spawn(move || {
            pin_to(cpu);
            let param = libc::sched_param { sched_priority: 50 };
            // SAFETY: pid 0 is this thread; `param` lives across the call.
            let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
            assert_eq!(rc, 0, "SCHED_FIFO 50: {}", std::io::Error::last_os_error());
            tid_tx.send(gettid()).unwrap();
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };
    let tid = tid_rx.recv().unwrap();
    let runtime = |probes: &mut SchedProbes| {
        let r = probes.read().unwrap();
        (Instant::now(), row(&r.tasks, tid).map(|t| t.runtime_ns))
    };
    let mut before = poll_until("the spinner's row", Duration::from_secs(4), || {
        let (at, rt) = runtime(&mut probes);
        rt.map(|rt| (at, rt))
            .ok_or_else(|| format!("no row for tid {tid}"))
    });
    let mut gains = Vec::new();
    for _ in 0..5 {
        thread::sleep(Duration::from_millis(150));
        let (at, rt) = runtime(&mut probes);
        let rt = rt.expect("the spinner's row went away");
        let wall = at.duration_since(before.0).as_nanos() as f64;
        gains.push((rt - before.1) as f64 / wall);
        before = (at, rt);
    }
    stop.store(true, Ordering::Relaxed);
    spinner.join().unwrap();
    assert!(
        walked.elapsed() < FULL_WALK_EVERY,
        "the test took {:?}, so a full walk may have run",
        walked.elapsed()
    );
    // It had the CPU the whole time, less real-time throttling (5% by
    // default) and interrupts: half is a bound a frozen row cannot meet.
    assert!(
        gains.iter().all(|g| *g >= 0.5),
        "runtime gained per wall-clock ns at each refresh: {gains:?}"
    );
}
