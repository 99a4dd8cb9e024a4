"""The strongest plain-Python batch pipeline, as a reference for `npm run bench:batch`: what a data engineer would
write without pandas. psycopg 3 binary COPY out of the partition, the rows parsed and the features computed with
vectorised numpy, ONNX Runtime on the same model.onnx, and the predictions encoded as binary COPY with numpy and
streamed, batch by batch and each batch sorted by key, into one open COPY on a second connection. The target is a
copy of `predictions` (and `rejected_rows`) in its own schema: same columns, PRIMARY KEY and indexes.

Run (the bench makes the venv from bench/requirements.txt; DATABASE_URL=postgresql://... or --url):
  .tools/venv-bench/bin/python bench/batch-numpy-copy.py --from 2031-01-15 --to 2031-01-16
Prints one JSON line with the timings.
"""

import argparse
import json
import queue
import threading
import os
import sys
import time
from itertools import islice
from pathlib import Path

import numpy as np
import onnxruntime as ort
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # flags, header extension length
TRAILER = b"\xff\xff"
# Same acceptance rules as the scorer (scoring/features.ts): zone ids 1..999, distance finite 0..1000 miles.
MAX_LOCATION_ID, MAX_TRIP_DISTANCE = 999, 1000.0
PG_EPOCH_DOW = 5  # binary timestamps count microseconds from 2000-01-01, a Saturday (Monday = 0)
DAY_US, HOUR_US, MINUTE_US = 86_400_000_000, 3_600_000_000, 60_000_000

# NULLs become sentinels the validation rejects, so every column but the last has a fixed width and each row's
# fields sit at fixed offsets from its start: ride_id (the only variable-length column) comes last.
READ = """COPY (SELECT pickup_datetime, coalesce(pu_location_id, -1), coalesce(do_location_id, -1),
  coalesce(trip_distance, 'NaN'), coalesce(actual_duration, 'NaN'), ride_id
  FROM rides WHERE pickup_datetime >= %s AND pickup_datetime < %s) TO STDOUT (FORMAT binary)"""
# int16 field count, then (int32 length, value) per field: ts 8, pu 4, do 4, distance 8, actual 8, id length.
FIXED = np.dtype(
    {
        "names": ["fields", "ts", "pu", "do", "dist", "actual", "id_len"],
        "formats": [">i2", ">i8", ">i4", ">i4", ">f8", ">f8", ">i4"],
        "offsets": [0, 6, 18, 26, 34, 46, 54],
        "itemsize": 58,
    }
)
WRITE_COLUMNS = "ride_id, model_name, model_version, predicted_duration, actual_duration, diff, run_id"


def text_field(value: str) -> np.ndarray:
    b = value.encode()
    return np.frombuffer(len(b).to_bytes(4, "big") + b, np.uint8)


class Batch:
    """One batch of COPY rows (a list of row messages) viewed column by column; ids stay bytes."""

    def __init__(self, messages: list):
        lengths = np.fromiter(map(len, messages), np.int64, count=len(messages))
        self.buf = np.frombuffer(b"".join(messages), np.uint8)
        starts = np.cumsum(lengths) - lengths
        fixed = self.buf[starts[:, None] + np.arange(FIXED.itemsize)].view(FIXED).ravel()
        if not np.all(fixed["fields"] == 6) or not np.all(fixed["id_len"] == lengths - FIXED.itemsize):
            raise ValueError("COPY rows: unexpected layout (expected 6 fixed columns, then ride_id)")
        self.fixed = fixed
        self.id_start = starts + FIXED.itemsize
        self.id_len = fixed["id_len"].astype(np.int64)

    def keys(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ids of `rows` as a NUL-padded (n, width) byte matrix (sorts like Postgres' C collation) and its mask."""
        width = int(self.id_len[rows].max(initial=1))
        pos = np.arange(width)
        mask = pos < self.id_len[rows, None]
        idx = np.minimum(self.id_start[rows, None] + pos, len(self.buf) - 1)
        return np.where(mask, self.buf[idx], 0).astype(np.uint8), mask


def read_batches(out, batch_rows: int):
    """The COPY-out stream in lists of up to `batch_rows` row messages, without the header and the trailer."""
    messages = iter(out)
    first = True
    while True:
        chunk = list(islice(messages, batch_rows))
        if first and chunk:
            head = bytes(chunk[0][: len(HEADER)])
            if head[: len(SIGNATURE)] != SIGNATURE:
                raise ValueError("not a COPY binary stream")
            chunk[0] = chunk[0][len(HEADER) + int.from_bytes(head[15:19], "big") :]
            first = False
        if chunk and len(chunk[-1]) == len(TRAILER) and bytes(chunk[-1]) == TRAILER:
            chunk.pop()
        chunk = [m for m in chunk if len(m) > 0]
        if not chunk:
            return
        yield chunk


def prefetch(batches, depth: int = 2):
    """Reads ahead in a thread: ONNX Runtime and the COPY writer release the GIL, so reading overlaps them."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def pump() -> None:
        try:
            for batch in batches:
                q.put(batch)
            q.put(done)
        except BaseException as err:  # noqa: BLE001  (handed to the consumer, which raises it)
            q.put(err)

    threading.Thread(target=pump, daemon=True).start()
    while (item := q.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


def features(card: dict, b: Batch, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The model's inputs by name, computed like scoring/features.ts (naive local pickup time)."""
    f = b.fixed[rows]
    ts = f["ts"].astype(np.int64)
    day = ts // DAY_US
    of_day = ts - day * DAY_US
    values = {
        "PULocationID": f["pu"].astype(np.int64),
        "DOLocationID": f["do"].astype(np.int64),
        "trip_distance": f["dist"].astype(np.float32),
        "pickup_hour": ((of_day // HOUR_US) + (of_day % HOUR_US // MINUTE_US) / 60.0).astype(np.float32),
        "pickup_dow": (day + PG_EPOCH_DOW) % 7,
    }
    return {i["name"]: values[i["name"]].reshape(-1, 1) for i in card["inputs"]}


def encode(ids: np.ndarray, id_mask: np.ndarray, pred: np.ndarray, actual: np.ndarray, const: dict) -> bytes:
    """Binary COPY rows `ride_id, model_name, model_version, predicted, actual, diff, run_id`, built with numpy:
    each field is scattered to its offset in every row at once (rows differ only by id length and NULL actual)."""
    n = len(pred)
    id_len = id_mask.sum(axis=1)
    known = ~np.isnan(actual)
    head, tail = const["model"], const["run"]
    row_len = 2 + 4 + id_len + len(head) + 12 + np.where(known, 24, 8) + len(tail)
    starts = np.cumsum(row_len) - row_len
    out = np.empty(int(row_len.sum()), np.uint8)

    def put(offsets: np.ndarray, block: np.ndarray) -> None:
        out[offsets[:, None] + np.arange(block.shape[1])] = block

    put(starts, np.broadcast_to(np.array([0, 7], np.uint8), (n, 2)))
    put(starts + 2, id_len.astype(">i4").view(np.uint8).reshape(n, 4))
    dst = np.repeat(starts + 6, id_len) + (np.arange(id_len.sum()) - np.repeat(np.cumsum(id_len) - id_len, id_len))
    out[dst] = ids[id_mask]
    o = starts + 6 + id_len
    put(o, np.broadcast_to(head, (n, len(head))))
    o = o + len(head)
    eight = np.broadcast_to(np.array([0, 0, 0, 8], np.uint8), (n, 4))
    put(o, np.hstack([eight, pred.astype(">f8").view(np.uint8).reshape(n, 8)]))
    o = o + 12
    diff = pred - actual
    both = np.hstack([eight, actual.astype(">f8").view(np.uint8).reshape(n, 8)])
    both = np.hstack([both, eight, diff.astype(">f8").view(np.uint8).reshape(n, 8)])
    put(o[known], both[known])
    put(o[~known], np.full((int((~known).sum()), 8), 0xFF, np.uint8))
    put(o + np.where(known, 24, 8), np.broadcast_to(tail, (n, len(tail))))
    return out.data


def main() -> int:
    p = argparse.ArgumentParser()
    # The URL comes from DATABASE_URL by default, so its password never shows in a process list.
    p.add_argument("--url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--model-dir", default=str(ROOT / "models" / "ride-duration" / "2"))
    p.add_argument("--schema", default="bench_numpy")
    p.add_argument("--batch-rows", type=int, default=65_536)
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    args = p.parse_args()
    if not args.url:
        p.error("--url or DATABASE_URL is required")

    card = json.loads((Path(args.model_dir) / "model.json").read_text())
    run_rows = int(card.get("serving", {}).get("max_batch_rows", args.batch_rows))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(str(Path(args.model_dir) / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    out_name = card["outputs"][0]["name"]
    meta = {"name": card["name"], "version": str(card["version"]), "run": "numpy-copy"}
    const = {
        "model": np.concatenate([text_field(meta["name"]), text_field(meta["version"])]),
        "run": text_field(meta["run"]),
    }
    schema = sql.Identifier(args.schema)
    with psycopg.connect(args.url, autocommit=True) as setup:
        setup.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
        for table in ("predictions", "rejected_rows"):
            target = sql.Identifier(args.schema, table)
            setup.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
            like = sql.SQL("CREATE TABLE {} (LIKE public.{} INCLUDING ALL)")
            setup.execute(like.format(target, sql.Identifier(table)))

    t = {"read_s": 0.0, "features_s": 0.0, "predict_s": 0.0, "encode_s": 0.0, "write_s": 0.0}
    rows = scored = 0
    rejected: list[tuple[bytes, str]] = []
    t0 = time.perf_counter()
    with psycopg.connect(args.url) as src, psycopg.connect(args.url) as dst:
        write_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
            sql.Identifier(args.schema, "predictions"), sql.SQL(WRITE_COLUMNS)
        )
        with src.cursor().copy(READ, (args.start, args.end)) as out, dst.cursor().copy(write_sql) as into:
            into.write(HEADER)
            batches = prefetch(read_batches(out, args.batch_rows))
            while True:
                a = time.perf_counter()
                chunk = next(batches, None)
                t["read_s"] += time.perf_counter() - a
                if chunk is None:
                    break
                a = time.perf_counter()
                b = Batch(chunk)
                f = b.fixed
                ok_pu = (f["pu"] >= 1) & (f["pu"] <= MAX_LOCATION_ID)
                ok_do = (f["do"] >= 1) & (f["do"] <= MAX_LOCATION_ID)
                ok_dist = np.isfinite(f["dist"]) & (f["dist"] >= 0) & (f["dist"] <= MAX_TRIP_DISTANCE)
                ok = ok_pu & ok_do & ok_dist
                bad = np.flatnonzero(~ok)
                if len(bad):
                    field = np.where(
                        ~ok_pu[bad], "PULocationID", np.where(~ok_do[bad], "DOLocationID", "trip_distance")
                    )
                    bad_ids, bad_mask = b.keys(bad)
                    rejected += [(bytes(r[m]), str(fl)) for r, m, fl in zip(bad_ids, bad_mask, field)]
                good = np.flatnonzero(ok)
                ids, id_mask = b.keys(good)
                # Sorted by key before the COPY: the primary key's btree then takes each batch in order.
                order = np.argsort(ids.view(f"S{ids.shape[1]}").ravel(), kind="stable")
                good, ids, id_mask = good[order], ids[order], id_mask[order]
                feeds = features(card, b, good)
                t["features_s"] += time.perf_counter() - a
                a = time.perf_counter()
                pred = np.concatenate(
                    [
                        sess.run([out_name], {k: v[i : i + run_rows] for k, v in feeds.items()})[0].reshape(-1)
                        for i in range(0, len(good), run_rows)
                    ]
                    or [np.empty(0, np.float32)]
                ).astype(np.float64)
                t["predict_s"] += time.perf_counter() - a
                a = time.perf_counter()
                data = encode(ids, id_mask, pred, f["actual"][good].astype(np.float64), const)
                t["encode_s"] += time.perf_counter() - a
                a = time.perf_counter()
                into.write(data)
                t["write_s"] += time.perf_counter() - a
                rows += len(chunk)
                scored += len(good)
            a = time.perf_counter()
            into.write(TRAILER)
        reject_sql = sql.SQL(
            "COPY {} (ride_id, model_name, model_version, run_id, field, reason) FROM STDIN"
        ).format(sql.Identifier(args.schema, "rejected_rows"))
        with dst.cursor().copy(reject_sql) as cp:
            for ride_id, field in rejected:
                cp.write_row((ride_id.decode(), meta["name"], meta["version"], meta["run"], field, "out of range"))
        dst.commit()
        t["write_s"] += time.perf_counter() - a
    total = time.perf_counter() - t0
    print(json.dumps({"rows": rows, "scored": scored, "rejected": len(rejected), **t, "total_s": total}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
