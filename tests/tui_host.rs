//! The live view on this machine's kernel, driven through tmux like a user:
//! every pane with live numbers, help, and the terminal given back on every
//! way out (q, SIGTERM, SIGHUP, a panic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::bpf_objects::{BpfFd, link_exists, printk_links};
use common::live_view::{
    PANE_TITLES, quit_restores_the_terminal, restored, script, scxtop_pid, task_rows,
};
use common::tmux::Tmux;
use common::{assert_realtime_roles, poll_until, require_root, scxtop, thread_policies};

/// Every pane has numbers. The table lists threads once they have been
/// switched in under the probes, so on a quiet machine the first frames
/// may show only scxtop's own threads, which the table leaves out.
fn frame_with_numbers(s: &str) -> bool {
    s.contains("Context switches /s")
        && s.contains("total ")
        && !s.contains("total -")
        && s.contains("n=")
        && task_rows(s).is_some_and(|n| n > 0)
}

/// The text from `needle` on, within its pane: the lines below it between
/// the pane's borders, joined (panes side by side share screen lines).
fn pane_text_from(screen: &str, needle: &str) -> Option<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let (row, at, left) = lines.iter().enumerate().find_map(|(i, l)| {
        let byte = l.find(needle)?;
        let at = l[..byte].chars().count();
        // The column right after the pane's left border.
        let left = l[..byte]
            .rfind('│')
            .map_or(0, |b| l[..b].chars().count() + 1);
        Some((i, at, left))
    })?;
    let in_pane: Vec<String> = lines[row..]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let from = if i == 0 { at } else { left };
            l.chars()
                .skip(from)
                .take_while(|c| *c != '│')
                .collect::<String>()
        })
        .take_while(|part| !part.trim().is_empty() && !part.starts_with('└'))
        .map(|part| part.trim().to_string())
        .collect();
    Some(in_pane.join(" "))
}

/// The id of the bpf_printk tail's link that `pid` holds; no tracefs
/// instance may exist for it.
fn printk_link_of(pid: i32) -> u32 {
    let dir = format!("/sys/kernel/tracing/instances/scxtop-{pid}");
    assert!(!Path::new(&dir).exists(), "{dir} was made");
    match printk_links(pid as u32)[..] {
        [BpfFd::Link { id, .. }] => id,
        ref seen => panic!("not one bpf_printk link: {seen:?}"),
    }
}

/// The kernel frees a link shortly after its last holder exits.
fn wait_link_gone(link: u32, what: &str) {
    poll_until(what, Duration::from_secs(10), || {
        if link_exists(link) {
            Err(format!("link {link} exists"))
        } else {
            Ok(())
        }
    });
}

#[test]
fn every_pane_shows_live_numbers_help_opens_and_q_restores_the_terminal() {
    if !require_root("tui_host") {
        return;
    }
    let bin = scxtop();
    let t = Tmux::start("host", 120, 40, &script("", ""), &[("SCXTOP", &bin)]);
    let s = t.wait_for(
        "a frame with numbers",
        Duration::from_secs(20),
        frame_with_numbers,
    );
    for pane in PANE_TITLES.into_iter().chain(["Latency: all tasks"]) {
        assert!(s.contains(pane), "no {pane:?}:\n{s}");
    }
    let pid = scxtop_pid(&t);
    let link = printk_link_of(pid);
    // As root the view's threads (event loop, key reader, worker) run
    // real-time, so a saturated machine does not stall them.
    assert_realtime_roles(&thread_policies(pid));
    // --no-attach tries no attach, yet the status bar still says why no
    // scheduler can run here.
    if !Path::new("/sys/kernel/sched_ext").exists() {
        assert!(s.contains("fair (no sched_ext)"), "{s}");
        assert!(s.contains("CONFIG_SCHED_CLASS_EXT"), "{s}");
    }

    t.keys(&["?"]);
    t.wait_for("help", Duration::from_secs(5), |s| {
        s.contains("Keys (") && s.contains("reload the scheduler")
    });
    t.keys(&["Escape"]);
    t.wait_for("help to close", Duration::from_secs(5), |s| {
        !s.contains("Keys (")
    });
    t.keys(&["Tab", "s", "/", "s", "c", "x", "Enter"]);
    t.wait_for("the filter", Duration::from_secs(5), |s| {
        s.contains("filter scx") && s.contains("sort wait avg")
    });

    quit_restores_the_terminal(&t);
    wait_link_gone(link, "the bpf_printk link to go after q");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    if !require_root("tui_host signals") {
        return;
    }
    let bin = scxtop();
    for (sig, name) in [(libc::SIGTERM, "term"), (libc::SIGHUP, "hup")] {
        let t = Tmux::start(name, 100, 30, &script("", ""), &[("SCXTOP", &bin)]);
        t.wait_for("a frame", Duration::from_secs(20), frame_with_numbers);
        let pid = scxtop_pid(&t);
        let link = printk_link_of(pid);
        // SAFETY: signalling a process this test started.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        let s = t.wait_for("exit", Duration::from_secs(10), |s| {
            s.contains("exited") && s.contains("icanon")
        });
        assert!(s.contains("exited 0"), "{name}: {s}");
        assert!(restored(&s), "{name}: raw mode left on:\n{s}");
        wait_link_gone(link, &format!("the bpf_printk link to go after {name}"));
    }
}

#[test]
fn a_panic_restores_the_terminal_before_printing_its_message() {
    if !require_root("tui_host panic") {
        return;
    }
    let bin = scxtop();
    // No backtrace: it would scroll the message off the captured screen.
    let script = format!(
        "export SCXTOP_TEST_PANIC=1 RUST_BACKTRACE=0; {}",
        script("", "")
    );
    let t = Tmux::start("panic", 100, 30, &script, &[("SCXTOP", &bin)]);
    let s = t.wait_for("exit", Duration::from_secs(20), |s| {
        s.contains("exited") && s.contains("icanon")
    });
    assert!(s.contains("exited 101"), "{s}");
    assert!(
        s.contains("panicking on purpose"),
        "the message was lost:\n{s}"
    );
    assert!(restored(&s), "raw mode left on:\n{s}");
    assert!(
        !s.contains("Context switches /s"),
        "alternate screen left on:\n{s}"
    );
}

/// What the view must say without root; `Err` names what it lacks.
fn explains_without_root(s: &str) -> Result<(), String> {
    if let Some(pane) = PANE_TITLES.iter().find(|p| !s.contains(*p)) {
        return Err(format!("no {pane:?}"));
    }
    if !s
        .lines()
        .take(4)
        .any(|l| l.contains("run scxtop with sudo"))
    {
        return Err("the status bar does not say what to do".into());
    }
    // Each pane's reason is whole, down to the advice at its end.
    for why in [
        "task statistics unavailable",
        "latency unavailable",
        "perf events need root",
        "bpf_printk tail unavailable",
    ] {
        let text = pane_text_from(s, why).ok_or_else(|| format!("no {why:?}"))?;
        if !text.contains("run scxtop with sudo") && !text.contains("run scxtop as root") {
            return Err(format!(
                "{why:?} is cut before it says what to do: {text:?}"
            ));
        }
    }
    if s.contains("no samples yet") {
        return Err("an idle chart instead of why".into());
    }
    if !Path::new("/sys/kernel/sched_ext").exists() && !s.contains("CONFIG_SCHED_CLASS_EXT") {
        return Err("CONFIG_SCHED_CLASS_EXT is not named".into());
    }
    Ok(())
}

/// Without root the probes, perf and the bpf_printk tail are refused: the view still
/// opens with every pane, says in one line what to do, and each pane says
/// why it is empty instead of looking idle.
#[test]
fn without_root_the_view_opens_says_to_use_sudo_and_q_restores_the_terminal() {
    if !require_root("tui_host without root") {
        return;
    }
    let bin = scxtop();
    let unprivileged = "setpriv --reuid=nobody --regid=nogroup --clear-groups \
                        --inh-caps=-all --bounding-set=-all";
    let t = Tmux::start(
        "noroot",
        120,
        40,
        &script(unprivileged, ""),
        &[("SCXTOP", &bin)],
    );
    // One condition for everything: a capture can catch scxtop halfway
    // through writing a frame.
    poll_until(
        "a frame saying what to do and why each pane is empty",
        Duration::from_secs(20),
        || {
            let s = t.screen();
            explains_without_root(&s).map_err(|missing| format!("{missing}\n{s}"))
        },
    );
    // Keys still work: the filter reaches the title.
    t.keys(&["/", "x", "Enter"]);
    t.wait_for("the filter", Duration::from_secs(5), |s| {
        s.contains("filter x")
    });
    quit_restores_the_terminal(&t);
}
