"""Drives the API's V2 routes with the official tritonclient.http and compares every prediction to POST /predict.

Usage: check.py --url 127.0.0.1:3000 [--model ride-duration] [--version 2]
Prints one JSON line with the results; exits 1 on any mismatch.
"""

import argparse
import json
import sys
import urllib.request
from datetime import datetime

import numpy as np
import tritonclient.http as httpclient

RIDES = [
    {"PULocationID": 10, "DOLocationID": 50, "trip_distance": 40.0, "lpep_pickup_datetime": "2021-02-02T09:00:30"},
    {"PULocationID": 152, "DOLocationID": 74, "trip_distance": 1.64, "lpep_pickup_datetime": "2021-02-06T17:15:00"},
    {"PULocationID": 41, "DOLocationID": 259, "trip_distance": 9.02, "lpep_pickup_datetime": "2021-02-07T23:59:59"},
    {"PULocationID": 265, "DOLocationID": 1, "trip_distance": 0.0, "lpep_pickup_datetime": "2021-03-14T02:30:00"},
]


def features(rides):
    """The model inputs the card describes: zone ids, distance, local pickup hour (HH + MM/60) and weekday."""
    when = [datetime.fromisoformat(r["lpep_pickup_datetime"]) for r in rides]
    column = lambda values, dtype: np.array(values, dtype=dtype).reshape(-1, 1)
    return {
        "PULocationID": column([r["PULocationID"] for r in rides], np.int64),
        "DOLocationID": column([r["DOLocationID"] for r in rides], np.int64),
        "trip_distance": column([r["trip_distance"] for r in rides], np.float32),
        "pickup_hour": column([w.hour + w.minute / 60 for w in when], np.float32),
        "pickup_dow": column([w.weekday() for w in when], np.int64),
    }


def predict_http(url, ride, model_ref):
    request = urllib.request.Request(
        f"http://{url}/predict?model={model_ref}",
        data=json.dumps(ride).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["duration"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", default="ride-duration")
    parser.add_argument("--version", default="2")
    args = parser.parse_args()

    client = httpclient.InferenceServerClient(url=args.url)
    metadata = client.get_model_metadata(args.model, args.version)
    names = [i["name"] for i in metadata["inputs"]]
    datatypes = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    tensors = {k: v for k, v in features(RIDES).items() if k in names}
    expected = [predict_http(args.url, r, f"{args.model}@{args.version}") for r in RIDES]

    def infer(binary, explicit_outputs):
        inputs = []
        for name in names:
            tensor = httpclient.InferInput(name, list(tensors[name].shape), datatypes[name])
            if binary is None:
                tensor.set_data_from_numpy(tensors[name])  # the client's defaults: binary tensors
            else:
                tensor.set_data_from_numpy(tensors[name], binary_data=binary)
            inputs.append(tensor)
        outputs = None
        if explicit_outputs:
            outputs = [httpclient.InferRequestedOutput("duration", binary_data=bool(binary))]
        result = client.infer(args.model, inputs, model_version=args.version, outputs=outputs, request_id="check-1")
        response = result.get_response()
        return result.as_numpy("duration").reshape(-1).tolist(), response.get("id"), response["model_version"]

    report = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(args.model, args.version),
        "inputs": names,
        "expected": expected,
        "modes": {},
    }
    ok = report["live"] and report["ready"] and report["model_ready"]
    for mode, binary, explicit in [("default", None, False), ("binary", True, True), ("json", False, True)]:
        values, request_id, version = infer(binary, explicit)
        same = len(values) == len(expected) and all(abs(a - b) <= 1e-5 for a, b in zip(values, expected))
        ok = ok and same and request_id == "check-1" and version == args.version
        report["modes"][mode] = {"predictions": values, "matches_predict": same, "id": request_id}
    try:
        client.get_model_metadata("no-such-model")
        report["unknown_model"] = "no error"
        ok = False
    except Exception as err:  # tritonclient raises InferenceServerException with our {"error"} text
        report["unknown_model"] = str(err)
    report["ok"] = ok
    print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
