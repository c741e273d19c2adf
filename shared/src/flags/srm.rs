//! The sample-ratio-mismatch check of an experiment: Pearson's χ² goodness of fit
//! of the exposures per arm against the split's weights. A p-value under 0.001
//! means the assignment is broken (a bug, a bot, a redirect losing people) and the
//! results cannot be trusted.

use serde::Serialize;

/// Below this p-value the ratio is a mismatch.
pub const THRESHOLD: f64 = 0.001;

/// The check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// χ² statistic.
    pub chi_square: f64,
    /// Degrees of freedom (arms − 1).
    pub degrees_of_freedom: usize,
    /// The p-value.
    pub p_value: f64,
    /// Whether `p_value` < 0.001.
    pub mismatch: bool,
}

/// χ² of `observed` counts against `weights` (any positive scale). `None` with
/// fewer than two arms of positive weight, or no observations.
pub fn check(observed: &[u64], weights: &[f64]) -> Option<Check> {
    let total: u64 = observed.iter().sum();
    let weight_sum: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    let arms: Vec<(u64, f64)> = observed
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|(o, w)| (*o, *w))
        .collect();
    if arms.len() < 2 || total == 0 || weight_sum <= 0.0 {
        return None;
    }
    let chi_square: f64 = arms
        .iter()
        .map(|(o, w)| {
            let expected = total as f64 * w / weight_sum;
            let d = *o as f64 - expected;
            d * d / expected
        })
        .sum();
    let dof = arms.len() - 1;
    let p_value = chi_square_sf(chi_square, dof as f64);
    Some(Check {
        chi_square,
        degrees_of_freedom: dof,
        p_value,
        mismatch: p_value < THRESHOLD,
    })
}

/// The survival function of χ² with `k` degrees of freedom: Q(k/2, x/2).
pub fn chi_square_sf(x: f64, k: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    gamma_q(k / 2.0, x / 2.0)
}

/// ln Γ(x) by Lanczos (g = 7, n = 9), accurate to ~1e-15 for x > 0.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised upper incomplete gamma Q(a, x): a series below a + 1, Lentz's
/// continued fraction above (as in Numerical Recipes §6.2).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x < a + 1.0 {
        let mut sum = 1.0 / a;
        let mut term = sum;
        let mut n = a;
        for _ in 0..1_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        let p = sum * (-x + a * x.ln() - ln_gamma(a)).exp();
        (1.0 - p).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        ((-x + a * x.ln() - ln_gamma(a)).exp() * h).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_even_split_that_came_out_even_is_no_mismatch() {
        let c = check(&[5_000, 5_000], &[1.0, 1.0]).unwrap();
        assert_eq!(c.chi_square, 0.0);
        assert!((c.p_value - 1.0).abs() < 1e-12);
        assert!(!c.mismatch);
        assert!(check(&[10], &[1.0]).is_none());
        assert!(check(&[0, 0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn a_lopsided_split_is_a_mismatch() {
        // 5,200 / 4,800 on a 50/50 split: χ² = 16, p ≈ 6.3e-5.
        let c = check(&[5_200, 4_800], &[5_000.0, 5_000.0]).unwrap();
        assert!((c.chi_square - 16.0).abs() < 1e-9);
        assert!(c.mismatch, "{c:?}");
        // χ²(1) survival at 3.841 is 0.05.
        assert!((chi_square_sf(3.841_458_820_694_124, 1.0) - 0.05).abs() < 1e-9);
    }
}
