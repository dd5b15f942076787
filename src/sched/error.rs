//! Everything that can go wrong with a scheduler, each as one line that says
//! what to do.

use std::path::PathBuf;

use crate::bpf::libbpf_log::LoadLog;
use crate::bpf::verifier_log::VerifierFailure;

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
}

impl SchedError {
    /// What libbpf (and the verifier) said, for errors from a libbpf step.
    pub fn load_log(&self) -> Option<&LoadLog> {
        match self {
            Self::Open { log, .. }
            | Self::Verifier { log, .. }
            | Self::Load { log, .. }
            | Self::Attach { log, .. } => Some(log),
            _ => None,
        }
    }
}
