//! A scheduler object's bytes and name, from where it comes from. A user's
//! file is read again at every (re)load, so an author can edit, recompile
//! and press `r`.

use std::fs;

use super::SchedError;
use crate::snapshot::{BUILT_IN_NAME, SchedSource};

/// The built-in priority scheduler, compiled by build.rs.
static BUILT_IN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sched.bpf.o"));

impl SchedSource {
    /// Short object name handed to libbpf (prefixes its internal map names).
    pub fn object_name(&self) -> String {
        match self {
            Self::BuiltIn => BUILT_IN_NAME.to_string(),
            Self::File(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().trim_end_matches(".bpf").to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "user_sched".to_string()),
        }
    }

    /// The object's bytes, checked to be ELF.
    pub fn read(&self) -> Result<Vec<u8>, SchedError> {
        match self {
            Self::BuiltIn => Ok(BUILT_IN.to_vec()),
            Self::File(path) => {
                let bytes = fs::read(path).map_err(|source| SchedError::Read {
                    path: path.clone(),
                    source,
                })?;
                if !bytes.starts_with(b"\x7fELF") {
                    return Err(SchedError::NotElf { path: path.clone() });
                }
                Ok(bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn built_in_object_is_elf() {
        let bytes = SchedSource::BuiltIn.read().unwrap();
        assert!(bytes.starts_with(b"\x7fELF"));
    }

    #[test]
    fn missing_and_non_elf_files_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let missing = SchedSource::File(dir.path().join("nope.bpf.o"));
        let err = missing.read().unwrap_err().to_string();
        assert!(
            err.contains("nope.bpf.o") && err.contains("--scheduler"),
            "{err}"
        );

        let text = dir.path().join("notes.bpf.o");
        std::fs::write(&text, "hello").unwrap();
        let err = SchedSource::File(text).read().unwrap_err().to_string();
        assert!(err.contains("not an ELF file"), "{err}");
    }

    #[test]
    fn object_name_comes_from_the_file_stem() {
        let s = SchedSource::File(PathBuf::from("/tmp/scx_mine.bpf.o"));
        assert_eq!(s.object_name(), "scx_mine");
    }
}
