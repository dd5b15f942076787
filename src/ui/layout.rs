//! Where each pane goes. At 120x40 and up every pane is shown side by side;
//! narrower, they stack and the focused one gets the room. Below 80x24 the
//! screen says it is too small instead.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::state::Pane;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

#[derive(Debug, PartialEq)]
pub struct Areas {
    pub status: Rect,
    pub hints: Rect,
    pub panes: Vec<(Pane, Rect)>,
}

impl Areas {
    pub fn of(&self, pane: Pane) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// `status_h`: lines the status bar needs; `cpu_rows`: lines the
/// queue-depth pane needs to show every CPU.
pub fn compute(area: Rect, focus: Pane, status_h: u16, cpu_rows: u16) -> Areas {
    let [status, main, hints] = Layout::vertical([
        Constraint::Length(status_h),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let panes = if area.width >= 110 && area.height >= 32 {
        side_by_side(main, cpu_rows)
    } else {
        stacked(main, focus)
    };
    Areas {
        status,
        hints,
        panes,
    }
}

fn side_by_side(main: Rect, cpu_rows: u16) -> Vec<(Pane, Rect)> {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
    let [tasks, log] = Layout::vertical([Constraint::Fill(3), Constraint::Min(7)]).areas(left);
    // The queue-depth pane is as tall as the CPUs need, within limits.
    let cpus_h = (cpu_rows + 2).clamp(4, 10);
    let [cpus, latency, rates] = Layout::vertical([
        Constraint::Length(cpus_h),
        Constraint::Fill(3),
        Constraint::Min(9),
    ])
    .areas(right);
    vec![
        (Pane::Tasks, tasks),
        (Pane::Log, log),
        (Pane::Cpus, cpus),
        (Pane::Latency, latency),
        (Pane::Rates, rates),
    ]
}

fn stacked(main: Rect, focus: Pane) -> Vec<(Pane, Rect)> {
    let order = [
        Pane::Cpus,
        Pane::Tasks,
        Pane::Latency,
        Pane::Rates,
        Pane::Log,
    ];
    let constraints: Vec<Constraint> = order
        .iter()
        .map(|p| {
            // The others keep one line each: their headline (the
            // percentiles, the total rate, the newest printk line).
            if *p == focus {
                Constraint::Fill(1)
            } else {
                Constraint::Length(3)
            }
        })
        .collect();
    let rects = Layout::vertical(constraints).split(main);
    order.iter().copied().zip(rects.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_overlap(a: &Areas) {
        for (i, (p, r)) in a.panes.iter().enumerate() {
            assert!(r.height >= 3, "{p:?} is {r:?}");
            for (q, s) in &a.panes[i + 1..] {
                assert!(!r.intersects(*s), "{p:?} {r:?} overlaps {q:?} {s:?}");
            }
            assert!(!r.intersects(a.status) && !r.intersects(a.hints));
        }
    }

    #[test]
    fn every_pane_gets_room_at_the_sizes_the_issue_names() {
        for (w, h) in [(80, 24), (120, 40), (160, 48), (100, 30)] {
            for focus in Pane::ORDER {
                let a = compute(Rect::new(0, 0, w, h), focus, 3, 1);
                assert_eq!(a.panes.len(), 5);
                no_overlap(&a);
            }
        }
    }

    #[test]
    fn the_focused_pane_grows_when_stacked() {
        let a = compute(Rect::new(0, 0, 80, 24), Pane::Log, 2, 1);
        let log = a.of(Pane::Log).unwrap();
        let tasks = a.of(Pane::Tasks).unwrap();
        assert!(log.height > tasks.height, "{log:?} {tasks:?}");
    }

    #[test]
    fn sizes_below_80x24_are_too_small() {
        assert!(too_small(Rect::new(0, 0, 79, 24)));
        assert!(too_small(Rect::new(0, 0, 80, 23)));
        assert!(!too_small(Rect::new(0, 0, 80, 24)));
    }
}
