"""Drives the API's V2 routes with the official tritonclient.http for a classifier with string inputs and outputs
(BYTES both ways), and compares every answer to POST /models/<name>/predict.

Usage: check_classifier.py --url 127.0.0.1:3000 [--model penguin-species]
Prints one JSON line with the results; exits 1 on any mismatch.
"""

import argparse
import json
import math
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient

RECORDS = [
    {"island": "Torgersen", "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0,
     "body_mass_g": 3750.0, "sex": "male", "year": 2007},
    {"island": "Biscoe", "bill_length_mm": 46.1, "bill_depth_mm": 13.2, "flipper_length_mm": 211.0,
     "body_mass_g": 4500.0, "sex": "female", "year": 2007},
    {"island": "Dream", "bill_length_mm": 49.5, "bill_depth_mm": 19.0, "flipper_length_mm": 200.0,
     "body_mass_g": 3800.0, "sex": "male", "year": 2008},
    {"island": "Dream", "bill_length_mm": None, "bill_depth_mm": None, "flipper_length_mm": None,
     "body_mass_g": None, "sex": None, "year": 2009},
]
NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def inputs(binary):
    """The graph inputs the card declares; a missing number is NaN, a missing sex the card's default. JSON mode sends
    the complete records only: Python's json writes NaN as a bare token, which is not JSON."""
    records = RECORDS if binary else [r for r in RECORDS if None not in r.values()]
    out = []
    strings = {
        "island": [r["island"] for r in records],
        "sex": [r["sex"] if r["sex"] is not None else "unknown" for r in records],
    }
    for name, values in strings.items():
        t = httpclient.InferInput(name, [len(records), 1], "BYTES")
        t.set_data_from_numpy(np.array(values, dtype=np.object_).reshape(-1, 1), binary_data=binary)
        out.append(t)
    for name in NUMBERS:
        values = [math.nan if r[name] is None else r[name] for r in records]
        t = httpclient.InferInput(name, [len(records), 1], "FP32")
        t.set_data_from_numpy(np.array(values, dtype=np.float32).reshape(-1, 1), binary_data=binary)
        out.append(t)
    year = httpclient.InferInput("year", [len(records), 1], "INT64")
    year.set_data_from_numpy(np.array([r["year"] for r in records], dtype=np.int64).reshape(-1, 1), binary_data=binary)
    out.append(year)
    return out


def predict_http(url, model):
    request = urllib.request.Request(
        f"http://{url}/models/{model}/predict",
        data=json.dumps(RECORDS).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return [p["prediction"] for p in json.loads(response.read())["predictions"]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", default="penguin-species")
    args = parser.parse_args()
    expected = predict_http(args.url, args.model)
    client = httpclient.InferenceServerClient(url=args.url)
    metadata = client.get_model_metadata(args.model)
    classes = list(expected[0]["probabilities"].keys())
    results = {"metadata_inputs": [i["datatype"] for i in metadata["inputs"]], "checks": {}}
    ok = True
    for mode, binary in (("binary", True), ("json", False)):
        outputs = [httpclient.InferRequestedOutput("output_label", binary_data=binary),
                   httpclient.InferRequestedOutput("output_probability", binary_data=binary)]
        result = client.infer(args.model, inputs(binary), outputs=outputs)
        labels = [v.decode() if isinstance(v, bytes) else str(v) for v in result.as_numpy("output_label").reshape(-1)]
        probabilities = result.as_numpy("output_probability")
        sent = [i for i, r in enumerate(RECORDS) if binary or None not in r.values()]
        want_labels = [expected[i]["label"] for i in sent]
        worst = max(abs(float(probabilities[k][j]) - expected[i]["probabilities"][c])
                    for k, i in enumerate(sent) for j, c in enumerate(classes))
        good = labels == want_labels and worst < 1e-6
        ok = ok and good
        results["checks"][mode] = {"labels": labels, "expected": want_labels, "max_probability_diff": worst, "ok": good}
    print(json.dumps(results))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
