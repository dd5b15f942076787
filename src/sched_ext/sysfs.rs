//! `/sys/kernel/sched_ext`: whether this kernel has sched_ext, and what it is
//! doing. Readers take their root directories so tests can build fake trees.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::kernel;
use crate::snapshot::{ScxState, ScxSysfs, Support};

#[derive(Debug, thiserror::Error)]
pub enum SysfsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} holds {text:?}, not a number")]
    NotANumber { path: PathBuf, text: String },
}

/// Where to look: `/sys`, `/proc` and `/boot` on a real system.
#[derive(Clone, Debug)]
pub struct Roots {
    pub sys: PathBuf,
    pub proc: PathBuf,
    pub boot: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            sys: PathBuf::from("/sys"),
            proc: PathBuf::from("/proc"),
            boot: PathBuf::from("/boot"),
        }
    }
}

impl Roots {
    fn scx_dir(&self) -> PathBuf {
        self.sys.join("kernel/sched_ext")
    }

    /// Reads the sched_ext state, or explains why this kernel has none.
    pub fn read_support(&self) -> Result<Support, SysfsError> {
        let dir = self.scx_dir();
        if !dir.is_dir() {
            return Ok(Support::Unsupported {
                reason: self.unsupported_reason(),
            });
        }
        Ok(Support::Supported(read_dir(&dir)?))
    }

    fn unsupported_reason(&self) -> String {
        let release = kernel::release(&self.proc);
        let config = kernel::config_sched_class_ext(&self.boot, &release);
        if config == Some(true) {
            // Built in, but sysfs does not show it: usually sysfs is not mounted
            // where we look (containers, chroots).
            format!(
                "kernel {release} has CONFIG_SCHED_CLASS_EXT=y but {} is missing: \
                 mount sysfs on {}",
                self.scx_dir().display(),
                self.sys.display()
            )
        } else {
            format!(
                "kernel {release} was built without CONFIG_SCHED_CLASS_EXT (no {}): \
                 boot a kernel with CONFIG_SCHED_CLASS_EXT=y to attach schedulers",
                self.scx_dir().display()
            )
        }
    }
}

fn read_dir(dir: &Path) -> Result<ScxSysfs, SysfsError> {
    let state = ScxState::parse(&read_text(&dir.join("state"))?);
    let ops = optional(read_text(&dir.join("root/ops")))?
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let enable_seq = read_u64(&dir.join("enable_seq"))?;
    let switch_all = optional(read_u64(&dir.join("switch_all")))?.map(|v| v != 0);
    let nr_rejected = optional(read_u64(&dir.join("nr_rejected")))?;
    Ok(ScxSysfs {
        state,
        ops,
        enable_seq,
        switch_all,
        nr_rejected,
    })
}

fn read_text(path: &Path) -> Result<String, SysfsError> {
    fs::read_to_string(path).map_err(|source| SysfsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_u64(path: &Path) -> Result<u64, SysfsError> {
    let text = read_text(path)?;
    text.trim().parse().map_err(|_| SysfsError::NotANumber {
        path: path.to_path_buf(),
        text,
    })
}

/// A missing file is an answer (older kernels lack some, `root/` comes and
/// goes with the scheduler); any other error is not.
fn optional<T>(result: Result<T, SysfsError>) -> Result<Option<T>, SysfsError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(SysfsError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn roots(dir: &Path) -> Roots {
        Roots {
            sys: dir.join("sys"),
            proc: dir.join("proc"),
            boot: dir.join("boot"),
        }
    }

    fn write(path: PathBuf, text: &str) {
        fs::create_dir_all(path.parent().unwrap_or(Path::new("/"))).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_a_running_scheduler() {
        let tmp = tempfile::tempdir().unwrap();
        let r = roots(tmp.path());
        write(r.sys.join("kernel/sched_ext/state"), "enabled\n");
        write(r.sys.join("kernel/sched_ext/enable_seq"), "7\n");
        write(r.sys.join("kernel/sched_ext/switch_all"), "1\n");
        write(r.sys.join("kernel/sched_ext/root/ops"), "scxtop_prio\n");
        let Support::Supported(s) = r.read_support().unwrap() else {
            panic!("expected support")
        };
        assert_eq!(s.state, ScxState::Enabled);
        assert_eq!(s.ops.as_deref(), Some("scxtop_prio"));
        assert_eq!(s.enable_seq, 7);
        assert_eq!(s.switch_all, Some(true));
        assert_eq!(s.nr_rejected, None);
    }

    #[test]
    fn no_root_dir_means_no_scheduler() {
        let tmp = tempfile::tempdir().unwrap();
        let r = roots(tmp.path());
        write(r.sys.join("kernel/sched_ext/state"), "disabled\n");
        write(r.sys.join("kernel/sched_ext/enable_seq"), "0\n");
        let Support::Supported(s) = r.read_support().unwrap() else {
            panic!("expected support")
        };
        assert_eq!(s.state, ScxState::Disabled);
        assert_eq!(s.ops, None);
    }

    #[test]
    fn garbage_in_a_counter_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let r = roots(tmp.path());
        write(r.sys.join("kernel/sched_ext/state"), "disabled\n");
        write(r.sys.join("kernel/sched_ext/enable_seq"), "lots\n");
        let err = r.read_support().unwrap_err().to_string();
        assert!(err.contains("enable_seq"), "{err}");
        assert!(err.contains("lots"), "{err}");
    }

    #[test]
    fn missing_dir_names_the_config_option_and_release() {
        let tmp = tempfile::tempdir().unwrap();
        let r = roots(tmp.path());
        write(r.proc.join("sys/kernel/osrelease"), "6.1.0-test\n");
        write(
            r.boot.join("config-6.1.0-test"),
            "# CONFIG_SCHED_CLASS_EXT is not set\n",
        );
        let Support::Unsupported { reason } = r.read_support().unwrap() else {
            panic!("expected no support")
        };
        assert!(reason.contains("CONFIG_SCHED_CLASS_EXT"), "{reason}");
        assert!(reason.contains("6.1.0-test"), "{reason}");
    }

    #[test]
    fn built_in_but_invisible_blames_sysfs() {
        let tmp = tempfile::tempdir().unwrap();
        let r = roots(tmp.path());
        write(r.proc.join("sys/kernel/osrelease"), "7.3.0\n");
        write(r.boot.join("config-7.3.0"), "CONFIG_SCHED_CLASS_EXT=y\n");
        let Support::Unsupported { reason } = r.read_support().unwrap() else {
            panic!("expected no support")
        };
        assert!(reason.contains("mount sysfs"), "{reason}");
    }

    #[test]
    fn unknown_state_text_is_kept() {
        assert_eq!(ScxState::parse("weird\n").as_str(), "weird");
    }
}
