//! The engine: one scheduler source, attached or not, and what happened to
//! it. Commands come in as method calls from the action handler; `poll` runs
//! once a refresh and notices exits the kernel imposed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::SchedError;
use super::kmsg::{self, KmsgTail};
use super::loader::{self, Attached, BuiltInOptions};
use crate::sched_ext::sysfs::Roots;
use crate::snapshot::{
    AttachReport, ExitInfo, ExitKind, ExitSource, SchedSource, SchedStatus, ScxState, Support,
};

const KMSG_KEEP: usize = 32;
/// How long an exit without a record waits for the kernel's log line.
const KMSG_GRACE: Duration = Duration::from_millis(300);

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
        let ops = att.ops_name.clone();
        // Without an exit record, the kernel log (printed before the
        // unregistration returns) is the only account of what happened.
        let info = att.detach().unwrap_or_else(|| self.exit_from_kmsg(&ops));
        self.last_exit = Some(info.clone());
        Ok(info)
    }

    /// Loads a fresh copy of the source (read again from disk) while the
    /// current one still runs, then swaps them. If the new object fails to
    /// load, the running scheduler stays.
    pub fn reload(&mut self) -> Result<AttachReport, SchedError> {
        if self.attached.is_none() {
            return self.attach();
        }
        let loaded = loader::load(&self.source, &self.options, &self.roots)?;
        self.detach()?;
        let on_fair_since = Instant::now();
        let att = loaded.attach(&self.roots)?;
        let report = AttachReport {
            ops: att.ops_name.clone(),
            load_ms: att.load_time.as_secs_f64() * 1e3,
            attach_ms: att.attach_time.as_secs_f64() * 1e3,
            downtime_ms: Some(on_fair_since.elapsed().as_secs_f64() * 1e3),
        };
        self.attached = Some(att);
        Ok(report)
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
        let recorded = att.exit_info();
        if recorded.is_none() && self.kernel_still_runs(&att.ops_name) {
            return None;
        }
        let ops = att.ops_name.clone();
        let att = self.attached.take()?;
        let info = match att.detach().or(recorded) {
            Some(info) => info,
            None => self.exit_from_kmsg(&ops),
        };
        self.last_exit = Some(info.clone());
        Some(info)
    }

    fn kernel_still_runs(&self, ops: &str) -> bool {
        match self.roots.read_support() {
            Ok(Support::Supported(s)) => {
                matches!(s.state, ScxState::Enabled | ScxState::Enabling)
                    && s.ops.as_deref() == Some(ops)
            }
            // Cannot tell: assume it runs rather than tear it down.
            _ => true,
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
