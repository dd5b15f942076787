//! Finds, in what libbpf said about a failed load, the verifier's line that
//! says what is wrong and the instruction it stopped at.
//!
//! The classic log (every kernel) is the instructions the verifier walked,
//! each `N: (op) ...`, with register states and source lines between them;
//! the error follows the instruction it failed on, and a `processed N insns`
//! line ends the log. From 7.3 the kernel adds an explanation after the
//! error (`Verification failed: ...`, `Reason:`, source and instruction
//! context, `Suggestion:`), so the log's last lines are no longer the error.

use std::fmt;

/// libbpf wraps a failed program's log between these markers.
const LOG_BEGIN: &str = "-- BEGIN PROG LOAD LOG --";
const LOG_END: &str = "-- END PROG LOAD LOG --";
/// Where the 7.3 explanation starts, at the start of a line.
const EXPLANATION: &str = "Verification failed:";
/// The statistics line after the error.
const STATS: &str = "processed ";

/// Why the verifier rejected a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierFailure {
    /// The program libbpf names in the log's header.
    pub prog: Option<String>,
    /// The verifier's line that says what is wrong, as it wrote it.
    pub error: String,
    /// Index of `error` in the lines given to `find`.
    pub error_line: usize,
    /// The instruction it failed on ("8: (79) r2 = *(u64 *)(r5 +0)"), without
    /// the register states the log prints beside it.
    pub insn: Option<String>,
}

impl VerifierFailure {
    /// " (program NAME)", to follow what was rejected.
    pub fn prog_label(&self) -> String {
        self.prog
            .as_ref()
            .map_or_else(String::new, |p| format!(" (program {p})"))
    }
}

/// The error and the instruction; the program is the caller's to name.
impl fmt::Display for VerifierFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(insn) = &self.insn {
            write!(f, " (at insn {insn})")?;
        }
        Ok(())
    }
}

/// The last failed program's verifier log in `lines` (libbpf's output), or
/// `None` when no program load failed there.
pub fn find(lines: &[String]) -> Option<VerifierFailure> {
    let end = lines.iter().rposition(|l| l.contains(LOG_END));
    let before_end = &lines[..end.unwrap_or(lines.len())];
    let begin = before_end.iter().rposition(|l| l.contains(LOG_BEGIN));
    // A long log may have lost its first lines, header included; its end
    // alone still says it is a verifier log.
    let start = match (begin, end) {
        (Some(b), _) => b + 1,
        (None, Some(_)) => 0,
        (None, None) => return None,
    };
    let prog = begin.and_then(|b| prog_name(&lines[b]));
    // The classic log: up to the 7.3 explanation or the statistics.
    let stop = before_end[start..]
        .iter()
        .position(|l| l.starts_with(EXPLANATION) || l.starts_with(STATS))
        .map_or(before_end.len(), |i| start + i);
    let body = start..stop;
    let last_insn = body.clone().rev().find(|&i| is_insn(&lines[i]));
    let said = |i: &usize| !lines[*i].trim().is_empty() && !is_walk(&lines[*i]);
    let error_line = match last_insn {
        // What the verifier printed after the instruction it stopped at.
        Some(at) => (at + 1..stop).find(said),
        None => None,
    }
    // Rejected before walking any instruction (a bad call graph, BTF), or
    // the error came first: the last thing it said.
    .or_else(|| body.clone().rev().find(said))?;
    Some(VerifierFailure {
        prog,
        error: lines[error_line].trim().to_string(),
        error_line,
        insn: last_insn
            .filter(|&i| i < error_line)
            .map(|i| strip_state(&lines[i])),
    })
}

/// `prog 'NAME': -- BEGIN PROG LOAD LOG --` names the program.
fn prog_name(header: &str) -> Option<String> {
    let (_, rest) = header.split_once("prog '")?;
    let (name, _) = rest.split_once("':")?;
    Some(name.to_string())
}

/// `8: (79) r2 = *(u64 *)(r5 +0)`: an instruction the verifier walked.
fn is_insn(line: &str) -> bool {
    let Some((index, rest)) = line.split_once(": ") else {
        return false;
    };
    !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with('(')
}

/// Lines of the walk that are not the error: instructions, register states
/// (`2: R1=ctx()`, `; R1=...`, `frame1: ...`) and source lines (`; ...`).
fn is_walk(line: &str) -> bool {
    let l = line.trim_start();
    if is_insn(l) || l.starts_with(';') || l.starts_with("frame") {
        return true;
    }
    match l.split_once(": ") {
        Some((index, rest)) => {
            index.bytes().all(|b| b.is_ascii_digit())
                && (rest.starts_with('R') || rest.starts_with("frame"))
        }
        None => false,
    }
}

/// The instruction without the register states printed after `;`.
fn strip_state(insn: &str) -> String {
    match insn.split_once(" ; ") {
        Some((code, _)) => code.trim_end().to_string(),
        None => insn.trim_end().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    /// Real logs, captured from scxtop in the test VM (tests/bpf fixtures).
    const REJECT_72: &str = include_str!("testdata/verifier-7.2-reject.log");
    const REJECT_73: &str = include_str!("testdata/verifier-7.3-reject.log");
    const MAYBE_NULL_72: &str = include_str!("testdata/verifier-7.2-maybe_null.log");
    const MAYBE_NULL_73: &str = include_str!("testdata/verifier-7.3-maybe_null.log");
    const KFUNC_DENY_72: &str = include_str!("testdata/verifier-7.2-kfunc_deny.log");
    const KFUNC_DENY_73: &str = include_str!("testdata/verifier-7.3-kfunc_deny.log");

    fn check(log: &str, error: &str, insn: &str) {
        let all = lines(log);
        let f = find(&all).unwrap_or_else(|| panic!("nothing found in\n{log}"));
        assert_eq!(f.error, error);
        assert_eq!(all[f.error_line], error);
        assert_eq!(f.insn.as_deref(), Some(insn));
    }

    #[test]
    fn the_error_line_of_a_classic_log_is_found() {
        check(
            REJECT_72,
            "R5 unbounded memory access, make sure to bounds check any such access",
            "8: (79) r2 = *(u64 *)(r5 +0)",
        );
        check(
            MAYBE_NULL_72,
            "R1 invalid mem access 'trusted_ptr_or_null_'",
            "1: (79) r1 = *(u64 *)(r1 +960)",
        );
        check(
            KFUNC_DENY_72,
            "calling kernel function bpf_sock_destroy is not allowed",
            "3: (85) call bpf_sock_destroy#66862",
        );
    }

    /// 7.3 ends its log with source and instruction context and a
    /// suggestion; the error line comes before all that.
    #[test]
    fn the_error_line_is_found_before_the_73_explanation() {
        check(
            REJECT_73,
            "R5 unbounded memory access, make sure to bounds check any such access",
            "8: (79) r2 = *(u64 *)(r5 +0)",
        );
        check(
            MAYBE_NULL_73,
            "R1 invalid mem access 'trusted_ptr_or_null_'",
            "1: (79) r1 = *(u64 *)(r1 +992)",
        );
        check(
            KFUNC_DENY_73,
            "calling kernel function bpf_sock_destroy is not allowed",
            "3: (85) call bpf_sock_destroy#68397",
        );
    }

    #[test]
    fn the_summary_names_the_program_the_error_and_the_instruction() {
        let f = find(&lines(REJECT_73)).unwrap();
        assert_eq!(f.prog_label(), " (program reject_enqueue)");
        assert_eq!(
            f.to_string(),
            "R5 unbounded memory access, make sure to bounds check any such access \
             (at insn 8: (79) r2 = *(u64 *)(r5 +0))"
        );
    }

    #[test]
    fn a_log_that_lost_its_header_is_still_read() {
        let all = lines(REJECT_72);
        let begin = all.iter().position(|l| l.contains(LOG_BEGIN)).unwrap();
        let f = find(&all[begin + 3..]).unwrap();
        assert!(f.error.contains("unbounded memory access"), "{f:?}");
        assert_eq!(f.prog, None);
    }

    #[test]
    fn an_error_before_any_instruction_is_the_last_thing_said() {
        let log = lines(
            "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n\
             back-edge from insn 3 to 1\n\
             processed 0 insns (limit 1000000)\n\
             -- END PROG LOAD LOG --",
        );
        let f = find(&log).unwrap();
        assert_eq!(f.error, "back-edge from insn 3 to 1");
        assert_eq!(f.insn, None);
    }

    #[test]
    fn no_program_log_is_none() {
        let log = lines("libbpf: map 'x': failed to create: -EPERM\nlibbpf: failed");
        assert_eq!(find(&log), None);
    }
}
