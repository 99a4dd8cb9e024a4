#!/usr/bin/env python3
"""Retrain ride-duration on the NYC TLC green-taxi months of a window (the retraining workflow's {from}/{to}).

Example (from the repository root; deployments/ride-duration.json runs it with the placeholders filled in):

    .tools/venv-train/bin/python models/train/retrain_rides.py --from 2022-01-01T00:00:00Z \
        --to 2022-03-01T00:00:00Z --version 3 --out /tmp/candidate

Months: every green_tripdata_YYYY-MM.parquet of the data folder whose month (UTC calendar month, [first day,
first day of the next)) overlaps [from, to). Two or more: train on all but the newest, validate on the newest.
One: train on its pickups before day 25, validate on day 25 on (the holdout tune.py uses). None: exit 2 naming
the window, the folder and the months it holds.

Data folder: --data, else $TLC_DATA_DIR, else ../shared/data (as models/train/run.sh), relative to the current
directory (the workflow runs the command from the repository root). Zones: <data>/taxi_zone_lookup.csv.

Writes <out>/<name>/<version>/{model.onnx, model.json, golden.jsonl} as train.py does (gbm kind, same features,
parity check and golden rows), plus the card's `retraining` block (window, months, rule) and `monitoring.reference`:
the drift profile of the training months' rows as the batch source holds them (deciles and shares of the numeric
signature fields, and of the model's own predictions), computed as `npm run models -- profile` computes it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train as T  # noqa: E402  (models/train/train.py)

MONTH_FILE = re.compile(r"^green_tripdata_(\d{4})-(\d{2})\.parquet$")
HOLDOUT_DAY = 25
DECILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]
PROFILED = ["PULocationID", "DOLocationID", "trip_distance"]  # the numeric signature fields
BOUNDS = {"PULocationID": (1, 999), "DOLocationID": (1, 999), "trip_distance": (0, 1000)}  # the card's signature


def instant(text: str, flag: str) -> dt.datetime:
    if not text.strip():
        raise T.CliError(f"{flag} is empty: the retraining gave no window (no earlier training and no card date?)")
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise T.CliError(f"{flag} {text!r} is not an ISO date or time, e.g. 2022-01-01T00:00:00Z") from exc
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def months_in(data: Path, start: dt.datetime, end: dt.datetime) -> tuple[list[Path], list[str]]:
    """The month files overlapping [start, end), oldest first, and every month the folder holds."""
    if not data.is_dir():
        raise T.CliError(f"TLC data folder not found: {data} (set TLC_DATA_DIR or pass --data)")
    found = sorted((m.group(1), m.group(2), p) for p in data.iterdir() if (m := MONTH_FILE.match(p.name)))
    picked = []
    for y, m, p in found:
        first = dt.datetime(int(y), int(m), 1, tzinfo=dt.timezone.utc)
        after = dt.datetime(int(y) + int(m) // 12, int(m) % 12 + 1, 1, tzinfo=dt.timezone.utc)
        if first < end and after > start:
            picked.append(p)
    return picked, [f"{y}-{m}" for y, m, _ in found]


def raw_rows(path: Path) -> pd.DataFrame:
    """The profiled fields of every row of a month file (what `npm run ingest` puts into the rides table)."""
    df = pd.read_parquet(path, columns=PROFILED + ["lpep_pickup_datetime"])
    df["lpep_pickup_datetime"] = pd.to_datetime(df["lpep_pickup_datetime"])
    return df


def profile(values: np.ndarray) -> dict:
    """A numeric field's reference as db/queries/drift.ts computes it: percentile_cont deciles (deduplicated) as
    inner edges, width_bucket bins (a value equal to an edge goes above it), shares of the non-null values."""
    v = values[~np.isnan(values)]
    edges = sorted({float(e) for e in np.percentile(v, DECILES, method="linear")})
    counts = np.bincount(np.searchsorted(np.asarray(edges), v, side="right"), minlength=len(edges) + 1)
    return {"kind": "numeric", "edges": edges, "shares": (counts / max(len(v), 1)).tolist()}


def reference(model_path: Path, rows: pd.DataFrame, source: str) -> dict:
    import onnxruntime as ort

    features = {f: profile(rows[f].to_numpy(np.float64)) for f in PROFILED}
    # The predictions the server would make: rows with every field present and inside the signature's bounds.
    ok = rows.notna().all(axis=1)
    for f, (lo, hi) in BOUNDS.items():
        ok &= rows[f].between(lo, hi)
    scored = rows[ok].reset_index(drop=True)
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    feeds = T.onnx_inputs("gbm", scored)
    pred = np.concatenate([sess.run(["duration"], {k: v[i:i + 65536] for k, v in feeds.items()})[0].ravel()
                           for i in range(0, len(scored), 65536)])
    return {"source": source, "rows": len(rows), "features": features,
            "prediction": {"name": "duration", **profile(pred.astype(np.float64))}}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="start", required=True, help="window start, ISO date or time ({from})")
    p.add_argument("--to", dest="end", required=True, help="window end, exclusive ({to})")
    p.add_argument("--version", required=True, help="the new version ({version})")
    p.add_argument("--out", required=True, type=Path, help="writes <out>/<name>/<version>/ ({out})")
    p.add_argument("--name", default="ride-duration", help="model name ({model}; default ride-duration)")
    p.add_argument("--data", type=Path, default=Path(os.environ.get("TLC_DATA_DIR") or "../shared/data"),
                   help="folder of green_tripdata_YYYY-MM.parquet and taxi_zone_lookup.csv "
                        "(default $TLC_DATA_DIR, else ../shared/data)")
    a = p.parse_args(argv)
    if not a.version.isdigit() or int(a.version) < 1:
        p.error(f"--version must be a positive integer, got {a.version!r}")
    if not a.name or "/" in a.name or a.name.startswith("."):
        p.error(f"--name must be a plain directory name, got {a.name!r}")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    start, end = instant(args.start, "--from"), instant(args.end, "--to")
    if end <= start:
        raise T.CliError(f"empty window: --to {args.end} is not after --from {args.start}")
    months, held = months_in(args.data, start, end)
    window = f"{start.isoformat()}..{end.isoformat()}"
    if not months:
        raise T.CliError(f"no TLC month in the window {window}: {args.data.resolve()} holds "
                         f"{', '.join(held) or 'no green_tripdata_YYYY-MM.parquet file'}")
    codes = T.zone_codes(T.read_zones(args.data / "taxi_zone_lookup.csv"))
    names = [p.name for p in months]
    print(f"window {window}: months {', '.join(names)} from {args.data}", flush=True)

    if len(months) == 1:
        (only,) = months
        trips, raw_count = T.read_trips(only)
        day = trips.lpep_pickup_datetime.dt.day
        train, val = trips[day < HOLDOUT_DAY].reset_index(drop=True), trips[day >= HOLDOUT_DAY].reset_index(drop=True)
        if train.empty or val.empty:
            raise T.CliError(f"{only.name}: no pickups {'before' if train.empty else 'from'} day {HOLDOUT_DAY}")
        raw = raw_rows(only)
        raw = raw[raw.lpep_pickup_datetime.dt.day < HOLDOUT_DAY]
        rule = f"one month: trained on its pickups before day {HOLDOUT_DAY}, validated on day {HOLDOUT_DAY} on"
        train_info = {"file": only.name, "rows": len(train), "rows_raw": raw_count, "pickup_days": f"1-{HOLDOUT_DAY - 1}"}
        val_info = {"file": only.name, "rows": len(val), "rows_raw": raw_count, "pickup_days": f"{HOLDOUT_DAY}-"}
    else:
        parts = [T.read_trips(p) for p in months[:-1]]
        train = pd.concat([d for d, _ in parts], ignore_index=True)
        val, val_raw = T.read_trips(months[-1])
        raw = pd.concat([raw_rows(p) for p in months[:-1]], ignore_index=True)
        rule = "trained on every month of the window but the newest, validated on the newest"
        train_info = {"file": ", ".join(names[:-1]), "files": names[:-1], "rows": len(train),
                      "rows_raw": sum(r for _, r in parts)}
        val_info = {"file": names[-1], "rows": len(val), "rows_raw": val_raw}

    ns = argparse.Namespace(name=args.name, version=args.version, kind="gbm", gbm_params=dict(T.GBM_PARAMS),
                            extra_eval=[], golden_rows=T.GOLDEN_ROWS, seed=T.SEED, out=args.out)
    card = T.write_version(ns, codes, train, train_info, val, val_info, {
        "retraining": {"from": start.isoformat(), "to": end.isoformat(), "months": names, "rule": rule,
                       "script": "models/train/retrain_rides.py"},
    })
    out_dir = args.out / args.name / args.version
    source = f"{train_info['file']} (every row, as the rides table holds them)"
    card["monitoring"] = {"reference": reference(out_dir / "model.onnx", raw.reset_index(drop=True), source)}
    (out_dir / "model.json").write_text(T.json.dumps(card, indent=2) + "\n")
    print(f"  reference profile: {card['monitoring']['reference']['rows']} rows of {source}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except T.CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
