"""The course's batch-scoring way, as a reference for `npm run bench:batch`: pandas reads the partition from
Postgres (`read_sql`), ONNX Runtime predicts on the same model.onnx with the features of models/train/train.py,
and `DataFrame.to_sql` writes the results with a COPY-based `method` (psycopg 3 `copy.write_row`, the pandas docs'
recipe ported to psycopg 3) into a copy of `predictions` in its own schema (same columns, PRIMARY KEY, indexes).
`--method insert` uses to_sql's default multi-row INSERTs instead (the writer this reference used to have).

Run (the bench makes the venv from bench/requirements.txt; DATABASE_URL=postgresql://... or --url):
  .tools/venv-bench/bin/python bench/batch-pandas.py --from 2031-01-15 --to 2031-01-16
Prints one JSON line with the timings.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
from psycopg import sql
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models" / "train"))
from train import onnx_inputs  # noqa: E402  (the feature code the models were trained with)

# Same acceptance rules as the scorer (scoring/features.ts), so every reference scores the same rows.
MAX_LOCATION_ID, MAX_TRIP_DISTANCE = 999, 1000.0


def copy_writer(table, conn, keys, data_iter) -> None:
    """`to_sql(method=...)`: COPY the rows in through the DBAPI (psycopg 3) connection under SQLAlchemy."""
    name = sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(name, sql.SQL(", ").join(map(sql.Identifier, keys)))
    with conn.connection.cursor() as cur, cur.copy(statement) as copy:
        for row in data_iter:
            copy.write_row(row)


def main() -> int:
    p = argparse.ArgumentParser()
    # The URL comes from DATABASE_URL by default, so its password never shows in a process list.
    p.add_argument("--url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--model-dir", default=str(ROOT / "models" / "ride-duration" / "2"))
    p.add_argument("--schema", default="bench_pandas")
    p.add_argument("--method", choices=["copy", "insert"], default="copy")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    args = p.parse_args()
    if not args.url:
        p.error("--url or DATABASE_URL is required")

    card = json.loads((Path(args.model_dir) / "model.json").read_text())
    kind = card.get("kind", "baseline")
    url = args.url.replace("postgres://", "postgresql+psycopg://", 1).replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        schema = conn.dialect.identifier_preparer.quote(args.schema)
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {schema}.predictions"))
        conn.execute(text(f"CREATE TABLE {schema}.predictions (LIKE public.predictions INCLUDING ALL)"))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(str(Path(args.model_dir) / "model.onnx"), opts, providers=["CPUExecutionProvider"])

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
    ok = (
        df.PULocationID.between(1, MAX_LOCATION_ID)
        & df.DOLocationID.between(1, MAX_LOCATION_ID)
        & df.trip_distance.between(0, MAX_TRIP_DISTANCE)
    )
    valid = df[ok]
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

    method = copy_writer if args.method == "copy" else None
    result.to_sql("predictions", engine, schema=args.schema, if_exists="append", index=False, method=method)
    t3 = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": int(len(df)),
                "scored": int(len(result)),
                "method": args.method,
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
