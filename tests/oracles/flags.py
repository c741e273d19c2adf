#!/usr/bin/env python3
"""Our flag buckets and sample-ratio checks judged by implementations we did not write.

Buckets: MurmurHash3 x86 32-bit, seed 0, of "<salt>:<subject>" modulo 10,000, as
the `mmh3` package (PyPI) computes it. Sample-ratio mismatch: Pearson's chi-square
goodness of fit as `scipy.stats.chisquare` computes it (statistic and p-value).
Also checks the shared test vectors in shared/src/flags/vectors.json, which the
browser client uses too. Run by scripts/test.

Usage: flags.py ORACLE_BINARY VECTORS_JSON
"""

import json
import math
import subprocess
import sys

import mmh3
from scipy.stats import chisquare


def main():
    oracle, vectors = sys.argv[1], sys.argv[2]
    lines = subprocess.run([oracle], check=True, capture_output=True, text=True).stdout.splitlines()
    buckets = tests = 0
    for line in lines:
        case = json.loads(line)
        if "bucket" in case:
            want = mmh3.hash(f"{case['salt']}:{case['subject']}", 0, signed=False) % 10_000
            assert case["bucket"] == want, f"bucket of {case}: mmh3 says {want}"
            buckets += 1
        else:
            observed, weights = case["observed"], case["weights"]
            total = sum(observed)
            expected = [total * w / sum(weights) for w in weights]
            stat, p = chisquare(observed, expected)
            assert math.isclose(case["chi_square"], stat, rel_tol=1e-9, abs_tol=1e-9), (case, stat)
            assert math.isclose(case["p_value"], p, rel_tol=1e-6, abs_tol=1e-12), (case, p)
            tests += 1
    for v in json.load(open(vectors, encoding="utf-8")):
        h = mmh3.hash(f"{v['salt']}:{v['subject']}", 0, signed=False)
        assert (v["hash"], v["bucket"]) == (h, h % 10_000), v
    assert buckets >= 1_000 and tests >= 200, (buckets, tests)
    print(f"flags: {buckets} buckets agree with mmh3, {tests} sample-ratio checks with scipy")


if __name__ == "__main__":
    main()
