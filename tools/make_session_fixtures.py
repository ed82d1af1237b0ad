#!/usr/bin/python3
"""Writes tests/fixtures/session_mlp.onnx and computed_weights.onnx for tests/test_session.c.

X[N,8] -> MatMul(W1 8x16) -> Add(b1) -> Relu -> MatMul(W2 16x4) -> Softmax -> Y[N,4]
plus a shape subgraph (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) that flattens
the hidden layer and restores it, which planning must fold away.
Weights are W1[i][j] = ((i*16+j) % 7 - 3) / 4, b1[j] = (j % 3) / 2, W2[i][j] = ((i*4+j) % 5 - 2) / 3;
the C test recomputes them.
Run with Debian's python3-onnx: /usr/bin/python3 tools/make_session_fixtures.py
"""
import os

import numpy as np
from onnx import TensorProto, helper, save

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")

w1 = np.array([[((i * 16 + j) % 7 - 3) / 4 for j in range(16)] for i in range(8)], np.float32)
b1 = np.array([(j % 3) / 2 for j in range(16)], np.float32)
w2 = np.array([[((i * 4 + j) % 5 - 2) / 3 for j in range(4)] for i in range(16)], np.float32)

nodes = [
    helper.make_node("MatMul", ["X", "W1"], ["h0"]),
    helper.make_node("Add", ["h0", "B1"], ["h1"]),
    helper.make_node("Relu", ["h1"], ["h2"]),
    helper.make_node("Shape", ["h2"], ["s"]),
    helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
    helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
    helper.make_node("Concat", ["n1", "minus1"], ["flat_shape"], axis=0),
    helper.make_node("Reshape", ["h2", "flat_shape"], ["h3"]),
    helper.make_node("MatMul", ["h3", "W2"], ["z"]),
    helper.make_node("Softmax", ["z"], ["Y"], axis=-1),
]
inits = [
    helper.make_tensor("W1", TensorProto.FLOAT, [8, 16], w1.tobytes(), raw=True),
    helper.make_tensor("B1", TensorProto.FLOAT, [16], b1.tobytes(), raw=True),
    helper.make_tensor("W2", TensorProto.FLOAT, [16, 4], w2.tobytes(), raw=True),
    helper.make_tensor("zero", TensorProto.INT64, [], [0]),
    helper.make_tensor("axes0", TensorProto.INT64, [1], [0]),
    helper.make_tensor("minus1", TensorProto.INT64, [1], [-1]),
]
graph = helper.make_graph(
    nodes, "session_mlp",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 8])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 4])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
save(model, os.path.join(OUT, "session_mlp.onnx"))

# computed_weights.onnx: weights that are not constants. Z = X · (-Y) and O = Conv(I, -W, pad 1),
# with X[4,8], Y[8,5], I[1,4,6,6], W[3,4,3,3] all graph inputs: kernels must not pack the
# negated Y or W at planning (their values exist only at run time).
nodes = [
    helper.make_node("Neg", ["Y"], ["yn"]),
    helper.make_node("MatMul", ["X", "yn"], ["Z"]),
    helper.make_node("Neg", ["W"], ["wn"]),
    helper.make_node("Conv", ["I", "wn"], ["O"], pads=[1, 1, 1, 1]),
]
graph = helper.make_graph(
    nodes, "computed_weights",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, [4, 8]),
     helper.make_tensor_value_info("Y", TensorProto.FLOAT, [8, 5]),
     helper.make_tensor_value_info("I", TensorProto.FLOAT, [1, 4, 6, 6]),
     helper.make_tensor_value_info("W", TensorProto.FLOAT, [3, 4, 3, 3])],
    [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [4, 5]),
     helper.make_tensor_value_info("O", TensorProto.FLOAT, [1, 3, 6, 6])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
save(model, os.path.join(OUT, "computed_weights.onnx"))
