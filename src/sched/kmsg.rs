//! The kernel log's sched_ext lines. The kernel names every scheduler it
//! enables or disables and why, UEI or not, so this is how we explain the
//! exit of a user's scheduler that records no exit info.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

pub struct KmsgTail {
    file: Option<File>,
}

impl KmsgTail {
    /// Starts at the end of the log; without access to /dev/kmsg it stays
    /// silent (the UEI still explains our own scheduler's exits).
    pub fn open() -> Self {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .and_then(|mut f| f.seek(SeekFrom::End(0)).map(|_| f))
            .ok();
        Self { file }
    }

    /// New sched_ext messages since the last call, oldest first.
    pub fn read_new(&mut self) -> Vec<String> {
        let Some(file) = self.file.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // /dev/kmsg returns one record per read.
        let mut buf = vec![0u8; 8192];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(msg) = sched_ext_message(&String::from_utf8_lossy(&buf[..n])) {
                        out.push(msg);
                    }
                }
                // EPIPE: records were overwritten before we read them; go on.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        out
    }
}

/// The message of a `/dev/kmsg` record (`pri,seq,ts,flags;message`) when it
/// is about sched_ext.
pub fn sched_ext_message(record: &str) -> Option<String> {
    let (_, msg) = record.split_once(';')?;
    let msg = msg.lines().next()?.trim();
    msg.starts_with("sched_ext:").then(|| msg.to_string())
}

/// The reason in `sched_ext: BPF scheduler "NAME" disabled (REASON)`.
pub fn disabled_reason(msg: &str) -> Option<(String, String)> {
    let rest = msg.strip_prefix("sched_ext: BPF scheduler \"")?;
    let (name, rest) = rest.split_once('"')?;
    let rest = rest.trim().strip_prefix("disabled")?.trim();
    let reason = rest.strip_prefix('(')?.strip_suffix(')')?;
    Some((name.to_string(), reason.to_string()))
}

/// NAME in `sched_ext: BPF scheduler "NAME" enabled`.
pub fn enabled_name(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("sched_ext: BPF scheduler \"")?;
    let (name, rest) = rest.split_once('"')?;
    rest.trim().starts_with("enabled").then_some(name)
}

/// The message in `sched_ext: NAME: MESSAGE`, which the kernel prints after
/// the "disabled" line of an error exit.
pub fn exit_message<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.strip_prefix("sched_ext: ")?
        .strip_prefix(name)?
        .strip_prefix(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_sched_ext_records_only() {
        assert_eq!(
            sched_ext_message("6,1234,5678,-;sched_ext: BPF scheduler \"x\" enabled\n"),
            Some("sched_ext: BPF scheduler \"x\" enabled".to_string())
        );
        assert_eq!(sched_ext_message("6,1,2,-;usb 1-1: new device\n"), None);
    }

    #[test]
    fn reads_the_disable_reason() {
        let (name, reason) =
            disabled_reason("sched_ext: BPF scheduler \"stall\" disabled (runnable task stall)")
                .unwrap();
        assert_eq!(name, "stall");
        assert_eq!(reason, "runnable task stall");
        assert_eq!(
            disabled_reason("sched_ext: BPF scheduler \"x\" enabled"),
            None
        );
    }

    #[test]
    fn reads_the_enabled_name() {
        assert_eq!(
            enabled_name("sched_ext: BPF scheduler \"x\" enabled"),
            Some("x")
        );
        assert_eq!(
            enabled_name("sched_ext: BPF scheduler \"x\" disabled (runtime error)"),
            None
        );
    }

    #[test]
    fn reads_the_error_message_of_one_scheduler() {
        assert_eq!(
            exit_message("sched_ext: stall: t[7] failed to run", "stall"),
            Some("t[7] failed to run")
        );
        assert_eq!(exit_message("sched_ext: other: boom", "stall"), None);
        assert_eq!(
            exit_message("sched_ext: BPF scheduler \"stall\" enabled", "stall"),
            None
        );
    }
}
