//! BTF look-ups: kernel enum values the scx headers leave to the loader, and
//! where a global variable sits in an object's data sections.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::OnceLock;

use libbpf_rs::btf::Btf;
use libbpf_rs::btf::types::{DataSec, Enum, Enum64, Var};
use libbpf_rs::{AsRawLibbpf, OpenObject};

/// Every `SCX_*` enumerator of the running kernel, by name. Empty when the
/// kernel has no BTF (then nothing sched_ext can load anyway).
pub fn kernel_scx_enums() -> &'static HashMap<String, u64> {
    static ENUMS: OnceLock<HashMap<String, u64>> = OnceLock::new();
    ENUMS.get_or_init(|| {
        Btf::from_vmlinux()
            .map(|btf| scx_enums_of(&btf))
            .unwrap_or_default()
    })
}

fn scx_enums_of(btf: &Btf<'_>) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    let mut keep = |name: Option<&OsStr>, value: u64| {
        if let Some(name) = name
            .and_then(OsStr::to_str)
            .filter(|n| n.starts_with("SCX_"))
        {
            out.insert(name.to_string(), value);
        }
    };
    for e in btf.type_by_kind::<Enum<'_>>() {
        for m in e.iter() {
            // Enumerators are stored as 32 bits; negative ones keep their bits.
            keep(m.name, m.value as u64 & 0xffff_ffff);
        }
    }
    for e in btf.type_by_kind::<Enum64<'_>>() {
        for m in e.iter() {
            keep(m.name, m.value as u64);
        }
    }
    out
}

/// `ERROR_STALL` for `SCX_EXIT_ERROR_STALL`'s value, from the kernel's own
/// enum so new kinds are named too.
pub fn exit_kind_name(kind: i32) -> String {
    let bits = kind as u32 as u64;
    kernel_scx_enums()
        .iter()
        .filter(|(name, value)| **value == bits && name.starts_with("SCX_EXIT_"))
        .map(|(name, _)| name.trim_start_matches("SCX_EXIT_"))
        // SCX_EXIT_* also holds non-kind constants; kinds are the short names.
        .min_by_key(|n| n.len())
        .map(str::to_string)
        .unwrap_or_else(|| format!("kind {kind}"))
}

/// A global variable in a data section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataVar {
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

/// The variables of section `section` (".rodata", ".data", ...).
pub fn section_vars(btf: &Btf<'_>, section: &str) -> Vec<DataVar> {
    let mut vars = Vec::new();
    for sec in btf.type_by_kind::<DataSec<'_>>() {
        if sec.name() != Some(OsStr::new(section)) {
            continue;
        }
        for info in sec.iter() {
            let Some(var) = btf.type_by_id::<Var<'_>>(info.ty) else {
                continue;
            };
            if let Some(name) = var.name().and_then(OsStr::to_str) {
                vars.push(DataVar {
                    name: name.to_string(),
                    offset: info.offset as usize,
                    size: info.size,
                });
            }
        }
    }
    vars
}

/// The variables of `section` in an object that is opened but not loaded.
pub fn open_object_vars(obj: &OpenObject, section: &str) -> Vec<DataVar> {
    // SAFETY: the pointer comes from a live OpenObject we borrow for the whole
    // call, and Btf borrows it no longer than that.
    let raw = unsafe { &*obj.as_libbpf_object().as_ptr() };
    match Btf::from_bpf_object(raw) {
        Ok(Some(btf)) => section_vars(&btf, section),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running kernel's BTF always has some enum (not necessarily scx
    /// ones); exit kinds fall back to a number without sched_ext.
    #[test]
    fn unknown_exit_kind_is_named_by_number() {
        assert_eq!(exit_kind_name(-12345), "kind -12345");
    }
}
