// Compiles the BPF programs in src/bpf/ into libbpf-rs skeletons in OUT_DIR,
// and their shared headers into Rust types.
//
// scx_cargo supplies the scx headers and a vmlinux.h that match the scx_utils
// version we link against, so the BPF side and the Rust compat helpers agree on
// the sched_ext ABI. It needs clang >= 18 (see .cargo/config.toml for BPF_CLANG).

use std::env;
use std::process::Command;

/// One skeleton per BPF source: (source, skeleton name). Each also leaves
/// NAME.bpf.o in OUT_DIR, which objects loaded from memory embed.
const SKELETONS: &[(&str, &str)] = &[
    ("src/bpf/probe.bpf.c", "probe"),
    ("src/bpf/sched.bpf.c", "sched"),
    ("src/bpf/printk_tail.bpf.c", "printk_tail"),
];

/// Headers whose layouts Rust reads, turned into Rust by bindgen (scx_cargo's
/// interface-header support) with the same flags and scx headers as the BPF
/// build: (header, output in OUT_DIR). src/bpf/intf.rs includes them.
const INTERFACES: &[(&str, &str)] = &[
    ("src/bpf/probe.h", "probe_intf.rs"),
    ("src/bpf/sched.h", "sched_intf.rs"),
    ("src/bpf/uei.h", "uei_intf.rs"),
    ("src/bpf/printk_tail.h", "printk_tail_intf.rs"),
];

/// Objects the tests load (as a user's `--scheduler`, as a printk source) and
/// the benchmarks' empty probe; their directory reaches the tests and
/// benchmarks as SCXTOP_TEST_BPF_DIR.
const TEST_FIXTURES: &[(&str, &str)] = &[
    ("tests/bpf/stall.bpf.c", "stall"),
    ("tests/bpf/reject.bpf.c", "reject"),
    ("tests/bpf/no_ops.bpf.c", "no_ops"),
    ("tests/bpf/printk.bpf.c", "printk"),
    ("tests/bpf/empty_switch.bpf.c", "empty_switch"),
    ("tests/bpf/error.bpf.c", "error"),
    ("tests/bpf/no_uei.bpf.c", "no_uei"),
    ("tests/bpf/tcp_cc.bpf.c", "tcp_cc"),
    ("tests/bpf/maybe_null.bpf.c", "maybe_null"),
    ("tests/bpf/kfunc_deny.bpf.c", "kfunc_deny"),
    ("tests/bpf/init_error.bpf.c", "init_error"),
    ("tests/bpf/init_fail.bpf.c", "init_fail"),
    ("tests/bpf/bad_timeout.bpf.c", "bad_timeout"),
];

const MIN_CLANG: u32 = 18;

fn clang_major(cmd: &str) -> Option<u32> {
    let out = Command::new(cmd).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let after = text.split("clang version ").nth(1)?;
    after.split('.').next()?.trim().parse().ok()
}

fn check_clang() -> anyhow::Result<()> {
    // .cargo/config.toml sets a default; an exported BPF_CLANG overrides it.
    let clang = env::var("BPF_CLANG").unwrap_or_else(|_| "clang".into());
    match clang_major(&clang) {
        Some(v) if v >= MIN_CLANG => Ok(()),
        found => anyhow::bail!(
            "the BPF build needs clang >= {MIN_CLANG}, but BPF_CLANG={clang} is {}: \
             install clang-19 (scripts/install-deps.sh does) or set BPF_CLANG",
            found.map_or("missing".to_string(), |v| format!("version {v}"))
        ),
    }
}

fn main() -> anyhow::Result<()> {
    check_clang()?;
    println!("cargo:rerun-if-env-changed=BPF_CLANG");
    println!("cargo:rerun-if-changed=tests/bpf/comm_prefix.bpf.h");

    for (header, out) in INTERFACES {
        scx_cargo::BpfBuilder::new()?
            .enable_intf(header, out)
            .build()?;
    }
    for (source, name) in SKELETONS.iter().chain(TEST_FIXTURES) {
        scx_cargo::BpfBuilder::new()?
            .enable_skel(source, name)
            .build()?;
    }
    println!(
        "cargo:rustc-env=SCXTOP_TEST_BPF_DIR={}",
        env::var("OUT_DIR")?
    );
    Ok(())
}
