//! The bpf_printk tail against the real kernel (root only): lines printed by a
//! test BPF program arrive whole and in order, a global trace_pipe reader
//! still sees them all, and the private instance never outlives its owner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use scxtop::probe::printk_tail::{PrintkTail, TailOptions};
use scxtop::probe::tracefs::{PipeSource, remove_all_registered};
use scxtop::snapshot::LogLine;

/// The tests share tracefs' mount and `remove_all_registered` is process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Our own tracefs mount, so what we check does not depend on the mount the
/// tail makes (and unmounts) at /sys/kernel/tracing.
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

    /// The tail's instance directory as seen through this mount.
    fn instance_of(&self, tail: &PrintkTail) -> PathBuf {
        match tail.source() {
            PipeSource::Instance(p) => self.path().join("instances").join(p.file_name().unwrap()),
            PipeSource::Global(p) => panic!("expected a private instance, got {}", p.display()),
        }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        let target = CString::new(self.path().as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The fixture program `print_lines`: `count` bpf_printk lines tagged `tag`.
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

    fn print(&self, count: u32, tag: u32) {
        let mut ctx = [count.to_ne_bytes(), tag.to_ne_bytes()].concat();
        let prog = self
            .obj
            .progs_mut()
            .find(|p| p.name() == "print_lines")
            .unwrap();
        let input = libbpf_rs::ProgramInput {
            context_in: Some(&mut ctx),
            ..Default::default()
        };
        let out = prog.test_run(input).unwrap();
        assert_eq!(out.return_value, 0);
    }
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// Different for every test and run, so old lines in the global buffer and
/// other tests' lines never match.
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

fn tracefs_mounted() -> bool {
    fs::read_to_string("/proc/mounts")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/kernel/tracing"))
}

#[test]
fn lines_arrive_whole_in_order_from_this_thread() {
    if !require_root("lines_arrive_whole_in_order_from_this_thread") {
        return;
    }
    let _serial = serial();
    let view = View::new();
    let printer = Printer::load();
    let mut tail = PrintkTail::open(TailOptions::default()).unwrap();
    assert!(!tail.is_global());
    let instance = view.instance_of(&tail);
    let enabled = fs::read_to_string(instance.join("set_event")).unwrap();
    assert_eq!(
        enabled, "bpf_trace:bpf_trace_printk\n",
        "only the printk event is enabled"
    );

    let (tag, n) = (unique_tag(), 50);
    printer.print(n, tag);
    let got = collect(&mut tail, tag, n as usize);

    assert_eq!(msgs(&got), expected(tag, n));
    let comm = thread_comm();
    let cpus = fs::read_dir(instance.join("per_cpu")).unwrap().count() as u32;
    for l in &got {
        assert_eq!(l.pid, gettid(), "{l:?}");
        // The kernel prints <...> until its comm cache has seen the thread.
        assert!(l.comm == comm || l.comm == "<...>", "{l:?}, comm {comm}");
        assert!(l.cpu < cpus, "{l:?}, {cpus} CPUs");
        assert!(l.ts > 0.0, "{l:?}");
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

    assert_eq!(msgs(&ours), expected(tag, n), "our instance");
    assert_eq!(theirs, expected(tag, n), "the global trace_pipe reader");
}

#[test]
fn the_instance_goes_away_on_drop_and_on_remove_all_registered() {
    if !require_root("the_instance_goes_away_on_drop_and_on_remove_all_registered") {
        return;
    }
    let _serial = serial();
    let mounted_before = tracefs_mounted();
    let view = View::new();

    let tail = PrintkTail::open(TailOptions::default()).unwrap();
    let instance = view.instance_of(&tail);
    assert!(instance.is_dir(), "{} while open", instance.display());
    assert!(tracefs_mounted(), "tracefs is mounted while a tail is open");
    drop(tail);
    assert!(!instance.exists(), "{} after drop", instance.display());

    let mut tail = PrintkTail::open(TailOptions::default()).unwrap();
    let instance = view.instance_of(&tail);
    assert!(instance.is_dir());
    remove_all_registered();
    assert!(
        !instance.exists(),
        "{} after remove_all_registered",
        instance.display()
    );
    let err = tail.poll().unwrap_err().to_string();
    assert!(err.contains("closed"), "{err}");
    drop(tail);
    assert!(!instance.exists());

    // We unmount only what we mounted, and keep it for other processes' instances.
    let others = fs::read_dir(view.path().join("instances"))
        .unwrap()
        .next()
        .is_some();
    if mounted_before || !others {
        assert_eq!(
            tracefs_mounted(),
            mounted_before,
            "/sys/kernel/tracing mount restored"
        );
    }
}

#[test]
fn instances_of_dead_runs_are_removed_on_open() {
    if !require_root("instances_of_dead_runs_are_removed_on_open") {
        return;
    }
    let _serial = serial();
    let view = View::new();
    let pid_max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dead = (2..pid_max)
        .rev()
        .find(|p| !Path::new(&format!("/proc/{p}")).exists())
        .unwrap();
    let instances = view.path().join("instances");
    let stale = [
        instances.join(format!("scxtop-{dead}")),
        instances.join(format!("scxtop-{dead}-3")),
    ];
    // pid 1 is alive: its instance is not ours to remove.
    let alive = instances.join("scxtop-1");
    let alive_existed = alive.exists();
    for dir in stale.iter().chain([&alive]) {
        let _ = fs::create_dir(dir);
    }

    let tail = PrintkTail::open(TailOptions::default()).unwrap();
    for dir in &stale {
        assert!(!dir.exists(), "{} survived", dir.display());
    }
    assert!(alive.is_dir(), "a live process' instance was removed");
    // Before the drop: a foreign instance keeps tracefs mounted.
    if !alive_existed {
        fs::remove_dir(&alive).unwrap();
    }
    drop(tail);
}

#[test]
fn overruns_are_counted_as_lost() {
    if !require_root("overruns_are_counted_as_lost") {
        return;
    }
    let _serial = serial();
    let view = View::new();
    let printer = Printer::load();
    let mut tail = PrintkTail::open(TailOptions {
        capacity: 100_000,
        ..Default::default()
    })
    .unwrap();
    // A few pages per CPU, so the burst below overwrites its start.
    fs::write(view.instance_of(&tail).join("buffer_size_kb"), "8").unwrap();

    let (tag, n) = (unique_tag(), 20_000);
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
    assert!(
        !numbers.is_empty() && numbers.len() < n as usize,
        "got {} of {n}",
        numbers.len()
    );
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(
        numbers.last(),
        Some(&(n - 1)),
        "the newest lines survive an overrun"
    );
    assert!(tail.lost() > 0);
    assert!(
        numbers.len() as u64 + tail.lost() >= n as u64,
        "{} lines + {} lost < {n}",
        numbers.len(),
        tail.lost()
    );
}

#[test]
fn a_panic_unwinding_past_the_tail_removes_the_instance() {
    if !require_root("a_panic_unwinding_past_the_tail_removes_the_instance") {
        return;
    }
    let _serial = serial();
    let view = View::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let tail = PrintkTail::open(TailOptions::default()).unwrap();
        tx.send(tail.source().clone()).unwrap();
        panic!("deliberate, with a tail open");
    });
    assert!(worker.join().is_err(), "the worker panicked");
    let PipeSource::Instance(path) = rx.recv().unwrap() else {
        panic!("not an instance")
    };
    let instance = view
        .path()
        .join("instances")
        .join(path.file_name().unwrap());
    assert!(
        !instance.exists(),
        "{} outlived the panic",
        instance.display()
    );
}
