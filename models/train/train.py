#!/usr/bin/env python3
"""Train a ride-duration model on NYC TLC green-taxi data and export it to ONNX.

Example (from the repository root):

    .venv-train/bin/python models/train/train.py --name ride-duration --version 1 \
        --train ../shared/data/green_tripdata_2021-01.parquet \
        --val ../shared/data/green_tripdata_2021-02.parquet \
        --zones ../shared/data/taxi_zone_lookup.csv --out models

Writes <out>/<name>/<version>/{model.onnx, model.json, golden.jsonl}.

Model kinds (``--kind``; default chosen from ``--version``: 1 -> baseline, otherwise gbm):

* baseline: the DataTalksClub MLOps zoomcamp week-1 model. One-hot(PU_DO pair) + trip_distance ->
  LinearRegression (mathematically the DictVectorizer model). The PU/DO pairing happens inside the ONNX
  graph (PU_DO_key = PULocationID * 1000 + DOLocationID, a bijection of the course's "PU_DO" string).
* gbm: HistGradientBoostingRegressor on zone ids, trip distance, pickup hour/day-of-week and zone attributes
  (borough, service zone) that the ONNX graph looks up from the zone ids itself.

Every ONNX input is a plain tensor of shape [-1, 1] (float32 or int64). Internally the graph casts to double
so that ONNX Runtime reproduces the scikit-learn model exactly (tree thresholds are stored as doubles).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}
MIN_DURATION, MAX_DURATION = 1.0, 60.0
PAIR_MULTIPLIER = 1000  # PU_DO_key = PU * 1000 + DO; zone ids are 1..265
GOLDEN_ROWS = 1000
SEED = 42
REQUIRED_COLUMNS = ["lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance"]

# Chosen on a holdout of the training month (pickups from 2021-01-25 on, after fitting on the earlier days; see
# models/train/README.md): 150 shallow trees score ~9x faster in ONNX Runtime than the former 800 x 63-leaf model
# (max_iter=800, learning_rate=0.05, max_leaf_nodes=63, min_samples_leaf=50) for +0.9% holdout RMSE.
GBM_PARAMS = dict(
    max_iter=150, learning_rate=0.3, max_leaf_nodes=31, max_depth=8, min_samples_leaf=20, early_stopping=False,
    random_state=0,
)
GBM_FEATURES = [
    "PULocationID", "DOLocationID", "trip_distance", "pickup_hour", "pickup_dow",
    "PU_borough", "DO_borough", "PU_service_zone", "DO_service_zone", "same_zone",
]


class CliError(Exception):
    pass


# ----------------------------------------------------------------------------------------------------- data
def read_trips(path: Path) -> tuple[pd.DataFrame, int]:
    """Read a TLC green-taxi parquet file and apply the course's cleaning. Returns (clean df, raw row count)."""
    if not path.is_file():
        raise CliError(f"parquet file not found: {path}")
    try:
        import pyarrow.parquet as pq

        schema_names = pq.read_schema(path).names
    except Exception as exc:  # noqa: BLE001
        raise CliError(f"cannot read {path} as parquet: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in schema_names]
    if missing:
        raise CliError(f"{path}: missing columns {missing} (is this a green-taxi trip file?)")
    df = pd.read_parquet(path, columns=REQUIRED_COLUMNS)
    rows_raw = len(df)
    for c in ("lpep_pickup_datetime", "lpep_dropoff_datetime"):
        df[c] = pd.to_datetime(df[c])
    df["duration"] = (df.lpep_dropoff_datetime - df.lpep_pickup_datetime).dt.total_seconds() / 60.0
    df = df[(df.duration >= MIN_DURATION) & (df.duration <= MAX_DURATION)]
    # The files used here have no nulls in these columns; drop any that do exist (not part of the course).
    df = df.dropna(subset=["PULocationID", "DOLocationID", "trip_distance", "lpep_pickup_datetime"])
    df = df.reset_index(drop=True)
    df["PULocationID"] = df["PULocationID"].astype(np.int64)
    df["DOLocationID"] = df["DOLocationID"].astype(np.int64)
    if df.empty:
        raise CliError(f"{path}: no rows left after cleaning")
    return df, rows_raw


def read_zones(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise CliError(f"zone lookup CSV not found: {path}")
    z = pd.read_csv(path, keep_default_na=False, dtype=str)
    z.columns = [c.strip() for c in z.columns]
    need = {"LocationID", "Borough", "service_zone"}
    if not need.issubset(z.columns):
        raise CliError(f"{path}: expected columns {sorted(need)}, got {list(z.columns)}")
    z = z.apply(lambda s: s.str.strip())
    z["LocationID"] = z["LocationID"].astype(np.int64)
    return z


def zone_codes(zones: pd.DataFrame) -> dict:
    """Integer codes (alphabetical order of the lookup's values) for borough and service_zone per zone id."""
    out = {}
    for col in ("Borough", "service_zone"):
        values = sorted(zones[col].unique())
        codes = {v: i for i, v in enumerate(values)}
        out[col] = {
            "values": values,
            "by_zone": {int(z): int(codes[v]) for z, v in zip(zones.LocationID, zones[col])},
        }
    return out


# ------------------------------------------------------------------------------------------------- features
def pickup_hour(ts: pd.Series) -> np.ndarray:
    """hour + minute/60 of the naive local timestamp (seconds ignored), float64 then rounded to float32."""
    return (ts.dt.hour.to_numpy(np.float64) + ts.dt.minute.to_numpy(np.float64) / 60.0).astype(np.float32)


def pickup_dow(ts: pd.Series) -> np.ndarray:
    return ts.dt.day_of_week.to_numpy(np.int64)  # 0 = Monday ... 6 = Sunday


def onnx_inputs(kind: str, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The raw tensors a client feeds to the ONNX model (same derivation the TypeScript side implements)."""
    col = lambda a, t: np.asarray(a, dtype=t).reshape(-1, 1)  # noqa: E731
    feeds = {
        "PULocationID": col(df.PULocationID, np.int64),
        "DOLocationID": col(df.DOLocationID, np.int64),
        "trip_distance": col(df.trip_distance, np.float32),
    }
    if kind == "gbm":
        feeds["pickup_hour"] = col(pickup_hour(df.lpep_pickup_datetime), np.float32)
        feeds["pickup_dow"] = col(pickup_dow(df.lpep_pickup_datetime), np.int64)
    return feeds


def sklearn_frame(kind: str, df: pd.DataFrame, codes: dict) -> pd.DataFrame:
    """Features exactly as the ONNX graph computes them from onnx_inputs() (float32 values held as float64)."""
    f = onnx_inputs(kind, df)
    dist = f["trip_distance"].ravel().astype(np.float64)
    if kind == "baseline":
        key = f["PULocationID"].ravel() * PAIR_MULTIPLIER + f["DOLocationID"].ravel()
        return pd.DataFrame({"PU_DO_key": key, "trip_distance_d": dist})
    pu, do = f["PULocationID"].ravel(), f["DOLocationID"].ravel()
    lookup = lambda ids, c: np.array([codes[c]["by_zone"].get(int(i), -1) for i in ids], dtype=np.float64)  # noqa: E731
    return pd.DataFrame({
        "PULocationID": pu.astype(np.float64),
        "DOLocationID": do.astype(np.float64),
        "trip_distance": dist,
        "pickup_hour": f["pickup_hour"].ravel().astype(np.float64),
        "pickup_dow": f["pickup_dow"].ravel().astype(np.float64),
        "PU_borough": lookup(pu, "Borough"),
        "DO_borough": lookup(do, "Borough"),
        "PU_service_zone": lookup(pu, "service_zone"),
        "DO_service_zone": lookup(do, "service_zone"),
        "same_zone": (pu == do).astype(np.float64),
    })[GBM_FEATURES]


# ---------------------------------------------------------------------------------------------------- models
def fit(kind: str, X: pd.DataFrame, y: np.ndarray, gbm_params: dict | None = None):
    if kind == "baseline":
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LinearRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder

        model = Pipeline([
            ("features", ColumnTransformer([
                ("pu_do", OneHotEncoder(handle_unknown="ignore"), ["PU_DO_key"]),
                ("distance", "passthrough", ["trip_distance_d"]),
            ])),
            ("regressor", LinearRegression()),
        ])
    else:
        from sklearn.ensemble import HistGradientBoostingRegressor

        model = HistGradientBoostingRegressor(**(gbm_params or GBM_PARAMS))
    return model.fit(X, y)


def _patch_skl2onnx_double_trees():
    """skl2onnx writes tree thresholds/weights as float attributes even for double inputs; store them as double
    tensors (ai.onnx.ml opset 3 *_as_tensor attributes) so ONNX Runtime compares against the exact thresholds."""
    import skl2onnx.common._container as container
    from onnx import numpy_helper

    if getattr(container, "_double_trees_patched", False):
        return
    original = container.make_node

    def make_node(op_type, inputs, outputs, name=None, **attrs):
        nv = attrs.get("nodes_values")
        if op_type == "TreeEnsembleRegressor" and isinstance(nv, np.ndarray) and nv.dtype == np.float64:
            for k in ("nodes_values", "target_weights", "base_values"):
                attrs[k + "_as_tensor"] = numpy_helper.from_array(np.asarray(attrs.pop(k), dtype=np.float64))
            attrs.pop("nodes_hitrates", None)
        return original(op_type, inputs, outputs, name=name, **attrs)

    container.make_node = make_node
    container._double_trees_patched = True


def to_onnx(kind: str, model, codes: dict):
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType

    _patch_skl2onnx_double_trees()
    pre_nodes, pre_inits = [], []
    vi = lambda n, t: helper.make_tensor_value_info(n, t, [-1, 1])  # noqa: E731
    raw_inputs = [vi("PULocationID", TensorProto.INT64), vi("DOLocationID", TensorProto.INT64),
                  vi("trip_distance", TensorProto.FLOAT)]
    cast = lambda src, dst, to: helper.make_node("Cast", [src], [dst], to=to, name=f"pre_cast_{dst}")  # noqa: E731

    if kind == "baseline":
        core = convert_sklearn(model, initial_types=[("PU_DO_key", Int64TensorType([None, 1])),
                                                     ("trip_distance_d", DoubleTensorType([None, 1]))],
                               target_opset=TARGET_OPSET)
        pre_inits.append(helper.make_tensor("pre_pair_multiplier", TensorProto.INT64, [], [PAIR_MULTIPLIER]))
        pre_nodes += [
            helper.make_node("Mul", ["PULocationID", "pre_pair_multiplier"], ["pre_pu_scaled"], name="pre_mul"),
            helper.make_node("Add", ["pre_pu_scaled", "DOLocationID"], ["PU_DO_key"], name="pre_pair_key"),
            cast("trip_distance", "trip_distance_d", TensorProto.DOUBLE),
        ]
    else:
        core = convert_sklearn(model, initial_types=[("features", DoubleTensorType([None, len(GBM_FEATURES)]))],
                               target_opset=TARGET_OPSET)
        raw_inputs += [vi("pickup_hour", TensorProto.FLOAT), vi("pickup_dow", TensorProto.INT64)]
        parts = {}
        for name in ("PULocationID", "DOLocationID", "trip_distance", "pickup_hour", "pickup_dow"):
            parts[name] = f"pre_{name}_d"
            pre_nodes.append(cast(name, parts[name], TensorProto.DOUBLE))
        for side in ("PU", "DO"):
            for attr, col in (("borough", "Borough"), ("service_zone", "service_zone")):
                ids = sorted(codes[col]["by_zone"])
                out = f"pre_{side}_{attr}"
                pre_nodes.append(helper.make_node(
                    "LabelEncoder", [f"{side}LocationID"], [out + "_i"], domain="ai.onnx.ml", name=f"pre_le_{out}",
                    keys_int64s=ids, values_int64s=[codes[col]["by_zone"][i] for i in ids], default_int64=-1))
                pre_nodes.append(cast(out + "_i", out + "_d", TensorProto.DOUBLE))
                parts[f"{side}_{attr}"] = out + "_d"
        pre_nodes.append(helper.make_node("Equal", ["PULocationID", "DOLocationID"], ["pre_same_b"], name="pre_eq"))
        pre_nodes.append(cast("pre_same_b", "pre_same_d", TensorProto.DOUBLE))
        parts["same_zone"] = "pre_same_d"
        pre_nodes.append(helper.make_node("Concat", [parts[f] for f in GBM_FEATURES], ["features"], axis=1,
                                          name="pre_concat"))

    # Final output: float32 "duration" [-1, 1].
    (core_out,) = core.graph.output
    src_type = core_out.type.tensor_type.elem_type
    post = []
    tree_outputs_float = any(n.op_type == "TreeEnsembleRegressor" for n in core.graph.node)
    if src_type == TensorProto.DOUBLE and not tree_outputs_float:
        post.append(helper.make_node("Cast", [core_out.name], ["duration"], to=TensorProto.FLOAT, name="post_cast"))
    else:
        post.append(helper.make_node("Identity", [core_out.name], ["duration"], name="post_identity"))
    graph = helper.make_graph(
        pre_nodes + list(core.graph.node) + post, f"{kind}_ride_duration", raw_inputs,
        [helper.make_tensor_value_info("duration", TensorProto.FLOAT, [-1, 1])],
        initializer=pre_inits + list(core.graph.initializer),
    )
    opsets = {"": TARGET_OPSET[""], "ai.onnx.ml": TARGET_OPSET["ai.onnx.ml"]}
    out = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
                            producer_name="models/train/train.py")
    out.ir_version = core.ir_version
    onnx.checker.check_model(out, full_check=True)
    return out


# ------------------------------------------------------------------------------------------------- evaluation
def metrics(y, p) -> dict:
    err = np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return {"rmse": round(float(np.sqrt(np.mean(err**2))), 6), "mae": round(float(np.mean(np.abs(err))), 6)}


def golden_rows(val: pd.DataFrame, train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n deterministic rows: up to 10 whose PU/DO pair never occurs in training, up to 10 whose pair occurs once,
    the rest a seeded random sample of the cleaned validation set."""
    pair = lambda d: d.PULocationID * PAIR_MULTIPLIER + d.DOLocationID  # noqa: E731
    counts = pair(train).value_counts()
    vp = pair(val)
    tc = vp.map(counts).fillna(0)
    rng = np.random.default_rng(seed)
    unseen = np.flatnonzero(tc.to_numpy() == 0)
    rare = np.flatnonzero(tc.to_numpy() == 1)
    special = np.concatenate([rng.permutation(unseen)[:10], rng.permutation(rare)[:10]]).astype(int)
    rest = np.setdiff1d(np.arange(len(val)), special)
    pick = np.concatenate([np.sort(rng.choice(rest, size=min(n - len(special), len(rest)), replace=False)), special])
    return val.iloc[pick].reset_index(drop=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def describe(kind: str, codes: dict) -> tuple[list, list, dict]:
    """The card's signature (what a caller sends), one feature rule per graph input, and what the graph computes."""
    zone = "NYC TLC taxi zone id (taxi_zone_lookup.csv LocationID, 1..265)"
    fields = [
        {"name": "PULocationID", "type": "integer", "min": 1, "max": 999,
         "description": "pickup " + zone + "; up to 999 is accepted so a new zone scores as unseen instead of "
                        "failing a batch"},
        {"name": "DOLocationID", "type": "integer", "min": 1, "max": 999,
         "description": "dropoff " + zone + "; up to 999 accepted"},
        {"name": "trip_distance", "type": "number", "min": 0, "max": 1000, "unit": "miles",
         "description": "trip distance in miles as reported by the taximeter; above 1000 is a data error, not a ride"},
    ]
    inputs = [
        {"name": "PULocationID", "dtype": "int64", "shape": [-1, 1], "description": "pickup " + zone,
         "from": "PULocationID"},
        {"name": "DOLocationID", "dtype": "int64", "shape": [-1, 1], "description": "dropoff " + zone,
         "from": "DOLocationID"},
        {"name": "trip_distance", "dtype": "float32", "shape": [-1, 1],
         "description": "trip distance in miles as reported by the taximeter (>= 0)", "from": "trip_distance"},
    ]
    features = {}
    if kind == "baseline":
        features["in_graph"] = (
            f"PU_DO_key = PULocationID * {PAIR_MULTIPLIER} + DOLocationID (the course's PU_DO='PU_DO' string as an "
            "integer); one-hot over the pairs seen in training (unseen pair -> all zeros, like DictVectorizer); "
            "duration = intercept + coef[pair] + coef_distance * trip_distance, computed in double, output float32")
        return fields, inputs, features
    fields.append({"name": "pickup_datetime", "type": "timestamp", "time_zone": "America/New_York",
                   "aliases": ["lpep_pickup_datetime"],
                   "description": "pickup time; naive text is New York local time as in the TLC files, an offset "
                                  "is converted"})
    inputs += [
        {"name": "pickup_hour", "dtype": "float32", "shape": [-1, 1],
         "description": "fractional local pickup hour = hour + minute/60 (seconds ignored)",
         "from": "pickup_datetime", "part": "fractional_hour"},
        {"name": "pickup_dow", "dtype": "int64", "shape": [-1, 1],
         "description": "local pickup day of week, 0 = Monday ... 6 = Sunday",
         "from": "pickup_datetime", "part": "day_of_week"},
    ]
    features["in_graph"] = {
        "order": GBM_FEATURES,
        "description": "all cast to double inside the graph; PU/DO_borough and PU/DO_service_zone are looked up "
                       "from the zone id by LabelEncoder nodes (unknown id -> -1); same_zone = (PU == DO) as 0/1. "
                       "Nothing here needs to be computed by the client.",
        "borough_codes": {v: i for i, v in enumerate(codes["Borough"]["values"])},
        "service_zone_codes": {v: i for i, v in enumerate(codes["service_zone"]["values"])},
    }
    return fields, inputs, features


# ------------------------------------------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="model name, e.g. ride-duration")
    p.add_argument("--version", required=True, help="model version (positive integer), e.g. 1")
    p.add_argument("--kind", choices=["baseline", "gbm"], help="model kind (default: 1 -> baseline, else gbm)")
    p.add_argument("--train", required=True, type=Path, help="training month parquet (green taxi)")
    p.add_argument("--val", required=True, type=Path, help="validation month parquet (green taxi)")
    p.add_argument("--extra-eval", action="append", default=[], type=Path, metavar="PARQUET",
                   help="additional month(s) to evaluate on (repeatable)")
    p.add_argument("--zones", required=True, type=Path, help="taxi_zone_lookup.csv")
    p.add_argument("--out", required=True, type=Path, help="models directory; writes <out>/<name>/<version>/")
    p.add_argument("--golden-rows", type=int, default=GOLDEN_ROWS, help="rows in golden.jsonl (>= 500)")
    p.add_argument("--seed", type=int, default=SEED, help="seed for the golden sample")
    g = p.add_argument_group("gbm hyperparameters (defaults: the chosen model)")
    for key, typ in (("max_iter", int), ("learning_rate", float), ("max_leaf_nodes", int), ("max_depth", int),
                     ("min_samples_leaf", int)):
        g.add_argument("--gbm-" + key.replace("_", "-"), dest="gbm_" + key, type=typ, default=GBM_PARAMS[key])
    a = p.parse_args(argv)
    if not a.version.isdigit() or int(a.version) < 1:
        p.error(f"--version must be a positive integer, got {a.version!r}")
    if not a.name or "/" in a.name or a.name.startswith("."):
        p.error(f"--name must be a plain directory name, got {a.name!r}")
    if a.golden_rows < 500:
        p.error("--golden-rows must be >= 500")
    a.kind = a.kind or ("baseline" if a.version == "1" else "gbm")
    a.gbm_params = {**GBM_PARAMS, **{k: getattr(a, "gbm_" + k) for k in GBM_PARAMS if hasattr(a, "gbm_" + k)}}
    if a.gbm_max_iter < 1 or a.gbm_learning_rate <= 0 or a.gbm_max_leaf_nodes < 2 or a.gbm_max_depth < 1:
        p.error("--gbm-max-iter/--gbm-max-leaf-nodes/--gbm-max-depth must be positive, --gbm-learning-rate > 0")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    codes = zone_codes(read_zones(args.zones))
    train, train_raw = read_trips(args.train)
    val, val_raw = read_trips(args.val)
    write_version(args, codes, train, {"file": args.train.name, "rows": len(train), "rows_raw": train_raw},
                  val, {"file": args.val.name, "rows": len(val), "rows_raw": val_raw})
    return 0


def write_version(args, codes: dict, train: pd.DataFrame, train_info: dict, val: pd.DataFrame, val_info: dict,
                  card_extra: dict | None = None) -> dict:
    """Fits on `train` (cleaned trips), checks ONNX parity, and writes <out>/<name>/<version>/{model.onnx,
    golden.jsonl, model.json}; `args` carries name, version, kind, gbm_params, extra_eval, golden_rows, seed, out.
    `*_info` become the card's training_data / validation_data; `card_extra` is merged into the card. Returns it."""
    t0 = time.time()
    import onnx
    import onnxruntime as ort
    import skl2onnx
    import sklearn

    print(f"[{args.name} v{args.version} {args.kind}] train {len(train)}/{train_info['rows_raw']} rows, "
          f"val {len(val)}/{val_info['rows_raw']} rows", flush=True)

    t_fit = time.time()
    model = fit(args.kind, sklearn_frame(args.kind, train, codes), train.duration.to_numpy(), args.gbm_params)
    fit_seconds = time.time() - t_fit
    onx = to_onnx(args.kind, model, codes)
    out_dir = args.out / args.name / args.version
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.onnx"
    model_path.write_bytes(onx.SerializeToString())
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])

    def run_onnx(df, batch=2048):
        # Batched: the baseline's one-hot layer is dense inside the graph (rows x ~5k pairs).
        feeds = onnx_inputs(args.kind, df)
        return np.concatenate([sess.run(["duration"], {k: v[i:i + batch] for k, v in feeds.items()})[0].ravel()
                               for i in range(0, len(df), batch)])

    def evaluate(df, label):
        pred = model.predict(sklearn_frame(args.kind, df, codes))
        onnx_pred = run_onnx(df)
        diff = float(np.max(np.abs(onnx_pred.astype(np.float64) - pred)))
        m = metrics(df.duration, pred)
        print(f"  {label}: rmse {m['rmse']:.4f} mae {m['mae']:.4f} onnx max|diff| {diff:.2e}", flush=True)
        return pred, m, diff

    val_pred, val_metrics, val_diff = evaluate(val, val_info["file"])
    other, parity_other = {}, {}
    for path in args.extra_eval:
        df, raw = read_trips(path)
        _, m, d = evaluate(df, path.name)
        other[path.name] = {**m, "rows": len(df), "rows_raw": raw}
        parity_other[path.name] = d

    gold = golden_rows(val, train, args.golden_rows, args.seed)
    gold_pred = model.predict(sklearn_frame(args.kind, gold, codes))
    gold_onnx = run_onnx(gold)
    gold_diff = float(np.max(np.abs(gold_onnx - gold_pred)))
    if gold_diff > 1e-3 or val_diff > 1e-3:
        raise SystemExit(f"ONNX parity failed: golden {gold_diff}, validation {val_diff}")
    with open(out_dir / "golden.jsonl", "w") as fh:
        for r, p in zip(gold.itertuples(index=False), gold_pred):
            fh.write(json.dumps({
                "PULocationID": int(r.PULocationID), "DOLocationID": int(r.DOLocationID),
                "trip_distance": float(r.trip_distance),
                "lpep_pickup_datetime": r.lpep_pickup_datetime.strftime("%Y-%m-%dT%H:%M:%S"),
                "actual_duration": round(float(r.duration), 6), "sklearn_prediction": float(p),
            }) + "\n")

    fields, inputs, features = describe(args.kind, codes)
    opset = {(o.domain or "ai.onnx"): o.version for o in onx.opset_import}
    card = {
        "name": args.name,
        "version": args.version,
        "kind": args.kind,
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "description": (
            "DataTalksClub MLOps zoomcamp week-1 baseline: one-hot PU_DO pair + trip_distance, LinearRegression"
            if args.kind == "baseline" else
            "HistGradientBoostingRegressor on zone ids, trip distance, pickup hour/day-of-week and zone attributes"),
        "framework": {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                      "python": sys.version.split()[0]},
        "converter": {"skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__, "opset": opset,
                      "ir_version": onx.ir_version, "checked_with_onnxruntime": ort.__version__},
        "estimator": (repr(model) if args.kind == "gbm" else
                      "Pipeline(ColumnTransformer(OneHotEncoder(handle_unknown='ignore') on PU_DO_key, "
                      "passthrough trip_distance), LinearRegression())"),
        "target": {"name": "duration", "unit": "minutes", "range": [MIN_DURATION, MAX_DURATION],
                   "definition": "(lpep_dropoff_datetime - lpep_pickup_datetime) in minutes; training/evaluation "
                                 f"rows kept only when {MIN_DURATION:g} <= duration <= {MAX_DURATION:g} "
                                 "(rows outside are dropped, not clipped); predictions are not clipped"},
        "training_data": train_info,
        "validation_data": val_info,
        "task": "regression",
        "signature": {"fields": fields},
        "inputs": inputs,
        "features": features,
        "outputs": [{"name": "duration", "dtype": "float32", "shape": [-1, 1],
                     "description": "predicted ride duration in minutes"}],
        "regression": {"output": "duration", "name": "duration", "unit": "minutes"},
        "metrics": {
            "validation": {**val_metrics, "file": val_info["file"], "rows": len(val)},
            "other_months": other,
            "golden": {**metrics(gold.duration, gold_pred), "rows": len(gold)},
        },
        "parity": {"max_abs_diff_validation": val_diff, "max_abs_diff_golden": gold_diff,
                   "max_abs_diff_other_months": parity_other, "tolerance": 1e-3,
                   "note": "onnxruntime vs scikit-learn predict on the same rows, minutes"},
        "golden": {"file": "golden.jsonl", "rows": len(gold), "seed": args.seed,
                   "selection": "up to 10 validation rows whose PU/DO pair is absent from training, up to 10 whose "
                                "pair occurs once in training, the rest a seeded random sample of cleaned validation"},
        "training_seconds": round(fit_seconds, 2),
        "model_bytes": model_path.stat().st_size,
        "sha256": sha256(model_path),
        **(card_extra or {}),
    }
    (out_dir / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"  wrote {out_dir} ({card['model_bytes']} bytes, fit {fit_seconds:.1f}s, total {time.time() - t0:.1f}s)")
    return card


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
