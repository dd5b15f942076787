//! The plain-text form of `scxtop status`.

use std::fmt::Write;

use crate::snapshot::{StatusReport, Support};

pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| {
        let _ = writeln!(out, "{k:<12} {v}");
    };
    line("kernel", &report.kernel_release);
    match &report.sched_ext {
        Ok(Support::Supported(s)) => {
            line("sched_ext", "supported");
            line("state", s.state.as_str());
            line("ops", s.ops.as_deref().unwrap_or("-"));
            line("enable_seq", &s.enable_seq.to_string());
        }
        Ok(Support::Unsupported { reason }) => {
            line("sched_ext", &format!("unsupported: {reason}"));
            line("state", "-");
            line("ops", "-");
            line("enable_seq", "-");
        }
        Err(e) => line("sched_ext", &format!("error: {e}")),
    }
    match &report.probe {
        Ok(p) => {
            let mut text = format!(
                "{} counted {} context switches in {:.2}s ({:.0}/s over {} CPUs)",
                p.program,
                p.switches,
                p.window_s,
                p.per_second(),
                p.per_cpu.len()
            );
            if let Some(k) = p.kernel_switches {
                let _ = write!(text, "; the kernel counted {k} inside that window");
            }
            line("probe", &text)
        }
        Err(e) => line("probe", &format!("error: {e}")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{ProbeSample, ScxState, ScxSysfs};

    fn sample() -> ProbeSample {
        ProbeSample {
            program: "tp_btf/sched_switch",
            window_s: 2.0,
            switches: 300,
            per_cpu: vec![100, 200],
            kernel_switches: Some(297),
        }
    }

    #[test]
    fn supported_kernel_shows_state_ops_and_seq() {
        let report = StatusReport {
            kernel_release: "7.3.4".into(),
            sched_ext: Ok(Support::Supported(ScxSysfs {
                state: ScxState::Enabled,
                ops: Some("scxtop_prio".into()),
                enable_seq: 3,
                switch_all: Some(true),
                nr_rejected: Some(0),
            })),
            probe: Ok(sample()),
        };
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "kernel       7.3.4",
                "sched_ext    supported",
                "state        enabled",
                "ops          scxtop_prio",
                "enable_seq   3",
                "probe        tp_btf/sched_switch counted 300 context switches in 2.00s (150/s over 2 CPUs); the kernel counted 297 inside that window",
            ]
        );
    }

    #[test]
    fn unsupported_kernel_and_probe_error_are_spelled_out() {
        let report = StatusReport {
            kernel_release: "6.1.0".into(),
            sched_ext: Ok(Support::Unsupported {
                reason: "kernel 6.1.0 was built without CONFIG_SCHED_CLASS_EXT".into(),
            }),
            probe: Err("permission denied: run scxtop with sudo".into()),
        };
        let text = render(&report);
        assert!(text.contains(
            "sched_ext    unsupported: kernel 6.1.0 was built without CONFIG_SCHED_CLASS_EXT"
        ));
        assert!(text.contains("probe        error: permission denied: run scxtop with sudo"));
        assert!(text.contains("state        -"));
    }
}
