//! Why a scheduler stopped, as the front ends show it. The scheduler
//! engine fills it from the scheduler's exit record (scx UEI) or, for
//! objects without one, from the kernel log.

use scx_utils::ScxExitKind;
use serde::{Serialize, Serializer};

/// The kernel's `enum scx_exit_kind`, numbered as scx_utils' bindings number
/// it. JSON and the screen show the kernel's names (`ERROR_STALL`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitKind {
    None,
    Done,
    /// User space unregistered it (our detach, or its loader's).
    Unreg,
    /// The scheduler asked to leave (scx_bpf_exit).
    UnregBpf,
    UnregKern,
    SysRq,
    Error,
    ErrorBpf,
    ErrorStall,
    /// A kind this build does not know (a newer kernel's), with the name
    /// the running kernel gives it.
    Other {
        raw: i32,
        name: String,
    },
    /// The scheduler stopped, but no exit record could be read and the
    /// kernel log said nothing about it.
    Unknown,
}

const KNOWN: [(ExitKind, i32, &str); 9] = [
    (ExitKind::None, ScxExitKind::None as i32, "NONE"),
    (ExitKind::Done, ScxExitKind::Done as i32, "DONE"),
    (ExitKind::Unreg, ScxExitKind::Unreg as i32, "UNREG"),
    (
        ExitKind::UnregBpf,
        ScxExitKind::UnregBPF as i32,
        "UNREG_BPF",
    ),
    (
        ExitKind::UnregKern,
        ScxExitKind::UnregKern as i32,
        "UNREG_KERN",
    ),
    (ExitKind::SysRq, ScxExitKind::SysRq as i32, "SYSRQ"),
    (ExitKind::Error, ScxExitKind::Error as i32, "ERROR"),
    (
        ExitKind::ErrorBpf,
        ScxExitKind::ErrorBPF as i32,
        "ERROR_BPF",
    ),
    (
        ExitKind::ErrorStall,
        ScxExitKind::ErrorStall as i32,
        "ERROR_STALL",
    ),
];

/// The kernel's `scx_exit_reason()` text for each kind, as its log prints
/// it in `sched_ext: BPF scheduler "NAME" disabled (REASON)`.
const REASONS: [(ExitKind, &str); 7] = [
    (ExitKind::Unreg, "unregistered from user space"),
    (ExitKind::UnregBpf, "unregistered from BPF"),
    (ExitKind::UnregKern, "unregistered from the main kernel"),
    (ExitKind::SysRq, "disabled by sysrq-S"),
    (ExitKind::Error, "runtime error"),
    (ExitKind::ErrorBpf, "scx_bpf_error"),
    (ExitKind::ErrorStall, "runnable task stall"),
];

impl ExitKind {
    /// The kind numbered `raw`; `name_of` names a kind this build does not
    /// know (the kernel's BTF can).
    pub fn from_raw(raw: i32, name_of: impl FnOnce(i32) -> String) -> Self {
        KNOWN
            .iter()
            .find(|(_, number, _)| *number == raw)
            .map_or_else(
                || Self::Other {
                    raw,
                    name: name_of(raw),
                },
                |(kind, _, _)| kind.clone(),
            )
    }

    /// The kind the kernel log's reason names.
    pub fn from_reason(reason: &str) -> Self {
        REASONS
            .iter()
            .find(|(_, r)| *r == reason)
            .map_or(Self::Unknown, |(kind, _)| kind.clone())
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Other { name, .. } => name,
            Self::Unknown => "UNKNOWN",
            known => KNOWN
                .iter()
                .find(|(k, _, _)| k == known)
                .map_or("UNKNOWN", |(_, _, n)| n),
        }
    }

    /// A normal end (asked for by user space, the scheduler or the kernel's
    /// own housekeeping), as opposed to an ejection: sysrq-S, an error, a
    /// stall, or an end nobody could explain. The scx tools draw the line
    /// at the same place (`kind <= UNREG_KERN`).
    pub fn is_normal(&self) -> bool {
        matches!(
            self,
            Self::None | Self::Done | Self::Unreg | Self::UnregBpf | Self::UnregKern
        )
    }
}

impl Serialize for ExitKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Where scxtop learned why a scheduler stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitSource {
    /// The scheduler's own exit record (scx UEI), read from its map.
    Record,
    /// The kernel log's "disabled" line (objects without UEI).
    KernelLog,
    /// Nothing said anything.
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExitInfo {
    pub kind: ExitKind,
    pub from: ExitSource,
    pub code: i64,
    pub reason: String,
    pub msg: String,
    /// The name of the scheduler that exited.
    pub ops: String,
}

impl ExitInfo {
    /// What scxtop reports when a scheduler is gone and nothing says why.
    pub fn unavailable(ops: &str) -> Self {
        Self {
            kind: ExitKind::Unknown,
            from: ExitSource::None,
            code: 0,
            reason: "exit info unavailable".into(),
            msg: String::new(),
            ops: ops.to_string(),
        }
    }

    /// One line for the status bar and logs.
    pub fn summary(&self) -> String {
        format!("{} exited: {}", self.ops, self.cause())
    }

    /// Kind, reason and message, without the scheduler's name (which, for
    /// one the kernel ended before sysfs showed it, is only its file's).
    pub fn cause(&self) -> String {
        let mut s = self.kind.name().to_string();
        if !self.reason.is_empty() {
            s.push_str(&format!(" ({})", self.reason));
        }
        if !self.msg.is_empty() {
            s.push_str(&format!(": {}", self.msg));
        }
        s
    }

    /// Exits the user asked for, as opposed to ones the kernel imposed.
    pub fn requested_by_user(&self) -> bool {
        self.kind.is_normal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_number(raw: i32) -> String {
        format!("kind {raw}")
    }

    #[test]
    fn kinds_carry_the_kernels_numbers() {
        for (raw, kind, name) in [
            (64, ExitKind::Unreg, "UNREG"),
            (65, ExitKind::UnregBpf, "UNREG_BPF"),
            (66, ExitKind::UnregKern, "UNREG_KERN"),
            (67, ExitKind::SysRq, "SYSRQ"),
            (1024, ExitKind::Error, "ERROR"),
            (1025, ExitKind::ErrorBpf, "ERROR_BPF"),
            (1026, ExitKind::ErrorStall, "ERROR_STALL"),
        ] {
            assert_eq!(ExitKind::from_raw(raw, by_number), kind, "{raw}");
            assert_eq!(kind.name(), name);
        }
        let new = ExitKind::from_raw(-12345, by_number);
        assert_eq!(new.name(), "kind -12345");
        assert_eq!(serde_json::to_value(&new).unwrap(), "kind -12345");
    }

    #[test]
    fn only_unregistrations_are_normal_ends() {
        let normal: Vec<ExitKind> = KNOWN
            .iter()
            .map(|(k, _, _)| k.clone())
            .filter(ExitKind::is_normal)
            .collect();
        assert_eq!(
            normal,
            [
                ExitKind::None,
                ExitKind::Done,
                ExitKind::Unreg,
                ExitKind::UnregBpf,
                ExitKind::UnregKern
            ]
        );
        assert!(!ExitKind::Unknown.is_normal());
        assert!(!ExitKind::from_raw(2000, by_number).is_normal());
    }

    #[test]
    fn kernel_log_reasons_name_their_kinds() {
        assert_eq!(
            ExitKind::from_reason("disabled by sysrq-S"),
            ExitKind::SysRq
        );
        assert_eq!(ExitKind::from_reason("scx_bpf_error"), ExitKind::ErrorBpf);
        assert_eq!(ExitKind::from_reason("something new"), ExitKind::Unknown);
    }

    #[test]
    fn an_unreadable_record_says_so() {
        let info = ExitInfo::unavailable("prio");
        assert_eq!(
            info.summary(),
            "prio exited: UNKNOWN (exit info unavailable)"
        );
        assert!(!info.requested_by_user());
    }
}
