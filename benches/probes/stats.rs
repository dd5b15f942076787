//! Summaries of per-round numbers: mean, spread, median, and a 95%
//! t-interval for the mean of paired per-round differences.

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (n - 1); 0 for fewer than two values.
pub fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Linear-interpolated quantile of the sorted values (q in 0..=1).
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return f64::NAN;
    }
    let pos = (s.len() - 1) as f64 * q;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom:
/// the table to 30, then 1.96 + 2.4/df, which is within 0.003 of the exact
/// value from 30 on.
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => 1.96 + 2.4 / df as f64,
    }
}

/// A mean with its 95% t-interval: mean +- half.
#[derive(Clone, Copy, Debug)]
pub struct Interval {
    pub mean: f64,
    pub half: f64,
    pub n: usize,
}

impl Interval {
    /// Over per-round values (for a paired comparison, the per-round
    /// differences): rounds are independent, each difference within one round
    /// shares that round's machine state.
    pub fn of(v: &[f64]) -> Self {
        let n = v.len();
        Self {
            mean: mean(v),
            half: t975(n.saturating_sub(1)) * sd(v) / (n as f64).sqrt(),
            n,
        }
    }

    pub fn lo(&self) -> f64 {
        self.mean - self.half
    }

    pub fn hi(&self) -> f64 {
        self.mean + self.half
    }
}
