"""scipy side of `npm run bench:drift`: the tests Evidently runs by default on the same columns.

Reads the raw copy bench/drift/data.ts wrote (float64, column after column: the numerical columns,
then the categorical ones as category codes) and, per column, does what Evidently 0.7's data drift
does with a reference of more than 1000 rows: count the distinct values of reference + current to
pick the test, then the normed Wasserstein distance (scipy.stats.wasserstein_distance / np.std of the
reference) for numerical columns, the Jensen-Shannon distance (scipy.spatial.distance.jensenshannon
over value shares) for categorical ones. Prints one JSON line: per-column statistics and the time of
the tests (loading the files is outside it).
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
import scipy
from scipy import stats
from scipy.spatial import distance


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--numerical", type=int, required=True)
    ap.add_argument("--categorical", type=int, required=True)
    a = ap.parse_args()
    cols = a.numerical + a.categorical

    def load(side: str) -> np.ndarray:
        return np.fromfile(f"{a.dir}/{side}.f64", dtype="<f8").reshape(cols, a.rows)

    ref_all, cur_all = load("reference"), load("current")
    names = [f"n{j}" for j in range(a.numerical)] + [f"c{j}" for j in range(a.categorical)]
    out = {}
    t0 = time.perf_counter()
    for k, name in enumerate(names):
        categorical = k >= a.numerical
        ref = pd.Series(ref_all[k].astype(np.int64) if categorical else ref_all[k])
        cur = pd.Series(cur_all[k].astype(np.int64) if categorical else cur_all[k])
        n_values = pd.concat([ref, cur]).nunique()
        if not categorical and n_values > 5:
            value = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
            test = "wasserstein"
        else:
            keys = list(set(ref.unique()) | set(cur.unique()))
            rv, cv = ref.value_counts(), cur.value_counts()
            r = np.array([rv.get(x, 0) / len(ref) for x in keys])
            c = np.array([cv.get(x, 0) / len(cur) for x in keys])
            value = distance.jensenshannon(r, c)
            test = "jensenshannon"
        out[name] = {"test": test, "statistic": float(value)}
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "columns": out, "scipy": scipy.__version__, "numpy": np.__version__, "pandas": pd.__version__}))


if __name__ == "__main__":
    main()
