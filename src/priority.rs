//! How scxtop's own threads compete for a CPU when a benchmark saturates the
//! machine.
//!
//! Under the fair scheduler a terminal started apart from the benchmark is a
//! session of its own, and with autogroup scheduling the session competes as
//! one group: a nice value inside it changes nothing against the benchmark.
//! Measured on the 6.18 host with 2 ping-pong pairs and 2 busy loops on its
//! 2 CPUs, a thread in its own session sleeping 10 ms at a time waited, past
//! its timer: at nice 0 p99 66-505 ms and up to 4.2 s; at nice -10 up to
//! 17.5 s; with the session's autogroup at nice -10 up to 1.2 s; at
//! SCHED_FIFO 1 p99 0.1 ms and at most 4.3 ms.
//!
//! So, as root, the threads that read keys and commands, draw, collect and
//! let go of the kernel's resources run SCHED_FIFO at the lowest real-time
//! priorities. Each does little per tick; the kernel's real-time throttling
//! still leaves the rest of every second to other tasks. SCHED_RESET_ON_FORK
//! makes every thread and process they start run normally unless it asks
//! for the same itself.
//!
//! The front end's threads (keys, commands, drawing, the JSON lines) sit one
//! above the worker: FIFO threads of one priority never preempt each other,
//! so on a busy CPU a key would otherwise wait for a whole refresh, which
//! under emulation with 10,000 tasks takes longer than the 100 ms a key may.

use std::io;

/// The lowest SCHED_FIFO priority, the worker's: above every fair, idle and
/// sched_ext task, below any real-time task the user runs.
pub const WORKER_RT_PRIORITY: i32 = 1;
/// The front end's threads: they preempt the worker.
pub const FRONT_END_RT_PRIORITY: i32 = WORKER_RT_PRIORITY + 1;

/// Which of scxtop's threads asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    FrontEnd,
    Worker,
}

impl Role {
    pub fn rt_priority(self) -> i32 {
        match self {
            Self::FrontEnd => FRONT_END_RT_PRIORITY,
            Self::Worker => WORKER_RT_PRIORITY,
        }
    }
}

/// SCHED_FIFO at `priority` for the calling thread, reset on fork.
pub fn set_fifo(priority: i32) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: pid 0 is the calling thread; param lives across the call.
    let rc = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Priority {
    /// Real-time when root, normal otherwise.
    #[default]
    Auto,
    /// SCHED_FIFO 1 for the worker, 2 for the front end's threads.
    Realtime,
    /// Whatever scxtop was started with.
    Normal,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "running at normal priority: SCHED_FIFO was refused ({0}); as root it keeps the view \
     answering on a saturated machine (pass --priority normal to not try)"
)]
pub struct PriorityError(#[source] io::Error);

impl Priority {
    /// `Auto` made definite: real-time only for root.
    pub fn resolve(self) -> Self {
        match self {
            // SAFETY: geteuid has no preconditions.
            Self::Auto if unsafe { libc::geteuid() } == 0 => Self::Realtime,
            Self::Auto => Self::Normal,
            other => other,
        }
    }

    /// Applies to the calling thread only (Linux scheduling policies are per
    /// thread). `Auto` must have been resolved.
    pub fn apply_to_this_thread(self, role: Role) -> Result<(), PriorityError> {
        if self != Self::Realtime {
            return Ok(());
        }
        set_fifo(role.rt_priority()).map_err(PriorityError)
    }

    /// For threads started after the main thread was set: it succeeded
    /// there, so a failure here is not worth a second message.
    pub fn apply_quietly(self, role: Role) {
        let _ = self.apply_to_this_thread(role);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy the kernel reports for the calling thread.
    fn policy() -> i32 {
        // SAFETY: pid 0 is the calling thread.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn realtime_applies_to_this_thread_only_and_not_to_threads_it_starts() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            let err = Priority::Realtime
                .apply_to_this_thread(Role::FrontEnd)
                .unwrap_err();
            assert!(err.to_string().contains("--priority normal"), "{err}");
            return;
        }
        std::thread::spawn(|| {
            Priority::Realtime
                .apply_to_this_thread(Role::FrontEnd)
                .unwrap();
            assert_eq!(
                policy(),
                libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK,
                "the thread runs SCHED_FIFO, reset on fork"
            );
            let child = std::thread::spawn(policy).join().unwrap();
            assert_eq!(child, libc::SCHED_OTHER, "a thread it starts runs normally");
        })
        .join()
        .unwrap();
        assert_eq!(policy(), libc::SCHED_OTHER, "other threads are untouched");
    }

    #[test]
    fn normal_changes_nothing() {
        std::thread::spawn(|| {
            Priority::Normal
                .apply_to_this_thread(Role::FrontEnd)
                .unwrap();
            assert_eq!(policy(), libc::SCHED_OTHER);
        })
        .join()
        .unwrap();
    }
}
