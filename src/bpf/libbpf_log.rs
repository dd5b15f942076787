//! libbpf prints to stderr by default, which would scribble over a full-screen
//! UI and is lost in headless JSON. We keep its recent lines instead, so a
//! failed load can quote them (the tail of a verifier log says why).

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex};

use libbpf_rs::PrintLevel;

const KEEP_LINES: usize = 400;

static LINES: LazyLock<Mutex<VecDeque<String>>> =
    LazyLock::new(|| Mutex::new(VecDeque::with_capacity(KEEP_LINES)));

fn capture(_level: PrintLevel, msg: String) {
    let Ok(mut lines) = LINES.lock() else { return };
    for line in msg.lines() {
        if lines.len() == KEEP_LINES {
            lines.pop_front();
        }
        lines.push_back(line.to_string());
    }
}

/// Routes libbpf's messages (debug level included: verifier logs arrive there)
/// into the capture buffer instead of stderr.
pub fn capture_libbpf_output() {
    libbpf_rs::set_print(Some((PrintLevel::Debug, capture)));
}

/// Forgets what was captured, so the next `tail` speaks of one load only.
pub fn clear() {
    if let Ok(mut lines) = LINES.lock() {
        lines.clear();
    }
}

/// The last `n` captured lines, oldest first.
pub fn tail(n: usize) -> Vec<String> {
    match LINES.lock() {
        Ok(lines) => lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .cloned()
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines_in_order() {
        clear();
        capture(PrintLevel::Info, "a\nb\n".into());
        capture(PrintLevel::Warn, "c".into());
        assert_eq!(tail(2), vec!["b".to_string(), "c".to_string()]);
        assert_eq!(tail(10).len(), 3);
    }
}
