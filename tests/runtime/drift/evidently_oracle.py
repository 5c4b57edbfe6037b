#!/usr/bin/python3
"""The reference the drift tests are checked against: Evidently 0.7.21's default data-drift decisions
(column typing, test choice, each test's computation and threshold), written out on top of scipy,
numpy and pandas (Debian's; Evidently itself is not installable here). Each step cites the Evidently
source it follows.

  evidently_oracle.py generate <scenario> <dir>     writes <dir>/reference.csv and <dir>/current.csv
  evidently_oracle.py drift <ref.csv> <cur.csv> [--method m] [--threshold t] [--columns a,b]   the report as JSON
"""
import json
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

# core/datasets.py infer_column_type: ints with <= 10 distinct values are categorical.
INTEGER_CARDINALITY_LIMIT = 10


def column_type(s):
    if s.dtype.kind == "f":
        return "numerical"
    if s.dtype.kind in "iu":
        return "categorical" if s.nunique() <= INTEGER_CARDINALITY_LIMIT else "numerical"
    return "categorical"


def default_test(ref, cur, ftype):
    # legacy/calculations/stattests/registry.py _get_default_stattest
    n_values = pd.concat([ref, cur]).nunique()
    if ref.shape[0] <= 1000:
        if ftype == "numerical" and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if ftype == "numerical" and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def keys_of(ref, cur):
    return list(set(ref.dropna().unique()) | set(cur.dropna().unique()))


def binned(ref, cur, ftype, fill):
    # legacy/calculations/stattests/utils.py get_binned_data (n_bins unused on this path)
    if ftype == "numerical" and ref.nunique() > 20:
        bins = np.histogram_bin_edges(np.asarray(pd.concat([ref, cur]).values), bins="sturges")
        r = np.histogram(ref, bins)[0] / len(ref)
        c = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = keys_of(ref, cur)
        rv, cv = ref.value_counts(), cur.value_counts()
        r = np.array([rv.get(k, 0) / len(ref) for k in keys])
        c = np.array([cv.get(k, 0) / len(cur) for k in keys])
    if fill:
        for a in (r, c):
            m = min(a[a != 0])
            np.place(a, a == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return r, c


def run_test(name, ref, cur, ftype):
    """(statistic, p_value or None)."""
    if name == "ks":
        res = stats.ks_2samp(ref, cur)
        return float(res.statistic), float(res.pvalue)
    if name == "chisquare":
        # chisquare_stattest.py: expected = reference counts scaled to the current size
        keys = keys_of(ref, cur)
        rv, cv = ref.value_counts(), cur.value_counts()
        k_norm = cur.shape[0] / ref.shape[0]
        f_exp = [rv.get(k, 0) * k_norm for k in keys]
        f_obs = [cv.get(k, 0) for k in keys]
        with np.errstate(divide="ignore", invalid="ignore"):
            res = stats.chisquare(f_obs, f_exp)
        return float(res.statistic), float(res.pvalue)
    if name == "z":
        # z_stattest.py: pooled two-proportion z on "is the first sorted category", two-sided
        if ref.nunique() == 1 and cur.nunique() == 1 and ref.unique()[0] == cur.unique()[0]:
            return 0.0, 1.0
        first = sorted(keys_of(ref, cur))[0]
        a = (ref != first).astype(float)
        b = (cur != first).astype(float)
        n1, n2 = len(a), len(b)
        p1, p2 = float(a.sum()) / n1, float(b.sum()) / n2
        P = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
        return float(z), float(2 * (1 - stats.norm.cdf(np.abs(z))))
    if name == "wasserstein":
        # wasserstein_distance_norm.py: normed by the reference's np.std (ddof 0), at least 0.001
        return float(stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)), None
    if name == "jensenshannon":
        r, c = binned(ref, cur, ftype, False)
        return float(distance.jensenshannon(r, c)), None
    if name == "psi":
        r, c = binned(ref, cur, ftype, True)
        return float(np.sum((r - c) * np.log(r / c))), None
    raise ValueError(name)


THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1}


def drifted(name, stat, p, t):
    if name == "ks":
        return p <= t
    if name in ("chisquare", "z"):
        return p < t
    return stat >= t


def drift(ref_df, cur_df, method=None, threshold=None, only=None):
    columns = {}
    for col in cur_df.columns:
        if col not in ref_df.columns or (only and col not in only):
            continue
        ftype = column_type(cur_df[col])
        # legacy/calculations/data_drift.py get_one_column_drift: infinities become NaN, NaN dropped
        ref = ref_df[col].replace([np.inf, -np.inf], np.nan).dropna()
        cur = cur_df[col].replace([np.inf, -np.inf], np.nan).dropna()
        name = method or default_test(ref, cur, ftype)
        stat, p = run_test(name, ref, cur, ftype)
        t = threshold if threshold is not None else THRESHOLDS[name]
        columns[col] = {"test": name, "statistic": stat, "p_value": p, "threshold": t,
                        "drift": bool(drifted(name, stat, p, t)), "type": ftype}
    share = sum(c["drift"] for c in columns.values()) / len(columns)
    # legacy/calculations/data_drift.py: dataset drift when the share reaches drift_share (0.5)
    return {"dataset_drift": share >= 0.5, "share_drifted": share, "columns": columns}


def frame(rng, n, shift):
    """Every kind of column the selection tells apart, with drift planted where `shift` is set."""
    s = 1.0 if shift else 0.0
    num_nan = rng.normal(0, 1, n)
    num_nan[rng.random(n) < 0.1] = np.nan
    num_nan[rng.random(n) < 0.01] = np.inf
    return pd.DataFrame({
        "num_shift": rng.normal(0.35 * s, 1, n),
        "num_same": rng.normal(3, 2, n),
        "num_ties": np.round(rng.normal(0, 1, n), 1),
        "num_few": rng.choice([0.5, 1.5, 2.5], n, p=[0.2, 0.3, 0.5] if shift else [0.3, 0.3, 0.4]),
        "num_two": rng.choice([0.0, 1.0], n, p=[0.4, 0.6] if shift else [0.5, 0.5]),
        "num_nan": num_nan,
        "int_cat": rng.integers(0, 7 if not shift else 8, n),
        "int_many": rng.integers(0, 100, n) + (5 if shift else 0),
        "str_cat": rng.choice(list("abcd") + (["e"] if shift else []), n),
        "str_two": rng.choice(["yes", "no"], n, p=[0.45, 0.55]),
        "flag": rng.choice([True, False], n, p=[0.3, 0.7] if shift else [0.5, 0.5]),
        "lognormal": rng.lognormal(0.2 * s, 0.8, n),
    })


SCENARIOS = {
    # name: (reference rows, current rows)
    "small": (600, 900),
    "small_equal": (700, 700),
    "ks_asymp": (900, 12000),
    "large": (5000, 20000),
}


def generate(name, out):
    n_ref, n_cur = SCENARIOS[name]
    rng = np.random.default_rng(list(SCENARIOS).index(name) + 7)
    frame(rng, n_ref, False).to_csv(f"{out}/reference.csv", index=False)
    frame(rng, n_cur, True).to_csv(f"{out}/current.csv", index=False)


def main(argv):
    if argv[0] == "generate":
        generate(argv[1], argv[2])
        return
    args = argv[1:]
    method = args[args.index("--method") + 1] if "--method" in args else None
    threshold = float(args[args.index("--threshold") + 1]) if "--threshold" in args else None
    only = args[args.index("--columns") + 1].split(",") if "--columns" in args else None
    report = drift(pd.read_csv(args[0]), pd.read_csv(args[1]), method, threshold, only)
    print(json.dumps(report, allow_nan=True).replace("Infinity", '"inf"').replace("NaN", "null"))


if __name__ == "__main__":
    main(sys.argv[1:])
