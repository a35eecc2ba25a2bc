"""Compare the runs of two stores metric by metric: `python3 benches/sweep_compare.py A B`.

For `gpu.sh sweep`: the same 12 runs trained by one process and by several workers must agree.
Every run must be `done` in both, with the same (split, metric, epoch, step) rows; the table says
how many values are bit-equal and the largest relative difference (the learning rate is left
out: it is a schedule, not a result). Needs polars (`pip install polars`).
"""

import glob
import json
import os
import sys

import polars as pl


def load(store):
    runs = {}
    for run in sorted(glob.glob(f"{store}/runs/*")):
        status = json.load(open(f"{run}/status.json"))
        rows = pl.read_parquet(f"{run}/metrics.parquet").select(["split", "metric", "epoch", "step", "value"])
        runs[os.path.basename(run)] = (status, rows.sort(["split", "metric", "epoch", "step"]))
    return runs


a, b = load(sys.argv[1]), load(sys.argv[2])
assert sorted(a) == sorted(b), f"different runs: {sorted(set(a) ^ set(b))}"
compared = equal = 0
worst = (0.0, None)
for run in sorted(a):
    (sa, ra), (sb, rb) = a[run], b[run]
    assert sa["state"] == sb["state"] == "done", f"{run}: {sa['state']} / {sb['state']}"
    assert ra.height == rb.height, f"{run}: {ra.height} rows against {rb.height}"
    for x, y in zip(ra.iter_rows(), rb.iter_rows()):
        assert x[:4] == y[:4], f"{run}: {x[:4]} against {y[:4]}"
        if x[1] == "lr":
            continue
        compared += 1
        equal += x[4] == y[4]
        rel = abs(x[4] - y[4]) / max(abs(x[4]), 1e-12)
        if rel > worst[0]:
            worst = (rel, (run, *x[:4], x[4], y[4]))
pids = {s["pid"] for s, _ in b.values()}
print(f"runs {len(a)}, all done in both; processes in the second store: {len(pids)}")
print(f"metric values compared {compared}, bit-equal {equal}, largest relative difference {worst[0]:.2e}")
if worst[1]:
    print(f"  at {worst[1]}")
