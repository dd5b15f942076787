//! The bpf_printk tail against the real kernel (root only): lines printed by a
//! test BPF program arrive whole and in order with their thread, comm, CPU
//! and time; a global trace_pipe reader still sees them all; no tracefs
//! instance is made; a full ring counts what it could not hold; and the
//! tail leaves no BPF link or program behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use common::bpf_objects::{BpfFd, RINGBUF, bpf_fds, link_exists, printk_links, prog_exists};
use common::*;
use scxtop::probe::printk_tail::{PrintkTail, SOURCE, TailOptions};
use scxtop::snapshot::LogLine;

/// The tests compare this process' BPF descriptors before and after, so one
/// at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tracefs mount of our own, for the global trace_pipe and the instance
/// list, whatever is mounted at /sys/kernel/tracing.
struct View {
    dir: tempfile::TempDir,
}

impl View {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let target = CString::new(dir.path().as_os_str().as_bytes()).unwrap();
        // SAFETY: NUL-terminated strings that outlive the call; no mount data.
        let rc = unsafe {
            libc::mount(
                c"tracefs".as_ptr(),
                target.as_ptr(),
                c"tracefs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "mount tracefs: {}", std::io::Error::last_os_error());
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn instances(&self) -> BTreeSet<String> {
        fs::read_dir(self.path().join("instances"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for View {
    fn drop(&mut self) {
        let target = CString::new(self.path().as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The fixture programs (tests/bpf/printk.bpf.c).
struct Printer {
    obj: libbpf_rs::Object,
}

impl Printer {
    fn load() -> Self {
        let obj = libbpf_rs::ObjectBuilder::default()
            .open_file(bpf_fixture("printk"))
            .unwrap()
            .load()
            .unwrap();
        Self { obj }
    }

    fn run(&self, prog: &str, count: u32, tag: u32) {
        let mut ctx = [count.to_ne_bytes(), tag.to_ne_bytes()].concat();
        let prog = self.obj.progs_mut().find(|p| p.name() == prog).unwrap();
        let input = libbpf_rs::ProgramInput {
            context_in: Some(&mut ctx),
            ..Default::default()
        };
        let out = prog.test_run(input).unwrap();
        assert_eq!(out.return_value, 0);
    }

    /// `count` lines `scxtop-test tag=TAG line=I`, on this thread.
    fn print(&self, count: u32, tag: u32) {
        self.run("print_lines", count, tag);
    }

    /// One line through bpf_trace_vprintk, then one longer than the kernel
    /// formats.
    fn print_edges(&self, tag: u32) {
        self.run("print_edges", 0, tag);
    }
}

fn monotonic_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Runs `f` with this thread pinned to `cpu`, then unpins it.
fn on_cpu<T>(cpu: usize, f: impl FnOnce() -> T) -> T {
    // SAFETY: a zeroed cpu_set_t is an empty set; the CPU_* helpers only
    // write within it; sched_*affinity(0, ...) act on this thread.
    unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut old),
            0
        );
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        assert_eq!(
            libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &one),
            0,
            "pin to cpu {cpu}: {}",
            std::io::Error::last_os_error()
        );
        let out = f();
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &old);
        out
    }
}

fn last_online_cpu() -> usize {
    // "0-1" or "0,2-3".
    let online = fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let last = online.trim().rsplit([',', '-']).next().unwrap();
    last.parse().unwrap()
}

/// Different for every test and run, so other tests' lines and other
/// processes' never match.
fn unique_tag() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos ^ (std::process::id() << 20) ^ (gettid() as u32)
}

fn tag_prefix(tag: u32) -> String {
    format!("scxtop-test tag={tag} ")
}

fn expected(tag: u32, n: u32) -> Vec<String> {
    (0..n)
        .map(|i| format!("scxtop-test tag={tag} line={i}"))
        .collect()
}

/// Polls (as the UI does, but faster) until `n` lines with `tag` arrived or
/// the deadline passed; returns them all.
fn collect(tail: &mut PrintkTail, tag: u32, n: usize) -> Vec<LogLine> {
    let prefix = tag_prefix(tag);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < n && Instant::now() < deadline {
        tail.poll().unwrap();
        got.extend(
            tail.drain_new()
                .into_iter()
                .filter(|l| l.msg.starts_with(&prefix)),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    got
}

fn msgs(lines: &[LogLine]) -> Vec<String> {
    lines.iter().map(|l| l.msg.clone()).collect()
}

fn thread_comm() -> String {
    fs::read_to_string(format!("/proc/self/task/{}/comm", gettid()))
        .unwrap()
        .trim_end()
        .to_string()
}

fn tail_with_ring(ring_bytes: u32, capacity: usize) -> PrintkTail {
    PrintkTail::open(TailOptions {
        capacity,
        ring_bytes,
    })
    .unwrap()
}

#[test]
fn lines_arrive_whole_in_order_with_their_thread_cpu_and_time() {
    if !require_root("lines_arrive_whole_in_order_with_their_thread_cpu_and_time") {
        return;
    }
    let _serial = serial();
    let printer = Printer::load();
    let mut tail = PrintkTail::open(TailOptions::default()).unwrap();
    assert_eq!(tail.source(), SOURCE);

    let (tag, n) = (unique_tag(), 50);
    let cpu = last_online_cpu();
    let before = monotonic_s();
    on_cpu(cpu, || printer.print(n, tag));
    let after = monotonic_s();
    let got = collect(&mut tail, tag, n as usize);

    assert_eq!(msgs(&got), expected(tag, n));
    let comm = thread_comm();
    for l in &got {
        assert_eq!(
            (l.pid, l.comm.as_str(), l.cpu),
            (gettid(), comm.as_str(), cpu as u32),
            "{l:?}"
        );
        assert!(
            (before..=after).contains(&l.ts),
            "{l:?} not within CLOCK_MONOTONIC {before}..{after}"
        );
    }
    assert!(
        got.windows(2).all(|w| w[0].ts <= w[1].ts),
        "timestamps go back: {got:?}"
    );
    assert_eq!(tail.lost(), 0);
    // What the tail keeps matches what it handed out.
    let kept: Vec<_> = tail
        .lines()
        .iter()
        .filter(|l| l.msg.starts_with(&tag_prefix(tag)))
        .cloned()
        .collect();
    assert_eq!(kept, got);
    // Nothing new: the next poll and drain are empty.
    tail.poll().unwrap();
    assert!(
        tail.drain_new()
            .iter()
            .all(|l| !l.msg.starts_with(&tag_prefix(tag)))
    );
}

/// bpf_trace_vprintk lines arrive too, and a line as long as the kernel
/// formats arrives whole (its 1023 characters, no more).
#[test]
fn vprintk_lines_and_the_longest_line_arrive_whole() {
    if !require_root("vprintk_lines_and_the_longest_line_arrive_whole") {
        return;
    }
    let _serial = serial();
    let printer = Printer::load();
    let mut tail = PrintkTail::open(TailOptions::default()).unwrap();

    let tag = unique_tag();
    printer.print_edges(tag);
    let got = collect(&mut tail, tag, 2);

    let digits: String = (0..1100)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    let mut long = format!("scxtop-test tag={tag} long={digits}");
    long.truncate(1023);
    assert_eq!(
        msgs(&got),
        [format!("scxtop-test tag={tag} vprintk 1 2 3 4"), long]
    );
}

/// The tail consumes nothing from tracefs: the global trace_pipe still has
/// every line.
#[test]
fn a_global_trace_pipe_reader_still_gets_every_line() {
    if !require_root("a_global_trace_pipe_reader_still_gets_every_line") {
        return;
    }
    let _serial = serial();
    let view = View::new();
    let printer = Printer::load();
    let mut tail = PrintkTail::open(TailOptions::default()).unwrap();

    let out_path = view
        .dir
        .path()
        .parent()
        .unwrap()
        .join(format!("printk-global-{}", unique_tag()));
    let out = fs::File::create(&out_path).unwrap();
    let mut cat = Command::new("cat")
        .arg(view.path().join("trace_pipe"))
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let (tag, n) = (unique_tag(), 50);
    printer.print(n, tag);
    let ours = collect(&mut tail, tag, n as usize);

    let prefix = tag_prefix(tag);
    let global_lines = || -> Vec<String> {
        fs::read_to_string(&out_path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                l.split_once("bpf_trace_printk: ")
                    .map(|(_, m)| m.to_string())
            })
            .filter(|m| m.starts_with(&prefix))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while global_lines().len() < n as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let theirs = global_lines();
    cat.kill().unwrap();
    cat.wait().unwrap();
    let _ = fs::remove_file(&out_path);

    assert_eq!(msgs(&ours), expected(tag, n), "the tail");
    assert_eq!(theirs, expected(tag, n), "the global trace_pipe reader");
}

#[test]
fn no_tracefs_instance_is_made() {
    if !require_root("no_tracefs_instance_is_made") {
        return;
    }
    let _serial = serial();
    let view = View::new();
    let mounts = || fs::read_to_string("/proc/self/mounts").unwrap();
    let (instances, mounted) = (view.instances(), mounts());
    let printer = Printer::load();
    let mut tail = PrintkTail::open(TailOptions::default()).unwrap();
    let tag = unique_tag();
    printer.print(3, tag);
    assert_eq!(collect(&mut tail, tag, 3).len(), 3);
    assert_eq!(view.instances(), instances, "instances changed");
    assert_eq!(mounts(), mounted, "mounts changed");
}

/// A ring too small for a burst keeps the lines that fit, in order, and
/// counts the rest as lost; once drained it has room again.
#[test]
fn a_full_ring_counts_the_lines_it_could_not_hold_as_lost() {
    if !require_root("a_full_ring_counts_the_lines_it_could_not_hold_as_lost") {
        return;
    }
    let _serial = serial();
    let printer = Printer::load();
    // One page: a few dozen lines.
    let mut tail = tail_with_ring(4096, 100_000);

    let (tag, n) = (unique_tag(), 2000);
    printer.print(n, tag);
    let prefix = tag_prefix(tag);
    let mut got = Vec::new();
    loop {
        tail.poll().unwrap();
        let new = tail.drain_new();
        if new.is_empty() {
            break;
        }
        got.extend(new.into_iter().filter(|l| l.msg.starts_with(&prefix)));
    }

    let numbers: Vec<u32> = got
        .iter()
        .map(|l| l.msg.rsplit_once("line=").unwrap().1.parse().unwrap())
        .collect();
    let kept = numbers.len() as u32;
    assert!(kept > 0 && kept < n, "got {kept} of {n}");
    // Nothing drained the ring during the burst: the first lines fit, the
    // rest did not.
    assert_eq!(numbers, (0..kept).collect::<Vec<_>>());
    // Other programs' lines may have been lost too, never fewer than ours.
    assert!(
        tail.lost() >= u64::from(n - kept),
        "{kept} lines + {} lost < {n}",
        tail.lost()
    );

    let tag = unique_tag();
    printer.print(10, tag);
    assert_eq!(msgs(&collect(&mut tail, tag, 10)), expected(tag, 10));
}

/// Dropping the tail (and unwinding past it) closes every descriptor it
/// opened, and the kernel then frees its link and program.
#[test]
fn dropping_the_tail_leaves_no_bpf_link_or_program() {
    if !require_root("dropping_the_tail_leaves_no_bpf_link_or_program") {
        return;
    }
    let _serial = serial();
    let me = std::process::id();
    let before = bpf_fds(me);

    let tail = PrintkTail::open(TailOptions::default()).unwrap();
    let opened: Vec<BpfFd> = bpf_fds(me)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    let links = printk_links(me);
    let [BpfFd::Link { id, prog_id, .. }] = links[..] else {
        panic!("one bpf_trace_printk link while open, not {links:?}");
    };
    assert!(
        opened.contains(&links[0]),
        "the link is not the tail's: {opened:?}"
    );
    assert!(
        opened
            .iter()
            .any(|f| matches!(f, BpfFd::Map { map_type, .. } if *map_type == RINGBUF)),
        "no ring buffer: {opened:?}"
    );
    drop(tail);
    assert_eq!(bpf_fds(me), before, "descriptors left after drop");
    poll_until(
        "the kernel to free the link and program",
        Duration::from_secs(10),
        || match (link_exists(id), prog_exists(prog_id)) {
            (false, false) => Ok(()),
            seen => Err(format!("link {id}, program {prog_id} exist: {seen:?}")),
        },
    );

    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _tail = PrintkTail::open(TailOptions::default()).unwrap();
        tx.send(printk_links(std::process::id()).len()).unwrap();
        panic!("deliberate, with a tail open");
    });
    assert!(worker.join().is_err(), "the worker panicked");
    assert_eq!(rx.recv().unwrap(), 1, "links while the worker had a tail");
    assert_eq!(bpf_fds(me), before, "descriptors left after a panic");
}
