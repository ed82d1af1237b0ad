#!/usr/bin/python3
"""Writes randomized test cases for the tensor-manipulation ops (Slice with extreme bounds and
negative steps, checked against the spec's clamping rules, Pad, Transpose, Gather, GatherND, ScatterElements, Tile, Expand), in the ONNX
node-test layout that build/conformance reads, with numpy as the reference.

Usage: /usr/bin/python3 tools/gen_tensor_op_cases.py OUTDIR [N_PER_OP] [SEED]
Then:  build/conformance OUTDIR/node
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


def write_case(root, name, node, inputs, outputs, opset, initializers=()):
    """inputs/outputs: lists of (name, array); initializers are graph constants."""
    def info(n, a):
        return helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape)
    graph = helper.make_graph(
        [node], name,
        [info(n, a) for n, a in inputs],
        [info(n, a) for n, a in outputs],
        [numpy_helper.from_array(a, n) for n, a in initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    d = os.path.join(root, "node", name, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(root, "node", name, "model.onnx"))
    for k, (n, a) in enumerate(inputs):
        with open(os.path.join(d, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())
    for k, (n, a) in enumerate(outputs):
        with open(os.path.join(d, f"output_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())


def rand_shape(rng, lo_rank=1, hi_rank=4, hi_dim=5):
    return tuple(int(d) for d in rng.integers(0, hi_dim + 1, rng.integers(lo_rank, hi_rank + 1)))


def bound(rng, dim):
    r = rng.random()
    if r < 0.1:
        return I64_MAX
    if r < 0.2:
        return I64_MIN
    return int(rng.integers(-dim - 3, dim + 4))


def spec_slice(dim, start, end, step):
    """The ONNX clamping rules; numpy differs for negative steps with start < -dim, where the
    spec (and ONNX Runtime) clamp start to 0 rather than selecting nothing."""
    start += dim if start < 0 else 0
    end += dim if end < 0 else 0
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return slice(start, None if end < 0 else end, step) if dim else slice(0, 0, step)


def gen_slice(root, rng, i):
    shape = rand_shape(rng)
    x = rng.standard_normal(shape).astype(np.float32)
    rank = len(shape)
    axes = rng.permutation(rank)[: rng.integers(1, rank + 1)]
    starts, ends, steps = [], [], []
    sl = [slice(None)] * rank
    for a in axes:
        s, e = bound(rng, shape[a]), bound(rng, shape[a])
        st = int(rng.choice([1, 2, 3, -1, -2, -3]))
        starts.append(s)
        ends.append(e)
        steps.append(st)
        sl[a] = spec_slice(shape[a], s, e, st)
    y = x[tuple(sl)]
    neg_axes = [int(a) - rank if rng.random() < 0.5 else int(a) for a in axes]
    consts = [("starts", np.array(starts, np.int64)), ("ends", np.array(ends, np.int64)),
              ("axes", np.array(neg_axes, np.int64)), ("steps", np.array(steps, np.int64))]
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])
    write_case(root, f"test_rand_slice_{i}", node, [("x", x)], [("y", y)], 13, consts)


def gen_pad(root, rng, i):
    shape = tuple(int(d) for d in rng.integers(1, 5, rng.integers(1, 4)))
    x = rng.standard_normal(shape).astype(np.float32)
    mode = str(rng.choice(["constant", "reflect", "edge"]))
    hi = [d - 1 if mode == "reflect" else 3 for d in shape]
    pb = [int(rng.integers(0, h + 1)) for h in hi]
    pe = [int(rng.integers(0, h + 1)) for h in hi]
    val = np.array(rng.standard_normal(), np.float32)
    if mode == "constant":
        y = np.pad(x, list(zip(pb, pe)), mode="constant", constant_values=val)
    else:
        y = np.pad(x, list(zip(pb, pe)), mode=mode)
    node = helper.make_node("Pad", ["x", "pads", "value"], ["y"], mode=mode)
    write_case(root, f"test_rand_pad_{i}", node, [("x", x)], [("y", y.astype(np.float32))], 13,
               [("pads", np.array(pb + pe, np.int64)), ("value", val)])


def gen_transpose(root, rng, i):
    shape = tuple(int(d) for d in rng.integers(1, 5, rng.integers(1, 6)))
    x = rng.integers(-100, 100, shape).astype(np.int16)
    perm = [int(p) for p in rng.permutation(len(shape))]
    node = helper.make_node("Transpose", ["x"], ["y"], perm=perm)
    write_case(root, f"test_rand_transpose_{i}", node, [("x", x)], [("y", np.transpose(x, perm))], 13)


def gen_gather(root, rng, i):
    shape = tuple(int(d) for d in rng.integers(1, 5, rng.integers(1, 4)))
    x = rng.standard_normal(shape).astype(np.float64)
    axis = int(rng.integers(-len(shape), len(shape)))
    n = shape[axis]
    ind = rng.integers(-n, n, rand_shape(rng, 0, 2, 3)).astype(np.int64)
    y = np.take(x, ind, axis=axis)
    node = helper.make_node("Gather", ["x", "i"], ["y"], axis=axis)
    write_case(root, f"test_rand_gather_{i}", node, [("x", x), ("i", ind)], [("y", y)], 13)


def gen_gather_nd(root, rng, i):
    shape = tuple(int(d) for d in rng.integers(1, 4, rng.integers(2, 5)))
    b = int(rng.integers(0, 2))
    k = int(rng.integers(1, len(shape) - b + 1))
    x = rng.integers(0, 1000, shape).astype(np.int32)
    lead = tuple(shape[:b]) + tuple(int(d) for d in rng.integers(1, 3, rng.integers(0, 2)))
    ind = np.stack([rng.integers(-shape[b + j], shape[b + j], lead) for j in range(k)], -1).astype(np.int64)
    y = np.empty(lead + shape[b + k:], np.int32)
    for idx in np.ndindex(*lead):
        tup = tuple(int(v) for v in ind[idx])
        y[idx] = x[idx[:b] + tup]
    node = helper.make_node("GatherND", ["x", "i"], ["y"], batch_dims=b)
    write_case(root, f"test_rand_gather_nd_{i}", node, [("x", x), ("i", ind)], [("y", y)], 13)


def gen_scatter_elements(root, rng, i):
    shape = tuple(int(d) for d in rng.integers(1, 5, rng.integers(1, 4)))
    x = rng.integers(-9, 9, shape).astype(np.int64)
    axis = int(rng.integers(-len(shape), len(shape)))
    ishape = tuple(int(rng.integers(1, d + 1)) for d in shape)
    n = shape[axis]
    ind = rng.integers(-n, n, ishape).astype(np.int64)
    upd = rng.integers(-9, 9, ishape).astype(np.int64)
    red = str(rng.choice(["add", "mul"]))
    y = x.copy()
    for idx in np.ndindex(*ishape):
        t = list(idx)
        t[axis] = int(ind[idx]) % n
        y[tuple(t)] = y[tuple(t)] + upd[idx] if red == "add" else y[tuple(t)] * upd[idx]
    node = helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=axis, reduction=red)
    write_case(root, f"test_rand_scatter_elements_{i}", node, [("x", x), ("i", ind), ("u", upd)], [("y", y)], 16)


def gen_tile(root, rng, i):
    shape = tuple(int(d) for d in rng.integers(1, 4, rng.integers(1, 4)))
    x = rng.integers(0, 255, shape).astype(np.uint8)
    reps = rng.integers(0, 3, len(shape)).astype(np.int64)
    node = helper.make_node("Tile", ["x", "r"], ["y"])
    write_case(root, f"test_rand_tile_{i}", node, [("x", x)], [("y", np.tile(x, reps))], 13, [("r", reps)])


def gen_expand(root, rng, i):
    shape = tuple(int(d) for d in rng.integers(1, 4, rng.integers(1, 4)))
    x = rng.standard_normal(shape).astype(np.float16)
    extra = [int(d) for d in rng.integers(1, 4, rng.integers(0, 3))]
    target = extra + [d if d != 1 or rng.random() < 0.5 else int(rng.integers(1, 4)) for d in shape]
    target = [1 if rng.random() < 0.2 else t for t in target]
    y = x * np.ones(target, np.float16)
    node = helper.make_node("Expand", ["x", "s"], ["y"])
    write_case(root, f"test_rand_expand_{i}", node, [("x", x)], [("y", y)], 13, [("s", np.array(target, np.int64))])


def main():
    if len(sys.argv) not in (2, 3, 4):
        sys.exit(__doc__)
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    for gen in (gen_slice, gen_pad, gen_transpose, gen_gather, gen_gather_nd, gen_scatter_elements,
                gen_tile, gen_expand):
        for i in range(n):
            gen(root, rng, i)


if __name__ == "__main__":
    main()
