"""The reference point-in-time join for `npm run bench:features`: pandas `merge_asof`.

For each view, in the order given: the entity rows sorted by their timestamp, the view sorted by its
timestamp, `merge_asof(by=customer_id, direction="backward", allow_exact_matches=True,
tolerance=ttl)` (the latest view row at or before the entity time and no more than ttl older, both ends
inclusive), then the entity rows back in input order. That is the timed part; reading the CSV files
(pandas here has no Parquet engine) and writing the answer are timed apart and not counted.

Prints one JSON line: seconds to load, to join (wall and CPU), to write; rows; pandas and numpy versions.
The answer is written as CSV: `row` (the input position from 0) and every feature, floats with 17
significant digits (exact), nothing where no value matched.
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--entities", required=True, help="CSV: row, customer_id, ts (epoch seconds)")
    p.add_argument("--view", action="append", required=True, help="name=path.csv:ttl_seconds:feature,feature")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    t = time.perf_counter()
    ents = pd.read_csv(a.entities, dtype={"row": np.int64, "customer_id": np.int64, "ts": np.int64})
    ents["event_timestamp"] = pd.to_datetime(ents.pop("ts"), unit="s")
    views = []
    for spec in a.view:
        name, rest = spec.split("=", 1)
        path, ttl, cols = rest.rsplit(":", 2)
        features = cols.split(",")
        df = pd.read_csv(path, dtype={"customer_id": np.int64, "ts": np.int64}, float_precision="round_trip")
        df[f"__ts_{name}"] = pd.to_datetime(df.pop("ts"), unit="s")
        views.append((name, df, pd.Timedelta(seconds=int(ttl)), features))
    load_s = time.perf_counter() - t

    t = time.perf_counter()
    c = time.process_time()
    left = ents.sort_values("event_timestamp", kind="stable")
    for name, df, ttl, _ in views:
        right = df.sort_values(f"__ts_{name}", kind="stable")
        left = pd.merge_asof(
            left,
            right,
            left_on="event_timestamp",
            right_on=f"__ts_{name}",
            by="customer_id",
            direction="backward",
            allow_exact_matches=True,
            tolerance=ttl,
        ).drop(columns=[f"__ts_{name}"])
    out = left.sort_values("row", kind="stable")
    join_s = time.perf_counter() - t
    join_cpu_s = time.process_time() - c

    t = time.perf_counter()
    features = [f for _, _, _, fs in views for f in fs]
    out[["row", *features]].to_csv(a.out, index=False, float_format="%.17g")
    write_s = time.perf_counter() - t

    print(json.dumps({"load_s": load_s, "join_s": join_s, "join_cpu_s": join_cpu_s, "write_s": write_s, "rows": int(len(out)), "pandas": pd.__version__, "numpy": np.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
