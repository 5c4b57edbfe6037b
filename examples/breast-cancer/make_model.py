#!/usr/bin/python3
"""Writes the breast-cancer example: data.csv, model.onnx and model.json.

Run with Debian's interpreter (it has scikit-learn, numpy and onnx):

    /usr/bin/python3 examples/breast-cancer/make_model.py

The data is read from the copy of the UCI Wisconsin Diagnostic Breast Cancer data set that ships inside
scikit-learn (no download). The model is a scikit-learn LogisticRegression (lbfgs, C=1.0) on standardized
features, written by hand as ONNX so that the graph is small, readable and needs no converter package:

    input FLOAT [batch,30] -> Sub(mean) -> Div(scale) -> MatMul(W) -> Add(b) -> Sigmoid -> probability FLOAT [batch,1]

The output is P(label = 1) = P(malignant). Re-running the script reproduces the same files byte for byte
(given the same scikit-learn and onnx versions).
"""

import csv
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17
# onnxruntime 1.30 reads IR versions up to 11; onnx 1.12 (Debian 12) writes 8 for opset 17.
IR_VERSION = 8
C = 1.0
N_EXPECTED = 5


def snake(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def load():
    ds = load_breast_cancer()
    x = np.asarray(ds.data, dtype=np.float64)
    # scikit-learn encodes 0 = malignant, 1 = benign (ds.target_names == ['malignant', 'benign']).
    # The example uses the clinical convention instead: label 1 = malignant, the positive class.
    assert list(ds.target_names) == ["malignant", "benign"], ds.target_names
    y = (ds.target == 0).astype(np.int64)
    names = [snake(n) for n in ds.feature_names]
    return x, y, names


def write_csv(path, x, y, names):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names + ["label"])
        for row, label in zip(x, y):
            # repr() of a float64 round-trips exactly; the source values have at most 4 significant digits.
            w.writerow([repr(float(v)) for v in row] + [int(label)])


def fit(x, y):
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(solver="lbfgs", C=C, max_iter=10_000, tol=1e-10)
    clf.fit(scaler.transform(x), y)
    return scaler, clf


def build_onnx(mean, scale, w, b, n_features):
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    inits = [
        numpy_helper.from_array(f32(mean).reshape(1, n_features), "mean"),
        numpy_helper.from_array(f32(scale).reshape(1, n_features), "scale"),
        numpy_helper.from_array(f32(w).reshape(n_features, 1), "weights"),
        numpy_helper.from_array(f32([b]).reshape(1), "bias"),
    ]
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["centered"], name="center"),
        helper.make_node("Div", ["centered", "scale"], ["standardized"], name="standardize"),
        helper.make_node("MatMul", ["standardized", "weights"], ["linear"], name="linear"),
        helper.make_node("Add", ["linear", "bias"], ["logit"], name="add_bias"),
        helper.make_node("Sigmoid", ["logit"], ["probability"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "breast_cancer_logistic_regression",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
        initializer=inits,
        doc_string="P(malignant) from 30 Wisconsin Diagnostic Breast Cancer features; see README.md",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="pulumi-mlops examples/breast-cancer/make_model.py",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    x, y, names = load()
    write_csv(os.path.join(HERE, "data.csv"), x, y, names)

    scaler, clf = fit(x, y)
    mean, scale = scaler.mean_, scaler.scale_
    w, b = clf.coef_[0], float(clf.intercept_[0])
    model = build_onnx(mean, scale, w, b, x.shape[1])
    onnx.save(model, os.path.join(HERE, "model.onnx"))

    # The same model in raw feature space (standardization folded in), for servers that take plain
    # logistic-regression coefficients (bench/serve/fastapi_app.py).
    folded_w = w / scale
    folded_b = b - float(np.sum(w * mean / scale))
    proba_all = clf.predict_proba(scaler.transform(x))[:, 1]
    proba = proba_all[:N_EXPECTED]
    info = {
        "description": "LogisticRegression(lbfgs, C=1.0) on StandardScaler features; output P(label=1)=P(malignant)",
        "source": "scikit-learn load_breast_cancer (UCI Wisconsin Diagnostic Breast Cancer); see README.md",
        "sklearn_version": __import__("sklearn").__version__,
        "onnx": {"input": "input", "output": "probability", "opset": OPSET, "ir_version": IR_VERSION},
        "features": names,
        "label": {"name": "label", "positive": "malignant", "encoding": {"0": "benign", "1": "malignant"}},
        "hyperparameters": {"solver": "lbfgs", "C": C, "penalty": "l2"},
        "standardized": {"mean": mean.tolist(), "scale": scale.tolist(), "coef": w.tolist(), "intercept": b},
        "folded": {"coef": folded_w.tolist(), "intercept": folded_b},
        "training": {
            "rows": int(x.shape[0]),
            "positives": int(y.sum()),
            "accuracy": float(clf.score(scaler.transform(x), y)),
            "iterations": int(clf.n_iter_[0]),
        },
        "expected": {
            "rows": x[:N_EXPECTED].tolist(),
            "labels": y[:N_EXPECTED].tolist(),
            "probability": proba.tolist(),
        },
        # Every row of data.csv, in order, so a check can compare the ONNX model on the whole data set.
        "probability_all_rows": proba_all.tolist(),
    }
    with open(os.path.join(HERE, "model.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(
        f"wrote data.csv ({x.shape[0]} rows), model.onnx, model.json; "
        f"training accuracy {info['training']['accuracy']:.4f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
