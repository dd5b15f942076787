//! A reload whose new object the kernel refuses at attach, or ejects while
//! enabling it, puts the previous scheduler back: the machine is not left
//! on fair, and the action line says what happened.

use super::*;

/// Each broken build, what the kernel does with it on 7.2 and 7.3, and what
/// the failed reload must quote.
const BROKEN: [(&str, &str); 3] = [
    // ops.init calls scx_bpf_error(): the attach succeeds, the kernel has
    // already ended it (ERROR_BPF) when it returns.
    ("init_error", "init_error refuses to run"),
    // ops.init returns -EINVAL: the same, as a kernel ERROR.
    ("init_fail", "ops.init() failed (-22)"),
    // A watchdog timeout over the kernel's maximum: the attach fails.
    ("bad_timeout", "attaching /tmp/mine.bpf.o failed"),
];

#[test]
fn a_reload_the_kernel_refuses_puts_the_previous_scheduler_back() {
    on_every_kernel(
        "a_reload_the_kernel_refuses_puts_the_previous_scheduler_back",
        r#"
for bad in init_error init_fail bad_timeout; do
    cp /fixtures/error.bpf.o /tmp/mine.bpf.o
    start_scxtop /tmp/$bad --scheduler /tmp/mine.bpf.o
    wait_state enabled
    # The author's next build is broken; the file on disk stays so.
    cp /fixtures/$bad.bpf.o /tmp/mine.bpf.o
    act /tmp/$bad reload
    say ${bad}_state $(cat $SCX/state)
    say ${bad}_ops $(cat $SCX/root/ops 2>/dev/null)
    # The first snapshot after the reload shows what runs.
    wait_after /tmp/$bad '"action":"reload"' '"sched"' 1
    say ${bad}_alive $(kill -0 $SCXTOP_PID && echo yes)
    stop_scxtop
    say ${bad}_quit_state $(cat $SCX/state)
    part $bad /tmp/$bad
done
"#,
        |series, run| {
            for (bad, why) in BROKEN {
                let ctx = format!("{series}, reload to {bad}");
                assert_eq!(
                    run.get(&format!("{bad}_state")),
                    "enabled",
                    "{ctx}: the machine was left on fair: {run}"
                );
                assert_eq!(
                    run.get(&format!("{bad}_ops")),
                    "scxtop_error",
                    "{ctx}: {run}"
                );
                assert_eq!(run.get(&format!("{bad}_alive")), "yes", "{ctx}: {run}");
                assert_eq!(
                    run.get(&format!("{bad}_quit_state")),
                    "disabled",
                    "{ctx}: {run}"
                );

                let part = run.part(bad);
                // Output lines in the order the worker produced them (their
                // `t` is stamped as they are printed, not when they happened).
                let lines = part.json_with("t");
                let at = lines
                    .iter()
                    .position(|v| v["action"] == "reload")
                    .unwrap_or_else(|| panic!("{ctx}: no reload outcome: {run}"));
                let reload = &lines[at];
                assert_eq!(reload["ok"], false, "{ctx}: {reload}");
                let m = reload["message"].as_str().unwrap();
                assert!(m.starts_with("reload failed: "), "{ctx}: {m}");
                assert!(m.contains(why), "{ctx}: {m}");
                assert!(m.contains("; put back scxtop_error ("), "{ctx}: {m}");
                assert!(m.ends_with(" ms on fair)"), "{ctx}: {m}");

                // The snapshot after it: ours runs again; an ejection of the
                // broken build is its last exit, not an exit event.
                let snap = lines[at..]
                    .iter()
                    .find(|v| v.get("sched").is_some())
                    .unwrap_or_else(|| panic!("{ctx}: no snapshot after the reload: {run}"));
                let sched = &snap["sched"];
                assert_eq!(sched["attached"], true, "{ctx}: {sched}");
                assert_eq!(sched["state"], "enabled", "{ctx}: {sched}");
                assert_eq!(sched["ops"], "scxtop_error", "{ctx}: {sched}");
                let exit_kind = match bad {
                    "init_error" => "ERROR_BPF",
                    "init_fail" => "ERROR",
                    // It never ran: the last exit is the detach before it.
                    _ => "UNREG",
                };
                assert_eq!(sched["last_exit"]["kind"], exit_kind, "{ctx}: {sched}");
                assert!(events(&part, "exit").is_empty(), "{ctx}: {run}");
            }
        },
    );
}
