//! The layouts BPF shares with userspace, as Rust types bindgen generates
//! from the C headers at build time (build.rs): `probe` from probe.h, `sched`
//! from sched.h (the built-in scheduler's map values), `printk_tail` from
//! printk_tail.h (the bpf_printk tail's ring records), `uei` from scx's
//! `struct user_exit_info`. A struct is declared once, in C; Rust reads map
//! values and records into these types by field name.
//!
//! Each shared struct is listed once below with its fields. The list cannot
//! drift: it must name every field of the generated type (or it does not
//! compile), and the tests compare it with the BTF of the compiled objects,
//! member by member, so a field moved on either side fails them.

use std::mem::size_of;

use plain::Plain;

/// A struct BPF and userspace share: its C name, and its fields' names and
/// byte offsets in Rust.
///
/// # Safety
/// Every byte of the struct belongs to a field (no padding), and every bit
/// pattern is valid for every field. Only `shared!` implements it, after
/// checking both at compile time.
pub unsafe trait Shared: Plain + Copy {
    const NAME: &'static str;
    const FIELDS: &'static [(&'static str, usize)];
}

/// Field types every bit pattern is valid for: integers, arrays of them and
/// structs `shared!` covered.
pub trait PlainField {}
impl PlainField for i8 {}
impl PlainField for u8 {}
impl PlainField for i32 {}
impl PlainField for u32 {}
impl PlainField for i64 {}
impl PlainField for u64 {}
impl<T: PlainField, const N: usize> PlainField for [T; N] {}

/// Compiles only for a `PlainField`.
pub fn plain_field<T: PlainField>(_: &T) {}

/// The size of the field `field` points at.
pub const fn field_size<T, F>(_field: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// Declares a generated struct shared, with all of its fields.
macro_rules! shared {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        const _: () = {
            // No `..`: a field missing from the list does not compile, and
            // every field must be a PlainField.
            #[allow(dead_code)]
            fn every_field_is_plain(v: &$ty) {
                let $ty { $($field),* } = v;
                $($crate::bpf::intf::plain_field($field);)*
            }
            assert!(
                0 $(+ $crate::bpf::intf::field_size(|v: &$ty| &v.$field))*
                    == std::mem::size_of::<$ty>(),
                concat!("struct ", stringify!($ty), " has padding: give it explicit pad fields")
            );
        };
        // SAFETY: `$ty` is #[repr(C)] and every_field_is_plain above compiles
        // only when each of its fields is a PlainField, for which every bit
        // pattern is valid; so every bit pattern is a valid `$ty`.
        unsafe impl plain::Plain for $ty {}
        impl $crate::bpf::intf::PlainField for $ty {}
        // SAFETY: the checks above: every field is a PlainField, and the
        // fields' sizes add up to the struct's, so there is no padding.
        unsafe impl $crate::bpf::intf::Shared for $ty {
            const NAME: &'static str = stringify!($ty);
            const FIELDS: &'static [(&'static str, usize)] =
                &[$((stringify!($field), std::mem::offset_of!($ty, $field))),*];
        }
    )*};
}

/// Generated code is bindgen's, not ours, so our lints do not apply to it.
macro_rules! generated {
    ($name:ident, $file:literal) => {
        #[allow(
            clippy::all,
            clippy::pedantic,
            dead_code,
            non_camel_case_types,
            non_snake_case,
            non_upper_case_globals
        )]
        mod $name {
            include!(concat!(env!("OUT_DIR"), "/", $file));
        }
    };
}

/// probe.h: the probes' per-CPU counters, histograms and task records.
pub mod probe {
    generated!(bindings, "probe_intf.rs");
    pub use bindings::*;

    shared! {
        hist { b }
        cpu_stat { switches, voluntary, lat_max_ns, migrations, curr_tid, pad, lat }
        task_totals { runtime_ns, wait_total_ns, wait_max_ns, waits, voluntary, involuntary }
        task_rec { tgid, pid, prio, static_prio, policy, last_cpu, t, comm }
        refresh_args { n }
    }
}

/// sched.h: the built-in scheduler's map values.
pub mod sched {
    generated!(bindings, "sched_intf.rs");
    pub use bindings::*;

    shared! {
        ctl { printk_on }
        cpu_ctx { depth_max_live, depth, depth_max, running_vtime, running_band, pad }
        band_stats { enqueued, dispatched, wait_ns, rescued, preempt_kicks }
    }
}

/// printk_tail.h: the bpf_printk tail's ring records.
pub mod printk_tail {
    generated!(bindings, "printk_tail_intf.rs");
    pub use bindings::*;

    shared! {
        printk_hdr { ts_ns, pid, tgid, cpu, len, comm }
    }
}

/// scx's `struct user_exit_info`, as the scx headers scx_cargo ships lay it
/// out (every object built with them records its exit in one).
pub mod uei {
    generated!(bindings, "uei_intf.rs");
    pub use bindings::*;

    shared! {
        user_exit_info { kind, exit_cpu, exit_code, reason, msg }
    }
}

/// A value whose size is not the generated struct's: the object was built
/// from other headers than this binary.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} is {got} bytes, not the {want} of struct {ty}: the BPF object and \
     scxtop's bindings disagree; rebuild scxtop"
)]
pub struct LayoutError {
    pub what: &'static str,
    pub ty: &'static str,
    pub want: usize,
    pub got: usize,
}

/// Reads a `T` from exactly its bytes, in any alignment (map values and
/// records come in byte buffers).
pub fn read<T: Shared>(what: &'static str, bytes: &[u8]) -> Result<T, LayoutError> {
    let mut value = zeroed::<T>();
    if bytes.len() != size_of::<T>() || plain::copy_from_bytes(&mut value, bytes).is_err() {
        return Err(LayoutError {
            what,
            ty: T::NAME,
            want: size_of::<T>(),
            got: bytes.len(),
        });
    }
    Ok(value)
}

/// The bytes of `value`, as BPF reads them.
pub fn to_bytes<T: Shared>(value: &T) -> Vec<u8> {
    // SAFETY: `T: Shared` has no padding, so every byte of `value` is an
    // initialized byte of a field.
    unsafe { plain::as_bytes(value) }.to_vec()
}

fn zeroed<T: Plain>() -> T {
    // SAFETY: `T: Plain` means every bit pattern is a valid `T`; all zeros is
    // one of them.
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::path::Path;

    use libbpf_rs::btf::types::{MemberAttr, Struct};
    use libbpf_rs::btf::{Btf, HasSize};

    use super::*;

    fn object_btf(name: &str) -> Btf<'static> {
        let path = Path::new(env!("SCXTOP_TEST_BPF_DIR")).join(format!("{name}.bpf.o"));
        Btf::from_path(&path).unwrap()
    }

    /// Compares `T` with the struct of the same name in `btf`: the same size,
    /// and the same members at the same byte offsets.
    fn check<T: Shared>(btf: &Btf<'_>) -> Result<(), String> {
        let name = T::NAME;
        // By kind: a map is often named after its value's struct.
        let s = btf
            .type_by_kind::<Struct<'_>>()
            .find(|s| s.name() == Some(OsStr::new(name)))
            .ok_or_else(|| format!("struct {name} is not in the object's BTF"))?;
        if s.size() != size_of::<T>() {
            return Err(format!(
                "struct {name} is {} bytes in BPF, {} in Rust",
                s.size(),
                size_of::<T>()
            ));
        }
        let bpf: Vec<(String, usize)> = s
            .iter()
            .map(|m| {
                let bits = match m.attr {
                    MemberAttr::Normal { offset } | MemberAttr::BitField { offset, .. } => offset,
                };
                let member = m
                    .name
                    .map_or_else(String::new, |n| n.to_string_lossy().into());
                (member, bits as usize / 8)
            })
            .collect();
        let rust: Vec<(String, usize)> = T::FIELDS
            .iter()
            .map(|(f, off)| ((*f).to_string(), *off))
            .collect();
        if bpf != rust {
            return Err(format!(
                "struct {name} differs: BPF has {bpf:?}, Rust has {rust:?}"
            ));
        }
        Ok(())
    }

    #[test]
    fn probe_structs_match_the_compiled_probes() {
        let btf = object_btf("probe");
        check::<probe::hist>(&btf).unwrap();
        check::<probe::cpu_stat>(&btf).unwrap();
        check::<probe::task_totals>(&btf).unwrap();
        check::<probe::task_rec>(&btf).unwrap();
    }

    #[test]
    fn scheduler_structs_match_the_compiled_scheduler() {
        let btf = object_btf("sched");
        check::<sched::ctl>(&btf).unwrap();
        check::<sched::cpu_ctx>(&btf).unwrap();
        check::<sched::band_stats>(&btf).unwrap();
        check::<uei::user_exit_info>(&btf).unwrap();
    }

    #[test]
    fn printk_record_matches_the_compiled_tail() {
        check::<printk_tail::printk_hdr>(&object_btf("printk_tail")).unwrap();
    }

    /// A Rust view with two same-sized fields swapped has the right size, so
    /// only a member-by-member comparison catches it.
    #[test]
    fn a_swapped_field_is_caught() {
        mod swapped {
            #[allow(non_camel_case_types)]
            #[repr(C)]
            #[derive(Clone, Copy)]
            pub struct band_stats {
                pub dispatched: u64,
                pub enqueued: u64,
                pub wait_ns: u64,
                pub rescued: u64,
                pub preempt_kicks: u64,
            }
            shared! {
                band_stats { dispatched, enqueued, wait_ns, rescued, preempt_kicks }
            }
        }
        let err = check::<swapped::band_stats>(&object_btf("sched")).unwrap_err();
        assert!(
            err.contains("struct band_stats differs") && err.contains("(\"dispatched\", 0)"),
            "{err}"
        );
    }

    #[test]
    fn reads_need_exactly_the_structs_size() {
        let mut bytes = vec![0u8; size_of::<sched::cpu_ctx>() + 1];
        let at = std::mem::offset_of!(sched::cpu_ctx, depth_max);
        bytes[at + 1..at + 9].copy_from_slice(&7u64.to_ne_bytes());
        // Unaligned on purpose: values arrive in plain byte buffers.
        let v = read::<sched::cpu_ctx>("a cpu_ctx", &bytes[1..]).unwrap();
        assert_eq!((v.depth, v.depth_max), (0, 7));
        let err = read::<sched::cpu_ctx>("a cpu_ctx", &bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a cpu_ctx is 41 bytes, not the 40 of struct cpu_ctx: the BPF object and \
             scxtop's bindings disagree; rebuild scxtop"
        );
    }
}
