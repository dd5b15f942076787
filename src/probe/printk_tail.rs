//! The bpf_printk tail: every `bpf_printk` line, from a BPF program on the
//! `bpf_trace_printk` raw tracepoint (printk_tail.bpf.c) through a ring
//! buffer drained once per refresh.
//!
//! No tracefs instance: removing one at exit waits for an RCU tasks-trace
//! grace period (about 50 ms quiet, up to a second under a context-switch
//! storm), which made quitting slow. Dropping a raw tracepoint link frees it
//! after a grace period without waiting for one. Nothing is read from
//! tracefs either, so a user's own `cat trace_pipe` keeps every line.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::mem::size_of;
use std::sync::mpsc;

use libbpf_rs::{
    Link, MapCore, MapFlags, MapHandle, Object, ObjectBuilder, RingBuffer, RingBufferBuilder,
};

use crate::bpf::intf::printk_tail::{self as intf, printk_hdr};
use crate::bpf::intf::{self as layout, LayoutError};
use crate::bpf::libbpf_log;
use crate::bpf::load_error::{is_denied, why};
use crate::snapshot::LogLine;

static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/printk_tail.bpf.o"));

/// Where the lines come from, as the snapshot's `log_source` says.
pub const SOURCE: &str = "raw_tp/bpf_trace_printk";
const PROGRAM: &str = "tail_printk";
const RING_MAP: &str = "lines";
const LOST_MAP: &str = "lost";
/// Bounds one poll's work when printk floods: about a full default ring of
/// short lines. What is left waits for the next poll, or the program counts
/// it lost once the ring is full.
const MAX_POLL_RECORDS: usize = 16 << 10;

/// A step of starting the tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailStep {
    Open,
    SizeRing,
    Load,
    Attach,
    LostCount,
    MapRing,
}

impl fmt::Display for TailStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "opening its BPF object",
            Self::SizeRing => "sizing its ring buffer",
            Self::Load => "loading its BPF program",
            Self::Attach => return write!(f, "attaching {SOURCE}"),
            Self::LostCount => "opening its lost count",
            Self::MapRing => "mapping its ring buffer",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TailError {
    /// A libbpf step failed; `why` is the verifier's error line or libbpf's
    /// error.
    #[error("bpf_printk tail unavailable: {step}: {why}")]
    Bpf {
        step: TailStep,
        why: String,
        source: libbpf_rs::Error,
    },
    /// The kernel refused a step for lack of privilege; `why` says to use
    /// sudo.
    #[error("bpf_printk tail unavailable: {step}: {why}")]
    Denied {
        step: TailStep,
        why: String,
        source: libbpf_rs::Error,
    },
    #[error(
        "bpf_printk tail unavailable: its BPF object has no map or program {0}: rebuild scxtop"
    )]
    Missing(&'static str),
    #[error("draining the ring buffer: {0}")]
    Drain(#[source] io::Error),
    #[error("reading the lost count: {}", why(.0))]
    ReadLost(#[source] libbpf_rs::Error),
    /// A record is shorter than its header: the object and this binary
    /// disagree.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

impl TailError {
    /// Whether the tail is missing for lack of privilege.
    pub fn needs_privilege(&self) -> bool {
        matches!(self, Self::Denied { .. })
    }
}

fn step_err(step: TailStep, source: libbpf_rs::Error) -> TailError {
    let why = why(&source);
    if is_denied(&source) {
        TailError::Denied { step, why, source }
    } else {
        TailError::Bpf { step, why, source }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct TailOptions {
    /// How many recent lines to keep.
    pub capacity: usize,
    /// The kernel-side ring buffer, in bytes: rounded up to a power of two
    /// of at least a page. Lines printed while it is full are lost.
    pub ring_bytes: u32,
}

impl Default for TailOptions {
    fn default() -> Self {
        Self {
            capacity: 1000,
            ring_bytes: intf::PRINTK_RING_BYTES,
        }
    }
}

/// What the ring callback hands to `poll`.
type Record = Result<LogLine, LayoutError>;

/// The attached tail. Dropping it detaches the program, unmaps the ring and
/// closes the object's descriptors (fields drop in declaration order); the
/// kernel frees the program and maps after a grace period, without making
/// us wait for it.
pub struct PrintkTail {
    /// Held, not used: the program runs while the link exists.
    _link: Link,
    ring: RingBuffer<'static>,
    records: mpsc::Receiver<Record>,
    lost_map: MapHandle,
    /// Held, not used: owns the program's and maps' descriptors.
    _obj: Object,
    lines: Lines,
    lost: u64,
}

impl PrintkTail {
    pub fn open(opts: TailOptions) -> Result<Self, TailError> {
        libbpf_log::clear();
        let mut open = ObjectBuilder::default()
            .open_memory(OBJECT)
            .map_err(|e| step_err(TailStep::Open, e))?;
        let mut ring_map = open
            .maps_mut()
            .find(|m| m.name() == OsStr::new(RING_MAP))
            .ok_or(TailError::Missing(RING_MAP))?;
        ring_map
            .set_max_entries(ring_size(opts.ring_bytes))
            .map_err(|e| step_err(TailStep::SizeRing, e))?;
        let obj = open.load().map_err(|e| step_err(TailStep::Load, e))?;
        let link = obj
            .progs_mut()
            .find(|p| p.name() == OsStr::new(PROGRAM))
            .ok_or(TailError::Missing(PROGRAM))?
            .attach()
            .map_err(|e| step_err(TailStep::Attach, e))?;
        let map = |name: &'static str| {
            obj.maps()
                .find(|m| m.name() == OsStr::new(name))
                .ok_or(TailError::Missing(name))
        };
        let lost_map =
            MapHandle::try_from(&map(LOST_MAP)?).map_err(|e| step_err(TailStep::LostCount, e))?;
        let (tx, records) = mpsc::channel();
        let ring = {
            let ring_map = map(RING_MAP)?;
            let mut builder = RingBufferBuilder::new();
            builder
                .add(&ring_map, move |bytes: &[u8]| {
                    // The receiver lives beside the ring, so a send cannot
                    // fail while this runs.
                    let _ = tx.send(decode(bytes));
                    0
                })
                .map_err(|e| step_err(TailStep::MapRing, e))?;
            builder
                .build()
                .map_err(|e| step_err(TailStep::MapRing, e))?
        };
        Ok(Self {
            _link: link,
            ring,
            records,
            lost_map,
            _obj: obj,
            lines: Lines::new(opts.capacity),
            lost: 0,
        })
    }

    /// Takes what the ring holds (at most MAX_POLL_RECORDS records) into the
    /// kept lines; returns how many arrived. The ring is shared memory: with
    /// nothing new this makes one syscall, for the lost count.
    pub fn poll(&mut self) -> Result<usize, TailError> {
        let consumed = self.ring.consume_raw_n(MAX_POLL_RECORDS);
        if consumed < 0 {
            return Err(TailError::Drain(io::Error::from_raw_os_error(-consumed)));
        }
        let mut added = 0;
        let mut bad = None;
        for record in self.records.try_iter() {
            match record {
                Ok(line) => {
                    self.lines.push(line);
                    added += 1;
                }
                Err(e) => bad = bad.or(Some(e)),
            }
        }
        self.lost = self.read_lost()?;
        match bad {
            Some(e) => Err(e.into()),
            None => Ok(added),
        }
    }

    /// The most recent lines, oldest first.
    pub fn lines(&self) -> &VecDeque<LogLine> {
        &self.lines.ring
    }

    /// Lines added since the last call (those still kept), oldest first.
    pub fn drain_new(&mut self) -> Vec<LogLine> {
        self.lines.drain_new()
    }

    /// Lines printed while the ring was full, since open, as of the last
    /// poll. Lines that merely left the kept ones are not counted.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    pub fn source(&self) -> &'static str {
        SOURCE
    }

    fn read_lost(&self) -> Result<u64, TailError> {
        let per_cpu = self
            .lost_map
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(TailError::ReadLost)?
            .unwrap_or_default();
        Ok(per_cpu
            .iter()
            .filter_map(|v| v.get(..8)?.try_into().ok().map(u64::from_ne_bytes))
            .sum())
    }
}

/// The kernel wants a power of two of whole pages.
fn ring_size(bytes: u32) -> u32 {
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE always exists.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = u32::try_from(page).unwrap_or(4096);
    bytes
        .max(page)
        .checked_next_power_of_two()
        .unwrap_or(1 << 31)
}

/// One ring record: a `printk_hdr`, then the message and its NUL.
fn decode(bytes: &[u8]) -> Record {
    let split = size_of::<printk_hdr>().min(bytes.len());
    let (head, rest) = bytes.split_at(split);
    let h = layout::read::<printk_hdr>("a bpf_printk record header", head)?;
    let msg = &rest[..(h.len as usize).min(rest.len())];
    let msg = msg.split(|&b| b == 0).next().unwrap_or_default();
    let comm: Vec<u8> = h
        .comm
        .iter()
        .map(|&c| c as u8)
        .take_while(|&c| c != 0)
        .collect();
    Ok(LogLine {
        ts: h.ts_ns as f64 / 1e9,
        pid: h.pid,
        cpu: h.cpu,
        comm: String::from_utf8_lossy(&comm).into_owned(),
        msg: String::from_utf8_lossy(msg).into_owned(),
    })
}

/// The newest lines, bounded.
struct Lines {
    ring: VecDeque<LogLine>,
    capacity: usize,
    /// Lines added since the last `drain_new`, at most the ring's length.
    unseen: usize,
}

impl Lines {
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            ring: VecDeque::with_capacity(capacity),
            capacity,
            unseen: 0,
        }
    }

    fn push(&mut self, line: LogLine) {
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(line);
        self.unseen = (self.unseen + 1).min(self.ring.len());
    }

    fn drain_new(&mut self) -> Vec<LogLine> {
        let skip = self.ring.len() - self.unseen;
        self.unseen = 0;
        self.ring.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: i32, cpu: u32, comm: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut h = printk_hdr {
            ts_ns: 1_500_000_000,
            pid,
            tgid: pid,
            cpu,
            len: msg.len() as u32,
            comm: [0; 16],
        };
        for (d, s) in h.comm.iter_mut().zip(comm) {
            *d = *s as _;
        }
        let mut bytes = layout::to_bytes(&h);
        bytes.extend_from_slice(msg);
        bytes.push(0);
        bytes
    }

    #[test]
    fn decodes_a_record() {
        let l = decode(&record(1234, 1, b"worker", b"my message")).unwrap();
        assert_eq!(
            l,
            LogLine {
                ts: 1.5,
                pid: 1234,
                cpu: 1,
                comm: "worker".into(),
                msg: "my message".into()
            }
        );
    }

    #[test]
    fn the_message_is_kept_whole_and_ends_at_its_length() {
        let msg = "a: b: [004] c-9 [LOST 3 EVENTS]  trailing ";
        assert_eq!(
            decode(&record(1, 0, b"c", msg.as_bytes())).unwrap().msg,
            msg
        );
        assert_eq!(decode(&record(1, 0, b"c", b"")).unwrap().msg, "");
        // A 16-byte comm has no NUL of its own.
        let full = b"0123456789abcdef";
        assert_eq!(
            decode(&record(1, 0, full, b"m")).unwrap().comm,
            "0123456789abcdef"
        );
        // A length past the record is cut at the record's end.
        let mut bytes = record(1, 0, b"c", b"xy");
        bytes.pop();
        bytes[std::mem::offset_of!(printk_hdr, len)] = 200;
        assert_eq!(decode(&bytes).unwrap().msg, "xy");
    }

    #[test]
    fn non_utf8_is_replaced() {
        let l = decode(&record(3, 0, b"c\xff", b"a\xfe\xc3b")).unwrap();
        assert_eq!(
            (l.comm.as_str(), l.msg.as_str()),
            ("c\u{fffd}", "a\u{fffd}\u{fffd}b")
        );
    }

    #[test]
    fn a_record_shorter_than_its_header_is_a_layout_error() {
        let bytes = record(1, 0, b"c", b"m");
        let err = decode(&bytes[..10]).unwrap_err().to_string();
        assert!(err.contains("rebuild scxtop"), "{err}");
    }

    #[test]
    fn ring_sizes_are_whole_pages_in_powers_of_two() {
        assert_eq!(ring_size(intf::PRINTK_RING_BYTES), 1 << 20);
        assert_eq!(ring_size(1), 4096);
        assert_eq!(ring_size(5000), 8192);
        assert_eq!(ring_size(u32::MAX), 1 << 31);
    }

    #[test]
    fn kept_lines_are_bounded_and_drain_returns_only_new_ones() {
        let mut t = Lines::new(3);
        let line = |i: u32| decode(&record(1, 0, b"c", i.to_string().as_bytes())).unwrap();
        for i in 0..2 {
            t.push(line(i));
        }
        let msgs = |v: &[LogLine]| v.iter().map(|l| l.msg.clone()).collect::<Vec<_>>();
        assert_eq!(msgs(&t.drain_new()), ["0", "1"]);
        assert!(t.drain_new().is_empty());
        for i in 2..7 {
            t.push(line(i));
        }
        assert_eq!(msgs(t.ring.make_contiguous()), ["4", "5", "6"]);
        assert_eq!(msgs(&t.drain_new()), ["4", "5", "6"]);
    }

    #[test]
    fn json_keys_are_fixed() {
        let l = decode(&record(1, 2, b"c", b"m")).unwrap();
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
    fn errors_are_one_line() {
        let e = TailError::Missing(RING_MAP);
        assert!(!e.to_string().contains('\n'));
        assert!(!e.needs_privilege());
        assert_eq!(
            TailStep::Attach.to_string(),
            "attaching raw_tp/bpf_trace_printk"
        );
    }
}
