//! Why a scheduler stopped: the scx "user exit info" (UEI) the scheduler's
//! ops.exit records, or the kernel log line when an object has no UEI.

use serde::Serialize;

use super::btf::exit_kind_name;

/// Layout of `struct user_exit_info` (scx/user_exit_info_common.h).
const KIND_OFF: usize = 0;
const EXIT_CODE_OFF: usize = 8;
const REASON_OFF: usize = 16;
const REASON_LEN: usize = 128;
const MSG_OFF: usize = REASON_OFF + REASON_LEN;
const MSG_LEN: usize = 1024;
pub const UEI_SIZE: usize = MSG_OFF + MSG_LEN;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExitInfo {
    /// `UNREG`, `ERROR_STALL`, `SYSRQ`, ... (the kernel's `SCX_EXIT_*` name).
    pub kind: String,
    pub code: i64,
    pub reason: String,
    pub msg: String,
    /// The name of the scheduler that exited.
    pub ops: String,
}

impl ExitInfo {
    /// One line for the status bar and logs.
    pub fn summary(&self) -> String {
        let mut s = format!("{} exited: {}", self.ops, self.kind);
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
        self.kind == "UNREG" || self.kind == "NONE" || self.kind == "DONE"
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
        kind: exit_kind_name(kind),
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
        assert_eq!(info.code, 7);
        assert_eq!(info.reason, "runnable task stall");
        assert_eq!(info.msg, "t 42 stuck");
        assert!(
            info.summary().starts_with("prio exited: "),
            "{}",
            info.summary()
        );
        assert!(
            info.summary()
                .ends_with("(runnable task stall): t 42 stuck")
        );
    }

    #[test]
    fn short_buffers_are_not_read() {
        assert_eq!(parse_uei(&[1, 0, 0, 0], "x"), None);
    }
}
