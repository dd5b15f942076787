//! Probe cost and overhead on this machine (root; no VM needed).
//!
//! `cargo bench --bench probes [-- OPTIONS] [SECTION...]` prints:
//! - `cost`: ns per event of each of scxtop's BPF programs (BPF_ENABLE_STATS
//!   run time / run count) under a context-switch storm, beside an empty
//!   program's (target: 100 ns or less per event);
//! - `pipe`, `messaging`: pipe ping-pong pinned to CPU 0 and a messaging load
//!   (4 unpinned pairs), each running for the whole section while arms come
//!   and go beside it: an empty sched_switch program (the floor any switch
//!   probe pays), scxtop's BPF probes alone, scxtop itself, and the tools a
//!   user would run instead, `perf sched record` and a runqlat-style
//!   bpftrace script. A round is B F A1 F A2 F ... F B (B: nothing attached,
//!   F: the floor, arms shuffled): the floor is paired with the baselines,
//!   each arm with the floor windows on either side. Per arm: the mean ratio
//!   to the baseline, its cost above the floor in points
//!   (`(1 - r) - (1 - r_floor)`) with a 95% t-interval over the rounds, and
//!   whether that interval is within +-2 points and scxtop's within the
//!   3-point target; scored per CPU-second and per wall-clock second
//!   (`Metric`);
//! - `noloss`: 60 s at 500k+ events/s: the BPF switch count against perf's
//!   (nothing may be dropped);
//! - `noise` (only when named): how much the load alone moves between
//!   adjacent windows of 0.1 to 2 s.
//!
//! Options: `--rounds N` (15 rounds with every arm), `--max-rounds N` (80:
//! rounds past --rounds hold the floor, the probes and scxtop only, until
//! their intervals are within +-2 points), `--window DURATION` (250ms),
//! `--arms a,b,...` (`Arm::name`; default floor, probes, scxtop, perf-sched,
//! bpftrace), `--seed N` (the arms' order), `--nice N` (-20). An arm whose
//! tool is missing is skipped with one line saying so; scripts/bench.sh
//! installs the tools.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "probes/arms.rs"]
mod arms;
#[path = "probes/load.rs"]
mod load;
#[path = "probes/stats.rs"]
mod stats;

use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libbpf_rs::query::ProgInfoIter;

use arms::{Arm, Scxtop};
use load::{Load, MESSAGING, PIPE};
use stats::Interval;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The bench was asked to stop (SIGINT, SIGTERM, SIGHUP): measurements
/// return early so every guard runs.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; the fn pointer lives for the whole program.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

#[derive(Debug)]
struct Interrupted;

fn check() -> Result<(), Interrupted> {
    if interrupted() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

const TARGET_NS: f64 = 100.0;
const TARGET_POINTS: f64 = 3.0;
const WIDTH_POINTS: f64 = 2.0;

struct Options {
    rounds: usize,
    max_rounds: usize,
    window: Duration,
    arms: Vec<Arm>,
    seed: u64,
    nice: i32,
    sections: Vec<String>,
}

const USAGE: &str = "usage: cargo bench --bench probes -- [--rounds N] [--max-rounds N] \
    [--window DURATION] [--arms a,b,...] [--seed N] [--nice N] [cost|pipe|messaging|noloss]...";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        rounds: 15,
        max_rounds: 80,
        window: Duration::from_millis(250),
        arms: Arm::DEFAULT.to_vec(),
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        nice: -20,
        sections: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{flag} needs a value\n{USAGE}"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number\n{USAGE}"))
        };
        match flag.as_str() {
            // cargo bench passes --bench to a harness-less bench.
            "--bench" => {}
            "--rounds" => o.rounds = number(value()?)? as usize,
            "--max-rounds" => o.max_rounds = number(value()?)? as usize,
            "--seed" => o.seed = number(value()?)?,
            "--nice" => {
                let v = value()?;
                o.nice = v
                    .parse()
                    .ok()
                    .filter(|n| (-20..=19).contains(n))
                    .ok_or(format!("--nice {v}: not a nice level (-20..19)\n{USAGE}"))?;
            }
            "--window" => {
                let v = value()?;
                o.window = humantime::parse_duration(&v)
                    .map_err(|e| format!("--window {v}: {e}\n{USAGE}"))?;
            }
            "--arms" => {
                o.arms = value()?
                    .split(',')
                    .map(|n| {
                        Arm::parse(n).ok_or(format!(
                            "--arms: no arm {n:?}; there are {}",
                            Arm::ALL.map(Arm::name).join(", ")
                        ))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            "cost" | "pipe" | "messaging" | "noloss" | "noise" => o.sections.push(arg),
            s => return Err(format!("no section {s:?}\n{USAGE}")),
        }
    }
    if o.rounds < 2 {
        return Err(format!(
            "--rounds must be 2 or more for an interval\n{USAGE}"
        ));
    }
    o.max_rounds = o.max_rounds.max(o.rounds);
    // Every arm is measured against the floor's windows around it.
    if !o.arms.contains(&Arm::Floor) {
        o.arms.insert(0, Arm::Floor);
    }
    Ok(o)
}

/// A small deterministic generator for the arms' order (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

/// The two ways a window is scored. Per CPU-second: round trips over the
/// CPU time the load's threads and the arm's own processes had, which is
/// what the load would get on a machine with nothing else running: other
/// people's work on this host takes CPU 0 from the load in bursts of a few
/// ms (8% of it over seconds, even at nice -20), which a wall-clock window
/// cannot tell from the arm's cost. It counts the arm's processes whole,
/// also where they ran on a CPU the load did not need (the pinned load's
/// other CPU): an upper bound there. Per wall-clock second: the plain
/// throughput, the ratio the issue names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Metric {
    Cpu,
    Wall,
}

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::Cpu => "round trips per CPU-second of the load and the arm's processes",
            Metric::Wall => "round trips per wall-clock second",
        }
    }
}

/// A pair of numbers, one per metric.
#[derive(Clone, Copy, Default)]
struct Pair {
    cpu: f64,
    wall: f64,
}

impl Pair {
    fn get(&self, m: Metric) -> f64 {
        match m {
            Metric::Cpu => self.cpu,
            Metric::Wall => self.wall,
        }
    }

    fn zip(self, o: Pair, f: impl Fn(f64, f64) -> f64) -> Pair {
        Pair {
            cpu: f(self.cpu, o.cpu),
            wall: f(self.wall, o.wall),
        }
    }
}

/// One window: its rates, and the share of a CPU the arm's processes used.
#[derive(Clone, Copy)]
struct Window {
    rate: Pair,
    arm_cpu_share: f64,
}

fn measure(pingpong: &load::Running, arm: Option<&arms::Running<'_>>, len: Duration) -> Window {
    let arm_cpu = || arm.map_or(0, |a| a.cpu_ns());
    let (a, arm0) = (pingpong.mark(), arm_cpu());
    std::thread::sleep(len);
    let (b, arm1) = (pingpong.mark(), arm_cpu());
    let secs = (b.at - a.at).as_secs_f64();
    let trips = (b.trips - a.trips) as f64;
    let arm_ns = arm1.saturating_sub(arm0) as f64;
    Window {
        rate: Pair {
            cpu: trips / ((b.cpu_ns - a.cpu_ns) as f64 + arm_ns) * 1e9,
            wall: trips / secs,
        },
        arm_cpu_share: arm_ns / 1e9 / secs,
    }
}

/// One arm in one round.
#[derive(Clone, Copy)]
struct Scored {
    /// Throughput with the arm over throughput with nothing attached.
    ratio: Pair,
    /// Points of throughput lost beyond the floor's: 100 (1 - X / F), F the
    /// mean of the floor windows on either side of the arm's.
    above: Pair,
    arm_cpu_share: f64,
}

/// Every arm measured in one round, by `Arm::ALL` index.
type Round = BTreeMap<usize, Scored>;

/// Starts `arm`, measures one window beside it, stops it.
fn window_with(
    pingpong: &load::Running,
    arm: Arm,
    len: Duration,
) -> Result<Result<Window, String>, Interrupted> {
    check()?;
    let mut storage = MaybeUninit::uninit();
    let running = match arm.start(&mut storage) {
        Ok(r) => r,
        Err(e) => {
            check()?;
            return Ok(Err(e));
        }
    };
    let w = measure(pingpong, Some(&running), len);
    let stopped = running.stop();
    check()?;
    if let Err(e) = stopped {
        println!("  {}: {e}", arm.name());
    }
    Ok(Ok(w))
}

/// One round: a baseline window, then the floor, then each arm in a
/// shuffled order with a floor window after it, then a baseline window:
/// B F A1 F A2 F ... F B. The floor is measured against the baselines at
/// either end, each arm against the floor windows on either side of it:
/// the comparison the target is about is the adjacent one, with half the
/// noise of two ratios to the baseline subtracted.
fn run_round(
    pingpong: &load::Running,
    arms: &mut Vec<Arm>,
    set: &[Arm],
    len: Duration,
    rng: &mut Rng,
) -> Result<Round, Interrupted> {
    let mut order: Vec<Arm> = set.to_vec();
    rng.shuffle(&mut order);
    let mut round = Round::new();
    let b1 = measure(pingpong, None, len);
    let mut floor = window_with(pingpong, Arm::Floor, len)?;
    let Ok(first_floor) = floor.clone() else {
        let e = floor.err().unwrap_or_default();
        println!("  floor: could not start: {e}; nothing can be measured above it");
        arms.clear();
        return Ok(round);
    };
    let mut prev = first_floor;
    let mut scored = Vec::new();
    for arm in order {
        let with = match window_with(pingpong, arm, len)? {
            Ok(w) => w,
            Err(e) => {
                println!(
                    "  {}: could not start, left out from here on: {e}",
                    arm.name()
                );
                arms.retain(|a| *a != arm);
                continue;
            }
        };
        floor = window_with(pingpong, Arm::Floor, len)?;
        let Ok(next) = floor.clone() else {
            println!(
                "  floor: could not start again: {}",
                floor.err().unwrap_or_default()
            );
            arms.clear();
            return Ok(Round::new());
        };
        let f = prev.rate.zip(next.rate, |a, b| (a + b) / 2.0);
        scored.push((arm, with, f));
        prev = next;
    }
    let b2 = measure(pingpong, None, len);
    let r_floor = first_floor
        .rate
        .zip(b1.rate, |f, b| f / b)
        .zip(prev.rate.zip(b2.rate, |f, b| f / b), |x, y| (x + y) / 2.0);
    round.insert(
        arm_index(Arm::Floor),
        Scored {
            ratio: r_floor,
            above: Pair::default(),
            arm_cpu_share: 0.0,
        },
    );
    for (arm, with, f) in scored {
        round.insert(
            arm_index(arm),
            Scored {
                ratio: with.rate.zip(f, |x, f| x / f).zip(r_floor, |x, r| x * r),
                above: with.rate.zip(f, |x, f| (1.0 - x / f) * 100.0),
                arm_cpu_share: with.arm_cpu_share,
            },
        );
    }
    Ok(round)
}

fn run_load(
    load: &Load,
    o: &Options,
    arms: &mut Vec<Arm>,
    rng: &mut Rng,
) -> Result<(), Interrupted> {
    // Past --rounds, rounds hold only what the interval target is about.
    let full: Vec<Arm> = arms.iter().copied().filter(|a| *a != Arm::Floor).collect();
    println!(
        "\n{}: {:?} windows; each round: baseline, floor, then every arm in a shuffled order \
         (seed {}) with a floor window after each, baseline. Rounds past {} hold floor, \
         probes and scxtop only, until their intervals are within ±{WIDTH_POINTS} points \
         (at most {} rounds)",
        load.label, o.window, o.seed, o.rounds, o.max_rounds
    );
    let started = Instant::now();
    let pingpong = load::Running::start(load);
    // A first window warms caches and the CPU frequency up; not counted.
    measure(&pingpong, None, o.window);
    let mut rounds: Vec<Round> = Vec::new();
    while rounds.len() < o.max_rounds && !arms.is_empty() {
        let extension = rounds.len() >= o.rounds;
        if extension && widths_met(arms, &rounds) {
            break;
        }
        let set: Vec<Arm> = full
            .iter()
            .copied()
            .filter(|a| arms.contains(a))
            .filter(|a| !extension || matches!(a, Arm::Probes | Arm::Scxtop))
            .collect();
        let round = run_round(&pingpong, arms, &set, o.window, rng)?;
        if round.is_empty() {
            break;
        }
        let line: Vec<String> = round
            .iter()
            .map(|(i, s)| {
                let a = Arm::ALL[*i];
                if a == Arm::Floor {
                    format!("floor {:.3}/{:.3}", s.ratio.cpu, s.ratio.wall)
                } else {
                    format!("{} {:+.1}/{:+.1}", a.name(), s.above.cpu, s.above.wall)
                }
            })
            .collect();
        println!(
            "  round {:2} (floor: ratio; arms: points above floor; per CPU-s/per wall s): {}",
            rounds.len() + 1,
            line.join(", ")
        );
        rounds.push(round);
    }
    let took = started.elapsed();
    drop(pingpong);
    summarize(load, arms, &rounds, took);
    Ok(())
}

fn arm_index(arm: Arm) -> usize {
    Arm::ALL.iter().position(|a| *a == arm).unwrap_or(0)
}

fn column(rounds: &[Round], arm: Arm, f: impl Fn(&Scored) -> f64) -> Vec<f64> {
    rounds
        .iter()
        .filter_map(|r| r.get(&arm_index(arm)).map(&f))
        .collect()
}

/// Per round, `arm`'s points above the floor less `other`'s.
fn above_other(rounds: &[Round], arm: Arm, other: Arm, m: Metric) -> Vec<f64> {
    rounds
        .iter()
        .filter_map(|r| {
            let (a, o) = (r.get(&arm_index(arm))?, r.get(&arm_index(other))?);
            Some(a.above.get(m) - o.above.get(m))
        })
        .collect()
}

/// scxtop's and its probes' intervals above the floor (per CPU-second) are
/// within +-2 points.
fn widths_met(arms: &[Arm], rounds: &[Round]) -> bool {
    [Arm::Scxtop, Arm::Probes]
        .iter()
        .filter(|a| arms.contains(a))
        .all(|a| Interval::of(&column(rounds, *a, |s| s.above.cpu)).half <= WIDTH_POINTS)
}

fn summarize(load: &Load, arms: &[Arm], rounds: &[Round], took: Duration) {
    println!(
        "{}: {} rounds in {:.0} s",
        load.label,
        rounds.len(),
        took.as_secs_f64()
    );
    let shown: Vec<Arm> = Arm::ALL
        .into_iter()
        .filter(|a| !column(rounds, *a, |s| s.ratio.cpu).is_empty())
        .filter(|a| arms.contains(a) || *a == Arm::Floor)
        .collect();
    for m in [Metric::Cpu, Metric::Wall] {
        println!("  by {}:", m.label());
        println!(
            "    {:<32} {:>14} {:>6}  {:<31} {:>3} {:<4} {:>5}  target",
            "arm", "ratio ±95%", "median", "above floor, points [95% t]", "n", "±2?", "CPU%"
        );
        for arm in &shown {
            let r = column(rounds, *arm, |s| s.ratio.get(m));
            let ri = Interval::of(&r);
            let share = stats::mean(&column(rounds, *arm, |s| s.arm_cpu_share * 100.0));
            let (cost, width, target) = if *arm == Arm::Floor {
                let own: Vec<f64> = r.iter().map(|x| (1.0 - x) * 100.0).collect();
                let c = Interval::of(&own);
                (
                    format!("(itself {:+.1} [{:+.1}, {:+.1}])", c.mean, c.lo(), c.hi()),
                    "",
                    String::new(),
                )
            } else {
                let c = Interval::of(&column(rounds, *arm, |s| s.above.get(m)));
                (
                    format!(
                        "{:+.1} [{:+.1}, {:+.1}] ±{:.1}",
                        c.mean,
                        c.lo(),
                        c.hi(),
                        c.half
                    ),
                    if c.half <= WIDTH_POINTS { "yes" } else { "no" },
                    if *arm == Arm::Scxtop {
                        verdict(&c)
                    } else {
                        String::new()
                    },
                )
            };
            println!(
                "    {:<32} {:>14} {:>6.3}  {:<31} {:>3} {:<4} {:>5.1}  {}",
                arm.label(),
                format!("{:.3} ±{:.3}", ri.mean, ri.half),
                stats::quantile(&r, 0.5),
                cost,
                ri.n,
                width,
                share,
                target
            );
        }
        // Where scxtop's cost beyond its probes comes from, one part at a
        // time (paired within each round).
        let steps = [
            (
                Arm::Probes,
                Arm::ProbesPerf,
                "perf's counters beside the probes",
            ),
            (Arm::Scxtop, Arm::ScxtopPerf, "--perf-counters in scxtop"),
            (
                Arm::Probes,
                Arm::ScxtopNoTick,
                "scxtop's process and printk tail",
            ),
            (
                Arm::ScxtopNoTick,
                Arm::Scxtop,
                "the 250 ms refreshes (reads, task walk)",
            ),
            (Arm::Probes, Arm::Scxtop, "scxtop beyond its BPF probes"),
        ];
        for (from, to, what) in steps {
            if !(shown.contains(&from) && shown.contains(&to)) {
                continue;
            }
            let c = Interval::of(&above_other(rounds, to, from, m));
            println!(
                "    {what}: {:+.1} [{:+.1}, {:+.1}] points ({} less {}, paired per round, n {})",
                c.mean,
                c.lo(),
                c.hi(),
                to.name(),
                from.name(),
                c.n
            );
        }
    }
}

/// scxtop's cost above the floor against the 3-point target.
fn verdict(c: &Interval) -> String {
    if c.hi() <= TARGET_POINTS {
        format!("<= {TARGET_POINTS}: met")
    } else if c.mean <= TARGET_POINTS {
        "met on the mean only".to_string()
    } else if c.lo() <= TARGET_POINTS {
        "missed on the mean only".to_string()
    } else {
        format!("<= {TARGET_POINTS}: missed")
    }
}

/// BPF program ids whose fds process `pid` holds (from /proc/PID/fdinfo):
/// other people's copies of the same programs may be loaded too.
fn prog_ids_of(pid: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter_map(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("prog_id:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .collect()
}

fn probe_cost() -> Result<(), Interrupted> {
    println!("\nns per event of each BPF program under pinned ping-pong (BPF_ENABLE_STATS)");
    // SAFETY: plain syscall wrapper; a non-negative return is a new fd we own.
    let fd = unsafe {
        libbpf_rs::libbpf_sys::bpf_enable_stats(libbpf_rs::libbpf_sys::BPF_STATS_RUN_TIME)
    };
    assert!(fd >= 0, "BPF_ENABLE_STATS failed (root needed)");
    // SAFETY: fd is fresh from bpf_enable_stats and owned only here; closing
    // it turns the statistics off again.
    let _stats = unsafe { OwnedFd::from_raw_fd(fd) };
    let (tool, _) = Scxtop::start("1s", &[]).expect("scxtop");
    let (_empty, _link) = arms::attach_empty_probe().expect("the empty program");
    let mut ours = prog_ids_of(&tool_pid(&tool));
    ours.extend(prog_ids_of("self"));
    let before: Vec<_> = ProgInfoIter::default().collect();
    check()?;
    load::Running::start(&PIPE).rate(Duration::from_secs(5));
    let after: Vec<_> = ProgInfoIter::default().collect();
    if let Err(e) = Scxtop::stop(tool) {
        println!("  scxtop: {e}");
    }
    let per_event: Vec<(String, f64, u64)> = after
        .iter()
        .filter(|a| ours.contains(&a.id))
        .filter_map(|a| {
            let b = before.iter().find(|b| b.id == a.id);
            let (t0, c0) = b.map_or((0, 0), |b| (b.run_time_ns, b.run_cnt));
            let (dt, dc) = (a.run_time_ns - t0, a.run_cnt - c0);
            (dc > 0).then(|| {
                (
                    a.name.to_string_lossy().into_owned(),
                    dt as f64 / dc as f64,
                    dc,
                )
            })
        })
        .collect();
    // The statistics time each run with two clock reads, which the empty
    // program's figure is made of: what a program adds beyond it is its own.
    let empty = per_event.iter().find(|(n, ..)| n == "nothing").map(|p| p.1);
    for (name, ns, n) in &per_event {
        if name.starts_with("dump_tasks") {
            println!("  {name}: {ns:.0} ns per task per full walk over {n} tasks");
        } else if name.starts_with("refresh_tasks") {
            println!(
                "  {name}: {:.1} us per refresh over {n} refreshes (it reads only the tasks \
                 that switched in since the last one, and those on a CPU)",
                ns / 1e3
            );
        } else if name == "nothing" {
            println!(
                "  {name} (the empty program): {ns:.0} ns per event over {n} events: the \
                 statistics' own clock reads and the call"
            );
        } else {
            let met = if *ns <= TARGET_NS { "met" } else { "missed" };
            let own = empty.map_or(String::new(), |e| {
                format!(", {:.0} beyond the empty one", ns - e)
            });
            println!(
                "  {name}: {ns:.0} ns per event over {n} events{own} (target <= {TARGET_NS:.0}: {met})"
            );
        }
    }
    Ok(())
}

fn tool_pid(tool: &arms::Tool) -> String {
    tool.pid().map_or_else(|| "self".into(), |p| p.to_string())
}

fn no_loss() -> Result<(), Interrupted> {
    println!("\nno loss: scxtop --perf-counters at 1 s refresh beside 60 s of pinned ping-pong");
    // perf's counters are the reference the BPF count is held against.
    let (tool, _) = Scxtop::start("1s", &["--perf-counters"]).expect("scxtop");
    check()?;
    let secs = 60.0;
    let trips = load::Running::start(&PIPE).rate(Duration::from_secs_f64(secs));
    let out = Scxtop::stop(tool).expect("scxtop's snapshots");
    let (mut perf, mut bpf) = (0.0, 0.0);
    for line in out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let (Some(p), Some(b)) = (
            line["ctx_switches_per_s"].as_f64(),
            line["bpf_ctx_switches_per_s"].as_f64(),
        ) else {
            continue;
        };
        perf += p;
        bpf += b;
    }
    // Each round trip is two wakeups and two switches on the storm's CPU.
    let events = 4.0 * trips;
    println!(
        "  {events:.0} probe events/s for {secs:.0} s; BPF switches / perf switches = {:.5} \
         (1.00000 means none dropped)",
        bpf / perf
    );
    Ok(())
}

/// How much the baseline itself moves: the load alone, read in 100 ms
/// steps for 20 s, then the spread (sd, in points) of the ratio of two
/// adjacent windows of each length, the noise a paired ratio carries.
fn noise() -> Result<(), Interrupted> {
    println!("\nnoise: the pinned load alone, the ratio of adjacent windows (sd in points)");
    for load in [&PIPE, &MESSAGING] {
        let pingpong = load::Running::start(load);
        pingpong.rate(Duration::from_millis(500));
        let mut marks = vec![pingpong.mark()];
        for _ in 0..200 {
            check()?;
            std::thread::sleep(Duration::from_millis(100));
            marks.push(pingpong.mark());
        }
        drop(pingpong);
        let mut line = Vec::new();
        for steps in [1usize, 2, 5, 10, 20] {
            let rates: Vec<(f64, f64)> = marks
                .iter()
                .step_by(steps)
                .collect::<Vec<_>>()
                .windows(2)
                .map(|w| {
                    let t = (w[1].trips - w[0].trips) as f64;
                    (
                        t / (w[1].at - w[0].at).as_secs_f64(),
                        t / (w[1].cpu_ns - w[0].cpu_ns) as f64,
                    )
                })
                .collect();
            let wall: Vec<f64> = rates
                .windows(2)
                .map(|p| (p[1].0 / p[0].0 - 1.0) * 100.0)
                .collect();
            let cpu: Vec<f64> = rates
                .windows(2)
                .map(|p| (p[1].1 / p[0].1 - 1.0) * 100.0)
                .collect();
            line.push(format!(
                "{:.1} s: wall {:.1}, cpu {:.1}",
                steps as f64 / 10.0,
                stats::sd(&wall),
                stats::sd(&cpu)
            ));
        }
        println!("  {}: {}", load.name, line.join("; "));
    }
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Other programs on the scheduler's tracepoints (someone else's tracer)
/// are paid in every window, baseline included: they are named.
fn others_attached() -> String {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for p in ProgInfoIter::default() {
        let ty = format!("{:?}", p.ty);
        if ty.contains("Tracing") || ty.contains("Tracepoint") || ty.contains("RawTracepoint") {
            *names
                .entry(p.name.to_string_lossy().into_owned())
                .or_default() += 1;
        }
    }
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|(n, c)| format!("{n} x{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--bin", "scxtop"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    catch_signals();
    // Everything the bench starts inherits this thread's nice level: the
    // load and every arm's tool compete for CPU as equals, and other
    // people's work at nice 0 gets ~1% of a CPU each rather than half.
    // SAFETY: plain syscall on this thread (who 0); errors come back as -1.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, o.nice) } != 0 {
        eprintln!("nice {}: {}", o.nice, std::io::Error::last_os_error());
        std::process::exit(1);
    }
    let started = Instant::now();
    println!(
        "probes bench: {} CPUs, nice {}, load average {} at start; tracing BPF programs \
         already loaded by others: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        o.nice,
        loadavg(),
        others_attached()
    );
    let mut arms = Vec::new();
    for arm in &o.arms {
        match arm.missing_tool() {
            Some(why) => println!("{}: skipped: {why}", arm.label()),
            None => arms.push(*arm),
        }
    }
    let run = |s: &str| o.sections.is_empty() || o.sections.iter().any(|p| p == s);
    let asked = |s: &str| o.sections.iter().any(|p| p == s);
    let mut rng = Rng(o.seed | 1);
    let result = (|| {
        if asked("noise") {
            noise()?;
        }
        if run("cost") {
            probe_cost()?;
        }
        for load in [&PIPE, &MESSAGING] {
            if run(load.name) {
                run_load(load, &o, &mut arms, &mut rng)?;
            }
        }
        if run("noloss") {
            no_loss()?;
        }
        Ok::<(), Interrupted>(())
    })();
    println!(
        "\nprobes bench: {:.0} s, load average {} at the end",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    if result.is_err() {
        eprintln!("probes bench: interrupted; every arm stopped");
        std::process::exit(130);
    }
}
