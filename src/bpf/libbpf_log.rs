//! libbpf prints to stderr by default, which would scribble over a full-screen
//! UI and is lost in headless JSON. We keep its lines instead, so a failed
//! load can say why in one line and still hand over everything libbpf said
//! (a verifier log included).

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex};

use libbpf_rs::PrintLevel;

/// A verifier log can run to hundreds of thousands of lines; what it says
/// about the failure is at its end, so the oldest lines go first.
const KEEP_LINES: usize = 10_000;

#[derive(Default)]
struct Captured {
    lines: VecDeque<String>,
    /// Lines pushed out since the last `clear`.
    dropped: usize,
}

static CAPTURED: LazyLock<Mutex<Captured>> = LazyLock::new(|| Mutex::new(Captured::default()));

fn capture(_level: PrintLevel, msg: String) {
    let Ok(mut c) = CAPTURED.lock() else { return };
    for line in msg.lines() {
        if c.lines.len() == KEEP_LINES {
            c.lines.pop_front();
            c.dropped += 1;
        }
        c.lines.push_back(line.to_string());
    }
}

/// Routes libbpf's messages (debug level included: verifier logs arrive there)
/// into the capture buffer instead of stderr.
pub fn capture_libbpf_output() {
    libbpf_rs::set_print(Some((PrintLevel::Debug, capture)));
}

/// Forgets what was captured, so what follows speaks of one step only.
pub fn clear() {
    if let Ok(mut c) = CAPTURED.lock() {
        c.lines.clear();
        c.dropped = 0;
    }
}

/// The last `n` captured lines, oldest first.
pub fn tail(n: usize) -> Vec<String> {
    match CAPTURED.lock() {
        Ok(c) => c
            .lines
            .iter()
            .skip(c.lines.len().saturating_sub(n))
            .cloned()
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// What libbpf said during one step (an open, a load), and which line says
/// what went wrong when that is known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadLog {
    pub lines: Vec<String>,
    /// Index into `lines` of the line that says what is wrong.
    pub error_line: Option<usize>,
}

/// Everything captured since the last `clear`, with a first line saying how
/// many older lines did not fit.
pub fn take() -> LoadLog {
    let Ok(mut c) = CAPTURED.lock() else {
        return LoadLog::default();
    };
    let mut lines = Vec::with_capacity(c.lines.len() + 1);
    if c.dropped > 0 {
        lines.push(format!(
            "[{} earlier lines not kept; the newest {KEEP_LINES} follow]",
            c.dropped
        ));
    }
    lines.extend(c.lines.drain(..));
    c.dropped = 0;
    LoadLog {
        lines,
        error_line: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, as the buffer is process-wide.
    #[test]
    fn keeps_the_newest_lines_in_order_and_says_how_many_went() {
        clear();
        capture(PrintLevel::Info, "a\nb\n".into());
        capture(PrintLevel::Warn, "c".into());
        assert_eq!(tail(2), vec!["b".to_string(), "c".to_string()]);
        assert_eq!(tail(10).len(), 3);
        assert_eq!(take().lines, ["a", "b", "c"]);
        assert!(take().lines.is_empty(), "take empties the buffer");

        let many: String = (0..KEEP_LINES + 5).map(|i| format!("{i}\n")).collect();
        capture(PrintLevel::Debug, many);
        let log = take();
        assert_eq!(log.lines.len(), KEEP_LINES + 1);
        assert!(
            log.lines[0].starts_with("[5 earlier lines"),
            "{}",
            log.lines[0]
        );
        assert_eq!(log.lines[1], "5");
        assert_eq!(log.lines.last().map(String::as_str), Some("10004"));
    }
}
