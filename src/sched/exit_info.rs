//! Reads the scx "user exit info" (UEI) a scheduler's ops.exit records.

use std::ffi::c_char;
use std::mem::size_of;

use super::btf::exit_kind_name;
use crate::bpf::intf::read;
use crate::bpf::intf::uei::user_exit_info;
use crate::snapshot::{ExitInfo, ExitKind, ExitSource};

/// Size of `struct user_exit_info` in the scx headers scx_cargo ships.
pub const UEI_SIZE: usize = size_of::<user_exit_info>();

/// Parses a `user_exit_info` from exactly its bytes. `None` while the
/// scheduler has not exited (kind 0) or when the size is not the struct's.
pub fn parse_uei(bytes: &[u8], ops: &str) -> Option<ExitInfo> {
    let uei = read::<user_exit_info>("the exit info", bytes).ok()?;
    if uei.kind == 0 {
        return None;
    }
    Some(ExitInfo {
        kind: ExitKind::from_raw(uei.kind, exit_kind_name),
        from: ExitSource::Record,
        code: uei.exit_code,
        reason: c_string(&uei.reason),
        msg: c_string(&uei.msg),
        ops: ops.to_string(),
    })
}

fn c_string(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::intf::to_bytes;

    fn text<const N: usize>(s: &str) -> [c_char; N] {
        let mut out = [0; N];
        for (slot, b) in out.iter_mut().zip(s.bytes()) {
            *slot = b as c_char;
        }
        out
    }

    fn uei(kind: i32, code: i64, reason: &str, msg: &str) -> Vec<u8> {
        to_bytes(&user_exit_info {
            kind,
            exit_cpu: -1,
            exit_code: code,
            reason: text(reason),
            msg: text(msg),
        })
    }

    #[test]
    fn zero_kind_means_still_running() {
        assert_eq!(parse_uei(&uei(0, 0, "", ""), "x"), None);
    }

    #[test]
    fn fields_are_read_by_name() {
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
