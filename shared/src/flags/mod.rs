//! Feature flags and experiments.
//!
//! A firm's flags live in D1 (`flags_flags`) and, for evaluation, in a versioned
//! KV snapshot every worker reads (cached at most 30 s at the edge, so a change
//! reaches every worker within 90 s). Module code asks one function
//! (`edge::flags::evaluate`); the answer has OpenFeature's shape (value, variant,
//! reason, error code). Splits bucket people by MurmurHash3 of the flag's salt and
//! the person (or the firm), so widening a rollout never drops anyone already in
//! it. Experiment flags log one exposure per (flag, subject, variant, day); the
//! sample-ratio check compares the exposures with the split's weights.

pub mod eval;
pub mod model;
pub mod srm;
pub mod store;

pub use eval::{bucket, evaluate, Context, ErrorCode, Reason, Resolution};
pub use model::{Flag, FlagKind, FlagType};
