//! The panes drawn from fixture snapshots into ratatui's TestBackend: whole
//! screens at 80x24, 120x40 and 160x48 (insta snapshots, reviewed), and the
//! edge cases by their content.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use scxtop::app::action::Action;
use scxtop::app::state::{Message, MessageKind, Pane, State};
use scxtop::app::update::update;
use scxtop::snapshot::{
    ExitInfo, ExitKind, ExitSource, LogLine, Measure, Outcome, Snapshot, Unavailable,
};
use scxtop::ui::screen;
use scxtop::ui::theme::Theme;

#[path = "common/fixture.rs"]
mod fixture;
use fixture::FixtureSpec;

fn state_with(snap: Snapshot) -> State {
    let mut state = State::new(std::time::Duration::from_millis(250));
    update(&mut state, Action::Snapshot(Box::new(snap)));
    state
}

fn draw(state: &State, w: u16, h: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| screen::draw(f.area(), f.buffer_mut(), state, theme))
        .unwrap();
    term
}

fn lines(term: &Terminal<TestBackend>) -> Vec<String> {
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

fn text(term: &Terminal<TestBackend>) -> String {
    lines(term).join("\n")
}

const MONO: Theme = Theme { color: false };

#[test]
fn whole_screen_at_80x24() {
    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    insta::assert_snapshot!(draw(&state, 80, 24, MONO).backend());
}

#[test]
fn whole_screen_at_120x40() {
    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    insta::assert_snapshot!(draw(&state, 120, 40, MONO).backend());
}

#[test]
fn whole_screen_at_160x48() {
    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    insta::assert_snapshot!(draw(&state, 160, 48, MONO).backend());
}

#[test]
fn whole_screen_under_fair_at_160x48() {
    let spec = FixtureSpec {
        ours: false,
        ..FixtureSpec::default()
    };
    let state = state_with(fixture::snapshot(&spec));
    insta::assert_snapshot!(draw(&state, 160, 48, MONO).backend());
}

#[test]
fn every_pane_is_on_screen_at_both_sizes() {
    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    for (w, h) in [(80, 24), (160, 48)] {
        let t = text(&draw(&state, w, h, MONO));
        for needle in [
            "scxtop_prio (ours)",
            "enable_seq 3",
            "Queue depth",
            "Tasks 12/12",
            "Latency: all tasks",
            "Context switches /s",
            "bpf_printk",
            "q quit",
        ] {
            assert!(t.contains(needle), "{w}x{h}: no {needle:?} in\n{t}");
        }
    }
}

#[test]
fn the_task_table_sorts_by_cpu_share_and_shows_the_band() {
    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    let t = lines(&draw(&state, 160, 48, MONO));
    // task-0 has the largest share (100%), nice -20, so band high.
    let first = t.iter().position(|l| l.contains("task-0")).unwrap();
    let second = t.iter().position(|l| l.contains("task-1 ")).unwrap();
    assert!(first < second);
    let row = &t[first];
    assert!(
        row.contains("-20") && row.contains("high") && row.contains("100.0"),
        "{row}"
    );
}

#[test]
fn the_histogram_marks_its_percentiles_on_their_rows() {
    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    let t = lines(&draw(&state, 160, 48, MONO));
    // 90% at 5 us, 9% at 200 us, 1% at 3 ms (max 3.1 ms).
    let row = |needle: &str| t.iter().find(|l| l.contains(needle)).cloned().unwrap();
    // With room, each power of two is split in four rows.
    assert!(
        row("4.1us-6.1us").contains("p50 p90"),
        "{}",
        row("4.1us-6.1us")
    );
    assert!(row("197us-262us").contains("p99"));
    assert!(row("2.1ms-3.1ms").contains("max"));
    assert!(!row("6.1us-8.2us").contains('p'));
    assert!(t.iter().any(|l| l.contains("n=1.00k")));
}

#[test]
fn no_tasks_says_so() {
    let spec = FixtureSpec {
        tasks: 0,
        ..FixtureSpec::default()
    };
    let state = state_with(fixture::snapshot(&spec));
    let t = text(&draw(&state, 120, 40, MONO));
    assert!(
        t.contains("Tasks 0/0") && t.contains("no tasks seen yet"),
        "{t}"
    );
}

#[test]
fn an_empty_histogram_says_so() {
    let spec = FixtureSpec {
        samples: 0,
        ..FixtureSpec::default()
    };
    let state = state_with(fixture::snapshot(&spec));
    let t = text(&draw(&state, 120, 40, MONO));
    assert!(t.contains("no samples yet"), "{t}");
    assert!(t.contains("n=0"), "{t}");
}

#[test]
fn a_kernel_that_cannot_time_waits_says_why_in_the_latency_pane() {
    let mut snap = fixture::snapshot(&FixtureSpec {
        samples: 0,
        ..FixtureSpec::default()
    });
    snap.probe.unavailable.push(Unavailable::new(
        Measure::Latency,
        scxtop::probe::sched_probes::LATENCY_UNSUPPORTED,
    ));
    let t = text(&draw(&state_with(snap), 120, 40, MONO));
    assert!(t.contains("CONFIG_SCHED_INFO"), "{t}");
    assert!(!t.contains("no samples yet"), "{t}");
}

#[test]
fn two_hundred_fifty_six_cpus_wrap_into_columns_and_scroll() {
    let spec = FixtureSpec {
        cpus: 256,
        ..FixtureSpec::default()
    };
    let mut state = state_with(fixture::snapshot(&spec));
    let t = text(&draw(&state, 160, 48, MONO));
    assert!(t.contains("of 256"), "{t}");
    assert!(t.contains("c0 ") && t.contains("c1 "), "{t}");
    assert!(
        !t.contains("c255"),
        "the last CPU should be below the fold:\n{t}"
    );
    // Focus the queue pane and go to the end: the last CPU comes into view.
    state.focus = Pane::Cpus;
    update(&mut state, Action::Bottom);
    let t = text(&draw(&state, 160, 48, MONO));
    assert!(t.contains("c255"), "{t}");
    // Still fine at the smallest size.
    let t = text(&draw(&state, 80, 24, MONO));
    assert!(t.contains("Queue depth"), "{t}");
}

#[test]
fn long_comm_names_are_cut_inside_their_column() {
    let mut snap = fixture::snapshot(&FixtureSpec::default());
    snap.probe.tasks[0].comm = "a-very-long-thread-name-that-goes-on-and-on".into();
    let state = state_with(snap);
    for (w, h) in [(80, 24), (160, 48)] {
        let t = lines(&draw(&state, w, h, MONO));
        let row = t.iter().find(|l| l.contains("a-very-long")).unwrap();
        assert!(!row.contains("goes-on-and-on"), "{row}");
        // The row keeps its other columns.
        assert!(row.contains("100.0"), "{row}");
    }
}

#[test]
fn printk_lines_with_bad_bytes_and_escapes_are_shown_safely() {
    let mut snap = fixture::snapshot(&FixtureSpec::default());
    let raw = b"bad \xff\xfe bytes \x1b[31m red\ttab";
    snap.probe.log.push(LogLine {
        ts: 200.0,
        pid: 77,
        cpu: 1,
        comm: "w\x07eird".into(),
        msg: String::from_utf8_lossy(raw).into_owned(),
    });
    let state = state_with(snap);
    let term = draw(&state, 160, 48, MONO);
    let t = text(&term);
    assert!(
        t.contains("bad \u{FFFD}\u{FFFD} bytes \u{FFFD}[31m red tab"),
        "{t}"
    );
    assert!(t.contains("w\u{FFFD}eird-77"), "{t}");
    assert!(
        !t.chars().any(|c| c.is_control() && c != '\n'),
        "control character on screen"
    );
}

#[test]
fn a_long_error_takes_two_status_lines_and_shows_where_it_was_cut() {
    let mut state = state_with(fixture::snapshot(&FixtureSpec::default()));
    state.message = Some(Message {
        text: format!(
            "attach failed: cannot attach a scheduler: kernel 6.18.44 was built without \
             CONFIG_SCHED_CLASS_EXT (no /sys/kernel/sched_ext): boot a kernel with \
             CONFIG_SCHED_CLASS_EXT=y to attach schedulers {}",
            "and more ".repeat(10)
        ),
        kind: MessageKind::Error,
    });
    let t = lines(&draw(&state, 80, 24, MONO));
    assert!(t[1].starts_with(" attach failed:"), "{t:#?}");
    assert!(t[2].trim_end().ends_with('…'), "{t:#?}");
    // Whole words only, and the panes start right under the two lines.
    assert!(t[1].trim_end().ends_with("without"), "{t:#?}");
    assert!(t[3].starts_with('┌'), "{t:#?}");
}

/// Each pane on its own, squeezed to nothing inside: the too-small guard
/// keeps such sizes off screen, and a pane must not rely on it to not panic.
#[test]
fn panes_squeezed_to_no_inner_rows_draw_without_panicking() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use scxtop::ui::{cpu_queues, latency_chart, log_tail, switch_rates, task_table};

    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    for (w, h) in [(40, 2), (3, 3), (1, 1), (0, 0)] {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        cpu_queues::render(area, &mut buf, &state, MONO, false);
        task_table::render(area, &mut buf, &state, MONO, false);
        latency_chart::render(area, &mut buf, &state, MONO, false);
        switch_rates::render(area, &mut buf, &state, MONO, false);
        log_tail::render(area, &mut buf, &state, MONO, false);
    }
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_panic() {
    let state = state_with(fixture::snapshot(&FixtureSpec::default()));
    for (w, h) in [(79, 24), (80, 23), (20, 5), (1, 1)] {
        let t = text(&draw(&state, w, h, MONO));
        if w >= 20 {
            assert!(t.contains("too small"), "{w}x{h}: {t}");
        }
    }
    let t = text(&draw(&state, 79, 24, MONO));
    assert!(t.contains("79x24") && t.contains("80x24"), "{t}");
}

#[test]
fn help_lists_every_key() {
    let mut state = state_with(fixture::snapshot(&FixtureSpec::default()));
    update(&mut state, Action::ToggleHelp);
    let t = text(&draw(&state, 120, 40, MONO));
    for (_, what) in scxtop::app::keymap::BINDINGS {
        assert!(t.contains(what), "help lacks {what:?}:\n{t}");
    }
}

#[test]
fn a_baseline_shows_beside_the_live_histogram() {
    let mut state = state_with(fixture::snapshot(&FixtureSpec::default()));
    update(&mut state, Action::ToggleBaseline);
    // Twice the samples later: the live side counts only the new ones.
    let mut later = fixture::snapshot(&FixtureSpec {
        samples: 3000,
        ..FixtureSpec::default()
    });
    later.t = 40.0;
    update(&mut state, Action::Snapshot(Box::new(later)));
    let t = text(&draw(&state, 160, 48, MONO));
    assert!(t.contains("A: scxtop_prio 0s-30s"), "{t}");
    assert!(t.contains("B: live all tasks"), "{t}");
    assert!(
        t.contains("n=2.00k"),
        "live side should count 3000-1000:\n{t}"
    );
    assert!(t.contains("n=1.00k"), "{t}");
    assert!(
        t.contains("90.0%"),
        "shares, not counts, side by side:\n{t}"
    );
}

#[test]
fn a_kernel_exit_is_highlighted_in_the_status_bar() {
    let mut state = state_with(fixture::snapshot(&FixtureSpec::default()));
    update(
        &mut state,
        Action::KernelExit(Box::new(ExitInfo {
            kind: ExitKind::ErrorStall,
            from: ExitSource::Record,
            code: 0,
            reason: "runnable task stall".into(),
            msg: "stallme[123] failed to run for 5s".into(),
            ops: "stall".into(),
        })),
    );
    let color = Theme { color: true };
    let term = draw(&state, 120, 40, color);
    let t = lines(&term);
    let y = t.iter().position(|l| l.contains("ERROR_STALL")).unwrap();
    assert!(t[y].contains("kernel ended the scheduler"), "{}", t[y]);
    let x = t[y].find("kernel").unwrap() as u16;
    let cell = &term.backend().buffer()[(x, y as u16)];
    assert_eq!(cell.bg, Color::Red, "not highlighted: {cell:?}");
}

#[test]
fn no_color_means_no_color() {
    let mut state = state_with(fixture::snapshot(&FixtureSpec::default()));
    update(&mut state, Action::TogglePause);
    let colored = |theme| {
        let term = draw(&state, 120, 40, theme);
        term.backend()
            .buffer()
            .content()
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count()
    };
    assert_eq!(colored(MONO), 0);
    assert!(colored(Theme { color: true }) > 0);
    let t = text(&draw(&state, 120, 40, MONO));
    assert!(t.contains("PAUSED"), "{t}");
}

#[test]
fn the_selection_stays_on_screen_in_a_long_table() {
    let spec = FixtureSpec {
        tasks: 1000,
        ..FixtureSpec::default()
    };
    let mut state = state_with(fixture::snapshot(&spec));
    // Sorted by CPU share, the last row is task-999; End selects it.
    update(&mut state, Action::Bottom);
    assert_eq!(state.tasks.selected_tid, Some(1999));
    let term = draw(&state, 160, 48, MONO);
    let t = lines(&term);
    let y = t
        .iter()
        .position(|l| l.contains("task-999 "))
        .expect("selected row not shown");
    assert!(
        !t.iter().any(|l| l.contains("task-0 ")),
        "the top should have scrolled away"
    );
    let x = t[y].find("task-999").unwrap() as u16;
    let cell = &term.backend().buffer()[(x, y as u16)];
    assert!(
        cell.modifier.contains(ratatui::style::Modifier::REVERSED),
        "selected row not highlighted"
    );
}

/// Without root: one status line says what to do, before the message, and
/// the panes say why they are empty in full rather than cut or idle.
#[test]
fn refused_probes_get_one_line_on_what_to_do_and_whole_reasons() {
    let mut snap = fixture::snapshot(&FixtureSpec {
        tasks: 0,
        samples: 0,
        log_lines: 0,
        ..FixtureSpec::default()
    });
    snap.probe.unavailable.extend([
        Unavailable::denied(
            Measure::SwitchRates,
            "perf counters: perf events need root or CAP_PERFMON (or kernel.perf_event_paranoid \
             <= 0): run scxtop with sudo (context-switches on CPU 0: Permission denied)",
        ),
        Unavailable::denied(
            Measure::PrintkTail,
            "bpf_printk tail unavailable: loading its BPF program: permission denied: loading \
             BPF needs root (CAP_BPF, CAP_PERFMON and, for schedulers, CAP_SYS_ADMIN); run \
             scxtop with sudo",
        ),
        Unavailable::denied(
            Measure::Tasks,
            "BPF probes: loading the probe programs: permission denied: loading BPF needs root \
             (CAP_BPF, CAP_PERFMON and, for schedulers, CAP_SYS_ADMIN); run scxtop with sudo",
        ),
    ]);
    let state = state_with(snap);
    let t = lines(&draw(&state, 120, 40, MONO));
    assert_eq!(
        t[1].trim_end(),
        " run scxtop with sudo: without root there is no task table, latency, switch rates or \
         bpf_printk"
    );
    let all = t.join("\n");
    assert!(all.contains("latency unavailable: BPF probes"), "{all}");
    assert!(!all.contains("no samples yet"), "{all}");
    // The BPF reasons (tasks, latency, printk) end on their advice, inside
    // their panes.
    assert_eq!(
        all.matches("CAP_SYS_ADMIN); run scxtop with").count(),
        3,
        "{all}"
    );
    assert!(all.contains("Permission denied)"), "{all}");
    // At the smallest size the line is cut, its action first.
    let t = lines(&draw(&state, 80, 24, MONO));
    assert!(t[1].starts_with(" run scxtop with sudo:"), "{t:#?}");
    assert!(t[1].trim_end().ends_with('…'), "{t:#?}");
}

/// A real verifier log (7.3, tests/bpf/reject.bpf.c), as a failed attach
/// hands it to the view.
fn failed_attach_with_real_log() -> Outcome {
    let lines: Vec<String> = include_str!("../src/bpf/testdata/verifier-7.3-reject.log")
        .lines()
        .map(str::to_string)
        .collect();
    let failure = scxtop::bpf::verifier_log::find(&lines).unwrap();
    Outcome {
        action: "attach",
        ok: false,
        message: format!("attach failed: the verifier rejected /fixtures/reject.bpf.o: {failure}"),
        attach: None,
        exit: None,
        log: Some(lines),
        log_error_line: Some(failure.error_line),
    }
}

const REJECT_ERROR: &str = "R5 unbounded memory access, make sure to bounds check any such access";

#[test]
fn the_load_log_opens_at_the_verifier_error_line_and_highlights_it() {
    let mut state = state_with(fixture::snapshot(&FixtureSpec::default()));
    update(
        &mut state,
        Action::Done(Box::new(failed_attach_with_real_log())),
    );
    // Closed, the key hints say it is there.
    let t = lines(&draw(&state, 80, 24, MONO));
    assert!(t[23].contains("v load log"), "{}", t[23]);
    assert!(!t.iter().any(|l| l.contains("Load log")), "{t:#?}");

    update(&mut state, Action::ToggleLoadLog);
    let color = Theme { color: true };
    let term = draw(&state, 120, 40, color);
    let t = lines(&term);
    assert!(
        t[1].contains("Load log: attach failed: the verifier rejected /fixtures/reject.bpf.o"),
        "{}",
        t[1]
    );
    let y = t
        .iter()
        .position(|l| l.contains(REJECT_ERROR))
        .unwrap_or_else(|| panic!("no error line on screen:\n{}", t.join("\n")));
    // Marked, and highlighted from the mark to the end of the text.
    assert!(t[y].contains(&format!(">>19 {REJECT_ERROR}")), "{}", t[y]);
    for x in [t[y].find(">>").unwrap(), t[y].find("make sure").unwrap()] {
        let cell = &term.backend().buffer()[(x as u16, y as u16)];
        assert_eq!(cell.bg, Color::Red, "not highlighted at {x}: {cell:?}");
    }
    // The instructions that led there are in view above it, the 7.3
    // explanation below it.
    let above = t
        .iter()
        .position(|l| l.contains("8: (79) r2 = *(u64 *)(r5 +0)"));
    assert!(above.is_some_and(|a| a < y), "{}", t.join("\n"));
    assert!(
        t.iter()
            .skip(y)
            .any(|l| l.contains("Verification failed: Memory Safety"))
    );
    let line_below = &term.backend().buffer()[(t[y + 1].find("  ").unwrap() as u16, y as u16 + 1)];
    assert_ne!(line_below.bg, Color::Red, "only the error line stands out");
    assert!(
        t.iter()
            .any(|l| l.contains("error at line 19") && l.contains("of 83")),
        "{}",
        t.join("\n")
    );
    assert!(t[39].contains("v/Esc close log"), "{}", t[39]);

    // Without color the mark still says which line it is.
    let t = text(&draw(&state, 80, 24, MONO));
    assert!(t.contains(">>19 R5 unbounded memory access"), "{t}");

    // End shows the log's last lines, the error scrolled away.
    update(&mut state, Action::Bottom);
    let t = text(&draw(&state, 120, 40, MONO));
    assert!(t.contains("libbpf: failed to load object 'reject'"), "{t}");
    assert!(!t.contains(REJECT_ERROR), "{t}");
    assert!(t.contains("lines 48-83 of 83"), "{t}");

    // Closed again, the panes are back.
    update(&mut state, Action::Escape);
    let t = text(&draw(&state, 120, 40, MONO));
    assert!(!t.contains("Load log") && t.contains("Queue depth"), "{t}");
}
