//! Counts context switches per CPU with a `tp_btf/sched_switch` program.

use std::mem::MaybeUninit;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, OpenObject};

use super::ProbeError;
use crate::bpf::load_error::describe;
use crate::bpf::owned::Owned;
use crate::bpf::skel::probe::{ProbeSkel, ProbeSkelBuilder};

pub const PROGRAM: &str = "tp_btf/sched_switch";

/// A loaded and attached counter. Dropping it detaches the program and frees
/// the map (the links and fds live in the skeleton).
pub struct SwitchCounter {
    skel: Owned<ProbeSkel<'static>>,
}

fn open_load_attach(
    storage: &'static mut MaybeUninit<OpenObject>,
) -> Result<ProbeSkel<'static>, ProbeError> {
    let open = ProbeSkelBuilder::default()
        .open(storage)
        .map_err(|e| ProbeError::Bpf(describe("opening the probe object", &e)))?;
    let mut skel = open
        .load()
        .map_err(|e| ProbeError::Bpf(describe("loading the probe programs", &e)))?;
    skel.attach()
        .map_err(|e| ProbeError::Bpf(describe(&format!("attaching {PROGRAM}"), &e)))?;
    Ok(skel)
}

impl SwitchCounter {
    pub fn start() -> Result<Self, ProbeError> {
        Ok(Self {
            skel: Owned::new(open_load_attach)?,
        })
    }

    /// Switches counted on each CPU since the program was attached.
    pub fn per_cpu(&self) -> Result<Vec<u64>, ProbeError> {
        let key = 0u32.to_ne_bytes();
        let values = self
            .skel
            .maps
            .switch_count
            .lookup_percpu(&key, MapFlags::ANY)
            .map_err(|e| ProbeError::Bpf(describe("reading switch_count", &e)))?
            .unwrap_or_default();
        values.iter().map(|v| decode_u64("switch_count", v)).collect()
    }
}

fn decode_u64(map: &'static str, bytes: &[u8]) -> Result<u64, ProbeError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| ProbeError::BadValue {
        map,
        got: bytes.len(),
        want: 8,
    })?;
    Ok(u64::from_ne_bytes(arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_native_u64_and_rejects_wrong_sizes() {
        assert_eq!(decode_u64("m", &42u64.to_ne_bytes()).unwrap(), 42);
        let err = decode_u64("m", &[1, 2, 3]).unwrap_err().to_string();
        assert!(err.contains("3 bytes"), "{err}");
    }
}
