//! Logistic regression with an L2 penalty, over standardised features, fitted by
//! full-batch gradient descent: a fixed number of steps from all-zero weights, so
//! the same rows always give the same model, natively and in wasm.

use serde::{Deserialize, Serialize};

/// Gradient steps of a fit.
pub const STEPS: usize = 200;
/// Step size; features are standardised, so one size suits every firm.
const RATE: f64 = 0.5;
/// Strength of the penalty on the weights (never on the intercept).
const L2: f64 = 0.01;

/// A fitted model: per feature its name, the mean and spread that standardise it,
/// and its weight; and the intercept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Feature names, in the order of every row.
    pub features: Vec<String>,
    /// Mean of each feature in the training rows.
    pub means: Vec<f64>,
    /// Standard deviation of each feature (1 where a feature never varied).
    pub scales: Vec<f64>,
    /// Weight of each standardised feature.
    pub weights: Vec<f64>,
    /// The intercept.
    pub bias: f64,
}

/// One feature's part in a prediction, in log-odds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The feature's name.
    pub feature: String,
    /// Weight × standardised value: how far it moved the log-odds from the average row.
    pub effect: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Model {
    /// Fits `rows` (each as long as `features`) to `outcomes`. Rows of another
    /// length are ignored rather than trusted.
    pub fn fit(features: &[&str], rows: &[Vec<f64>], outcomes: &[bool]) -> Self {
        let width = features.len();
        let data: Vec<(&Vec<f64>, f64)> = rows
            .iter()
            .zip(outcomes)
            .filter(|(row, _)| row.len() == width)
            .map(|(row, &o)| (row, if o { 1.0 } else { 0.0 }))
            .collect();
        let n = data.len().max(1) as f64;
        let mut means = vec![0.0; width];
        for (row, _) in &data {
            for (m, x) in means.iter_mut().zip(row.iter()) {
                *m += x / n;
            }
        }
        let mut scales = vec![0.0; width];
        for (row, _) in &data {
            for ((s, x), m) in scales.iter_mut().zip(row.iter()).zip(&means) {
                *s += (x - m).powi(2) / n;
            }
        }
        for s in &mut scales {
            *s = if *s > 1e-12 { s.sqrt() } else { 1.0 };
        }
        let standard: Vec<(Vec<f64>, f64)> = data
            .iter()
            .map(|(row, y)| (standardise(row, &means, &scales), *y))
            .collect();
        let mut weights = vec![0.0; width];
        let mut bias = 0.0;
        let mut gradient = vec![0.0; width];
        for _ in 0..STEPS {
            gradient.iter_mut().for_each(|g| *g = 0.0);
            let mut bias_gradient = 0.0;
            for (z, y) in &standard {
                let error = sigmoid(bias + dot(&weights, z)) - y;
                bias_gradient += error;
                for (g, x) in gradient.iter_mut().zip(z) {
                    *g += error * x;
                }
            }
            for (w, g) in weights.iter_mut().zip(&gradient) {
                *w -= RATE * (g / n + L2 * *w);
            }
            bias -= RATE * bias_gradient / n;
        }
        Self {
            features: features.iter().map(|f| (*f).to_owned()).collect(),
            means,
            scales,
            weights,
            bias,
        }
    }

    /// The probability of the positive outcome for `row` (0–1); the base rate for a
    /// row of the wrong length.
    pub fn probability(&self, row: &[f64]) -> f64 {
        if row.len() != self.weights.len() {
            return sigmoid(self.bias);
        }
        sigmoid(self.bias + dot(&self.weights, &standardise(row, &self.means, &self.scales)))
    }

    /// The `n` features that moved `row`'s log-odds most, largest first.
    pub fn reasons(&self, row: &[f64], n: usize) -> Vec<Contribution> {
        if row.len() != self.weights.len() {
            return Vec::new();
        }
        let z = standardise(row, &self.means, &self.scales);
        let mut all: Vec<Contribution> = self
            .features
            .iter()
            .zip(self.weights.iter().zip(&z))
            .map(|(feature, (w, x))| Contribution {
                feature: feature.clone(),
                effect: w * x,
            })
            .filter(|c| c.effect.abs() > 1e-9)
            .collect();
        all.sort_by(|a, b| b.effect.abs().total_cmp(&a.effect.abs()));
        all.truncate(n);
        all
    }
}

fn standardise(row: &[f64], means: &[f64], scales: &[f64]) -> Vec<f64> {
    row.iter()
        .zip(means.iter().zip(scales))
        .map(|(x, (m, s))| (x - m) / s)
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of numbers in [0, 1).
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn it_learns_which_feature_carries_the_signal() {
        let mut seed = 7;
        let mut rows = Vec::new();
        let mut outcomes = Vec::new();
        for _ in 0..2_000 {
            let signal = noise(&mut seed) * 10.0;
            let irrelevant = noise(&mut seed) * 1_000.0;
            let truth = sigmoid(1.2 * (signal - 5.0));
            rows.push(vec![signal, irrelevant]);
            outcomes.push(noise(&mut seed) < truth);
        }
        let model = Model::fit(&["signal", "irrelevant"], &rows, &outcomes);
        assert!(model.weights[0] > 1.0, "{:?}", model.weights);
        assert!(model.weights[1].abs() < 0.2, "{:?}", model.weights);
        assert!(model.probability(&[9.0, 500.0]) > 0.9);
        assert!(model.probability(&[1.0, 500.0]) < 0.1);
        let reasons = model.reasons(&[9.0, 10.0], 1);
        assert_eq!(reasons[0].feature, "signal");
        assert!(reasons[0].effect > 0.0);
        // Same rows, same model: no randomness in fitting.
        assert_eq!(
            model,
            Model::fit(&["signal", "irrelevant"], &rows, &outcomes)
        );
    }

    #[test]
    fn a_constant_feature_and_a_short_row_do_no_harm() {
        let rows = vec![vec![1.0, 3.0], vec![1.0, 4.0], vec![2.0]];
        let model = Model::fit(&["constant", "x"], &rows, &[false, true, true]);
        assert_eq!(model.scales[0], 1.0);
        assert!(model.weights.iter().all(|w| w.is_finite()));
        assert!((model.probability(&[1.0]) - sigmoid(model.bias)).abs() < 1e-12);
        assert!(model.reasons(&[1.0], 3).is_empty());
    }
}
