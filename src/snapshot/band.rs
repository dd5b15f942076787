//! The built-in scheduler's priority bands and what each band got.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    High,
    Normal,
    Low,
}

impl Band {
    /// In sched.bpf.c's order (`enum band`), highest first.
    pub const ALL: [Band; 3] = [Band::High, Band::Normal, Band::Low];

    pub fn name(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }
}

/// The built-in scheduler's band for a nice level. sched.bpf.c bands by
/// weight (>= 300 high, <= 35 low), which is nice <= -5 and nice >= 5.
pub fn band_of_nice(nice: i32) -> Band {
    if nice <= -5 {
        Band::High
    } else if nice >= 5 {
        Band::Low
    } else {
        Band::Normal
    }
}

/// One band's counters, cumulative since the scheduler attached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BandStats {
    pub band: Band,
    pub enqueued: u64,
    pub dispatched: u64,
    pub wait_ns: u64,
    pub rescued: u64,
    pub preempt_kicks: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's nice-to-weight table, in sched_ext's scale (1024 -> 100,
    /// rounded): band_of_nice must agree with sched.bpf.c's weight cut-offs.
    #[test]
    fn bands_by_nice_match_the_schedulers_weight_cutoffs() {
        const WEIGHT: [u64; 40] = [
            88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100,
            4904, 3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172,
            137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
        ];
        for (i, w) in WEIGHT.iter().enumerate() {
            let scx = (w * 100 + 512) / 1024;
            let by_weight = if scx >= 300 {
                Band::High
            } else if scx <= 35 {
                Band::Low
            } else {
                Band::Normal
            };
            assert_eq!(
                band_of_nice(i as i32 - 20),
                by_weight,
                "nice {}",
                i as i32 - 20
            );
        }
    }

    #[test]
    fn bands_print_as_their_names() {
        assert_eq!(serde_json::to_value(Band::Normal).unwrap(), "normal");
        assert_eq!(Band::ALL.map(Band::name), ["high", "normal", "low"]);
    }
}
