#!/usr/bin/python3
"""Writes the benchmark's heavier model: a 256-256 MLP as ONNX, random weights from a fixed seed.

    input FLOAT [batch,256] -> Gemm(256x256)+Relu -> Gemm(256x256)+Relu -> Gemm(256x1) -> Sigmoid -> score FLOAT [batch,1]

Usage: /usr/bin/python3 bench/serve/make_mlp.py <out.onnx> [--seed 7]
"""

import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WIDTH = 256


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)

    def dense(name, n_in, n_out):
        # He initialization keeps activations in a sane range through the ReLUs.
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)).astype(np.float32)
        b = np.zeros(n_out, dtype=np.float32)
        return [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")]

    inits = dense("fc1", WIDTH, WIDTH) + dense("fc2", WIDTH, WIDTH) + dense("out", WIDTH, 1)
    nodes = [
        helper.make_node("Gemm", ["input", "fc1_w", "fc1_b"], ["h1"], name="fc1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Gemm", ["a1", "fc2_w", "fc2_b"], ["h2"], name="fc2"),
        helper.make_node("Relu", ["h2"], ["a2"], name="relu2"),
        helper.make_node("Gemm", ["a2", "out_w", "out_b"], ["logit"], name="out"),
        helper.make_node("Sigmoid", ["logit"], ["score"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "bench_mlp_256x256",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", WIDTH])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pulumi-mlops bench")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, a.out)


if __name__ == "__main__":
    main()
