//! Another loader's scheduler: scxtop shows it, never fights it, and
//! attaches once it is gone.

use super::*;

/// Ours attached (a command it does not know gets an error line and changes
/// nothing), then detached (`d`); another loader attaches its own
/// scheduler; scxtop's snapshots show it as not ours, `attach` (`a`) says
/// who holds the kernel, and works once that loader has quit.
#[test]
fn a_foreign_scheduler_is_shown_and_attach_waits_for_it() {
    on_every_kernel(
        "a_foreign_scheduler_is_shown_and_attach_waits_for_it",
        r#"
start_scxtop /tmp/out
wait_state enabled
send explode
wait_line /tmp/out '"event":"error"'
act /tmp/out detach
wait_state disabled
scxtop --headless --interval 1s --scheduler /fixtures/no_uei.bpf.o </dev/null >/tmp/foreign 2>&1 &
F=$!
wait_state enabled
say foreign_ops $(cat $SCX/root/ops)
wait_count /tmp/out '"ops":"scxtop_no_uei"' 2
act /tmp/out attach
say busy_attach "$(last_action /tmp/out attach)"
say ops_after_attach $(cat $SCX/root/ops)
kill $F
wait $F
wait_state disabled
act /tmp/out attach
say attach_after "$(last_action /tmp/out attach)"
say ops_at_end $(cat $SCX/root/ops)
stop_scxtop
cat /tmp/out
"#,
        |series, run| {
            let errors = events(run, "error");
            assert_eq!(errors.len(), 1, "{series}: {run}");
            let e = errors[0]["error"].as_str().unwrap();
            assert!(
                e.contains("unknown command \"explode\"") && e.contains("attach, detach"),
                "{series}: {e}"
            );
            assert_eq!(run.get("foreign_ops"), "scxtop_no_uei", "{series}: {run}");
            let foreign: Vec<_> = run
                .json_with("sched")
                .into_iter()
                .filter(|s| s["sched"]["ops"] == "scxtop_no_uei")
                .collect();
            assert!(foreign.len() >= 2, "{series}: {run}");
            for s in &foreign {
                assert_eq!(s["sched"]["attached"], false, "{series}: {s}");
            }
            let running = foreign
                .iter()
                .filter(|s| s["sched"]["state"] == "enabled")
                .count();
            assert!(running >= 2, "{series}: {run}");
            let busy = json_of(run, "busy_attach");
            assert_eq!(busy["ok"], false, "{series}: {busy}");
            let m = busy["message"].as_str().unwrap();
            assert!(
                m.contains("another sched_ext scheduler (scxtop_no_uei) is attached"),
                "{series}: {m}"
            );
            assert_eq!(
                run.get("ops_after_attach"),
                "scxtop_no_uei",
                "{series}: {run}"
            );
            let after = json_of(run, "attach_after");
            assert_eq!(after["ok"], true, "{series}: {after}");
            assert_eq!(run.get("ops_at_end"), "scxtop_prio", "{series}: {run}");
        },
    );
}
