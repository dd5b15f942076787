//! Turns libbpf errors into one line that says what to do.

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

/// One line for a failed BPF step: what failed, why, and what to do.
pub fn describe(step: &str, err: &libbpf_rs::Error) -> String {
    match privilege_hint(err) {
        Some(hint) => format!("{step}: {hint}"),
        None => format!("{step}: {err}"),
    }
}

/// `true` when this process may be able to load BPF at all; used to explain a
/// failure up front rather than after a confusing libbpf message.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
