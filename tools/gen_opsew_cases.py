#!/usr/bin/python3
"""Writes randomized single-node test cases for the elementwise and reduction kernels, in the
layout of the ONNX node tests (OUTDIR/node/<case>/model.onnx + test_data_set_0/*.pb), with
expected outputs from numpy. They cover dtype x broadcast combinations the ONNX suite lacks.

Usage: /usr/bin/python3 tools/gen_opsew_cases.py OUTDIR [SEED]
Then:  build-<you>/conformance OUTDIR/node
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

OPSET = 17
DTYPES = {
    np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE, np.float16: TensorProto.FLOAT16,
    np.int32: TensorProto.INT32, np.int64: TensorProto.INT64, np.int8: TensorProto.INT8,
    np.uint8: TensorProto.UINT8, np.uint16: TensorProto.UINT16, np.bool_: TensorProto.BOOL,
}
FLOATS = [np.float32, np.float64, np.float16]
INTS = [np.int32, np.int64, np.int8, np.uint8]


def rand(rng, shape, dt, positive=False):
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dt in FLOATS:
        lo = 0.5 if positive else -4.0
        return rng.uniform(lo, 4.0, shape).astype(dt)
    info = np.iinfo(dt)
    lo = 1 if positive else max(info.min, -50)
    return rng.integers(lo, min(info.max, 50), shape).astype(dt)


def bcast_pair(rng):
    """Two shapes that broadcast: drop leading dims and set random dims to 1."""
    rank = int(rng.integers(0, 5))
    full = [int(rng.integers(1, 5)) for _ in range(rank)]
    shapes = []
    for _ in range(2):
        s = list(full[int(rng.integers(0, rank + 1)):]) if rank else []
        s = [1 if rng.random() < 0.3 else d for d in s]
        shapes.append(tuple(s))
    return shapes


def write_case(root, name, node, inputs, outputs):
    d = os.path.join(root, "node", name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    vi = lambda n, a: helper.make_tensor_value_info(n, DTYPES[a.dtype.type], a.shape)
    graph = helper.make_graph([node], name, [vi(n, a) for n, a in inputs], [vi(n, a) for n, a in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    save(model, os.path.join(d, "model.onnx"))
    for kind, items in (("input", inputs), ("output", outputs)):
        for k, (n, a) in enumerate(items):
            t = numpy_helper.from_array(np.asarray(a), n)
            with open(os.path.join(d, "test_data_set_0", f"{kind}_{k}.pb"), "wb") as f:
                f.write(t.SerializeToString())


BINARY = {
    "Add": (np.add, FLOATS + INTS), "Sub": (np.subtract, FLOATS + INTS),
    "Mul": (np.multiply, FLOATS + INTS), "Div": (np.divide, FLOATS),
    "Pow": (np.power, [np.float32, np.float64]), "Max": (np.maximum, FLOATS + INTS),
    "Min": (np.minimum, FLOATS + INTS), "Equal": (np.equal, FLOATS + INTS + [np.bool_]),
    "Less": (np.less, FLOATS + INTS), "GreaterOrEqual": (np.greater_equal, FLOATS + INTS),
    "And": (np.logical_and, [np.bool_]), "BitwiseXor": (np.bitwise_xor, INTS),
}


def gen_binary(root, rng, i):
    op = list(BINARY)[i % len(BINARY)]
    fn, types = BINARY[op]
    dt = types[int(rng.integers(0, len(types)))]
    sa, sb = bcast_pair(rng)
    a, b = rand(rng, sa, dt, op == "Pow"), rand(rng, sb, dt, op in ("Div", "Pow"))
    y = np.asarray(fn(a, b))
    if y.dtype != np.bool_:
        y = y.astype(dt)
    write_case(root, f"opsew_{op.lower()}_{i}", helper.make_node(op, ["a", "b"], ["y"]),
               [("a", a), ("b", b)], [("y", y)])


def gen_where(root, rng, i):
    sa, sb = bcast_pair(rng)
    dt = (FLOATS + INTS)[i % 7]
    c, x, y = rand(rng, sa, np.bool_), rand(rng, sb, dt), rand(rng, sa[1:], dt)
    write_case(root, f"opsew_where_{i}", helper.make_node("Where", ["c", "x", "y"], ["o"]),
               [("c", c), ("x", x), ("y", y)], [("o", np.where(c, x, y))])


def logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    r = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return r if keepdims else np.squeeze(r, axis=axis)


REDUCE = {
    "ReduceSum": (np.sum, FLOATS + [np.int32, np.int64]), "ReduceMean": (np.mean, FLOATS),
    "ReduceMax": (np.max, FLOATS + INTS), "ReduceMin": (np.min, FLOATS + INTS),
    "ReduceProd": (np.prod, [np.float32, np.float64]),
    "ReduceL1": (lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims), FLOATS),
    "ReduceL2": (lambda x, axis, keepdims: np.sqrt(np.sum(x.astype(np.float64) ** 2, axis=axis, keepdims=keepdims)), [np.float32, np.float64]),
    "ReduceLogSumExp": (logsumexp, [np.float32, np.float64]),
    "ReduceSumSquare": (lambda x, axis, keepdims: np.sum(x * x, axis=axis, keepdims=keepdims), FLOATS),
}


def gen_reduce(root, rng, i):
    op = list(REDUCE)[i % len(REDUCE)]
    fn, types = REDUCE[op]
    dt = types[int(rng.integers(0, len(types)))]
    rank = int(rng.integers(1, 5))
    shape = tuple(int(rng.integers(1, 5)) for _ in range(rank))
    x = rand(rng, shape, dt, op == "ReduceProd")
    axes = sorted(set(int(a) for a in rng.integers(-rank, rank, int(rng.integers(1, rank + 1)))))
    norm = tuple(sorted({a % rank for a in axes}))
    keep = int(rng.integers(0, 2))
    xr = x.astype(np.float64) if dt in FLOATS else x
    y = np.asarray(fn(xr, axis=norm, keepdims=bool(keep))).astype(dt)
    inputs = [("x", x)]
    if op == "ReduceSum":
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keep)
        inputs.append(("axes", np.array(axes, dtype=np.int64)))
    else:
        node = helper.make_node(op, ["x"], ["y"], axes=axes, keepdims=keep)
    write_case(root, f"opsew_{op.lower()}_{i}", node, inputs, [("y", y)])


def gen_axis_ops(root, rng, i):
    rank = int(rng.integers(1, 5))
    shape = tuple(int(rng.integers(1, 6)) for _ in range(rank))
    axis = int(rng.integers(-rank, rank))
    dt = FLOATS[i % 3]
    x = rand(rng, shape, dt)
    kind = i % 4
    if kind == 0:
        e = np.exp(x.astype(np.float64) - np.max(x, axis=axis, keepdims=True))
        y = (e / np.sum(e, axis=axis, keepdims=True)).astype(dt)
        node = helper.make_node("Softmax", ["x"], ["y"], axis=axis)
        write_case(root, f"opsew_softmax_{i}", node, [("x", x)], [("y", y)])
    elif kind == 1:
        y = np.cumsum(x.astype(np.float64), axis=axis).astype(dt)
        node = helper.make_node("CumSum", ["x", "axis"], ["y"])
        write_case(root, f"opsew_cumsum_{i}", node, [("x", x), ("axis", np.array(axis, dtype=np.int64))],
                   [("y", y)])
    elif kind == 2:
        xi = rand(rng, shape, INTS[i % 4])
        y = np.expand_dims(np.argmax(xi, axis=axis), axis).astype(np.int64)
        node = helper.make_node("ArgMax", ["x"], ["y"], axis=axis)
        write_case(root, f"opsew_argmax_{i}", node, [("x", xi)], [("y", y)])
    else:
        xf = rng.permutation(np.prod(shape)).reshape(shape).astype(dt)
        n = shape[axis]
        k = int(rng.integers(0, n + 1))
        order = np.argsort(-xf.astype(np.float64), axis=axis, kind="stable")
        idx = np.take(order, np.arange(k), axis=axis)
        node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis)
        write_case(root, f"opsew_topk_{i}", node, [("x", xf), ("k", np.array([k], dtype=np.int64))],
                   [("v", np.take_along_axis(xf, idx, axis=axis)), ("i", idx.astype(np.int64))])


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    root = sys.argv[1]
    rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) == 3 else 0)
    for i in range(120):
        gen_binary(root, rng, i)
    for i in range(28):
        gen_where(root, rng, i)
    for i in range(90):
        gen_reduce(root, rng, i)
    for i in range(60):
        gen_axis_ops(root, rng, i)


if __name__ == "__main__":
    main()
