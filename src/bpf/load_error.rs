//! Turns libbpf errors into one line that says what to do.

use super::libbpf_log;

/// What a user must change when the kernel refuses a BPF operation, or `None`
/// when the error is not about privileges.
pub fn privilege_hint(err: &libbpf_rs::Error) -> Option<&'static str> {
    match err.kind() {
        libbpf_rs::ErrorKind::PermissionDenied => Some(
            "permission denied: loading BPF needs root (CAP_BPF, CAP_PERFMON and, for \
             schedulers, CAP_SYS_ADMIN); run scxtop with sudo",
        ),
        _ => None,
    }
}

/// Whether the kernel refused `err` for lack of privilege (the verifier
/// answers EACCES too, so a rejected program is not counted).
pub fn is_denied(err: &libbpf_rs::Error) -> bool {
    privilege_hint(err).is_some() && verifier_tail().is_none()
}

/// One line for a failed BPF step: what failed, why, and what to do. The
/// verifier answers EACCES too, so its log is checked before privileges.
pub fn describe(step: &str, err: &libbpf_rs::Error) -> String {
    if let Some(tail) = verifier_tail() {
        return format!("{step}: the verifier rejected it: {tail}");
    }
    match privilege_hint(err) {
        Some(hint) => format!("{step}: {hint}"),
        None => format!("{step}: {err}"),
    }
}

/// libbpf logs a failed program load between these markers.
const LOG_BEGIN: &str = "-- BEGIN PROG LOAD LOG --";
const LOG_END: &str = "-- END PROG LOAD LOG --";
const TAIL_LINES: usize = 6;

/// The last lines of the most recent verifier log libbpf captured, joined
/// into one line, or `None` when no program load failed.
pub fn verifier_tail() -> Option<String> {
    let lines = libbpf_log::tail(400);
    let begin = lines.iter().rposition(|l| l.contains(LOG_BEGIN))?;
    let log: Vec<String> = lines[begin + 1..]
        .iter()
        .take_while(|l| !l.contains(LOG_END))
        // The statistics trailer says nothing about why.
        .filter(|l| !l.trim().is_empty() && !l.starts_with("processed "))
        .cloned()
        .collect();
    if log.is_empty() {
        return None;
    }
    let tail: Vec<&str> = log[log.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| l.trim())
        .collect();
    Some(tail.join(" | "))
}

/// Lines as " | a | b", to append to a one-line message.
pub fn last_lines(lines: &[String]) -> String {
    lines.iter().map(|l| format!(" | {}", l.trim())).collect()
}
