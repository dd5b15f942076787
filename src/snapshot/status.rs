//! `scxtop status`: the kernel's sched_ext state and a short sample from the
//! switch-counting probe (gathered by the `status` command).

use serde::Serialize;

use super::sched_ext::Support;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub kernel_release: String,
    #[serde(serialize_with = "ok_or_error")]
    pub sched_ext: Result<Support, String>,
    #[serde(serialize_with = "ok_or_error")]
    pub probe: Result<ProbeSample, String>,
}

/// JSON readers get the value itself, or `{"error": "..."}` in its place.
fn ok_or_error<T: Serialize, S: serde::Serializer>(
    value: &Result<T, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct ErrorField<'a> {
        error: &'a str,
    }
    match value {
        Ok(v) => v.serialize(serializer),
        Err(e) => ErrorField { error: e }.serialize(serializer),
    }
}

#[derive(Debug, Serialize)]
pub struct ProbeSample {
    pub program: &'static str,
    pub window_s: f64,
    pub switches: u64,
    pub per_cpu: Vec<u64>,
    /// The kernel's own count (`/proc/stat` ctxt) over a window inside the
    /// probe's: the probe can count a few more, never fewer. `None` when
    /// /proc/stat could not be read.
    pub kernel_switches: Option<u64>,
}

impl ProbeSample {
    pub fn per_second(&self) -> f64 {
        if self.window_s > 0.0 {
            self.switches as f64 / self.window_s
        } else {
            0.0
        }
    }
}
