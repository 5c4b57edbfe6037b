#!/usr/bin/python3
"""A: the reference a Python team would deploy. FastAPI + scikit-learn on uvicorn (uvloop, httptools),
one process, an Open Inference Protocol v2 shaped route that validates the request with pydantic models
and predicts with a scikit-learn LogisticRegression holding the example model's coefficients (the
standardization folded into them, so the predictions equal model.onnx's).

Usage: /usr/bin/python3 bench/serve/fastapi_app.py --port 8082 --model-json examples/breast-cancer/model.json
"""

import argparse
import json
from typing import List, Optional

import numpy as np
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sklearn.linear_model import LogisticRegression


class Tensor(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[float]


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[Tensor]


def load_model(path):
    with open(path) as f:
        info = json.load(f)
    clf = LogisticRegression()
    clf.coef_ = np.asarray([info["folded"]["coef"]], dtype=np.float64)
    clf.intercept_ = np.asarray([info["folded"]["intercept"]], dtype=np.float64)
    clf.classes_ = np.asarray([0, 1])
    return clf, len(info["features"])


def build_app(clf, n_features, model_name):
    app = FastAPI()

    def error(status, message):
        return JSONResponse({"error": message}, status_code=status)

    @app.get("/v2/health/ready")
    async def ready():
        return {"ready": True}

    # async: the prediction is microseconds of CPU, so a thread-pool hop would cost more than it saves.
    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, req: InferRequest):
        if name != model_name:
            return error(404, f"model {name!r} not found")
        if len(req.inputs) != 1 or req.inputs[0].name != "input":
            return error(400, "expected one input named 'input'")
        t = req.inputs[0]
        if t.datatype != "FP32" or len(t.shape) != 2 or t.shape[1] != n_features:
            return error(400, f"input must be FP32 [n,{n_features}]")
        if len(t.data) != t.shape[0] * n_features:
            return error(400, "data length does not match shape")
        x = np.asarray(t.data, dtype=np.float32).reshape(t.shape[0], n_features)
        proba = clf.predict_proba(x)[:, 1].astype(np.float32)
        return {
            "model_name": name,
            "model_version": "1",
            "id": req.id,
            "outputs": [
                {"name": "probability", "datatype": "FP32", "shape": [t.shape[0], 1], "data": proba.tolist()}
            ],
        }

    return app


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8082)
    p.add_argument("--model-json", required=True)
    p.add_argument("--model-name", default="breast-cancer")
    a = p.parse_args()
    clf, n = load_model(a.model_json)
    uvicorn.run(
        build_app(clf, n, a.model_name),
        host="127.0.0.1",
        port=a.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
