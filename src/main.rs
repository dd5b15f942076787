//! The `scxtop` binary: parses the command line and hands off to the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use scxtop::bpf::libbpf_log;
use scxtop::frontend::headless::{self, HeadlessOptions};
use scxtop::frontend::live::{self, TuiOptions};
use scxtop::priority::{Priority, Role};
use scxtop::probe::collector::CollectorOptions;
use scxtop::sched::loader::BuiltInOptions;
use scxtop::sched_ext::sysfs::Roots;
use scxtop::snapshot::SchedSource;
use scxtop::worker::WorkerOptions;
use scxtop::{status, ui, workload};

#[derive(Parser, Debug)]
#[command(
    name = "scxtop",
    version,
    about = "Monitor and control Linux sched_ext schedulers"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Print one JSON object per interval instead of the live view; read
    /// commands (attach, detach, reload, printk, quit) from stdin.
    #[arg(long)]
    headless: bool,

    /// Stop after this long (e.g. 10s, 2m); default: run until quit.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,

    /// Refresh interval.
    #[arg(long, default_value = "250ms", value_parser = humantime::parse_duration)]
    interval: Duration,

    /// Only observe: do not attach a scheduler at start.
    #[arg(long)]
    no_attach: bool,

    /// Also count switches and migrations with perf's per-CPU software
    /// counters and show those, the BPF probes' counts beside them as a
    /// cross-check (by default the BPF probes count them alone: perf's
    /// counters add to the cost of every context switch).
    #[arg(long)]
    perf_counters: bool,

    /// Attach this sched_ext scheduler object instead of the built-in one
    /// (re-read from disk at every reload).
    #[arg(long, value_name = "PATH.bpf.o")]
    scheduler: Option<PathBuf>,

    /// Built-in scheduler: serve a lower-priority task that waited this long.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    starve_after: Duration,

    /// Built-in scheduler: start with its bpf_printk lines on.
    #[arg(long)]
    printk: bool,

    /// Show scxtop's own threads in the task table.
    #[arg(long)]
    show_self: bool,

    /// How scxtop's own threads compete for a CPU: `realtime` (the default
    /// for root) runs them SCHED_FIFO (the worker at 1, keys and drawing
    /// at 2), so a saturated machine does not stall the view; `normal`
    /// leaves them as started.
    #[arg(long, value_enum, default_value_t = Priority::Auto)]
    priority: Priority,

    /// No longer needed, and ignored: the bpf_printk tail reads no
    /// trace_pipe. Still accepted so existing scripts keep working.
    #[arg(long, hide = true)]
    printk_global_pipe: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the kernel's sched_ext state and count context switches with a BPF probe.
    Status {
        /// How long the BPF probe counts context switches (e.g. 500ms, 2s).
        #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
        sample: Duration,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a CPU load with known priorities and a periodic waker that measures
    /// its wakeup latency; prints one JSON object. Compare it under fair and
    /// under a sched_ext scheduler.
    Workload(workload::WorkloadSpec),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scxtop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    libbpf_log::capture_libbpf_output();
    match cli.command {
        Some(Command::Status { sample, json }) => {
            let report = status::gather(&Roots::default(), sample);
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", ui::status_text::render(&report));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Workload(spec)) => {
            let result = workload::run(&spec)?;
            println!("{}", serde_json::to_string(&result)?);
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    if cli.printk_global_pipe {
        eprintln!(
            "scxtop: --printk-global-pipe is no longer needed and is ignored: the bpf_printk \
             tail takes lines from a BPF tracepoint, not from a trace_pipe"
        );
    }
    if cli.interval.is_zero() {
        anyhow::bail!("--interval must be more than 0");
    }

    let mut priority = cli.priority.resolve();
    if let Err(e) = priority.apply_to_this_thread(Role::FrontEnd) {
        eprintln!("scxtop: {e}");
        priority = Priority::Normal;
    }

    let source = match cli.scheduler {
        Some(path) => SchedSource::File(path),
        None => SchedSource::BuiltIn,
    };
    let worker = WorkerOptions {
        source,
        builtin: BuiltInOptions {
            starve: cli.starve_after,
            printk: cli.printk,
        },
        roots: Roots::default(),
        interval: cli.interval,
        attach_at_start: !cli.no_attach,
        collector: CollectorOptions {
            show_self: cli.show_self,
            perf_counters: cli.perf_counters,
        },
        started: Instant::now(),
        priority,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the event loop")?;
    // Both front ends stop the worker before returning, which detaches our
    // scheduler and the probes.
    if cli.headless {
        runtime.block_on(headless::run(HeadlessOptions {
            duration: cli.duration,
            worker,
        }))?;
    } else {
        runtime.block_on(live::run(TuiOptions {
            duration: cli.duration,
            worker,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}
