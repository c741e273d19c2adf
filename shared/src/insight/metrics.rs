//! Measures of predicted probabilities against what happened.

/// The area under the ROC curve of `scores` for `outcomes`: the chance that a
/// random positive scores above a random negative (ties count half), by the
/// Mann–Whitney rank sum. `None` when either class is missing.
pub fn auc(scores: &[f64], outcomes: &[bool]) -> Option<f64> {
    let mut pairs: Vec<(f64, bool)> = scores
        .iter()
        .copied()
        .zip(outcomes.iter().copied())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Average ranks (1-based) over runs of equal scores.
    let mut rank_sum_pos = 0.0;
    let mut start = 0usize;
    for run in pairs.chunk_by(|a, b| a.0 == b.0) {
        let average = start as f64 + (run.len() as f64 + 1.0) / 2.0;
        rank_sum_pos += average * run.iter().filter(|(_, o)| *o).count() as f64;
        start += run.len();
    }
    let positives = pairs.iter().filter(|(_, o)| *o).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    Some((rank_sum_pos - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// The mean squared error of `probabilities` (0–1) against `outcomes` (1 or 0);
/// `None` for no outcomes. 0 is perfect, 0.25 is a coin toss.
pub fn brier(probabilities: &[f64], outcomes: &[bool]) -> Option<f64> {
    let n = probabilities.len().min(outcomes.len());
    if n == 0 {
        return None;
    }
    let sum: f64 = probabilities
        .iter()
        .zip(outcomes)
        .map(|(p, &o)| (p - if o { 1.0 } else { 0.0 }).powi(2))
        .sum();
    Some(sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_the_share_of_pairs_ranked_right() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.9, 0.1], &[true, false]), Some(1.0));
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(auc(&[0.5, 0.7], &[true, true]), None);
    }

    #[test]
    fn brier_is_the_mean_squared_miss() {
        let b = brier(&[1.0, 0.0, 0.5], &[true, true, false]).unwrap();
        assert!((b - (0.0 + 1.0 + 0.25) / 3.0).abs() < 1e-12);
        assert_eq!(brier(&[], &[]), None);
    }
}
