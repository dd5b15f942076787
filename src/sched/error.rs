//! Everything that can go wrong with a scheduler, each as one line that says
//! what to do.

use std::fmt;
use std::path::PathBuf;

use crate::bpf::libbpf_log::LoadLog;
use crate::bpf::verifier_log::VerifierFailure;
use crate::snapshot::ExitInfo;

#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    #[error("cannot attach a scheduler: {reason}")]
    Unsupported { reason: String },
    #[error("another sched_ext scheduler ({ops}) is attached: stop its loader first, then attach")]
    Busy { ops: String },
    #[error("a scheduler is already attached by scxtop: detach it first (d)")]
    AlreadyAttached,
    #[error("no scheduler is attached")]
    NotAttached,
    #[error("scheduler object {path}: {source}: check the path given to --scheduler")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an ELF file: build it with clang -target bpf")]
    NotElf { path: PathBuf },
    #[error("{what}: libbpf cannot open it ({detail}): is it a BPF object built with BTF (-g)?")]
    Open {
        what: String,
        detail: String,
        log: LoadLog,
    },
    #[error(
        "{what} has no struct_ops map: a sched_ext scheduler needs \
         SEC(\".struct_ops.link\") struct sched_ext_ops"
    )]
    NoStructOps { what: String },
    #[error(
        "{what} implements {kinds}, not sched_ext_ops: only a sched_ext scheduler can be \
         attached; point --scheduler at an object with SEC(\".struct_ops.link\") struct \
         sched_ext_ops"
    )]
    NotSchedExt { what: String, kinds: String },
    #[error("{what}: {source}")]
    Configure {
        what: String,
        source: super::loader::ConfigureError,
    },
    #[error("the verifier rejected {what}{}: {failure}", .failure.prog_label())]
    Verifier {
        what: String,
        failure: Box<VerifierFailure>,
        log: LoadLog,
    },
    #[error("{what}: loading failed: {detail}")]
    Load {
        what: String,
        detail: String,
        log: LoadLog,
    },
    #[error(
        "permission denied loading {what}: schedulers need root (CAP_SYS_ADMIN, CAP_BPF, \
         CAP_PERFMON); run scxtop with sudo"
    )]
    Permission { what: String },
    #[error("attaching {what} failed: {detail}")]
    Attach {
        what: String,
        detail: String,
        log: LoadLog,
    },
    #[error("reading sched_ext state: {0}")]
    Sysfs(#[from] crate::sched_ext::sysfs::SysfsError),
    /// The attach succeeded but the kernel ended the scheduler before it
    /// ran: an error in its ops.init, say, which the kernel reports through
    /// the exit, not the attach.
    #[error("the kernel ejected {what} while enabling it: {}", exit.cause())]
    EjectedWhileEnabling { what: String, exit: Box<ExitInfo> },
    /// A reload whose new object failed after the old one was detached.
    #[error("{cause}; {put_back}")]
    ReloadFailed {
        cause: Box<SchedError>,
        put_back: PutBack,
    },
}

/// What became of the previous scheduler after a reload failed.
#[derive(Debug)]
pub enum PutBack {
    /// It runs again: the machine was on fair for `on_fair_ms`.
    Restored { ops: String, on_fair_ms: f64 },
    /// It could not be attached again either. `source` describes where
    /// attach (a) would load from.
    Failed {
        ops: String,
        source: String,
        error: Box<SchedError>,
    },
}

impl fmt::Display for PutBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Restored { ops, on_fair_ms } => {
                write!(f, "put back {ops} ({on_fair_ms:.1} ms on fair)")
            }
            // Another loader took sched_ext in the gap: its error says what
            // runs and what to do.
            Self::Failed { ops, error, .. } if matches!(**error, SchedError::Busy { .. }) => {
                write!(f, "putting {ops} back failed: {error}")
            }
            Self::Failed { ops, source, error } => write!(
                f,
                "putting {ops} back failed too ({error}): the machine is on the fair class; \
                 fix {source} and attach (a)"
            ),
        }
    }
}

impl SchedError {
    /// What libbpf (and the verifier) said, for errors from a libbpf step.
    pub fn load_log(&self) -> Option<&LoadLog> {
        match self {
            Self::Open { log, .. }
            | Self::Verifier { log, .. }
            | Self::Load { log, .. }
            | Self::Attach { log, .. } => Some(log),
            // The new object's log: the previous one loaded before.
            Self::ReloadFailed { cause, .. } => cause.load_log(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{ExitKind, ExitSource};

    fn attach_error() -> SchedError {
        SchedError::Attach {
            what: "/tmp/mine.bpf.o".into(),
            detail: "failed to attach struct_ops: Argument list too long (os error 7)".into(),
            log: LoadLog {
                lines: vec!["libbpf: map 'x': failed to attach".into()],
                error_line: Some(0),
            },
        }
    }

    #[test]
    fn a_failed_reload_says_why_and_what_runs_again_in_one_line() {
        let err = SchedError::ReloadFailed {
            cause: Box::new(attach_error()),
            put_back: PutBack::Restored {
                ops: "scxtop_prio".into(),
                on_fair_ms: 3.12,
            },
        };
        assert_eq!(
            err.to_string(),
            "attaching /tmp/mine.bpf.o failed: failed to attach struct_ops: Argument list \
             too long (os error 7); put back scxtop_prio (3.1 ms on fair)"
        );
        // The log of the object that failed, for `v` and the headless `log`.
        let log = err.load_log().expect("the new object's log");
        assert_eq!(log.error_line, Some(0));
    }

    #[test]
    fn an_ejection_while_enabling_names_the_exit() {
        let err = SchedError::EjectedWhileEnabling {
            what: "/tmp/mine.bpf.o".into(),
            exit: Box::new(ExitInfo {
                kind: ExitKind::Error,
                from: ExitSource::Record,
                code: 0,
                reason: "runtime error".into(),
                msg: "ops.init() failed (-22)".into(),
                ops: "mine".into(),
            }),
        };
        assert_eq!(
            err.to_string(),
            "the kernel ejected /tmp/mine.bpf.o while enabling it: ERROR (runtime error): \
             ops.init() failed (-22)"
        );
        assert!(err.load_log().is_none());
    }

    #[test]
    fn a_put_back_that_fails_says_the_machine_is_on_fair_and_what_to_do() {
        let failed = PutBack::Failed {
            ops: "scxtop_error".into(),
            source: "/tmp/mine.bpf.o".into(),
            error: Box::new(attach_error()),
        };
        let line = failed.to_string();
        assert!(
            line.starts_with("putting scxtop_error back failed too (attaching")
                && line.ends_with(
                    "the machine is on the fair class; fix /tmp/mine.bpf.o and attach (a)"
                ),
            "{line}"
        );
        // Another loader's scheduler runs: not fair, and its error says so.
        let busy = PutBack::Failed {
            ops: "scxtop_error".into(),
            source: "/tmp/mine.bpf.o".into(),
            error: Box::new(SchedError::Busy {
                ops: "scx_rustland".into(),
            }),
        };
        let line = busy.to_string();
        assert!(
            line.contains("(scx_rustland) is attached") && !line.contains("fair"),
            "{line}"
        );
    }
}
