#!/usr/bin/env python3
"""Check a trained model directory: sha256 in model.json, and ONNX Runtime output vs golden.jsonl.

Features are derived from each golden record exactly as documented in model.json "features" (the contract the
TypeScript scorer implements): ids as int64, trip_distance and pickup_hour as float32, pickup_dow 0=Monday.

    python models/train/verify.py models/ride-duration/1 [models/ride-duration/2 ...]
"""
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort


def feeds_for(records, input_names):
    ts = [r["lpep_pickup_datetime"] for r in records]
    cols = {
        "PULocationID": np.array([r["PULocationID"] for r in records], dtype=np.int64),
        "DOLocationID": np.array([r["DOLocationID"] for r in records], dtype=np.int64),
        "trip_distance": np.array([r["trip_distance"] for r in records], dtype=np.float32),
        # "YYYY-MM-DDTHH:MM:SS": HH + MM/60 from the text, no time-zone conversion
        "pickup_hour": np.array([int(t[11:13]) + int(t[14:16]) / 60.0 for t in ts], dtype=np.float32),
        "pickup_dow": np.array([dt.date(int(t[0:4]), int(t[5:7]), int(t[8:10])).weekday() for t in ts], dtype=np.int64),
    }
    return {n: cols[n].reshape(-1, 1) for n in input_names}


def verify(model_dir: Path, tol: float = 1e-3) -> bool:
    card = json.loads((model_dir / "model.json").read_text())
    onnx_path = model_dir / "model.onnx"
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    ok = digest == card["sha256"]
    records = [json.loads(line) for line in (model_dir / "golden.jsonl").open()]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    assert names == [i["name"] for i in card["inputs"]], (names, card["inputs"])
    pred = sess.run(["duration"], feeds_for(records, names))[0].ravel()
    diff = np.abs(pred - np.array([r["sklearn_prediction"] for r in records]))
    ok = ok and float(diff.max()) <= tol and len(records) >= 500
    print(f"{model_dir}: sha256 {'ok' if digest == card['sha256'] else 'MISMATCH'}, {len(records)} golden rows, "
          f"max |onnx - sklearn| = {diff.max():.2e} -> {'OK' if ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    dirs = [Path(a) for a in sys.argv[1:]] or sorted(Path("models/ride-duration").glob("[0-9]*"))
    sys.exit(0 if all([verify(d) for d in dirs]) else 1)
