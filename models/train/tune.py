#!/usr/bin/env python3
"""Compare gbm hyperparameters on a holdout of the training month only (never on the validation month).

Fits on 2021-01 pickups before --cut (default 2021-01-25), scores the later pickups, exports each candidate to ONNX
and measures ONNX Runtime rows per CPU-second (1 thread, one 100 000-row batch, best of 3). Rule used for v2: the
fastest candidate whose holdout RMSE is within 1% of the former model's (800 iters, lr 0.05, 63 leaves).

    .tools/venv-train/bin/python models/train/tune.py ../shared/data/green_tripdata_2021-01.parquet \
        ../shared/data/taxi_zone_lookup.csv [--cut 2021-01-25]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

import train as T

BASE = dict(early_stopping=False, random_state=0)
CANDIDATES = [
    dict(max_iter=800, learning_rate=0.05, max_leaf_nodes=63, min_samples_leaf=50),  # former v2
    dict(max_iter=400, learning_rate=0.1, max_leaf_nodes=63, min_samples_leaf=50),
    dict(max_iter=300, learning_rate=0.15, max_leaf_nodes=63, max_depth=10, min_samples_leaf=50),
    dict(max_iter=300, learning_rate=0.15, max_leaf_nodes=31, max_depth=8, min_samples_leaf=50),
    dict(max_iter=200, learning_rate=0.25, max_leaf_nodes=63, max_depth=10, min_samples_leaf=50),
    dict(max_iter=200, learning_rate=0.3, max_leaf_nodes=31, max_depth=8, min_samples_leaf=50),
    dict(max_iter=400, learning_rate=0.3, max_leaf_nodes=15, max_depth=6, min_samples_leaf=50),
    dict(max_iter=150, learning_rate=0.3, max_leaf_nodes=63, max_depth=8, min_samples_leaf=20),
    dict(max_iter=150, learning_rate=0.3, max_leaf_nodes=31, max_depth=8, min_samples_leaf=10),
    dict(max_iter=150, learning_rate=0.3, max_leaf_nodes=31, max_depth=8, min_samples_leaf=20),  # chosen
    dict(max_iter=150, learning_rate=0.3, max_leaf_nodes=31, max_depth=8, min_samples_leaf=30),
    dict(max_iter=150, learning_rate=0.4, max_leaf_nodes=31, max_depth=8, min_samples_leaf=20),
]


def rows_per_cpu_second(model, codes, feeds) -> tuple[int, float]:
    data = T.to_onnx("gbm", model, codes).SerializeToString()
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    sess.run(["duration"], feeds)
    cpu = []
    for _ in range(3):
        c0 = time.process_time()
        sess.run(["duration"], feeds)
        cpu.append(time.process_time() - c0)
    return len(data), len(feeds["PULocationID"]) / min(cpu)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("train", type=Path)
    p.add_argument("zones", type=Path)
    p.add_argument("--cut", default="2021-01-25", help="holdout = pickups on/after this date")
    a = p.parse_args()
    codes = T.zone_codes(T.read_zones(a.zones))
    df, _ = T.read_trips(a.train)
    early = df.lpep_pickup_datetime < pd.Timestamp(a.cut)
    fit_df, hold = df[early].reset_index(drop=True), df[~early].reset_index(drop=True)
    Xf, Xh = T.sklearn_frame("gbm", fit_df, codes), T.sklearn_frame("gbm", hold, codes)
    feeds = T.onnx_inputs("gbm", df.sample(100_000, replace=True, random_state=0).reset_index(drop=True))
    print(f"fit {len(fit_df)} rows, holdout {len(hold)} rows (from {a.cut})", flush=True)
    for cfg in CANDIDATES:
        model = HistGradientBoostingRegressor(**BASE, **cfg).fit(Xf, fit_df.duration.to_numpy())
        rmse = float(np.sqrt(np.mean((model.predict(Xh) - hold.duration.to_numpy()) ** 2)))
        size, rps = rows_per_cpu_second(model, codes, feeds)
        print(json.dumps({**cfg, "holdout_rmse": round(rmse, 4), "onnx_bytes": size, "rows_per_cpu_s": int(rps)}),
              flush=True)


if __name__ == "__main__":
    main()
