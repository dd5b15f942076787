//! A user's own scheduler object: edited and rebuilt, `reload` runs the new
//! build; a broken build leaves the running one in place.

use super::*;

#[test]
fn reload_runs_the_rebuilt_object_and_keeps_it_when_the_next_build_is_broken() {
    on_every_kernel(
        "reload_runs_the_rebuilt_object_and_keeps_it_when_the_next_build_is_broken",
        r#"
cp /fixtures/no_uei.bpf.o /tmp/mine.bpf.o
start_scxtop /tmp/out --scheduler /tmp/mine.bpf.o
wait_state enabled
say ops1 $(cat $SCX/root/ops)
# The author rebuilds the object in place (the guest has no compiler: a
# build of another scheduler stands in for the edit).
cp /fixtures/error.bpf.o /tmp/mine.bpf.o
act /tmp/out reload
wait_state enabled
say ops2 $(cat $SCX/root/ops)
say reload2 "$(last_action /tmp/out reload)"
seq2=$(cat $SCX/enable_seq)
cp /fixtures/reject.bpf.o /tmp/mine.bpf.o
act /tmp/out reload
say reload3 "$(last_action /tmp/out reload)"
say ops3 $(cat $SCX/root/ops)
say state3 $(cat $SCX/state)
say seq3 $(cat $SCX/enable_seq)
say seq2 $seq2
stop_scxtop
say quit_state $(cat $SCX/state)
"#,
        |series, run| {
            assert_eq!(run.get("ops1"), "scxtop_no_uei", "{series}: {run}");
            let reload = json_of(run, "reload2");
            assert_eq!(reload["ok"], true, "{series}: {reload}");
            assert_eq!(run.get("ops2"), "scxtop_error", "{series}: {run}");
            let broken = json_of(run, "reload3");
            assert_eq!(broken["ok"], false, "{series}: {broken}");
            let m = broken["message"].as_str().unwrap();
            assert!(
                m.contains("verifier rejected /tmp/mine.bpf.o"),
                "{series}: {m}"
            );
            assert_eq!(
                run.get("ops3"),
                "scxtop_error",
                "{series}: the old one is gone: {run}"
            );
            assert_eq!(run.get("state3"), "enabled", "{series}: {run}");
            assert_eq!(
                run.get("seq3"),
                run.get("seq2"),
                "{series}: it was reattached: {run}"
            );
            assert_eq!(run.get("quit_state"), "disabled", "{series}: {run}");
        },
    );
}
