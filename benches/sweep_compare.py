"""Compare the runs of two stores metric by metric: `python3 benches/sweep_compare.py A B`.

For `gpu.sh sweep`: the same 12 runs trained by one process and by several workers must agree.
For runs trained twice (the same hashes in two stores): where their training parts and how far
apart their last evaluations end. Every run must be `done` in both, with the same (split, metric,
epoch, step) rows; the table says how many values are bit-equal and the largest relative
difference (the learning rate is left out: it is a schedule, not a result), then per run the
first update whose training loss differs and the last evaluation's gen_mse and alignment in
each store. Needs polars (`pip install polars`).
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
print("run           first differing loss (update)  gen_mse A / B      alignment A / B")
for run in sorted(a):
    (_, ra), (_, rb) = a[run], b[run]
    loss = ra.filter(pl.col("metric") == "loss").join(rb.filter(pl.col("metric") == "loss"), on=["split", "epoch", "step"])
    parted = loss.filter(pl.col("value") != pl.col("value_right"))["step"].min()
    last = [r.filter((pl.col("split") == "eval") & (pl.col("epoch") == r.filter(pl.col("split") == "eval")["epoch"].max())) for r in (ra, rb)]
    value = lambda rows, m: rows.filter(pl.col("metric") == m)["value"][-1]
    print(f"{run[:12]}  {str(parted if parted is not None else 'none'):>30}  "
          f"{value(last[0], 'gen_mse'):.4f} / {value(last[1], 'gen_mse'):.4f}  "
          f"{value(last[0], 'alignment'):.3f} / {value(last[1], 'alignment'):.3f}")
