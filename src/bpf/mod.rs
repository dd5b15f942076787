//! BPF objects built by `build.rs` and the plumbing shared by everything that
//! loads them: the layouts shared with BPF (generated from the C headers),
//! libbpf log capture, reading verifier logs and error wording.

pub mod intf;
pub mod libbpf_log;
pub mod load_error;
pub mod verifier_log;

/// Generated skeletons. Their code is libbpf-cargo's, not ours, so our lints
/// do not apply to it.
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    clippy::unwrap_used,
    clippy::expect_used,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unsafe_op_in_unsafe_fn
)]
pub mod skel {
    pub mod probe {
        include!(concat!(env!("OUT_DIR"), "/probe_skel.rs"));
    }
}
