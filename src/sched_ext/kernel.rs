//! Facts about the running kernel that explain sched_ext support.

use std::fs;
use std::path::Path;

/// The running kernel's release, as `uname -r` prints it.
pub fn release(proc_root: &Path) -> String {
    fs::read_to_string(proc_root.join("sys/kernel/osrelease"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// How the kernel config sets `CONFIG_SCHED_CLASS_EXT`, when a plain-text
/// config for this release is on disk (`/boot/config-RELEASE`, Debian's
/// place). `None` when no config can be read.
pub fn config_sched_class_ext(boot_dir: &Path, release: &str) -> Option<bool> {
    let text = fs::read_to_string(boot_dir.join(format!("config-{release}"))).ok()?;
    config_enables(&text, "CONFIG_SCHED_CLASS_EXT")
}

/// `Some(true)` for `NAME=y`, `Some(false)` for `# NAME is not set`, `None`
/// when the config does not mention it.
pub fn config_enables(config: &str, name: &str) -> Option<bool> {
    config.lines().find_map(|line| {
        let line = line.trim();
        if line == format!("{name}=y") {
            Some(true)
        } else if line == format!("# {name} is not set") {
            Some(false)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines_are_read_exactly() {
        let cfg = "CONFIG_BPF=y\n# CONFIG_SCHED_CLASS_EXT is not set\nCONFIG_SCHED_CLASS_EXT_X=y\n";
        assert_eq!(config_enables(cfg, "CONFIG_SCHED_CLASS_EXT"), Some(false));
        assert_eq!(config_enables(cfg, "CONFIG_BPF"), Some(true));
        assert_eq!(config_enables(cfg, "CONFIG_NOPE"), None);
    }

    #[test]
    fn release_falls_back_to_unknown() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let dir = dir.as_ref().map(|d| d.path()).ok();
        assert_eq!(release(dir.unwrap_or(Path::new("/nonexistent"))), "unknown");
    }
}
