#!/usr/bin/env bash
# Train both ride-duration model versions into models/ride-duration/{1,2} and verify them against golden.jsonl.
# Usage: models/train/run.sh [python] [data dir]
#   python   defaults to $TRAIN_PYTHON, else .venv-train/bin/python (create it with:
#            python3.11 -m venv .venv-train && .venv-train/bin/pip install -r models/train/requirements.txt)
#   data dir defaults to $TLC_DATA_DIR, else ../shared/data (NYC TLC green-taxi parquet + taxi_zone_lookup.csv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${1:-${TRAIN_PYTHON:-.venv-train/bin/python}}"
D="${2:-${TLC_DATA_DIR:-../shared/data}}"
[ -x "$PY" ] || command -v "$PY" >/dev/null || { echo "error: python '$PY' not found (see header of $0)" >&2; exit 2; }
[ -f "$D/green_tripdata_2021-01.parquet" ] || { echo "error: no green_tripdata_2021-01.parquet in '$D'" >&2; exit 2; }
EXTRA=()
for m in 2022-01 2022-02 2023-01 2023-02; do
  [ -f "$D/green_tripdata_$m.parquet" ] && EXTRA+=(--extra-eval "$D/green_tripdata_$m.parquet")
done
for v in 1 2; do
  "$PY" models/train/train.py --name ride-duration --version "$v" \
    --train "$D/green_tripdata_2021-01.parquet" --val "$D/green_tripdata_2021-02.parquet" \
    "${EXTRA[@]}" --zones "$D/taxi_zone_lookup.csv" --out models
done
"$PY" models/train/verify.py models/ride-duration/1 models/ride-duration/2
