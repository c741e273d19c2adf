//! Our flag buckets and sample-ratio checks, exposed for independent
//! implementations to judge (tests/oracles/flags.py drives it): MurmurHash3 of the
//! `mmh3` package, χ² of SciPy.
//!
//! `flags-oracle`: prints JSON lines, `{"salt", "subject", "bucket"}` for assorted
//! salts and subjects, then `{"observed", "weights", "chi_square", "p_value"}` for
//! assorted arm counts.

use serde_json::json;
use shared::flags::{bucket, srm};

fn main() {
    let salts = [
        "new-dashboard",
        "exp.pricing",
        "a",
        "ünïcödé.flag",
        "x".repeat(64).leak(),
    ];
    for salt in salts {
        for i in 0..400u32 {
            let subject = match i % 4 {
                0 => format!("usr_{i:026}"),
                1 => format!("frm_01JD{i:022}"),
                2 => "é".repeat(i as usize % 17),
                _ => format!("{i}"),
            };
            println!(
                "{}",
                json!({"salt": salt, "subject": subject, "bucket": bucket(salt, &subject)})
            );
        }
    }
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..300 {
        let arms = 2 + next(4) as usize;
        let weights: Vec<f64> = (0..arms).map(|_| 1.0 + next(9) as f64).collect();
        let scale = 10 + next(20_000);
        let observed: Vec<u64> = weights
            .iter()
            .map(|w| ((*w * scale as f64) as u64 / 10) + next(1 + scale / 5))
            .collect();
        if let Some(c) = srm::check(&observed, &weights) {
            println!(
                "{}",
                json!({"observed": observed, "weights": weights, "chi_square": c.chi_square, "p_value": c.p_value})
            );
        }
    }
}
