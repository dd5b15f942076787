//! Turns libbpf errors into one line that says what to do.

use super::{libbpf_log, verifier_log};

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
    privilege_hint(err).is_some() && verifier_log::find(&libbpf_log::tail(SEARCH_LINES)).is_none()
}

/// How many of libbpf's latest lines `why` searches for a verifier log.
const SEARCH_LINES: usize = 2000;

/// Why a BPF step failed, for a one-line message after the step's name: the
/// verifier's error line, what to do about missing privileges, or libbpf's
/// error. The verifier answers EACCES too, so its log is checked first.
pub fn why(err: &libbpf_rs::Error) -> String {
    if let Some(failure) = verifier_log::find(&libbpf_log::tail(SEARCH_LINES)) {
        return format!(
            "the verifier rejected it{}: {failure}",
            failure.prog_label()
        );
    }
    match privilege_hint(err) {
        Some(hint) => hint.to_string(),
        None => err.to_string(),
    }
}

/// Lines as " | a | b", to append to a one-line message.
pub fn last_lines(lines: &[String]) -> String {
    lines.iter().map(|l| format!(" | {}", l.trim())).collect()
}
