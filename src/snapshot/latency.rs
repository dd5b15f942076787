//! Run-queue latency distributions as the panes and JSON show them.

use serde::{Serialize, Serializer};

use super::histogram::{Histogram, LatencySummary};

/// A histogram with its exact maximum; serialized as its summary.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    pub hist: Histogram,
    pub max_ns: Option<u64>,
}

impl Latency {
    pub fn summary(&self) -> LatencySummary {
        self.hist.summary(self.max_ns)
    }
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.summary().serialize(s)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LabeledLatency {
    pub label: String,
    #[serde(flatten)]
    pub latency: Latency,
}

/// Run-queue latency since the probes attached.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencyView {
    pub all: Latency,
    pub per_cpu: Vec<LabeledLatency>,
    /// Nice levels that saw samples ("nice -20" .. "nice 19", "rt").
    pub per_prio: Vec<LabeledLatency>,
    /// The built-in scheduler's bands, aggregated from nice levels.
    pub per_band: Vec<LabeledLatency>,
    /// The selected task, when one is selected.
    pub task: Option<LabeledLatency>,
}
