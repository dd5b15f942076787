//! BTF look-ups: kernel enum values the scx headers leave to the loader,
//! where a global variable sits in an object's data sections, and which
//! kernel struct a struct_ops map implements.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::OnceLock;

use libbpf_rs::btf::types::{DataSec, Enum, Enum64, Var};
use libbpf_rs::btf::{Btf, BtfType, TypeId};
use libbpf_rs::{AsRawLibbpf, MapType, OpenObject};

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

/// A struct_ops map and the kernel struct it implements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsMap {
    pub map: String,
    /// The map's BTF value type without a `___flavor` suffix (libbpf drops
    /// it too when it matches the kernel's type): `sched_ext_ops`,
    /// `tcp_congestion_ops`, ...
    pub kind: String,
}

/// The struct_ops maps of an object that is opened but not loaded.
pub fn struct_ops_maps(obj: &OpenObject) -> Vec<StructOpsMap> {
    // SAFETY: the pointer comes from a live OpenObject we borrow for the whole
    // call, and Btf borrows it no longer than that.
    let raw = unsafe { &*obj.as_libbpf_object().as_ptr() };
    let btf = Btf::from_bpf_object(raw).ok().flatten();
    obj.maps()
        .filter(|m| m.map_type() == MapType::StructOps)
        .map(|m| {
            // SAFETY: the map pointer comes from a live OpenMap borrowed for
            // this call; the function only reads a field of it.
            let id = unsafe {
                libbpf_rs::libbpf_sys::bpf_map__btf_value_type_id(m.as_libbpf_object().as_ptr())
            };
            let name = btf
                .as_ref()
                .and_then(|b| b.type_by_id::<BtfType<'_>>(TypeId::from(id)))
                .and_then(|t| t.name().and_then(OsStr::to_str).map(str::to_string));
            StructOpsMap {
                map: m.name().to_string_lossy().into_owned(),
                kind: name.map_or_else(
                    || format!("an unnamed struct (BTF type {id})"),
                    |n| essential_name(&n).to_string(),
                ),
            }
        })
        .collect()
}

/// `sched_ext_ops___v2` is `sched_ext_ops` to the kernel.
fn essential_name(name: &str) -> &str {
    name.find("___").map_or(name, |i| &name[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use libbpf_rs::ObjectBuilder;

    fn open_fixture(name: &str) -> OpenObject {
        let path = std::path::Path::new(env!("SCXTOP_TEST_BPF_DIR")).join(format!("{name}.bpf.o"));
        ObjectBuilder::default().open_file(&path).unwrap()
    }

    /// Opening needs no kernel support and no privileges.
    #[test]
    fn struct_ops_maps_name_the_kernel_struct_they_implement() {
        assert_eq!(
            struct_ops_maps(&open_fixture("tcp_cc")),
            [StructOpsMap {
                map: "scxtop_cc".into(),
                kind: "tcp_congestion_ops".into()
            }]
        );
        assert_eq!(
            struct_ops_maps(&open_fixture("stall")),
            [StructOpsMap {
                map: "stall_ops".into(),
                kind: "sched_ext_ops".into()
            }]
        );
        assert!(struct_ops_maps(&open_fixture("no_ops")).is_empty());
    }

    #[test]
    fn flavor_suffixes_are_dropped() {
        assert_eq!(essential_name("sched_ext_ops___v2"), "sched_ext_ops");
        assert_eq!(essential_name("tcp_congestion_ops"), "tcp_congestion_ops");
    }

    /// The running kernel's BTF always has some enum (not necessarily scx
    /// ones); exit kinds fall back to a number without sched_ext.
    #[test]
    fn unknown_exit_kind_is_named_by_number() {
        assert_eq!(exit_kind_name(-12345), "kind -12345");
    }
}
