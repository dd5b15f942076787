//! Each key through the keymap and `update`, without a terminal: the action
//! it becomes, the state it changes, and what it asks of the worker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use scxtop::app::action::Action;
use scxtop::app::keymap::action_for;
use scxtop::app::state::{HistKind, Pane, SortKey, State};
use scxtop::app::update::{Effect, update};
use scxtop::snapshot::Outcome;
use scxtop::worker::{Request, SchedCommand};

#[path = "common/fixture.rs"]
mod fixture;
use fixture::FixtureSpec;

fn fresh(spec: &FixtureSpec) -> State {
    let mut s = State::new(Duration::from_millis(250));
    update(&mut s, Action::Snapshot(Box::new(fixture::snapshot(spec))));
    s
}

/// Presses `key` and applies its action.
fn press(state: &mut State, key: KeyCode) -> Effect {
    let ev = KeyEvent::new(key, KeyModifiers::NONE);
    let action = action_for(ev, state.tasks.editing_filter).expect("key does nothing");
    update(state, action)
}

fn ch(c: char) -> KeyCode {
    KeyCode::Char(c)
}

fn tids(state: &State) -> Vec<i32> {
    state.visible_tasks().iter().map(|t| t.tid).collect()
}

#[test]
fn scheduler_keys_go_to_the_worker_and_show_progress_then_the_result() {
    let mut s = fresh(&FixtureSpec::default());
    for (key, command) in [
        ('r', SchedCommand::Reload),
        ('d', SchedCommand::Detach),
        ('a', SchedCommand::Attach),
        ('l', SchedCommand::TogglePrintk),
    ] {
        match press(&mut s, ch(key)) {
            Effect::Worker(Request::Sched(c)) => assert_eq!(c, command),
            other => panic!("{key}: {other:?}"),
        }
        assert!(s.message.as_ref().unwrap().text.ends_with("..."), "{key}");
    }
    update(
        &mut s,
        Action::Done(Box::new(Outcome {
            action: "reload",
            ok: false,
            message: "reload failed: verifier rejected it".into(),
            attach: None,
            exit: None,
            log: None,
            log_error_line: None,
        })),
    );
    assert_eq!(
        s.message.as_ref().unwrap().text,
        "reload failed: verifier rejected it"
    );
    assert!(matches!(press(&mut s, ch('q')), Effect::Quit));
}

#[test]
fn the_selection_moves_and_follows_its_task_across_refreshes() {
    let mut s = fresh(&FixtureSpec::default());
    // The first row is selected at start; Down moves to the second.
    assert_eq!(s.tasks.selected_tid, Some(1000));
    match press(&mut s, KeyCode::Down) {
        Effect::Worker(Request::Select(Some(1001))) => {}
        other => panic!("{other:?}"),
    }
    press(&mut s, ch('j'));
    assert_eq!(s.tasks.selected_tid, Some(1002));
    press(&mut s, ch('k'));
    assert_eq!(s.tasks.selected_tid, Some(1001));
    // The selected task becomes the busiest: it moves to the top and the
    // selection goes with it.
    let mut next = fixture::snapshot(&FixtureSpec::default());
    next.probe.tasks[1].runtime_share = 5.0;
    assert!(matches!(
        update(&mut s, Action::Snapshot(Box::new(next))),
        Effect::None
    ));
    assert_eq!(s.tasks.selected_tid, Some(1001));
    assert_eq!(s.selected_index(&s.visible_tasks()), Some(0));
    // It exits: the row where it was is selected instead.
    let mut gone = fixture::snapshot(&FixtureSpec::default());
    gone.probe.tasks.remove(1);
    match update(&mut s, Action::Snapshot(Box::new(gone))) {
        Effect::Worker(Request::Select(Some(1000))) => {}
        other => panic!("{other:?}"),
    }
    press(&mut s, KeyCode::End);
    assert_eq!(s.tasks.selected_tid, Some(1011));
    press(&mut s, KeyCode::Home);
    assert_eq!(s.tasks.selected_tid, Some(1000));
}

#[test]
fn s_cycles_the_sort_and_capital_s_reverses_it() {
    let mut s = fresh(&FixtureSpec::default());
    assert_eq!(s.tasks.sort, SortKey::Cpu);
    assert_eq!(tids(&s)[0], 1000);
    let mut seen = vec![s.tasks.sort];
    for _ in 1..SortKey::ORDER.len() {
        press(&mut s, ch('s'));
        seen.push(s.tasks.sort);
    }
    assert_eq!(seen, SortKey::ORDER);
    // Last in the cycle is comm, ascending: "task-0", "task-1", "task-10"...
    assert_eq!(s.tasks.sort, SortKey::Comm);
    assert_eq!(&tids(&s)[..3], &[1000, 1001, 1010]);
    press(&mut s, ch('S'));
    assert_eq!(tids(&s)[0], 1009);
    press(&mut s, ch('s'));
    assert_eq!(s.tasks.sort, SortKey::Cpu);
    assert!(s.tasks.descending);
}

/// The TID column sorts a process's threads by thread id, both ways.
#[test]
fn the_pid_sort_orders_and_reverses_the_threads_of_one_process() {
    let mut snap = fixture::snapshot(&FixtureSpec::default());
    for t in &mut snap.probe.tasks {
        t.pid = 1000;
    }
    let mut s = State::new(Duration::from_millis(250));
    update(&mut s, Action::Snapshot(Box::new(snap)));
    while s.tasks.sort != SortKey::Pid {
        press(&mut s, ch('s'));
    }
    assert!(!s.tasks.descending);
    assert_eq!(tids(&s)[0], 1000);
    press(&mut s, ch('S'));
    assert_eq!(tids(&s)[0], 1011);
    assert_eq!(tids(&s)[11], 1000);
}

#[test]
fn slash_filters_by_name_or_pid_and_escape_clears() {
    let mut s = fresh(&FixtureSpec::default());
    press(&mut s, ch('/'));
    assert!(s.tasks.editing_filter);
    // While typing, command letters are text.
    for c in "task-1".chars() {
        assert!(!matches!(press(&mut s, ch(c)), Effect::Quit));
    }
    assert_eq!(tids(&s), vec![1001, 1010, 1011]);
    press(&mut s, KeyCode::Backspace);
    assert_eq!(tids(&s).len(), 12);
    press(&mut s, KeyCode::Enter);
    assert!(!s.tasks.editing_filter);
    press(&mut s, KeyCode::Esc);
    assert!(s.tasks.filter.is_empty());
    press(&mut s, ch('/'));
    for c in "1005".chars() {
        press(&mut s, ch(c));
    }
    assert_eq!(tids(&s), vec![1005]);
    assert_eq!(
        s.tasks.selected_tid,
        Some(1005),
        "selection moves onto what is shown"
    );
    press(&mut s, KeyCode::Esc);
    assert!(s.tasks.filter.is_empty() && !s.tasks.editing_filter);
}

#[test]
fn tab_cycles_focus_both_ways() {
    let mut s = fresh(&FixtureSpec::default());
    let mut seen = vec![s.focus];
    for _ in 1..Pane::ORDER.len() {
        press(&mut s, KeyCode::Tab);
        seen.push(s.focus);
    }
    assert_eq!(seen, Pane::ORDER);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, Pane::Tasks);
    press(&mut s, KeyCode::BackTab);
    assert_eq!(s.focus, Pane::Log);
}

#[test]
fn space_freezes_the_view_until_pressed_again() {
    let mut s = fresh(&FixtureSpec::default());
    press(&mut s, ch(' '));
    assert!(s.paused);
    let mut next = fixture::snapshot(&FixtureSpec::default());
    next.t = 99.0;
    update(&mut s, Action::Snapshot(Box::new(next.clone())));
    assert_eq!(s.snap.as_ref().unwrap().t, 30.0);
    press(&mut s, ch(' '));
    update(&mut s, Action::Snapshot(Box::new(next)));
    assert_eq!(s.snap.as_ref().unwrap().t, 99.0);
}

#[test]
fn plus_and_minus_step_the_refresh_interval_within_limits() {
    let mut s = fresh(&FixtureSpec::default());
    match press(&mut s, ch('-')) {
        Effect::Worker(Request::SetInterval(d)) => assert_eq!(d, Duration::from_millis(500)),
        other => panic!("{other:?}"),
    }
    press(&mut s, ch('+'));
    press(&mut s, ch('+'));
    assert_eq!(s.interval, Duration::from_millis(100));
    assert!(
        matches!(press(&mut s, ch('+')), Effect::None),
        "100 ms is the floor"
    );
    for _ in 0..20 {
        press(&mut s, ch('-'));
    }
    assert_eq!(s.interval, Duration::from_secs(10));
}

#[test]
fn h_cycles_histogram_sources_and_arrows_pick_within_one() {
    let mut s = fresh(&FixtureSpec::default());
    let mut kinds = vec![s.hist.kind];
    for _ in 0..4 {
        press(&mut s, ch('h'));
        kinds.push(s.hist.kind);
    }
    assert_eq!(kinds, HistKind::ORDER);
    // Task -> all -> band -> nice -> CPU.
    for _ in 0..4 {
        press(&mut s, ch('h'));
    }
    assert_eq!(s.hist.kind, HistKind::Cpu);
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Right);
    assert_eq!(s.hist.index, 2);
    assert_eq!(s.live_latency().unwrap().0, "cpu 2");
    for _ in 0..10 {
        press(&mut s, KeyCode::Right);
    }
    assert_eq!(s.hist.index, 3, "stops at the last CPU");
    // Under fair there are no bands to show.
    let mut fair = fresh(&FixtureSpec {
        ours: false,
        ..FixtureSpec::default()
    });
    press(&mut fair, ch('h'));
    assert_eq!(fair.hist.kind, HistKind::Nice);
}

#[test]
fn b_marks_a_baseline_since_the_last_scheduler_change_and_clears_it() {
    // Fair first, then ours attaches: the baseline is fair's stretch only.
    let fair = FixtureSpec {
        ours: false,
        samples: 100,
        ..FixtureSpec::default()
    };
    let mut s = fresh(&fair);
    let mut ours = fixture::snapshot(&FixtureSpec {
        samples: 1000,
        ..FixtureSpec::default()
    });
    ours.t = 40.0;
    update(&mut s, Action::Snapshot(Box::new(ours)));
    let mut later = fixture::snapshot(&FixtureSpec {
        samples: 1500,
        ..FixtureSpec::default()
    });
    later.t = 50.0;
    update(&mut s, Action::Snapshot(Box::new(later.clone())));
    press(&mut s, ch('b'));
    let (label, base) = s.baseline_latency().unwrap();
    assert_eq!(label, "scxtop_prio 40s-50s");
    assert_eq!(base.hist.count(), 500);
    assert_eq!(s.live_latency().unwrap().1.hist.count(), 0);
    let mut after = later;
    after.probe.latency = fixture::snapshot(&FixtureSpec {
        samples: 1700,
        ..FixtureSpec::default()
    })
    .probe
    .latency;
    update(&mut s, Action::Snapshot(Box::new(after)));
    assert_eq!(s.live_latency().unwrap().1.hist.count(), 200);
    press(&mut s, ch('b'));
    assert!(s.baseline.is_none());
    assert_eq!(s.live_latency().unwrap().1.hist.count(), 1700);
}

#[test]
fn the_log_follows_new_lines_unless_scrolled_back() {
    let mut s = fresh(&FixtureSpec::default());
    assert_eq!(s.log.len(), 5);
    s.focus = Pane::Log;
    press(&mut s, KeyCode::Up);
    press(&mut s, KeyCode::Up);
    assert_eq!(s.log_scroll, 2);
    // Five more lines arrive: the view stays on the same lines.
    update(
        &mut s,
        Action::Snapshot(Box::new(fixture::snapshot(&FixtureSpec::default()))),
    );
    assert_eq!(s.log.len(), 10);
    assert_eq!(s.log_scroll, 7);
    press(&mut s, KeyCode::End);
    assert_eq!(s.log_scroll, 0, "End follows again");
}

#[test]
fn question_mark_opens_help_and_escape_closes_it() {
    let mut s = fresh(&FixtureSpec::default());
    press(&mut s, ch('?'));
    assert!(s.help);
    press(&mut s, KeyCode::Esc);
    assert!(!s.help);
}

/// A failed reload whose libbpf log has `lines` lines, the error at `error`.
fn failed_reload(lines: usize, error: usize) -> Outcome {
    Outcome {
        action: "reload",
        ok: false,
        message: format!("reload failed: the verifier rejected it: line {error}"),
        attach: None,
        exit: None,
        log: Some((0..lines).map(|i| format!("log line {i}")).collect()),
        log_error_line: Some(error),
    }
}

#[test]
fn v_opens_the_last_failed_loads_log_at_its_error_scrolls_it_and_closes() {
    let mut s = fresh(&FixtureSpec::default());
    // Nothing failed yet: v says so and covers nothing.
    assert!(matches!(press(&mut s, ch('v')), Effect::None));
    assert!(!s.load_log_open);
    assert!(
        s.message.as_ref().unwrap().text.contains("no load log"),
        "{:?}",
        s.message
    );

    update(&mut s, Action::Done(Box::new(failed_reload(100, 60))));
    assert!(
        !s.load_log_open,
        "a failure must not cover the panes by itself"
    );
    let kept = s.load_log.as_ref().unwrap();
    assert_eq!(kept.lines.len(), 100);
    assert_eq!(kept.error_line, Some(60));

    press(&mut s, ch('v'));
    assert!(s.load_log_open);
    let scroll = |s: &State| s.load_log.as_ref().unwrap().scroll;
    // A few lines of context above the error line.
    assert_eq!(scroll(&s), 60 - scxtop::app::state::LOAD_LOG_CONTEXT);
    let selected = s.tasks.selected_tid;
    press(&mut s, KeyCode::Down);
    assert_eq!(scroll(&s), 53);
    assert_eq!(s.tasks.selected_tid, selected, "the log takes the keys");
    press(&mut s, ch('k'));
    press(&mut s, KeyCode::PageUp);
    assert_eq!(scroll(&s), 42);
    press(&mut s, KeyCode::Home);
    assert_eq!(scroll(&s), 0);
    press(&mut s, KeyCode::Up);
    assert_eq!(scroll(&s), 0);
    press(&mut s, KeyCode::End);
    assert_eq!(scroll(&s), 99);

    // Esc closes it; v opens it at the error again, and v closes it.
    press(&mut s, KeyCode::Esc);
    assert!(!s.load_log_open);
    press(&mut s, ch('v'));
    assert!(s.load_log_open);
    assert_eq!(scroll(&s), 52);
    press(&mut s, ch('v'));
    assert!(!s.load_log_open);
    // With it closed, Down moves the task selection again.
    press(&mut s, KeyCode::Down);
    assert_ne!(s.tasks.selected_tid, selected);

    // A success keeps the log of the last failure; a new failure replaces it.
    update(
        &mut s,
        Action::Done(Box::new(Outcome {
            action: "attach",
            ok: true,
            message: "attached scxtop_prio".into(),
            attach: None,
            exit: None,
            log: None,
            log_error_line: None,
        })),
    );
    assert_eq!(s.load_log.as_ref().unwrap().lines.len(), 100);
    update(&mut s, Action::Done(Box::new(failed_reload(3, 2))));
    let kept = s.load_log.as_ref().unwrap();
    assert_eq!((kept.lines.len(), kept.error_line), (3, Some(2)));
    assert!(kept.title.contains("line 2"), "{}", kept.title);
}
