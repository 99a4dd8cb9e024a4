#!/usr/bin/env python3
"""Train the penguin-species classifier (the second example model) and export it to ONNX.

Example (from the repository root, with the training venv that `npm run train` creates):

    .tools/venv-train/bin/python models/train/penguins.py --out models
    .tools/venv-train/bin/python models/train/penguins.py --export-csv penguins.csv   # the data, for npm run load

Writes <out>/penguin-species/<version>/{model.onnx, model.json, golden.jsonl}. The data is the Palmer penguins
table shipped inside the `palmerpenguins` PyPI package (344 rows), so training needs no download.

Pipeline: ColumnTransformer(OneHotEncoder on island and sex, median SimpleImputer + StandardScaler on the four
measurements, StandardScaler on year) -> LogisticRegression. A missing sex is the category "unknown": the card
declares it as the field's default, so the server and this script fill it the same way before the graph.
The ONNX graph keeps skl2onnx's default ZipMap output; the server strips it at load (see models/train/README.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

NAME = "penguin-species"
TARGET = "species"
CATEGORICAL = ["island", "sex"]
MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
FIELDS = ["island", *MEASUREMENTS, "sex", "year"]
SEX_DEFAULT = "unknown"
TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}
SEED = 42
VALIDATION_FRACTION = 0.25
PARITY_TOLERANCE = 1e-5

# Bounds a caller's value must respect: wide enough for any real penguin, narrow enough to catch unit mistakes
# (grams sent as kilograms, centimetres as millimetres). The observed ranges are in the card's training_data.
BOUNDS = {
    "bill_length_mm": (10, 100),
    "bill_depth_mm": (5, 40),
    "flipper_length_mm": (100, 300),
    "body_mass_g": (1000, 10000),
    "year": (2000, 2100),
}


def load() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    df = load_penguins()
    missing = [c for c in [TARGET, *FIELDS] if c not in df.columns]
    if missing:
        raise SystemExit(f"palmerpenguins table lacks columns {missing} (has {list(df.columns)})")
    df = df[[TARGET, *FIELDS]].copy()
    # Row order of the packaged CSV is the stable key (penguin_id) shared by the export and the golden rows.
    df.insert(0, "penguin_id", np.arange(len(df), dtype=np.int64))
    df["year"] = df["year"].astype(np.int64)
    return df


def sklearn_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The model's input as the server builds it: sex null -> the card default, numbers as float32 (NaN kept)."""
    x = pd.DataFrame({"island": df["island"].astype(object)})
    for c in MEASUREMENTS:
        x[c] = df[c].astype(np.float32)
    x["sex"] = df["sex"].astype(object).where(df["sex"].notna(), SEX_DEFAULT)
    x["year"] = df["year"].astype(np.int64)
    return x


def onnx_feeds(df: pd.DataFrame) -> dict[str, np.ndarray]:
    x = sklearn_frame(df)
    feeds = {c: x[c].to_numpy(dtype=object).reshape(-1, 1) for c in CATEGORICAL}
    feeds.update({c: x[c].to_numpy(dtype=np.float32).reshape(-1, 1) for c in MEASUREMENTS})
    feeds["year"] = x["year"].to_numpy(dtype=np.int64).reshape(-1, 1)
    return feeds


def build_pipeline(c: float = 1.0):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([
        ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ("measurements", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
         MEASUREMENTS),
        ("year", StandardScaler(), ["year"]),
    ])
    return Pipeline([("features", pre), ("classifier", LogisticRegression(C=c, max_iter=1000, random_state=0))])


def to_onnx(model):
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    initial = [("island", StringTensorType([None, 1]))]
    initial += [(c, FloatTensorType([None, 1])) for c in MEASUREMENTS]
    initial += [("sex", StringTensorType([None, 1])), ("year", Int64TensorType([None, 1]))]
    # Default options on purpose: the graph ends in a ZipMap, which the server strips at load.
    onx = convert_sklearn(model, initial_types=initial, target_opset=TARGET_OPSET)
    # skl2onnx names the graph with a random uuid and lists opsets in set order: pin both so that a retrain of the
    # same data writes the same bytes (same sha256 in the card).
    onx.graph.name = "penguin_species"
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    onx.producer_name = "models/train/penguins.py"
    onnx.checker.check_model(onx, full_check=True)
    return onx


def log_loss(y_true, proba: np.ndarray, classes: list[str]) -> float:
    from sklearn.metrics import log_loss as sk_log_loss

    return round(float(sk_log_loss(y_true, proba, labels=classes)), 6)


def accuracy(y_true, y_pred) -> float:
    return round(float(np.mean(np.asarray(y_true) == np.asarray(y_pred))), 6)


def golden_selection(df: pd.DataFrame, val_index: pd.Index) -> pd.DataFrame:
    """Every validation row, plus every row (training ones too) with a missing field, so the golden file covers
    the null paths: measurements imputed in the graph, sex filled with the card default."""
    has_null = df[FIELDS].isna().any(axis=1)
    pick = df.index[df.index.isin(val_index) | has_null]
    return df.loc[pick].sort_values("penguin_id")


def record(row) -> dict:
    """A golden row's fields as a caller sends them: null for missing, year an integer."""
    out = {}
    for c in FIELDS:
        v = getattr(row, c)
        if c == "year":
            out[c] = int(v)
        elif pd.isna(v):
            out[c] = None
        elif c in MEASUREMENTS:
            out[c] = float(v)
        else:
            out[c] = str(v)
    return out


def signature(df: pd.DataFrame) -> dict:
    fields = [{"name": "island", "type": "string", "allowed": sorted(df["island"].dropna().unique().tolist())}]
    for c in MEASUREMENTS:
        lo, hi = BOUNDS[c]
        fields.append({"name": c, "type": "number", "min": lo, "max": hi, "nullable": True})
    fields.append({"name": "sex", "type": "string", "allowed": sorted(df["sex"].dropna().unique().tolist()),
                   "nullable": True, "default": SEX_DEFAULT})
    lo, hi = BOUNDS["year"]
    fields.append({"name": "year", "type": "integer", "min": lo, "max": hi})
    return {"fields": fields}


def graph_inputs(onx) -> list[dict]:
    from onnx import TensorProto

    dtypes = {TensorProto.STRING: "string", TensorProto.FLOAT: "float32", TensorProto.INT64: "int64"}
    out = []
    for i in onx.graph.input:
        t = i.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out.append({"name": i.name, "dtype": dtypes[t.elem_type], "shape": shape, "from": i.name})
    return out


def observed_ranges(df: pd.DataFrame) -> dict:
    ranges = {c: [float(df[c].min()), float(df[c].max())] for c in MEASUREMENTS}
    return {**ranges, "year": [int(df["year"].min()), int(df["year"].max())]}


def card_json(value, indent: str = "", width: int = 110) -> str:
    """JSON laid out as the repository's formatter (prettier) lays it out, so a fresh card passes `npm run lint`:
    objects one key per line, arrays of scalars on one line when they fit."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {card_json(v, inner, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            flat = "[" + ", ".join(json.dumps(v) for v in value) + "]"
            if len(indent) + len(flat) + 40 <= width or not value:
                return flat
        return "[\n" + ",\n".join(inner + card_json(v, inner, width) for v in value) + "\n" + indent + "]"
    if isinstance(value, float):
        # prettier writes exponents without "+" or leading zeros (1e-05 -> 1e-5).
        return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", json.dumps(value))
    return json.dumps(value)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Missing values as empty fields (what `npm run load` reads as NULL); year stays an integer column.
    df.to_csv(path, index=False, na_rep="")
    print(f"wrote {len(df)} rows to {path} (key column penguin_id)")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("models"), help="model repository (default: models)")
    p.add_argument("--version", default="1")
    p.add_argument("--seed", type=int, default=SEED, help="seed of the stratified train/validation split")
    p.add_argument("--c", type=float, default=1.0,
                   help="inverse regularization strength of the LogisticRegression (default 1.0; a tiny value such "
                        "as 1e-4 makes a deliberately poor model, for the retraining tests)")
    p.add_argument("--export-csv", type=Path, metavar="FILE",
                   help="write the whole dataset (with penguin_id) to FILE and exit, training nothing")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    df = load()
    if args.export_csv:
        export_csv(df, args.export_csv)
        return 0

    import onnx
    import onnxruntime as ort
    import skl2onnx
    import sklearn
    from sklearn.model_selection import train_test_split

    train, val = train_test_split(df, test_size=VALIDATION_FRACTION, stratify=df[TARGET], random_state=args.seed)
    model = build_pipeline(args.c).fit(sklearn_frame(train), train[TARGET])
    classes = [str(c) for c in model.classes_]

    onx = to_onnx(model)
    out_dir = args.out / NAME / args.version
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.onnx"
    model_path.write_bytes(onx.SerializeToString())
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    label_name, proba_name = (o.name for o in sess.get_outputs())
    zipmap = next(n for n in onx.graph.node if n.op_type == "ZipMap")
    zip_classes = [a for a in zipmap.attribute if a.name == "classlabels_strings"][0].strings
    if [c.decode() for c in zip_classes] != classes:
        raise SystemExit(f"ZipMap classes {zip_classes} differ from the model's {classes}")

    def predict_both(part: pd.DataFrame):
        sk_label = model.predict(sklearn_frame(part))
        sk_proba = model.predict_proba(sklearn_frame(part))
        labels, maps = sess.run([label_name, proba_name], onnx_feeds(part))
        ox_proba = np.array([[m[c] for c in classes] for m in maps], dtype=np.float64)
        if list(labels) != list(sk_label):
            bad = [int(i) for i in np.flatnonzero(np.asarray(labels) != sk_label)]
            raise SystemExit(f"ONNX labels differ from scikit-learn on penguin_id {part.penguin_id.iloc[bad].tolist()}")
        diff = float(np.max(np.abs(ox_proba - sk_proba)))
        if diff > PARITY_TOLERANCE:
            raise SystemExit(f"ONNX probabilities differ from scikit-learn by {diff:.2e} > {PARITY_TOLERANCE}")
        return sk_label, sk_proba, diff

    val_label, val_proba, val_diff = predict_both(val)
    gold = golden_selection(df, val.index)
    gold_label, gold_proba, gold_diff = predict_both(gold)

    with open(out_dir / "golden.jsonl", "w") as fh:
        for row, label, proba in zip(gold.itertuples(index=False), gold_label, gold_proba):
            fh.write(json.dumps({**record(row), TARGET: row.species, "sklearn_label": str(label),
                                 "sklearn_probabilities": {c: float(p) for c, p in zip(classes, proba)}}) + "\n")

    opset = {(o.domain or "ai.onnx"): o.version for o in onx.opset_import}
    card = {
        "name": NAME,
        "version": args.version,
        "sha256": sha256(model_path),
        "task": "classification",
        "description": "Palmer penguins species (Adelie, Chinstrap, Gentoo) from island, bill, flipper, body mass, "
                       "sex and year: one-hot + median-imputed standardized numbers, LogisticRegression",
        "signature": signature(df),
        "inputs": graph_inputs(onx),
        "outputs": [
            {"name": label_name, "dtype": "string", "shape": [-1]},
            {"name": proba_name, "dtype": "float32", "shape": [-1, len(classes)]},
        ],
        "classification": {"label": label_name, "probabilities": proba_name, "classes": classes},
        "metrics": {
            "validation": {"accuracy": accuracy(val[TARGET], val_label),
                           "log_loss": log_loss(val[TARGET], val_proba, classes), "rows": len(val)},
            "training": {"accuracy": accuracy(train[TARGET], model.predict(sklearn_frame(train))), "rows": len(train)},
            "golden": {"accuracy": accuracy(gold[TARGET], gold_label),
                       "log_loss": log_loss(gold[TARGET], gold_proba, classes), "rows": len(gold)},
        },
        "parity": {"max_abs_diff_probability_validation": val_diff, "max_abs_diff_probability_golden": gold_diff,
                   "tolerance": PARITY_TOLERANCE, "labels": "equal on every validation and golden row",
                   "note": "onnxruntime (ZipMap output) vs scikit-learn predict/predict_proba"},
        "golden": {"file": "golden.jsonl", "rows": len(gold),
                   "selection": "every validation row plus every row with a missing field (training rows too)",
                   "columns": "the record fields as a caller sends them (null for missing), species (true label), "
                              "sklearn_label, sklearn_probabilities {class: p}"},
        "training_data": {"source": "palmerpenguins 0.1.6 load_penguins()", "rows": len(df),
                          "train_rows": len(train), "validation_rows": len(val),
                          "split": f"stratified on species, validation {VALIDATION_FRACTION}, seed {args.seed}",
                          "class_counts": {str(k): int(v) for k, v in df[TARGET].value_counts().sort_index().items()},
                          "observed_ranges": observed_ranges(df),
                          "missing": {c: int(n) for c, n in df[FIELDS].isna().sum().items() if n}},
        "estimator": "Pipeline(ColumnTransformer(OneHotEncoder(handle_unknown='ignore') on island, sex; "
                     "SimpleImputer(median) + StandardScaler on the measurements; StandardScaler on year), "
                     "LogisticRegression(" + ("" if args.c == 1.0 else f"C={args.c}, ") + "max_iter=1000, random_state=0))",
        "framework": {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                      "python": sys.version.split()[0]},
        "converter": {"skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__, "opset": opset,
                      "ir_version": onx.ir_version, "checked_with_onnxruntime": ort.__version__,
                      "zipmap": "kept (skl2onnx default); served as its input tensor, classes from classlabels"},
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "model_bytes": model_path.stat().st_size,
    }
    (out_dir / "model.json").write_text(card_json(card) + "\n")
    m = card["metrics"]["validation"]
    print(f"[{NAME} v{args.version}] train {len(train)} rows, validation {len(val)}: accuracy {m['accuracy']:.4f}, "
          f"log loss {m['log_loss']:.4f}; ONNX parity max|dp| {max(val_diff, gold_diff):.1e}; wrote {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
