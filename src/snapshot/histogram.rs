//! Log-linear latency histograms: the bucket layout of probe.h (the probes
//! check at build time that theirs is this one) and the percentile maths on
//! top of it.
//!
//! Each power of two from 2^10 ns (~1 us) to 2^34 ns (~17 s) is split into 16
//! sub-buckets, so a bucket is at most 1/16 of its lower bound wide and a
//! percentile read at the bucket's midpoint is within ~3% of the truth.

use serde::Serialize;

pub const MIN_SHIFT: u32 = 10;
pub const MAX_SHIFT: u32 = 34;
pub const SUB_BITS: u32 = 4;
pub const SUB: usize = 1 << SUB_BITS;
pub const BUCKETS: usize = (MAX_SHIFT - MIN_SHIFT) as usize * SUB + 2;

/// Bucket index of a latency in ns (the same function as probe.bpf.c).
pub fn bucket_of(ns: u64) -> usize {
    if ns < 1 << MIN_SHIFT {
        return 0;
    }
    let e = 63 - ns.leading_zeros();
    if e >= MAX_SHIFT {
        return BUCKETS - 1;
    }
    let sub = ((ns >> (e - SUB_BITS)) as usize) & (SUB - 1);
    1 + (e - MIN_SHIFT) as usize * SUB + sub
}

/// `[lo, hi)` in ns of bucket `b`; the last bucket's `hi` is `u64::MAX`.
pub fn bounds(b: usize) -> (u64, u64) {
    if b == 0 {
        return (0, 1 << MIN_SHIFT);
    }
    if b >= BUCKETS - 1 {
        return (1 << MAX_SHIFT, u64::MAX);
    }
    let e = MIN_SHIFT + ((b - 1) / SUB) as u32;
    let sub = ((b - 1) % SUB) as u64;
    let width = 1u64 << (e - SUB_BITS);
    let lo = (1u64 << e) + sub * width;
    (lo, lo + width)
}

/// Counts per bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    pub counts: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
        }
    }
}

impl Histogram {
    pub fn from_counts(counts: &[u64]) -> Self {
        let mut h = Self::default();
        for (slot, c) in h.counts.iter_mut().zip(counts) {
            *slot = *c;
        }
        h
    }

    pub fn record(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
    }

    pub fn add(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// What was recorded since `earlier` (a previous reading of the same
    /// cumulative histogram).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        Histogram {
            counts: self
                .counts
                .iter()
                .zip(&earlier.counts)
                .map(|(now, then)| now.saturating_sub(*then))
                .collect(),
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The latency (ns) below which a fraction `q` of samples lie, read at
    /// the midpoint of the bucket that holds it. `None` when empty.
    pub fn percentile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bounds(b);
                return Some(if hi == u64::MAX {
                    lo
                } else {
                    lo + (hi - lo) / 2
                });
            }
        }
        None
    }

    /// Upper bound of the highest non-empty bucket (ns).
    pub fn max_bound(&self) -> Option<u64> {
        let b = self.counts.iter().rposition(|c| *c > 0)?;
        let (lo, hi) = bounds(b);
        Some(if hi == u64::MAX { lo } else { hi })
    }

    /// The JSON and UI form; `max_ns` is the exact maximum when known.
    pub fn summary(&self, max_ns: Option<u64>) -> LatencySummary {
        let us = |ns: Option<u64>| ns.map(|v| v as f64 / 1e3);
        LatencySummary {
            count: self.count(),
            p50_us: us(self.percentile(0.50)),
            p90_us: us(self.percentile(0.90)),
            p99_us: us(self.percentile(0.99)),
            max_us: us(max_ns.or_else(|| self.max_bound())),
            buckets: self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(b, c)| {
                    let (lo, hi) = bounds(b);
                    let hi_us = if hi == u64::MAX {
                        f64::INFINITY
                    } else {
                        hi as f64 / 1e3
                    };
                    (lo as f64 / 1e3, hi_us, *c)
                })
                .collect(),
        }
    }
}

/// Percentiles in microseconds and the non-empty buckets as
/// `[lo_us, hi_us, count]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: Option<f64>,
    pub p90_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub max_us: Option<f64>,
    pub buckets: Vec<(f64, f64, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        assert_eq!(BUCKETS, 386);
        let mut expect_lo = 0;
        for b in 0..BUCKETS {
            let (lo, hi) = bounds(b);
            assert_eq!(lo, expect_lo, "bucket {b}");
            assert!(hi > lo);
            expect_lo = hi;
            assert_eq!(bucket_of(lo), b, "lo of bucket {b}");
            if hi != u64::MAX {
                assert_eq!(bucket_of(hi - 1), b, "hi-1 of bucket {b}");
            }
        }
    }

    #[test]
    fn bucket_width_is_at_most_a_sixteenth() {
        for b in 1..BUCKETS - 1 {
            let (lo, hi) = bounds(b);
            assert!(
                (hi - lo) as f64 / lo as f64 <= 1.0 / 16.0 + 1e-12,
                "bucket {b}"
            );
        }
    }

    /// Synthetic data with known percentiles: a uniform spread of latencies
    /// from 10 us to 10 ms, and a bimodal mix.
    #[test]
    fn percentiles_are_within_the_bucket_error_bound() {
        let mut h = Histogram::default();
        let samples: Vec<u64> = (0..100_000u64)
            .map(|i| 10_000 + i * 99_900 / 1000)
            .collect();
        for s in &samples {
            h.record(*s);
        }
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        for q in [0.5, 0.9, 0.99] {
            let truth = sorted[((q * sorted.len() as f64).ceil() as usize) - 1] as f64;
            let got = h.percentile(q).unwrap() as f64;
            let err = (got - truth).abs() / truth;
            assert!(
                err <= 1.0 / 32.0 + 1e-9,
                "q {q}: got {got} truth {truth} err {err}"
            );
        }

        let mut bi = Histogram::default();
        for _ in 0..900 {
            bi.record(5_000);
        }
        for _ in 0..100 {
            bi.record(2_000_000);
        }
        let p50 = bi.percentile(0.5).unwrap() as f64;
        let p99 = bi.percentile(0.99).unwrap() as f64;
        assert!((p50 - 5_000.0).abs() / 5_000.0 <= 1.0 / 16.0, "{p50}");
        assert!(
            (p99 - 2_000_000.0).abs() / 2_000_000.0 <= 1.0 / 16.0,
            "{p99}"
        );
    }

    #[test]
    fn empty_histogram_has_no_percentiles() {
        let s = Histogram::default().summary(None);
        assert_eq!(s.count, 0);
        assert_eq!(s.p50_us, None);
        assert!(s.buckets.is_empty());
    }

    #[test]
    fn since_subtracts_an_earlier_reading() {
        let mut a = Histogram::default();
        a.record(2_000);
        let before = a.clone();
        a.record(2_000);
        a.record(50_000);
        let d = a.since(&before);
        assert_eq!(d.count(), 2);
        assert_eq!(d.counts[bucket_of(50_000)], 1);
    }

    #[test]
    fn overflow_and_underflow_buckets_catch_the_extremes() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1023), 0);
        assert_eq!(bucket_of(1024), 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(20_000_000_000), BUCKETS - 1);
    }
}
