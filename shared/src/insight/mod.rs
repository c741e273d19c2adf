//! Scores and forecasts learnt from a firm's own history, with no model service:
//! the statistics the AI layer's deterministic capabilities stand on.
//!
//! - [`logistic`]: L2-regularised logistic regression over standardised features,
//!   trained by a fixed number of gradient steps from zero (same data, same model),
//!   with each prediction's largest contributions as its reasons.
//! - [`metrics`]: how good a probability is on held-out outcomes (ROC AUC, Brier).

pub mod logistic;
pub mod metrics;
