//! What the kernel's `/sys/kernel/sched_ext` says (read by `sched_ext::sysfs`).

use serde::Serialize;

/// `/sys/kernel/sched_ext/state`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScxState {
    Enabling,
    Enabled,
    Disabling,
    Disabled,
    #[serde(untagged)]
    Other(String),
}

impl ScxState {
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "enabling" => Self::Enabling,
            "enabled" => Self::Enabled,
            "disabling" => Self::Disabling,
            "disabled" => Self::Disabled,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Enabling => "enabling",
            Self::Enabled => "enabled",
            Self::Disabling => "disabling",
            Self::Disabled => "disabled",
            Self::Other(s) => s,
        }
    }
}

/// One reading of the sched_ext sysfs files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScxSysfs {
    pub state: ScxState,
    /// Name of the running scheduler; `None` when none is registered (the
    /// kernel removes `root/` then).
    pub ops: Option<String>,
    pub enable_seq: u64,
    pub switch_all: Option<bool>,
    pub nr_rejected: Option<u64>,
}

/// Whether the running kernel can run sched_ext schedulers at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "support", rename_all = "lowercase")]
pub enum Support {
    Supported(ScxSysfs),
    Unsupported { reason: String },
}
