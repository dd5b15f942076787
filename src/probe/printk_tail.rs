//! The bpf_printk tail, read from a private tracefs instance.
//!
//! `bpf_printk` writes the `bpf_trace/bpf_trace_printk` event. We read our
//! own instance's copy (see `tracefs`), so a user's `cat trace_pipe` keeps
//! all its lines; the global pipe is used only when the caller allows it.

use std::collections::VecDeque;
use std::io;

use super::tracefs::{PipeSource, TracePipe, TracefsError};
use crate::snapshot::LogLine;

const EVENT: &str = "bpf_trace/bpf_trace_printk";
/// Bounds one poll's work when printk floods: the kernel keeps the rest, or
/// drops it and says so in a LOST line.
const MAX_POLL_BYTES: usize = 1 << 20;
const READ_CHUNK: usize = 64 << 10;
/// trace_pipe lines are far shorter; a longer fragment is not a line.
const MAX_PARTIAL: usize = 64 << 10;
/// The `[cpu]` field follows a comm of at most 15 characters, padding and the
/// pid; looking further would only scan messages.
const CPU_FIELD_WITHIN: usize = 96;

#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("bpf_printk tail unavailable: {0}{hint}", hint = fallback_hint(.0))]
    Unavailable(TracefsError),
    #[error(
        "bpf_printk tail unavailable: {instance}; the global trace_pipe fallback failed too: {global}"
    )]
    FallbackFailed {
        instance: TracefsError,
        global: TracefsError,
    },
    #[error("reading the bpf_printk tail from {from}: {err}")]
    Read { from: PipeSource, err: io::Error },
}

impl TailError {
    /// Whether the tail is missing for lack of privilege (the fallback is
    /// not tried then, and would need root too).
    pub fn needs_privilege(&self) -> bool {
        match self {
            Self::Unavailable(e) | Self::FallbackFailed { global: e, .. } => e.needs_privilege(),
            Self::Read { .. } => false,
        }
    }
}

fn fallback_hint(e: &TracefsError) -> &'static str {
    if e.global_may_help() {
        " (or allow the global trace_pipe fallback, which takes lines from other trace_pipe readers)"
    } else {
        ""
    }
}

#[derive(Clone, Copy, Debug)]
pub struct TailOptions {
    /// Read the global trace_pipe when no private instance can be made.
    pub global_fallback: bool,
    /// How many recent lines to keep.
    pub capacity: usize,
}

impl Default for TailOptions {
    fn default() -> Self {
        Self {
            global_fallback: false,
            capacity: 1000,
        }
    }
}

#[derive(Debug, PartialEq)]
pub enum TraceLine {
    Printk(LogLine),
    /// `CPU:N [LOST N EVENTS]`: the kernel overwrote events we had not read.
    Lost(u64),
}

pub struct PrintkTail {
    pipe: TracePipe,
    buf: Vec<u8>,
    lines: Lines,
}

impl PrintkTail {
    pub fn open(opts: TailOptions) -> Result<Self, TailError> {
        let pipe = match TracePipe::instance(EVENT) {
            Ok(pipe) => pipe,
            Err(e) if opts.global_fallback && e.global_may_help() => {
                TracePipe::global().map_err(|global| TailError::FallbackFailed {
                    instance: e,
                    global,
                })?
            }
            Err(e) => return Err(TailError::Unavailable(e)),
        };
        Ok(Self {
            pipe,
            buf: vec![0; READ_CHUNK],
            lines: Lines::new(opts.capacity),
        })
    }

    /// Reads what the kernel has (without blocking) into the ring; returns
    /// how many lines arrived. With nothing new it costs one read syscall.
    pub fn poll(&mut self) -> Result<usize, TailError> {
        let mut added = 0;
        let mut total = 0;
        while total < MAX_POLL_BYTES {
            let n = match self.pipe.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(TailError::Read {
                        from: self.pipe.source().clone(),
                        err,
                    });
                }
            };
            total += n;
            added += self.lines.feed(&self.buf[..n]);
        }
        Ok(added)
    }

    /// The most recent lines, oldest first.
    pub fn lines(&self) -> &VecDeque<LogLine> {
        &self.lines.ring
    }

    /// Lines added since the last call (those still in the ring), oldest first.
    pub fn drain_new(&mut self) -> Vec<LogLine> {
        self.lines.drain_new()
    }

    /// Events the kernel dropped before we read them (LOST lines), since open.
    /// Lines that merely left our ring are not counted.
    pub fn lost(&self) -> u64 {
        self.lines.lost
    }

    pub fn source(&self) -> &PipeSource {
        self.pipe.source()
    }

    pub fn is_global(&self) -> bool {
        matches!(self.source(), PipeSource::Global(_))
    }
}

/// The pipe's bytes turned into a bounded ring of lines.
struct Lines {
    /// The start of a line whose end has not been read yet.
    partial: Vec<u8>,
    ring: VecDeque<LogLine>,
    capacity: usize,
    /// Lines added since the last `drain_new`, at most the ring's length.
    unseen: usize,
    lost: u64,
}

impl Lines {
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            partial: Vec::new(),
            ring: VecDeque::with_capacity(capacity),
            capacity,
            unseen: 0,
            lost: 0,
        }
    }

    /// Takes one read's bytes; returns how many printk lines they completed.
    fn feed(&mut self, mut bytes: &[u8]) -> usize {
        let mut added = 0;
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            // Joined as bytes, so a character split across reads survives.
            let line = if self.partial.is_empty() {
                String::from_utf8_lossy(&bytes[..end]).into_owned()
            } else {
                self.partial.extend_from_slice(&bytes[..end]);
                let line = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                line
            };
            bytes = &bytes[end + 1..];
            match parse_trace_line(&line) {
                Some(TraceLine::Printk(l)) => {
                    push_bounded(&mut self.ring, self.capacity, l);
                    self.unseen = (self.unseen + 1).min(self.ring.len());
                    added += 1;
                }
                Some(TraceLine::Lost(n)) => self.lost += n,
                None => {}
            }
        }
        self.partial.extend_from_slice(bytes);
        if self.partial.len() > MAX_PARTIAL {
            self.partial.clear();
        }
        added
    }

    fn drain_new(&mut self) -> Vec<LogLine> {
        let skip = self.ring.len() - self.unseen;
        self.unseen = 0;
        self.ring.iter().skip(skip).cloned().collect()
    }
}

fn push_bounded(ring: &mut VecDeque<LogLine>, capacity: usize, line: LogLine) {
    if ring.len() == capacity {
        ring.pop_front();
    }
    ring.push_back(line);
}

/// Parses one trace_pipe line; `None` for other events and garbage.
pub fn parse_trace_line(line: &str) -> Option<TraceLine> {
    // A printk first: its message may itself read "[LOST 1 EVENTS]".
    parse_printk(line)
        .map(TraceLine::Printk)
        .or_else(|| parse_lost(line).map(TraceLine::Lost))
}

/// `CPU:3 [LOST 12 EVENTS]` (the `CPU:N` part optional).
fn parse_lost(line: &str) -> Option<u64> {
    let line = line.trim();
    let rest = match line.strip_prefix("CPU:") {
        Some(rest) => {
            let (cpu, rest) = rest.split_once(' ')?;
            cpu.parse::<u32>().ok()?;
            rest
        }
        None => line,
    };
    rest.strip_prefix("[LOST ")?
        .strip_suffix(" EVENTS]")?
        .parse()
        .ok()
}

/// `<comm>-<pid> [(<tgid>)] [<cpu>] [<flags>] <ts>: bpf_trace_printk: <msg>`.
/// The comm may hold spaces, dashes and brackets, so each `[` near the start
/// is tried as the cpu field until the rest of the line fits.
fn parse_printk(line: &str) -> Option<LogLine> {
    line.match_indices('[')
        .take_while(|(i, _)| *i < CPU_FIELD_WITHIN)
        .find_map(|(i, _)| parse_at(line, i))
}

fn parse_at(line: &str, open: usize) -> Option<LogLine> {
    let head = strip_tgid(line[..open].trim_end());
    let (comm, pid) = head.rsplit_once('-')?;
    let pid = pid.parse().ok()?;
    let (cpu, rest) = line[open + 1..].split_once(']')?;
    let cpu = cpu.parse().ok()?;
    let (ts, rest) = timestamp(rest)?;
    let msg = rest.trim_start().strip_prefix("bpf_trace_printk:")?;
    Some(LogLine {
        ts,
        pid,
        cpu,
        // Right-aligned in the line: leading blanks are padding.
        comm: comm.trim_start().to_string(),
        msg: msg.strip_prefix(' ').unwrap_or(msg).to_string(),
    })
}

/// `(   1234)` or `(-------)` after the pid when the record-tgid option is on.
fn strip_tgid(head: &str) -> &str {
    let Some(inner) = head.strip_suffix(')') else {
        return head;
    };
    match inner.rsplit_once('(') {
        Some((before, tgid)) if tgid.trim().bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            before.trim_end()
        }
        _ => head,
    }
}

/// The timestamp after the cpu field, past the flags field when there is one
/// (`d..31`, `...1.`; absent without the irq-info option).
fn timestamp(rest: &str) -> Option<(f64, &str)> {
    let (first, after) = next_token(rest)?;
    if let Some(ts) = parse_ts(first) {
        return Some((ts, after));
    }
    let (second, after) = next_token(after)?;
    parse_ts(second).map(|ts| (ts, after))
}

fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace)?;
    Some((&s[..end], &s[end..]))
}

/// `123.456789:` (or an integer, for counter trace clocks).
fn parse_ts(token: &str) -> Option<f64> {
    let ts = token.strip_suffix(':')?;
    let plain = !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    plain.then(|| ts.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printk(line: &str) -> LogLine {
        match parse_trace_line(line) {
            Some(TraceLine::Printk(l)) => l,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn parses_a_typical_line() {
        let l = printk(
            "           <...>-1234    [001] d..31   123.456789: bpf_trace_printk: my message",
        );
        assert_eq!(
            l,
            LogLine {
                ts: 123.456789,
                pid: 1234,
                cpu: 1,
                comm: "<...>".into(),
                msg: "my message".into()
            }
        );
    }

    #[test]
    fn comm_may_hold_spaces_dashes_and_brackets() {
        let l = printk("  my-app worker-3-77 [000] ....1  5.000001: bpf_trace_printk: x");
        assert_eq!((l.comm.as_str(), l.pid, l.cpu), ("my-app worker-3", 77, 0));
        let l = printk("a [1] b-5 [002] d.h1. 9.5: bpf_trace_printk: y");
        assert_eq!(
            (l.comm.as_str(), l.pid, l.cpu, l.ts),
            ("a [1] b", 5, 2, 9.5)
        );
        let l = printk("x-1 [2] y-6 [003] ..... 1.0: bpf_trace_printk: z");
        assert_eq!((l.comm.as_str(), l.pid, l.cpu), ("x-1 [2] y", 6, 3));
        let l = printk("          <idle>-0       [000] d.s3.   1.0: bpf_trace_printk: idle");
        assert_eq!((l.comm.as_str(), l.pid), ("<idle>", 0));
    }

    #[test]
    fn flags_may_vary_or_be_missing() {
        assert_eq!(printk("c-1 [000] 2.5: bpf_trace_printk: m").ts, 2.5);
        assert_eq!(printk("c-1 [000] dNh2 2.5: bpf_trace_printk: m").ts, 2.5);
        assert_eq!(printk("c-1 [000] dNhs2.. 2.5: bpf_trace_printk: m").ts, 2.5);
        // Counter clocks print integers.
        assert_eq!(
            printk("c-1 [000] .... 123456: bpf_trace_printk: m").ts,
            123456.0
        );
    }

    #[test]
    fn record_tgid_column_is_skipped() {
        let l = printk("   bash-1977    (   1977) [003] ..... 98.7: bpf_trace_printk: t");
        assert_eq!((l.comm.as_str(), l.pid, l.cpu), ("bash", 1977, 3));
        let l = printk("   kworker/0:1-12 (-------) [000] ..... 1.0: bpf_trace_printk: t");
        assert_eq!((l.comm.as_str(), l.pid), ("kworker/0:1", 12));
    }

    #[test]
    fn message_is_kept_whole() {
        let msg = "a: b: [004] c-9 [LOST 3 EVENTS]  trailing ";
        let l = printk(&format!("c-1 [000] ..... 1.0: bpf_trace_printk: {msg}"));
        assert_eq!(l.msg, msg);
        assert_eq!(printk("c-1 [000] ..... 1.0: bpf_trace_printk: ").msg, "");
    }

    #[test]
    fn lost_lines_count() {
        assert_eq!(
            parse_trace_line("CPU:1 [LOST 42 EVENTS]"),
            Some(TraceLine::Lost(42))
        );
        assert_eq!(
            parse_trace_line("[LOST 7 EVENTS]"),
            Some(TraceLine::Lost(7))
        );
        assert_eq!(parse_trace_line("CPU:x [LOST 7 EVENTS]"), None);
        assert_eq!(parse_trace_line("CPU:1 [LOST many EVENTS]"), None);
    }

    #[test]
    fn skips_other_events_and_garbage() {
        for line in [
            "",
            " ",
            "-",
            "[",
            "]",
            "[]",
            "-[0]",
            "c-1 [000]",
            "c-1 [000] ..... ",
            "c-1 [000] ..... 1.0:",
            "c-1 [000] ..... 1.0: sched_switch: prev_comm=a",
            "c-1 [000] ..... 1.0: bpf_trace_printk",
            "c-x [000] ..... 1.0: bpf_trace_printk: m",
            "c-1 [-1] ..... 1.0: bpf_trace_printk: m",
            "c-1 [000] a b 1.0: bpf_trace_printk: m",
            "c-99999999999 [000] ..... 1.0: bpf_trace_printk: m",
            "c-1 [000] ..... 1.0.: bpf_trace_printk: m",
            "c-1 [000] ..... .: bpf_trace_printk: m",
            "\u{fffd}\u{fffd}-[[[[]]]]",
            "é-1 [é] é é: bpf_trace_printk: é",
        ] {
            assert_eq!(parse_trace_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn splits_reads_into_lines_and_keeps_fragments() {
        let mut t = Lines::new(10);
        assert_eq!(
            t.feed(b"c-1 [000] ..... 1.0: bpf_trace_printk: one\nc-2 [00"),
            1
        );
        assert_eq!(t.feed(b"1] ..... 2.0: bpf_trace_printk: tw"), 0);
        assert_eq!(t.feed(b"o\n\ngarbage\nCPU:0 [LOST 5 EVENTS]\n"), 1);
        let msgs: Vec<_> = t
            .ring
            .iter()
            .map(|l| (l.pid, l.cpu, l.msg.as_str()))
            .collect();
        assert_eq!(msgs, [(1, 0, "one"), (2, 1, "two")]);
        assert_eq!(t.lost, 5);
    }

    #[test]
    fn non_utf8_is_replaced() {
        let mut t = Lines::new(10);
        t.feed(b"c\xff-3 [000] ..... 1.0: bpf_trace_printk: a\xfe\xc3b\n");
        let l = &t.ring[0];
        assert_eq!(
            (l.comm.as_str(), l.msg.as_str()),
            ("c\u{fffd}", "a\u{fffd}\u{fffd}b")
        );
        // A multi-byte character split across reads survives.
        t.feed(b"c-3 [000] ..... 1.0: bpf_trace_printk: \xc3");
        t.feed(b"\xa9\n");
        assert_eq!(t.ring[1].msg, "é");
    }

    #[test]
    fn ring_is_bounded_and_drain_returns_only_new_lines() {
        let mut t = Lines::new(3);
        let line = |i: u32| format!("c-1 [000] ..... 1.0: bpf_trace_printk: {i}\n");
        for i in 0..2 {
            t.feed(line(i).as_bytes());
        }
        let msgs = |v: &[LogLine]| v.iter().map(|l| l.msg.clone()).collect::<Vec<_>>();
        assert_eq!(msgs(&t.drain_new()), ["0", "1"]);
        assert!(t.drain_new().is_empty());
        for i in 2..7 {
            t.feed(line(i).as_bytes());
        }
        assert_eq!(msgs(t.ring.make_contiguous()), ["4", "5", "6"]);
        assert_eq!(msgs(&t.drain_new()), ["4", "5", "6"]);
        assert_eq!(t.lost, 0, "lines leaving the ring are not lost");
    }

    #[test]
    fn json_keys_are_fixed() {
        let l = printk("c-1 [002] ..... 1.5: bpf_trace_printk: m");
        let v = serde_json::to_value(&l).ok();
        let keys: Option<Vec<String>> = v
            .as_ref()
            .and_then(|v| v.as_object())
            .map(|o| o.keys().cloned().collect());
        let mut keys = keys.unwrap_or_default();
        keys.sort();
        assert_eq!(keys, ["comm", "cpu", "msg", "pid", "ts"]);
    }

    #[test]
    fn errors_are_one_line_and_offer_the_fallback_when_it_helps() {
        let instance = TailError::Unavailable(TracefsError::Instance {
            path: "/sys/kernel/tracing/instances/scxtop-1".into(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
            hint: "this kernel may lack tracefs instances",
        });
        let msg = instance.to_string();
        assert!(msg.contains("global trace_pipe fallback"), "{msg}");
        assert!(!msg.contains('\n'));
        let mount = TailError::Unavailable(TracefsError::Mount {
            source: io::Error::from_raw_os_error(libc::EPERM),
            hint: "run scxtop as root",
        });
        assert!(!mount.to_string().contains("fallback"));
        let denied = TailError::Unavailable(TracefsError::Instance {
            path: "/sys/kernel/tracing/instances/scxtop-1".into(),
            source: io::Error::from_raw_os_error(libc::EACCES),
            hint: "run scxtop as root",
        });
        assert!(
            !denied.to_string().contains("fallback"),
            "the global pipe needs root too"
        );
    }
}
