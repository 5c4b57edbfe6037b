"""scikit-learn side of `npm run bench:train`.

Reads the train/holdout split that bench/train/run.ts wrote as raw little-endian float64 files, fits
StandardScaler then LogisticRegression(solver="lbfgs", C=1/l2) and prints one JSON line with the
timings (best of --repeats), the iterations, the holdout AUC and the BLAS kernel in use.

Loading the files is outside every timing, as on the TypeScript side.
"""

import argparse
import json
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--holdout-rows", type=int, required=True)
    ap.add_argument("--features", type=int, required=True)
    ap.add_argument("--l2", type=float, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    def load(name: str, shape: tuple) -> np.ndarray:
        return np.fromfile(f"{a.dir}/{name}.f64", dtype="<f8").reshape(shape)

    Xt = load("x_train", (a.rows, a.features))
    yt = load("y_train", (a.rows,))
    Xh = load("x_holdout", (a.holdout_rows, a.features))
    yh = load("y_holdout", (a.holdout_rows,))

    scale_s, fit_s = [], []
    model = scaler = None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        scaler = StandardScaler().fit(Xt)
        Zt = scaler.transform(Xt)
        t1 = time.perf_counter()
        # sklearn's defaults (tol=1e-4) but for C and a max_iter that never binds on this table.
        model = LogisticRegression(C=1.0 / a.l2, solver="lbfgs", max_iter=1000).fit(Zt, yt)
        t2 = time.perf_counter()
        scale_s.append(t1 - t0)
        fit_s.append(t2 - t1)

    prob = model.predict_proba(scaler.transform(Xh))[:, 1]
    try:
        from threadpoolctl import threadpool_info

        pools = [f"{p.get('internal_api')}:{p.get('architecture') or '-'}x{p.get('num_threads')}" for p in threadpool_info()]
    except ImportError:
        pools = ["threadpoolctl missing"]
    print(json.dumps({
        "fitSeconds": min(fit_s),
        "scalerSeconds": min(scale_s),
        "iterations": int(model.n_iter_[0]),
        "holdoutAuc": float(roc_auc_score(yh, prob)),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "threadpools": pools,
        "sklearn": __import__("sklearn").__version__,
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
