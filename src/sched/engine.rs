//! The engine: one scheduler source, attached or not, and what happened to
//! it. Commands come in as method calls from the action handler; `poll` runs
//! once a refresh and notices exits the kernel imposed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::SchedError;
use super::error::PutBack;
use super::kmsg::{self, KmsgTail};
use super::loader::{self, Attached, BuiltInOptions, Loaded};
use crate::sched_ext::sysfs::Roots;
use crate::snapshot::{
    AttachReport, ExitInfo, ExitKind, ExitSource, SchedSource, SchedStatus, ScxState, Support,
};

const KMSG_KEEP: usize = 32;
/// How long an exit without a record waits for the kernel's log line.
const KMSG_GRACE: Duration = Duration::from_millis(300);
/// How long a reload waits, after the attach returned, for sysfs to show
/// the new scheduler enabled rather than still enabling. On 7.2 and 7.3 a
/// scheduler whose ops.init fails is already gone when the attach returns,
/// so neither a good nor a broken reload waits for this.
const SETTLE: Duration = Duration::from_millis(200);
const SETTLE_POLL: Duration = Duration::from_millis(5);

/// What the kernel says about one of our schedulers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KernelView {
    Enabled,
    Enabling,
    /// It recorded an exit, or sysfs shows another state or scheduler.
    Ended,
    /// sysfs could not be read.
    Unknown,
}

pub struct Engine {
    source: SchedSource,
    options: BuiltInOptions,
    roots: Roots,
    attached: Option<Attached>,
    last_exit: Option<ExitInfo>,
    kmsg: KmsgTail,
    kmsg_lines: VecDeque<String>,
}

impl Engine {
    pub fn new(source: SchedSource, options: BuiltInOptions, roots: Roots) -> Self {
        Self {
            source,
            options,
            roots,
            attached: None,
            last_exit: None,
            kmsg: KmsgTail::open(),
            kmsg_lines: VecDeque::new(),
        }
    }

    pub fn source(&self) -> &SchedSource {
        &self.source
    }

    pub fn attached(&self) -> Option<&Attached> {
        self.attached.as_ref()
    }

    pub fn attach(&mut self) -> Result<AttachReport, SchedError> {
        if self.attached.is_some() {
            return Err(SchedError::AlreadyAttached);
        }
        let loaded = loader::load(&self.source, &self.options, &self.roots)?;
        let att = loaded.attach(&self.roots)?;
        let report = AttachReport {
            ops: att.ops_name.clone(),
            load_ms: att.load_time.as_secs_f64() * 1e3,
            attach_ms: att.attach_time.as_secs_f64() * 1e3,
            downtime_ms: None,
        };
        self.attached = Some(att);
        Ok(report)
    }

    /// Unregisters our scheduler; the kernel falls back to the fair class.
    pub fn detach(&mut self) -> Result<ExitInfo, SchedError> {
        let att = self.attached.take().ok_or(SchedError::NotAttached)?;
        Ok(self.end(att))
    }

    /// Unregisters `att` (a no-op for the kernel when it already ended it)
    /// and records why it stopped.
    fn end(&mut self, att: Attached) -> ExitInfo {
        let ops = att.ops_name.clone();
        // Without an exit record, the kernel log (printed before the
        // unregistration returns) is the only account of what happened.
        let info = att.detach().unwrap_or_else(|| self.exit_from_kmsg(&ops));
        self.last_exit = Some(info.clone());
        info
    }

    /// Loads a fresh copy of the source (read again from disk) while the
    /// current one still runs, then swaps them. If the new object fails to
    /// load, the running scheduler stays; if it fails to attach, or the
    /// kernel ejects it while enabling it, the previous one is put back
    /// (from the bytes it was loaded from) and the error says so.
    pub fn reload(&mut self) -> Result<AttachReport, SchedError> {
        let Some(running) = self.attached.as_ref() else {
            return self.attach();
        };
        let (previous_ops, previous_image) = (running.ops_name.clone(), running.image());
        let loaded = loader::load(&self.source, &self.options, &self.roots)?;
        self.detach()?;
        let on_fair_since = Instant::now();
        match self.attach_settled(loaded) {
            Ok((att, attached_at)) => {
                let report = AttachReport {
                    ops: att.ops_name.clone(),
                    load_ms: att.load_time.as_secs_f64() * 1e3,
                    attach_ms: att.attach_time.as_secs_f64() * 1e3,
                    downtime_ms: Some((attached_at - on_fair_since).as_secs_f64() * 1e3),
                };
                self.attached = Some(att);
                Ok(report)
            }
            // Someone else's scheduler took the kernel in the gap: there is
            // nothing to put back, and its error says what runs.
            Err(busy @ SchedError::Busy { .. }) => Err(busy),
            Err(cause) => Err(SchedError::ReloadFailed {
                cause: Box::new(cause),
                put_back: self.put_back(previous_ops, previous_image, on_fair_since),
            }),
        }
    }

    /// Attaches the scheduler that ran before a failed reload, from the
    /// bytes it was loaded from (a user's file on disk is the broken build).
    fn put_back(&mut self, ops: String, image: Arc<[u8]>, on_fair_since: Instant) -> PutBack {
        let attached = loader::load_image(&self.source, image, &self.options, &self.roots)
            .and_then(|loaded| self.attach_settled(loaded));
        match attached {
            Ok((att, attached_at)) => {
                let ops = att.ops_name.clone();
                self.attached = Some(att);
                PutBack::Restored {
                    ops,
                    on_fair_ms: (attached_at - on_fair_since).as_secs_f64() * 1e3,
                }
            }
            Err(error) => PutBack::Failed {
                ops,
                source: self.source.describe(),
                error: Box::new(error),
            },
        }
    }

    /// Attaches `loaded` and makes sure the kernel kept it: a scheduler the
    /// kernel ends while enabling it (ops.init failing or calling
    /// scx_bpf_error) still attaches without an error. Returns it with the
    /// time its attach returned.
    fn attach_settled(&mut self, loaded: Loaded) -> Result<(Attached, Instant), SchedError> {
        let att = loaded.attach(&self.roots)?;
        let attached_at = Instant::now();
        let deadline = attached_at + SETTLE;
        loop {
            match self.kernel_view(&att) {
                KernelView::Ended => {
                    let what = att.source.describe();
                    let exit = self.end(att);
                    return Err(SchedError::EjectedWhileEnabling {
                        what,
                        exit: Box::new(exit),
                    });
                }
                KernelView::Enabled | KernelView::Unknown => return Ok((att, attached_at)),
                // Past the deadline, `poll` reports a late exit as any other.
                KernelView::Enabling if Instant::now() >= deadline => {
                    return Ok((att, attached_at));
                }
                KernelView::Enabling => std::thread::sleep(SETTLE_POLL),
            }
        }
    }

    pub fn set_printk(&mut self, on: bool) -> bool {
        self.options.printk = on;
        self.attached.as_ref().is_some_and(|a| a.set_printk(on))
    }

    pub fn printk(&self) -> bool {
        self.options.printk
    }

    /// Once a refresh: collects kernel log lines and, when the kernel ejected
    /// our scheduler, tears it down and returns why.
    pub fn poll(&mut self) -> Option<ExitInfo> {
        self.read_kmsg();
        let att = self.attached.as_ref()?;
        // Cannot tell: assume it runs rather than tear it down.
        if self.kernel_view(att) != KernelView::Ended {
            return None;
        }
        let att = self.attached.take()?;
        Some(self.end(att))
    }

    fn kernel_view(&self, att: &Attached) -> KernelView {
        if att.exit_info().is_some() {
            return KernelView::Ended;
        }
        match self.roots.read_support() {
            Ok(Support::Supported(s)) if s.ops.as_deref() == Some(att.ops_name.as_str()) => {
                match s.state {
                    ScxState::Enabled => KernelView::Enabled,
                    ScxState::Enabling => KernelView::Enabling,
                    _ => KernelView::Ended,
                }
            }
            Ok(Support::Supported(_)) => KernelView::Ended,
            _ => KernelView::Unknown,
        }
    }

    /// For objects without UEI: the kernel log says why it disabled them
    /// (and, for an error, with what message). The log can trail the state
    /// file by a moment, so it is read again for a short while.
    fn exit_from_kmsg(&mut self, ops: &str) -> ExitInfo {
        let deadline = Instant::now() + KMSG_GRACE;
        loop {
            self.read_kmsg();
            if let Some(info) = self.kmsg_exit(ops) {
                return info;
            }
            if Instant::now() >= deadline {
                return ExitInfo::unavailable(ops);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The "disabled" line about `ops` since it was last enabled, with the
    /// message line after it. An earlier run of a scheduler of the same
    /// name (a reload of one object) has its own line, which says nothing
    /// about this exit.
    fn kmsg_exit(&self, ops: &str) -> Option<ExitInfo> {
        let lines: Vec<&String> = self.kmsg_lines.iter().collect();
        let since = lines
            .iter()
            .rposition(|l| kmsg::enabled_name(l) == Some(ops))
            .map_or(0, |i| i + 1);
        let at = since
            + lines[since..]
                .iter()
                .position(|l| kmsg::disabled_reason(l).is_some_and(|(name, _)| name == ops))?;
        let (_, reason) = kmsg::disabled_reason(lines[at])?;
        let msg = lines[at + 1..]
            .iter()
            .find_map(|l| kmsg::exit_message(l, ops))
            .unwrap_or_default();
        Some(ExitInfo {
            kind: ExitKind::from_reason(&reason),
            from: ExitSource::KernelLog,
            code: 0,
            reason,
            msg: msg.to_string(),
            ops: ops.to_string(),
        })
    }

    fn read_kmsg(&mut self) {
        for line in self.kmsg.read_new() {
            if self.kmsg_lines.len() == KMSG_KEEP {
                self.kmsg_lines.pop_front();
            }
            self.kmsg_lines.push_back(line);
        }
    }

    pub fn kernel_messages(&self) -> impl Iterator<Item = &String> {
        self.kmsg_lines.iter()
    }

    pub fn status(&self) -> SchedStatus {
        let support = self.roots.read_support();
        let (supported, reason, sysfs) = match support {
            Ok(Support::Supported(s)) => (true, None, Some(s)),
            Ok(Support::Unsupported { reason }) => (false, Some(reason), None),
            Err(e) => (false, Some(e.to_string()), None),
        };
        SchedStatus {
            supported,
            unsupported_reason: reason,
            state: sysfs.as_ref().map(|s| s.state.clone()),
            ops: sysfs.as_ref().and_then(|s| s.ops.clone()),
            enable_seq: sysfs.as_ref().map(|s| s.enable_seq),
            attached: self.attached.is_some(),
            source: self.source.clone(),
            attached_for_s: self
                .attached
                .as_ref()
                .and_then(|a| a.attached_at.elapsed().ok())
                .map(|d: Duration| d.as_secs_f64()),
            last_exit: self.last_exit.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_with_log(lines: &[&str]) -> Engine {
        let mut e = Engine::new(
            SchedSource::BuiltIn,
            BuiltInOptions::default(),
            Roots::default(),
        );
        e.kmsg_lines = lines.iter().map(|l| l.to_string()).collect();
        e
    }

    #[test]
    fn an_exit_is_read_from_the_log_of_the_current_run_only() {
        let mut e = engine_with_log(&[
            "sched_ext: BPF scheduler \"x\" enabled",
            "sched_ext: BPF scheduler \"x\" disabled (scx_bpf_error)",
            "sched_ext: x: boom",
            "sched_ext: BPF scheduler \"x\" enabled",
        ]);
        assert_eq!(
            e.kmsg_exit("x"),
            None,
            "the first run's error is not this exit"
        );
        e.kmsg_lines.push_back(
            "sched_ext: BPF scheduler \"x\" disabled (unregistered from user space)".into(),
        );
        let info = e.kmsg_exit("x").unwrap();
        assert_eq!(info.kind, ExitKind::Unreg);
        assert_eq!(info.from, ExitSource::KernelLog);
        assert_eq!(info.msg, "");
    }

    #[test]
    fn an_error_exit_carries_the_message_line_after_it() {
        let e = engine_with_log(&[
            "sched_ext: BPF scheduler \"x\" enabled",
            "sched_ext: BPF scheduler \"y\" enabled",
            "sched_ext: BPF scheduler \"x\" disabled (scx_bpf_error)",
            "sched_ext: x: told to fail",
        ]);
        let info = e.kmsg_exit("x").unwrap();
        assert_eq!(info.kind, ExitKind::ErrorBpf);
        assert_eq!(info.msg, "told to fail");
    }
}
