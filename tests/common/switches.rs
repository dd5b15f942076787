//! Context switches: a load that makes them, and the kernel's own counts to
//! hold the probes against.

use std::io::{Read, Write};
use std::thread;

use procfs::{CurrentSI, FromRead};

/// Context switches of the calling thread so far, voluntary (it blocked)
/// and not (it was preempted), as the kernel counts them when the thread is
/// switched out.
pub fn own_split() -> (u64, u64) {
    // thread-self: procfs's Process::myself() would be the whole process.
    let status = procfs::process::Status::from_file("/proc/thread-self/status").unwrap();
    (
        status.voluntary_ctxt_switches.unwrap(),
        status.nonvoluntary_ctxt_switches.unwrap(),
    )
}

/// Context switches of the calling thread so far (voluntary and not).
pub fn own_switches() -> u64 {
    let (v, i) = own_split();
    v + i
}

/// Two threads bounce a byte through a pair of pipes until `done(trips so
/// far)`: a thread waiting for the byte blocks, so this makes context
/// switches. Returns the round trips made and how often the two threads
/// were switched out meanwhile.
pub fn ping_pong(done: impl FnMut(u64) -> bool) -> (u64, u64) {
    let (trips, voluntary, involuntary) = ping_pong_split(done);
    (trips, voluntary + involuntary)
}

/// [`ping_pong`], with the two threads' switches split into voluntary and
/// involuntary.
pub fn ping_pong_split(mut done: impl FnMut(u64) -> bool) -> (u64, u64, u64) {
    let (mut to_b_r, mut to_b_w) = std::io::pipe().unwrap();
    let (mut to_a_r, mut to_a_w) = std::io::pipe().unwrap();
    let echo = thread::spawn(move || {
        let before = own_split();
        let mut byte = [0u8];
        // EOF (A dropped its writer) ends the echo.
        while to_b_r.read(&mut byte).unwrap() == 1 {
            to_a_w.write_all(&byte).unwrap();
        }
        let after = own_split();
        (after.0 - before.0, after.1 - before.1)
    });
    let before = own_split();
    let mut trips = 0u64;
    let mut byte = [0u8];
    while !done(trips) {
        to_b_w.write_all(&byte).unwrap();
        to_a_r.read_exact(&mut byte).unwrap();
        trips += 1;
    }
    let after = own_split();
    drop(to_b_w);
    let theirs = echo.join().unwrap();
    (
        trips,
        after.0 - before.0 + theirs.0,
        after.1 - before.1 + theirs.1,
    )
}

/// Context switches since boot, summed over CPUs by the kernel.
pub fn proc_stat_ctxt() -> u64 {
    procfs::KernelStats::current().unwrap().ctxt
}

/// `scxtop status --json`'s probe against the kernel's own count, both ways:
/// the kernel's count inside the probe's window is a floor (less `slack`, a
/// fraction), and the switches the kernel counted around the whole run
/// (`outer`) a ceiling.
pub fn assert_probe_matches_the_kernel(v: &serde_json::Value, outer: u64, slack: f64) {
    let probe = &v["probe"];
    let switches = probe["switches"].as_u64().unwrap_or_else(|| panic!("{v}"));
    let per_cpu: u64 = probe["per_cpu"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(switches, per_cpu, "{v}");
    let inner = probe["kernel_switches"]
        .as_u64()
        .unwrap_or_else(|| panic!("no kernel count: {v}"));
    assert!(inner > 0, "the kernel counted no switch in a second: {v}");
    let floor = (inner as f64 * (1.0 - slack)).floor() as u64;
    assert!(
        floor <= switches && switches <= outer,
        "probe {switches} outside [{floor}, {outer}] (kernel inside {inner}, around {outer}): {v}"
    );
}
