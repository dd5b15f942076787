//! Per-CPU perf software counters against the kernel's own accounting
//! (root only: CPU-wide perf events need CAP_PERFMON).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use scxtop::probe::perf_counters::{CpuCounters, online_cpus};
use scxtop::probe::sched_probes::SchedProbes;

/// The tests measure the whole machine, so one test's load (or fds) must not
/// land in another's window.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn assert_rate(what: &str, rate: f64, delta: u64, window_s: f64) {
    let want = delta as f64 / window_s;
    assert!(
        (rate - want).abs() <= 1e-9 * want.max(1.0),
        "{what}: rate {rate} != {delta} / {window_s}s = {want}"
    );
}

#[test]
fn context_switch_sum_matches_proc_stat() {
    if !require_root("context_switch_sum_matches_proc_stat") {
        return;
    }
    let _serial = serial();
    let mut counters = CpuCounters::open().unwrap();
    assert!(
        counters.unavailable().is_empty(),
        "{:?}",
        counters.unavailable()
    );
    assert_eq!(counters.cpus(), online_cpus().unwrap());

    let outer_start = Instant::now();
    let proc_before = proc_stat_ctxt();
    counters.sample();
    let inner_start = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (trips, ours) = ping_pong(|trips| trips >= 40_000 || Instant::now() > deadline);
    let inner = inner_start.elapsed();
    let s = counters.sample();
    let proc_after = proc_stat_ctxt();
    let outer = outer_start.elapsed();

    let proc_delta = proc_after - proc_before;
    let perf = s.total.ctx_switches;
    let err = (perf as f64 - proc_delta as f64).abs() / proc_delta as f64;
    eprintln!(
        "perf sum {perf} vs /proc/stat ctxt delta {proc_delta} ({:.3}% apart), {trips} round trips, \
         {ours} switches of the ping-pong's own threads, window {:.4}s, {:.0} switches/s, per CPU {:?}",
        err * 100.0,
        s.window_s,
        s.total.ctx_switches_per_s,
        s.cpus.iter().map(|c| c.ctx_switches).collect::<Vec<_>>()
    );
    // perf's window lies inside /proc/stat's, and holds every switch of the
    // ping-pong's threads: both bounds are exact.
    assert!(
        ours <= perf && perf <= proc_delta,
        "perf {perf} outside [{ours} (ours), {proc_delta} (/proc/stat)]"
    );
    // The 2% bound means something only when the load the test made
    // dwarfs what happens at the windows' edges.
    assert!(
        ours >= 10_000,
        "the ping-pong switched only {ours} times in {trips} round trips"
    );
    assert!(
        err <= 0.02,
        "perf {perf} vs /proc/stat {proc_delta}: {:.2}% apart",
        err * 100.0
    );

    // The window is real time between the reads, not a nominal tick.
    assert!(
        s.window_s >= inner.as_secs_f64() && s.window_s <= outer.as_secs_f64(),
        "window {}s outside [{inner:?}, {outer:?}]",
        s.window_s
    );
    assert_eq!(perf, s.cpus.iter().map(|c| c.ctx_switches).sum::<u64>());
    assert_rate("total", s.total.ctx_switches_per_s, perf, s.window_s);
    for c in &s.cpus {
        assert_rate(
            &format!("cpu {}", c.cpu),
            c.ctx_switches_per_s,
            c.ctx_switches,
            s.window_s,
        );
        assert_rate(
            &format!("cpu {} migrations", c.cpu),
            c.migrations_per_s,
            c.migrations,
            s.window_s,
        );
    }

    let json = serde_json::to_value(&s).unwrap();
    for key in ["cpu", "ctx_switches_per_s", "migrations_per_s"] {
        assert!(json["cpus"][0].get(key).is_some(), "no {key} in {json}");
    }
}

fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain bits; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(
        rc,
        0,
        "sched_getaffinity: {}",
        std::io::Error::last_os_error()
    );
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: cpu < CPU_SETSIZE, the bound CPU_ISSET indexes within.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

fn current_cpu() -> usize {
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    assert!(
        cpu >= 0,
        "sched_getcpu: {}",
        std::io::Error::last_os_error()
    );
    cpu as usize
}

#[test]
fn migrations_are_counted() {
    if !require_root("migrations_are_counted") {
        return;
    }
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        assert!(!in_ci(), "migrations_are_counted: CI must have 2 CPUs");
        eprintln!("migrations_are_counted: skipped, needs 2 CPUs, have {cpus:?}");
        return;
    }
    let _serial = serial();
    let mut counters = CpuCounters::open().unwrap();
    counters.sample();
    // A fresh thread, so the test thread's affinity stays as it was.
    let moves = thread::spawn(move || {
        let mut moves = 0u64;
        let mut last = current_cpu();
        for i in 0..500 {
            let target = cpus[i % 2];
            pin_to(target);
            let now = current_cpu();
            assert_eq!(now, target, "still on CPU {now} after pinning to {target}");
            moves += u64::from(now != last);
            last = now;
        }
        moves
    })
    .join()
    .unwrap();
    let s = counters.sample();
    eprintln!(
        "{moves} forced moves, perf counted {} migrations ({:.0}/s over {:.4}s), per CPU {:?}",
        s.total.migrations,
        s.total.migrations_per_s,
        s.window_s,
        s.cpus.iter().map(|c| c.migrations).collect::<Vec<_>>()
    );
    assert!(moves >= 499, "only {moves} moves");
    assert!(
        s.total.migrations >= moves,
        "{} migrations < {moves} moves",
        s.total.migrations
    );
    assert_rate(
        "migrations",
        s.total.migrations_per_s,
        s.total.migrations,
        s.window_s,
    );
}

#[test]
fn dropping_closes_every_fd() {
    if !require_root("dropping_closes_every_fd") {
        return;
    }
    let _serial = serial();
    let before = perf_fds(std::process::id());
    let counters = CpuCounters::open().unwrap();
    assert_eq!(
        perf_fds(std::process::id()) - before,
        2 * counters.cpus().len()
    );
    drop(counters);
    assert_eq!(perf_fds(std::process::id()), before);
}

#[test]
fn a_cpu_that_cannot_open_is_unavailable_not_fatal() {
    if !require_root("a_cpu_that_cannot_open_is_unavailable_not_fatal") {
        return;
    }
    let _serial = serial();
    let online = online_cpus().unwrap();
    let mut asked = online.clone();
    asked.push(4096); // never a valid CPU number here
    let mut counters = CpuCounters::open_cpus(&asked).unwrap();
    assert_eq!(counters.cpus(), online);
    let un = counters.unavailable();
    assert_eq!(un.len(), 1, "{un:?}");
    assert_eq!(un[0].cpu, 4096);
    assert!(un[0].reason.contains("CPU 4096"), "{}", un[0].reason);
    let s = counters.sample();
    assert_eq!(s.cpus.len(), online.len());
    assert_eq!(s.unavailable, counters.unavailable());

    // No usable CPU at all is the one hard failure.
    assert!(CpuCounters::open_cpus(&[4096]).is_err());
    assert!(CpuCounters::open_cpus(&[]).is_err());
}

/// The BPF probes count switches where perf's context-switches counter
/// does, CPU by CPU: perf's reads bracket the probes' on each CPU, so
/// perf's count is a ceiling and within 2% under a storm. The voluntary
/// and involuntary parts (the kernel's split) each hold the ping-pong's own
/// switches of that kind, as the kernel counted them for its threads.
#[test]
fn bpf_switch_counts_match_perf_per_cpu() {
    if !require_root("bpf_switch_counts_match_perf_per_cpu") {
        return;
    }
    let _serial = serial();
    let mut storage = std::mem::MaybeUninit::uninit();
    let probes = SchedProbes::start(&mut storage).unwrap();
    let mut counters = CpuCounters::open().unwrap();

    counters.sample();
    let before = probes.cpu_counts().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (_, ours_vol, ours_invol) =
        ping_pong_split(|trips| trips >= 40_000 || Instant::now() > deadline);
    let ours = ours_vol + ours_invol;
    let after = probes.cpu_counts().unwrap();
    let s = counters.sample();

    let mut bpf_total = 0;
    for c in &s.cpus {
        let (b, a) = (before[c.cpu], after[c.cpu]);
        let bpf = a.switches - b.switches;
        let voluntary = a.voluntary - b.voluntary;
        eprintln!(
            "cpu {}: perf {} switches, BPF {bpf} ({voluntary} voluntary)",
            c.cpu, c.ctx_switches
        );
        assert!(
            bpf <= c.ctx_switches,
            "cpu {}: BPF {bpf} > perf {}",
            c.cpu,
            c.ctx_switches
        );
        assert!(
            voluntary <= bpf,
            "cpu {}: {voluntary} voluntary of {bpf}",
            c.cpu
        );
        bpf_total += bpf;
    }
    let perf = s.total.ctx_switches;
    assert!(ours >= 10_000, "the ping-pong switched only {ours} times");
    assert!(
        ours <= bpf_total && (perf - bpf_total) as f64 <= 0.02 * perf as f64,
        "BPF {bpf_total} vs perf {perf} (the ping-pong's own {ours})"
    );
    let voluntary: u64 = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.voluntary - b.voluntary)
        .sum();
    let involuntary = bpf_total - voluntary;
    eprintln!(
        "BPF: {voluntary} voluntary, {involuntary} involuntary; the ping-pong's threads: \
         {ours_vol} voluntary, {ours_invol} involuntary"
    );
    assert!(
        ours_vol <= voluntary && ours_invol <= involuntary,
        "BPF {voluntary} voluntary / {involuntary} involuntary do not hold the ping-pong's \
         {ours_vol} / {ours_invol}"
    );
}

/// The BPF probes count migrations where perf's cpu-migrations counter
/// does (set_task_cpu, when the CPU really changes): every forced move, and
/// perf's count as a ceiling within a few events.
#[test]
fn bpf_migration_counts_match_perf() {
    if !require_root("bpf_migration_counts_match_perf") {
        return;
    }
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        assert!(
            !in_ci(),
            "bpf_migration_counts_match_perf: CI must have 2 CPUs"
        );
        eprintln!("bpf_migration_counts_match_perf: skipped, needs 2 CPUs, have {cpus:?}");
        return;
    }
    let _serial = serial();
    let mut storage = std::mem::MaybeUninit::uninit();
    let probes = SchedProbes::start(&mut storage).unwrap();
    let mut counters = CpuCounters::open().unwrap();
    counters.sample();
    let before = probes.cpu_counts().unwrap();
    let moves = thread::spawn(move || {
        let mut moves = 0u64;
        let mut last = current_cpu();
        for i in 0..500 {
            pin_to(cpus[i % 2]);
            let now = current_cpu();
            moves += u64::from(now != last);
            last = now;
        }
        moves
    })
    .join()
    .unwrap();
    let after = probes.cpu_counts().unwrap();
    let s = counters.sample();
    let bpf: u64 = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.migrations - b.migrations)
        .sum();
    let perf = s.total.migrations;
    eprintln!("{moves} forced moves: BPF counted {bpf} migrations, perf {perf}");
    assert!(moves >= 499, "only {moves} moves");
    assert!(
        moves <= bpf && bpf <= perf,
        "BPF {bpf} outside [{moves} moves, {perf} perf]"
    );
    assert!(
        perf - bpf <= perf / 50 + 20,
        "BPF {bpf} vs perf {perf}: more apart than the reads' skew explains"
    );
}
