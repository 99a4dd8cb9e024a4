"""The course's batch-scoring way, as a reference for `npm run bench:batch`: pandas reads the partition from
Postgres, the model predicts in memory, DataFrame.to_sql writes the results. Same rows, same model artifact
(model.onnx through onnxruntime, features from models/train/train.py), same output columns as `predictions`.

Needs pandas, onnxruntime, SQLAlchemy and psycopg2 in the venv:
  .tools/venv-train/bin/pip install psycopg2-binary sqlalchemy
Run:
  .tools/venv-train/bin/python bench/batch-pandas.py --url postgresql://... --from 2031-01-15 --to 2031-01-16
Prints one JSON line with the timings.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models" / "train"))
from train import onnx_inputs  # noqa: E402  (the feature code the models were trained with)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--model-dir", default=str(ROOT / "models" / "ride-duration" / "2"))
    p.add_argument("--table", default="predictions_pandas")
    args = p.parse_args()

    card = json.loads((Path(args.model_dir) / "model.json").read_text())
    kind = card.get("kind", "baseline")
    url = args.url.replace("postgres://", "postgresql+psycopg2://", 1).replace(
        "postgresql://", "postgresql+psycopg2://", 1
    )
    engine = create_engine(url)
    t0 = time.perf_counter()
    df = pd.read_sql(
        text(
            "SELECT ride_id, pickup_datetime, pu_location_id, do_location_id, trip_distance, actual_duration "
            "FROM rides WHERE pickup_datetime >= :a AND pickup_datetime < :b"
        ),
        engine,
        params={"a": args.start, "b": args.end},
    )
    t1 = time.perf_counter()

    df = df.rename(
        columns={
            "pu_location_id": "PULocationID",
            "do_location_id": "DOLocationID",
            "pickup_datetime": "lpep_pickup_datetime",
        }
    )
    ok = df.PULocationID.notna() & df.DOLocationID.notna() & (df.trip_distance >= 0)
    valid = df[ok]
    sess = ort.InferenceSession(str(Path(args.model_dir) / "model.onnx"), providers=["CPUExecutionProvider"])
    out_name = card["outputs"][0]["name"]
    pred = sess.run([out_name], onnx_inputs(kind, valid))[0].reshape(-1).astype(np.float64)
    result = pd.DataFrame(
        {
            "ride_id": valid.ride_id.to_numpy(),
            "model_name": card["name"],
            "model_version": str(card["version"]),
            "predicted_duration": pred,
            "actual_duration": valid.actual_duration.to_numpy(),
        }
    )
    result["diff"] = result.predicted_duration - result.actual_duration
    result["run_id"] = "pandas"
    result["scored_at"] = pd.Timestamp.now(tz="UTC")
    t2 = time.perf_counter()

    result.to_sql(args.table, engine, if_exists="replace", index=False)
    t3 = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": int(len(df)),
                "scored": int(len(result)),
                "read_s": t1 - t0,
                "predict_s": t2 - t1,
                "write_s": t3 - t2,
                "total_s": t3 - t0,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
