//! Private tracefs instances and their `trace_pipe`.
//!
//! Reading a `trace_pipe` consumes what it returns, so reading the global one
//! would take lines from a user's own `cat trace_pipe`. An instance has its own
//! ring buffer and pipe, fed by the events enabled in it.
//!
//! An instance outlives the process that made it, so every live one sits in a
//! process-global registry: `remove_all_registered` can then clean up from a
//! panic hook or a signal path, where the owners' drops may never run.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use serde::Serialize;

pub const TRACEFS: &str = "/sys/kernel/tracing";
const INSTANCE_PREFIX: &str = "scxtop-";

#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    #[error("tracefs is not mounted and mounting it at {TRACEFS} failed ({source}): {hint}")]
    Mount {
        source: io::Error,
        hint: &'static str,
    },
    #[error("cannot create tracefs instance {path} ({source}): {hint}")]
    Instance {
        path: PathBuf,
        source: io::Error,
        hint: &'static str,
    },
    #[error("cannot enable {path} ({source}): {hint}")]
    Event {
        path: PathBuf,
        source: io::Error,
        hint: &'static str,
    },
    #[error("cannot open {path} ({source}): {hint}")]
    Open {
        path: PathBuf,
        source: io::Error,
        hint: &'static str,
    },
}

impl TracefsError {
    /// Whether the kernel refused for lack of privilege.
    pub fn needs_privilege(&self) -> bool {
        let (Self::Mount { source, .. }
        | Self::Instance { source, .. }
        | Self::Event { source, .. }
        | Self::Open { source, .. }) = self;
        matches!(source.raw_os_error(), Some(libc::EPERM | libc::EACCES))
    }

    /// Whether the global pipe may work where the instance did not: not when
    /// tracefs itself is missing, nor for a lack of privilege (it needs root too).
    pub fn global_may_help(&self) -> bool {
        match self {
            Self::Instance { source, .. } | Self::Event { source, .. } => {
                !matches!(source.raw_os_error(), Some(libc::EPERM | libc::EACCES))
            }
            Self::Mount { .. } | Self::Open { .. } => false,
        }
    }
}

/// What to do about an errno, for the one-line error.
fn hint(e: &io::Error, otherwise: &'static str) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => "run scxtop as root",
        Some(libc::ENODEV) => "this kernel has no tracefs (CONFIG_TRACING): boot one with it",
        _ => otherwise,
    }
}

/// Where a pipe reads from; shown to the user, who must know when we read
/// the shared global pipe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum PipeSource {
    Instance(PathBuf),
    Global(PathBuf),
}

impl std::fmt::Display for PipeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Instance(p) => write!(f, "tracefs instance {}", p.display()),
            Self::Global(p) => {
                write!(
                    f,
                    "global {} (shared: other readers miss the lines we read)",
                    p.display()
                )
            }
        }
    }
}

/// The pipe is shared with the registry, which may close it from a panic
/// hook; `None` once closed.
type SharedPipe = Arc<Mutex<Option<File>>>;

struct Live {
    pipe: SharedPipe,
    /// The instance directory and its enabled event; `None` for the global pipe.
    instance: Option<(PathBuf, &'static str)>,
}

struct Registry {
    live: Vec<Live>,
    /// We mounted tracefs, and unmount it when our last pipe closes.
    we_mounted: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new(),
    we_mounted: false,
});
static NEXT_SEQ: AtomicU64 = AtomicU64::new(0);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A lock for cleanup paths: a panic hook may run on a thread that already
/// holds the lock, so wait a little, then give up rather than deadlock.
fn lock_patiently<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    for _ in 0..100 {
        match m.try_lock() {
            Ok(g) => return Some(g),
            Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    None
}

/// An open `trace_pipe`, non-blocking. Dropping it closes the pipe, and for
/// an instance disables its event and removes the directory.
pub struct TracePipe {
    pipe: SharedPipe,
    source: PipeSource,
}

impl TracePipe {
    /// A new private instance `scxtop-<pid>` with only `event` (e.g.
    /// `bpf_trace/bpf_trace_printk`) enabled. Stale instances of dead scxtop
    /// processes are removed first.
    pub fn instance(event: &'static str) -> Result<Self, TracefsError> {
        let mut reg = registry();
        ensure_mounted(&mut reg)?;
        remove_stale_instances(&reg);
        let mut path = Path::new(TRACEFS).join("instances").join(instance_name());
        let mut opened = open_instance(&path, event);
        // Taken by a live process of another pid namespace with our pid
        // number (tracefs is not namespaced): try the next name.
        for _ in 0..8 {
            let Err(TracefsError::Instance { source, .. }) = &opened else {
                break;
            };
            if source.kind() != io::ErrorKind::AlreadyExists {
                break;
            }
            path.set_file_name(instance_name());
            opened = open_instance(&path, event);
        }
        match opened {
            Ok(file) => {
                let pipe = Arc::new(Mutex::new(Some(file)));
                let instance = Some((path.clone(), event));
                reg.live.push(Live {
                    pipe: Arc::clone(&pipe),
                    instance,
                });
                Ok(Self {
                    pipe,
                    source: PipeSource::Instance(path),
                })
            }
            Err(e) => {
                maybe_unmount(&mut reg);
                Err(e)
            }
        }
    }

    /// The global `trace_pipe`: every reader of it competes for its lines.
    pub fn global() -> Result<Self, TracefsError> {
        let mut reg = registry();
        ensure_mounted(&mut reg)?;
        let path = Path::new(TRACEFS).join("trace_pipe");
        match open_pipe(&path) {
            Ok(file) => {
                let pipe = Arc::new(Mutex::new(Some(file)));
                reg.live.push(Live {
                    pipe: Arc::clone(&pipe),
                    instance: None,
                });
                Ok(Self {
                    pipe,
                    source: PipeSource::Global(path),
                })
            }
            Err(e) => {
                maybe_unmount(&mut reg);
                Err(e)
            }
        }
    }

    pub fn source(&self) -> &PipeSource {
        &self.source
    }

    /// One non-blocking read: `WouldBlock` when nothing is pending, and an
    /// error once `remove_all_registered` has closed the pipe.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut pipe = self.pipe.lock().unwrap_or_else(PoisonError::into_inner);
        match pipe.as_mut() {
            Some(file) => file.read(buf),
            None => Err(io::Error::other("trace pipe closed by cleanup")),
        }
    }
}

impl Drop for TracePipe {
    fn drop(&mut self) {
        let mut reg = registry();
        if let Some(i) = reg
            .live
            .iter()
            .position(|l| Arc::ptr_eq(&l.pipe, &self.pipe))
        {
            let live = reg.live.swap_remove(i);
            teardown(&live);
        }
        maybe_unmount(&mut reg);
    }
}

/// Closes every pipe and removes every instance this process still has (and
/// unmounts tracefs if we mounted it), for panic hooks and signal paths.
/// The owners' later drops find nothing left to do, and their reads fail.
pub fn remove_all_registered() {
    let Some(mut reg) = lock_patiently(&REGISTRY) else {
        return;
    };
    for live in std::mem::take(&mut reg.live) {
        teardown(&live);
    }
    maybe_unmount(&mut reg);
}

/// `scxtop-<pid>` for the first instance of the process, then
/// `scxtop-<pid>-<n>` (tests open several at once).
fn instance_name() -> String {
    let pid = std::process::id();
    match NEXT_SEQ.fetch_add(1, Ordering::Relaxed) {
        0 => format!("{INSTANCE_PREFIX}{pid}"),
        n => format!("{INSTANCE_PREFIX}{pid}-{n}"),
    }
}

/// Creates the instance and opens its pipe; on failure leaves no directory
/// behind (but never removes one it did not create).
fn open_instance(path: &Path, event: &str) -> Result<File, TracefsError> {
    fs::create_dir(path).map_err(|source| TracefsError::Instance {
        path: path.to_path_buf(),
        hint: hint(&source, "this kernel may lack tracefs instances"),
        source,
    })?;
    let enable = path.join("events").join(event).join("enable");
    let opened = fs::write(&enable, "1")
        .map_err(|source| TracefsError::Event {
            path: enable.clone(),
            hint: hint(
                &source,
                "this kernel lacks the event (is CONFIG_BPF_EVENTS set?)",
            ),
            source,
        })
        .and_then(|()| open_pipe(&path.join("trace_pipe")));
    if opened.is_err() {
        remove_instance(path, Some(event));
    }
    opened
}

fn open_pipe(path: &Path) -> Result<File, TracefsError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| TracefsError::Open {
            path: path.to_path_buf(),
            hint: hint(&source, "check that tracefs works on this kernel"),
            source,
        })
}

/// Best effort: cleanup has no one to report to, and a missing directory
/// is already the goal.
fn teardown(live: &Live) {
    // rmdir fails with EBUSY while the pipe is open, so close it first.
    if let Some(mut pipe) = lock_patiently(&live.pipe) {
        pipe.take();
    }
    if let Some((dir, event)) = &live.instance {
        remove_instance(dir, Some(event));
    }
}

fn remove_instance(dir: &Path, event: Option<&str>) {
    if let Some(event) = event {
        let _ = fs::write(dir.join("events").join(event).join("enable"), "0");
    }
    let _ = fs::remove_dir(dir);
}

/// Instances named for a scxtop process that is gone (SIGKILLed runs), or for
/// this process but not ours (a dead run whose pid we reused).
fn remove_stale_instances(reg: &Registry) {
    let Ok(entries) = fs::read_dir(Path::new(TRACEFS).join("instances")) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(instance_pid) else {
            continue;
        };
        let path = entry.path();
        let stale = if pid == me {
            !reg.live
                .iter()
                .any(|l| l.instance.as_ref().is_some_and(|(p, _)| *p == path))
        } else {
            // A pid beyond i32 names no process at all.
            !i32::try_from(pid).is_ok_and(|pid| procfs::process::Process::new(pid).is_ok())
        };
        if stale {
            // rmdir alone suffices, and fails (EBUSY) if a live owner still reads it.
            remove_instance(&path, None);
        }
    }
}

/// The pid in `scxtop-<pid>` or `scxtop-<pid>-<n>`.
fn instance_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(INSTANCE_PREFIX)?;
    let pid = rest.split_once('-').map_or(rest, |(pid, _)| pid);
    pid.parse().ok()
}

fn tracefs_mounted() -> bool {
    procfs::mounts().is_ok_and(|mounts| {
        mounts
            .iter()
            .any(|m| m.fs_file == TRACEFS && m.fs_vfstype == "tracefs")
    })
}

fn ensure_mounted(reg: &mut Registry) -> Result<(), TracefsError> {
    if reg.we_mounted || tracefs_mounted() {
        return Ok(());
    }
    // SAFETY: all pointers are NUL-terminated literals that outlive the call;
    // tracefs takes no mount data.
    let rc = unsafe {
        libc::mount(
            c"tracefs".as_ptr(),
            c"/sys/kernel/tracing".as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let source = io::Error::last_os_error();
        let hint = hint(
            &source,
            "mount it: mount -t tracefs tracefs /sys/kernel/tracing",
        );
        return Err(TracefsError::Mount { source, hint });
    }
    reg.we_mounted = true;
    Ok(())
}

/// Unmounts tracefs once nothing of ours uses it, if we mounted it. Other
/// processes' instances (their directories) keep it mounted: unmounting would
/// hide them from their owners' cleanup.
fn maybe_unmount(reg: &mut Registry) {
    if !reg.we_mounted || !reg.live.is_empty() {
        return;
    }
    reg.we_mounted = false;
    let others = fs::read_dir(Path::new(TRACEFS).join("instances"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if !others {
        // SAFETY: the path is a NUL-terminated literal. A failure (EBUSY: a
        // user opened a file there meanwhile) leaves the mount to them.
        unsafe { libc::umount2(c"/sys/kernel/tracing".as_ptr(), 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_pid() {
        assert_eq!(instance_pid("scxtop-1234"), Some(1234));
        assert_eq!(instance_pid("scxtop-1234-2"), Some(1234));
        assert_eq!(instance_pid("scxtop-"), None);
        assert_eq!(instance_pid("scxtop-abc"), None);
        assert_eq!(instance_pid("other-1234"), None);
        let name = instance_name();
        assert_eq!(instance_pid(&name), Some(std::process::id()));
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = TracefsError::Mount {
            source: io::Error::from_raw_os_error(libc::EPERM),
            hint: hint(&io::Error::from_raw_os_error(libc::EPERM), "x"),
        };
        let msg = e.to_string();
        assert!(msg.contains("run scxtop as root"), "{msg}");
        assert!(!msg.contains('\n'));
        assert!(!e.global_may_help());
    }

    #[test]
    fn global_source_says_it_is_shared() {
        let s = PipeSource::Global(PathBuf::from("/sys/kernel/tracing/trace_pipe"));
        assert!(s.to_string().contains("global"));
        assert_eq!(
            serde_json::to_string(&s).ok().as_deref(),
            Some(r#"{"kind":"global","path":"/sys/kernel/tracing/trace_pipe"}"#)
        );
    }
}
