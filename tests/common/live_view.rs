//! The live view as the tmux tests see it: the script that runs scxtop and
//! reports how it ended, what its screen says, and the check that quitting
//! gives the terminal back.

use std::process::Command;
use std::time::Duration;

use super::tmux::Tmux;

/// The panes' titles, as the full view shows them (every layout).
pub const PANE_TITLES: [&str; 5] = [
    "Tasks ",
    "Queue depth",
    "Latency: ",
    "Context switches /s",
    "bpf_printk",
];

/// Shell text that runs `$SCXTOP` in the live view, then reports how it
/// ended and whether the tty is back in canonical mode (raw mode shows as
/// "-icanon"). `--no-attach`: host tests never attach a scheduler to the
/// machine running them. `wrap` goes before the binary (a setpriv command),
/// `args` after the defaults. The sleep keeps the pane, and what it printed,
/// there for the test to read.
pub fn script(wrap: &str, args: &str) -> String {
    format!(
        r#"{wrap} "$SCXTOP" --no-attach --interval 250ms {args}; echo "exited $?"; stty -a | grep -o -- '-\?icanon'; sleep 120"#
    )
}

/// The task table's title, "Tasks 12/40": rows shown (after the filter)
/// and rows in all.
pub fn task_counts(s: &str) -> Option<(usize, usize)> {
    let counts = s.split("Tasks ").nth(1)?.split_whitespace().next()?;
    let (shown, total) = counts.split_once('/')?;
    Some((shown.parse().ok()?, total.parse().ok()?))
}

/// The rows shown, the count before the slash in the task table's title.
pub fn task_rows(s: &str) -> Option<usize> {
    task_counts(s).map(|(shown, _)| shown)
}

pub fn restored(s: &str) -> bool {
    s.lines().any(|l| l.trim() == "icanon")
}

/// The scxtop process under the pane's shell (under setpriv, which execs it).
pub fn scxtop_pid(t: &Tmux) -> i32 {
    let out = Command::new("pgrep")
        .args(["-P", &t.pane_pid().to_string(), "-x", "scxtop"])
        .output()
        .unwrap();
    let pids = String::from_utf8_lossy(&out.stdout);
    pids.trim()
        .parse()
        .unwrap_or_else(|_| panic!("no single scxtop under the pane: {pids:?}"))
}

/// Presses `q`: scxtop exits 0, the tty is back in canonical mode and the
/// alternate screen is gone (the shell's lines show, not the last frame).
/// Returns the screen.
pub fn quit_restores_the_terminal(t: &Tmux) -> String {
    t.keys(&["q"]);
    let s = t.wait_for(
        "scxtop to exit and the tty mode to be printed",
        Duration::from_secs(10),
        |s| s.contains("exited") && s.contains("icanon"),
    );
    assert!(s.contains("exited 0"), "{s}");
    assert!(restored(&s), "raw mode left on:\n{s}");
    assert!(
        !s.contains("Context switches /s"),
        "alternate screen left on:\n{s}"
    );
    s
}
