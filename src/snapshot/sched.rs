//! The scheduler as the front ends see it: which object, whether it runs,
//! and what the last command did.

use std::path::PathBuf;

use serde::{Serialize, Serializer};

use super::exit::ExitInfo;
use super::sched_ext::ScxState;

/// The built-in scheduler's ops name (sched.bpf.c's `SCX_OPS_DEFINE`).
pub const BUILT_IN_NAME: &str = "scxtop_prio";

/// Where a scheduler object comes from. The engine reads a user's file again
/// at every (re)load, so an author can edit, recompile and press `r`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "lowercase")]
pub enum SchedSource {
    BuiltIn,
    File(PathBuf),
}

impl SchedSource {
    /// How errors and the status bar name this object.
    pub fn describe(&self) -> String {
        match self {
            Self::BuiltIn => format!("built-in scheduler {BUILT_IN_NAME}"),
            Self::File(p) => p.display().to_string(),
        }
    }
}

fn as_description<S: Serializer>(source: &SchedSource, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&source.describe())
}

/// What a refresh shows about the scheduler (the `sched` object of a snapshot).
#[derive(Clone, Debug, Serialize)]
pub struct SchedStatus {
    pub supported: bool,
    /// Why sched_ext is unavailable, when it is.
    pub unsupported_reason: Option<String>,
    pub state: Option<ScxState>,
    pub ops: Option<String>,
    pub enable_seq: Option<u64>,
    /// Whether scxtop has its scheduler registered right now.
    pub attached: bool,
    #[serde(serialize_with = "as_description")]
    pub source: SchedSource,
    pub attached_for_s: Option<f64>,
    pub last_exit: Option<ExitInfo>,
}

/// What an attach or reload did, for the status line.
#[derive(Clone, Debug, Serialize)]
pub struct AttachReport {
    pub ops: String,
    /// Reading and verifying the object.
    pub load_ms: f64,
    /// Registering it with the kernel.
    pub attach_ms: f64,
    /// For a reload: time from the end of detach to the end of attach (on fair).
    pub downtime_ms: Option<f64>,
}

/// The result of one scheduler command, as the status bar and headless
/// output show it.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The command's word ("attach", "reload", ...).
    pub action: &'static str,
    pub ok: bool,
    /// One line: "reloaded scxtop_prio in 12.3 ms", "detach failed: ...".
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<AttachReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// Everything libbpf said about a failed open, load or attach (the
    /// verifier's log included), which `message` can only quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<String>>,
    /// Index into `log` of the line that says what is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_error_line: Option<usize>,
}

impl Outcome {
    pub fn new(action: &'static str, ok: bool, message: String) -> Self {
        Self {
            action,
            ok,
            message,
            attach: None,
            exit: None,
            log: None,
            log_error_line: None,
        }
    }
}
