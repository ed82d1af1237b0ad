#!/usr/bin/python3
"""Compares .npy files element by element (numpy.allclose semantics:
|a - b| <= atol + rtol * |b|, B being the reference).

Usage: /usr/bin/python3 tools/compare_npy.py A.npy B.npy [--rtol 1e-3] [--atol 1e-4]
       /usr/bin/python3 tools/compare_npy.py ADIR BDIR   every BDIR/*.npy against ADIR's
Prints per file: max_abs=... max_rel=... bad=K/N  OK|FAIL (max_rel over elements with
|b| > atol), and for directories a last line "worst: max_abs=... max_rel=...  OK|FAIL". Exits 0 when all are close, 1 when not,
2 when a pair cannot be compared (missing file, shape or dtype mismatch).
"""
import argparse
import glob
import os
import sys

import numpy as np


def load(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        sys.exit(f"compare_npy: cannot read {path}: {e}")


def diff_stats(a, b, rtol, atol):
    """max abs diff, max rel diff (|a-b| / |b| over elements with |b| > atol: below that the
    ratio measures rounding noise, not error), count of elements out of tolerance."""
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        a, b = a.astype(np.int8), b.astype(np.int8)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan_mismatch = np.isnan(a64) != np.isnan(b64)
    both_nan = np.isnan(a64) & np.isnan(b64)
    with np.errstate(invalid="ignore", divide="ignore"):
        absd = np.where(both_nan | (a64 == b64), 0.0, np.abs(a64 - b64))
        reld = np.where(np.abs(b64) > atol, absd / np.abs(b64), 0.0)
    bad = (absd > atol + rtol * np.abs(b64)) | nan_mismatch
    max_abs = float(np.nanmax(absd)) if absd.size else 0.0
    max_rel = float(np.nanmax(reld)) if reld.size else 0.0
    return max_abs, max_rel, int(np.count_nonzero(bad))


def compare_files(path_a, path_b, rtol, atol):
    """Prints one line; returns (exit code, max abs diff, max rel diff)."""
    if not os.path.exists(path_a):
        print(f"missing: {path_a}  FAIL")
        return 2, float("nan"), float("nan")
    a, b = load(path_a), load(path_b)
    if a.shape != b.shape:
        print(f"shape mismatch: {path_a} {a.shape} vs {path_b} {b.shape}  FAIL")
        return 2, float("nan"), float("nan")
    if a.dtype != b.dtype:
        print(f"dtype mismatch: {path_a} {a.dtype} vs {path_b} {b.dtype}  FAIL")
        return 2, float("nan"), float("nan")
    max_abs, max_rel, bad = diff_stats(a, b, rtol, atol)
    print(f"max_abs={max_abs:.3g} max_rel={max_rel:.3g} bad={bad}/{a.size}  {'OK' if bad == 0 else 'FAIL'}")
    return (0 if bad == 0 else 1), max_abs, max_rel


def compare_dirs(dir_a, dir_b, rtol, atol):
    refs = sorted(glob.glob(os.path.join(dir_b, "*.npy")))
    if not refs:
        print(f"no .npy files in {dir_b}  FAIL")
        return 2
    worst_code, worst_abs, worst_rel = 0, 0.0, 0.0
    for ref in refs:
        name = os.path.basename(ref)
        print(f"{name[:-4]}: ", end="")
        code, max_abs, max_rel = compare_files(os.path.join(dir_a, name), ref, rtol, atol)
        worst_code = max(worst_code, code)
        worst_abs = max(worst_abs, max_abs) if max_abs == max_abs else worst_abs
        worst_rel = max(worst_rel, max_rel) if max_rel == max_rel else worst_rel
    print(f"worst: max_abs={worst_abs:.3g} max_rel={worst_rel:.3g}  {'OK' if worst_code == 0 else 'FAIL'}")
    return worst_code


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="tested output (file or directory)")
    p.add_argument("b", help="reference output (file or directory)")
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--atol", type=float, default=1e-4)
    args = p.parse_args()
    if os.path.isdir(args.b):
        return compare_dirs(args.a, args.b, args.rtol, args.atol)
    return compare_files(args.a, args.b, args.rtol, args.atol)[0]


if __name__ == "__main__":
    sys.exit(main())
