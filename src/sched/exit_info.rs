//! Reads the scx "user exit info" (UEI) a scheduler's ops.exit records.

use super::btf::exit_kind_name;
use crate::snapshot::{ExitInfo, ExitKind, ExitSource};

/// Layout of `struct user_exit_info` (scx/user_exit_info_common.h).
const KIND_OFF: usize = 0;
const EXIT_CODE_OFF: usize = 8;
const REASON_OFF: usize = 16;
const REASON_LEN: usize = 128;
const MSG_OFF: usize = REASON_OFF + REASON_LEN;
const MSG_LEN: usize = 1024;
pub const UEI_SIZE: usize = MSG_OFF + MSG_LEN;

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
        kind: ExitKind::from_raw(kind, exit_kind_name),
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
    fn short_buffers_are_not_read() {
        assert_eq!(parse_uei(&[1, 0, 0, 0], "x"), None);
    }
}
