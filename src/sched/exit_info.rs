//! Why a scheduler stopped: the scx "user exit info" (UEI) the scheduler's
//! ops.exit records, or the kernel log line when an object has no UEI.

use scx_utils::ScxExitKind;
use serde::{Serialize, Serializer};

use super::btf::exit_kind_name;

/// Layout of `struct user_exit_info` (scx/user_exit_info_common.h).
const KIND_OFF: usize = 0;
const EXIT_CODE_OFF: usize = 8;
const REASON_OFF: usize = 16;
const REASON_LEN: usize = 128;
const MSG_OFF: usize = REASON_OFF + REASON_LEN;
const MSG_LEN: usize = 1024;
pub const UEI_SIZE: usize = MSG_OFF + MSG_LEN;

/// The kernel's `enum scx_exit_kind`, numbered as scx_utils' bindings number
/// it. JSON and the screen show the kernel's names (`ERROR_STALL`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// A kind this build does not know (a newer kernel's).
    Other(i32),
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
    pub fn from_raw(raw: i32) -> Self {
        KNOWN
            .iter()
            .find(|(_, number, _)| *number == raw)
            .map_or(Self::Other(raw), |(kind, _, _)| *kind)
    }

    /// The kind the kernel log's reason names.
    pub fn from_reason(reason: &str) -> Self {
        REASONS
            .iter()
            .find(|(_, r)| *r == reason)
            .map_or(Self::Unknown, |(kind, _)| *kind)
    }

    pub fn name(self) -> String {
        match self {
            Self::Other(raw) => exit_kind_name(raw),
            Self::Unknown => "UNKNOWN".to_string(),
            known => KNOWN
                .iter()
                .find(|(k, _, _)| *k == known)
                .map_or_else(|| "UNKNOWN".to_string(), |(_, _, n)| n.to_string()),
        }
    }

    /// A normal end (asked for by user space, the scheduler or the kernel's
    /// own housekeeping), as opposed to an ejection: sysrq-S, an error, a
    /// stall, or an end nobody could explain. The scx tools draw the line
    /// at the same place (`kind <= UNREG_KERN`).
    pub fn is_normal(self) -> bool {
        matches!(
            self,
            Self::None | Self::Done | Self::Unreg | Self::UnregBpf | Self::UnregKern
        )
    }
}

impl Serialize for ExitKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
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
        let mut s = format!("{} exited: {}", self.ops, self.kind.name());
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

/// Parses a `user_exit_info` at the start of `bytes`. `None` while the
/// scheduler has not exited (kind 0) or when the bytes are too short.
pub fn parse_uei(bytes: &[u8], ops: &str) -> Option<ExitInfo> {
    let field = |off: usize, len: usize| bytes.get(off..off + len);
    let kind = i32::from_ne_bytes(field(KIND_OFF, 4)?.try_into().ok()?);
    if kind == 0 {
        return None;
    }
    let code = i64::from_ne_bytes(field(EXIT_CODE_OFF, 8)?.try_into().ok()?);
    Some(ExitInfo {
        kind: ExitKind::from_raw(kind),
        from: ExitSource::Record,
        code,
        reason: c_string(field(REASON_OFF, REASON_LEN)?),
        msg: c_string(field(MSG_OFF, MSG_LEN)?),
        ops: ops.to_string(),
    })
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uei(kind: i32, code: i64, reason: &str, msg: &str) -> Vec<u8> {
        let mut b = vec![0u8; UEI_SIZE];
        b[..4].copy_from_slice(&kind.to_ne_bytes());
        b[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
        b[8..16].copy_from_slice(&code.to_ne_bytes());
        b[REASON_OFF..REASON_OFF + reason.len()].copy_from_slice(reason.as_bytes());
        b[MSG_OFF..MSG_OFF + msg.len()].copy_from_slice(msg.as_bytes());
        b
    }

    #[test]
    fn zero_kind_means_still_running() {
        assert_eq!(parse_uei(&uei(0, 0, "", ""), "x"), None);
    }

    #[test]
    fn fields_are_read_at_their_offsets() {
        let info = parse_uei(&uei(1026, 7, "runnable task stall", "t 42 stuck"), "prio").unwrap();
        assert_eq!(info.kind, ExitKind::ErrorStall);
        assert_eq!(info.code, 7);
        assert_eq!(info.reason, "runnable task stall");
        assert_eq!(info.msg, "t 42 stuck");
        assert_eq!(
            info.summary(),
            "prio exited: ERROR_STALL (runnable task stall): t 42 stuck"
        );
        assert_eq!(serde_json::to_value(&info).unwrap()["kind"], "ERROR_STALL");
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
            assert_eq!(ExitKind::from_raw(raw), kind, "{raw}");
            assert_eq!(kind.name(), name);
        }
        assert_eq!(ExitKind::from_raw(-12345), ExitKind::Other(-12345));
    }

    #[test]
    fn only_unregistrations_are_normal_ends() {
        let normal: Vec<ExitKind> = KNOWN
            .iter()
            .map(|(k, _, _)| *k)
            .filter(|k| k.is_normal())
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
        assert!(!ExitKind::Other(2000).is_normal());
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

    #[test]
    fn short_buffers_are_not_read() {
        assert_eq!(parse_uei(&[1, 0, 0, 0], "x"), None);
    }
}
