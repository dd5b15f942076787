//! The task table kept between refreshes. A refresh reads only the tasks
//! whose record can have changed since the last one, and merges them in:
//! - the tasks the switch probe marked (switched in since their last read),
//!   pushed through the dirty ring; a task that exits ran to do so, so it
//!   is among them or the next;
//! - the task running on each CPU now, and the one running there at the
//!   last refresh: a task's runtime grows while it runs, with no switch to
//!   mark it.
//!
//! Everything else is as it was. Now and then, and whenever the ring lost a
//! push, the whole table is read again by the task walk instead.

use std::time::{Duration, Instant};

use super::sched_probes::TaskRecord;

/// How long the table goes without a full walk. Besides lost pushes, a walk
/// catches what no switch marks: a sleeping task reniced.
pub const FULL_WALK_EVERY: Duration = Duration::from_secs(5);

/// What the incremental read found for one tid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    Alive(TaskRecord),
    /// Exited, or never seen by the probes: the row goes.
    Gone(i32),
}

impl Update {
    fn tid(&self) -> i32 {
        match self {
            Self::Alive(r) => r.tid,
            Self::Gone(tid) => *tid,
        }
    }
}

#[derive(Debug, Default)]
pub struct TaskTable {
    /// In tid order.
    rows: Vec<TaskRecord>,
    last_full: Option<Instant>,
    /// The ring's lost-push count at the last full walk.
    lost_seen: u64,
    /// The tasks running on each CPU at the last refresh.
    prev_curr: Vec<i32>,
}

impl TaskTable {
    /// In tid order.
    pub fn rows(&self) -> &[TaskRecord] {
        &self.rows
    }

    /// Whether this refresh reads every task: the first, one after a lost
    /// push (`lost` is the ring's count since attach), or one FULL_WALK_EVERY
    /// after the last.
    pub fn needs_full_walk(&self, now: Instant, lost: u64) -> bool {
        match self.last_full {
            None => true,
            Some(at) => lost != self.lost_seen || now.duration_since(at) >= FULL_WALK_EVERY,
        }
    }

    /// The table from a full walk (`rows` in any order).
    pub fn replace(&mut self, mut rows: Vec<TaskRecord>, now: Instant, lost: u64, curr: &[i32]) {
        rows.sort_unstable_by_key(|t| t.tid);
        rows.dedup_by_key(|t| t.tid);
        self.rows = rows;
        self.last_full = Some(now);
        self.lost_seen = lost;
        self.prev_curr = curr.to_vec();
    }

    /// The tids an incremental refresh reads, sorted and once each: what
    /// the ring pushed, plus the tasks on each CPU now and at the last
    /// refresh (tid 0, the idle task, is never read).
    pub fn tids_to_read(&mut self, pushed: &[i32], curr: &[i32]) -> Vec<i32> {
        let mut tids: Vec<i32> = pushed
            .iter()
            .chain(curr)
            .chain(&self.prev_curr)
            .copied()
            .filter(|t| *t > 0)
            .collect();
        tids.sort_unstable();
        tids.dedup();
        self.prev_curr = curr.to_vec();
        tids
    }

    /// Merges what the incremental read found (`updates` in tid order, as
    /// tids_to_read gave them): rows are replaced, added or removed.
    pub fn merge(&mut self, updates: Vec<Update>) {
        if updates.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.rows);
        let mut rows = Vec::with_capacity(old.len() + updates.len());
        let mut old = old.into_iter().peekable();
        for update in updates {
            let tid = update.tid();
            while let Some(row) = old.next_if(|r| r.tid < tid) {
                rows.push(row);
            }
            old.next_if(|r| r.tid == tid);
            if let Update::Alive(r) = update {
                rows.push(r);
            }
        }
        rows.extend(old);
        self.rows = rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tid: i32, runtime_ns: u64) -> TaskRecord {
        TaskRecord {
            tgid: tid,
            tid,
            prio: 120,
            static_prio: 120,
            policy: 0,
            last_cpu: 0,
            runtime_ns,
            wait_total_ns: 0,
            wait_max_ns: 0,
            waits: 0,
            voluntary: 0,
            involuntary: 0,
            comm: format!("t{tid}").into(),
        }
    }

    fn tids(t: &TaskTable) -> Vec<(i32, u64)> {
        t.rows().iter().map(|r| (r.tid, r.runtime_ns)).collect()
    }

    #[test]
    fn a_merge_replaces_adds_and_removes_rows_in_tid_order() {
        let mut t = TaskTable::default();
        let now = Instant::now();
        t.replace(vec![row(30, 3), row(10, 1), row(20, 2)], now, 0, &[]);
        t.merge(vec![
            Update::Alive(row(5, 50)),
            Update::Gone(10),
            Update::Alive(row(20, 22)),
            Update::Alive(row(25, 25)),
            Update::Gone(99),
        ]);
        assert_eq!(tids(&t), vec![(5, 50), (20, 22), (25, 25), (30, 3)]);
    }

    #[test]
    fn the_tasks_that_ran_are_read_with_the_pushed_ones() {
        let mut t = TaskTable::default();
        t.replace(vec![], Instant::now(), 0, &[7, 0]);
        // CPU 0 ran 7 at the last refresh and runs 8 now; CPU 1 was idle.
        assert_eq!(t.tids_to_read(&[9, 3, 9], &[8, 0]), vec![3, 7, 8, 9]);
        // 7 stopped before the last refresh: no longer read.
        assert_eq!(t.tids_to_read(&[], &[8, 0]), vec![8]);
    }

    #[test]
    fn a_lost_push_or_an_old_table_means_a_full_walk() {
        let mut t = TaskTable::default();
        let now = Instant::now();
        assert!(t.needs_full_walk(now, 0), "the first refresh walks");
        t.replace(vec![], now, 3, &[]);
        assert!(!t.needs_full_walk(now, 3));
        assert!(t.needs_full_walk(now, 4), "a push was lost");
        assert!(t.needs_full_walk(now + FULL_WALK_EVERY, 3));
    }
}
