#!/usr/bin/python3
"""Writes the small ONNX fixtures that tests/test_onnx_loader.c reads (tests/fixtures/).

Run with Debian's python3-onnx: /usr/bin/python3 tools/make_loader_fixtures.py
The C test hard-codes the values below; change both together.
"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def typed(name, dtype, dims, field, values):
    """A TensorProto whose values sit in a typed field rather than raw_data."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    getattr(t, field).extend(values)
    return t


def basic_model():
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3])
    # Old exporters also list initializers as graph inputs; the loader must drop this one.
    w_in = helper.make_tensor_value_info("W", TensorProto.FLOAT, [3, 4])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 4])
    z = helper.make_tensor_value_info("Z", TensorProto.FLOAT, None)
    d = helper.make_tensor_value_info("D", TensorProto.FLOAT, [None, 3])
    inits = [
        helper.make_tensor("W", TensorProto.FLOAT, [3, 4],
                           np.arange(12, dtype=np.float32).tobytes(), raw=True),
        typed("B", TensorProto.FLOAT, [4], "float_data", [0.5, -1.0, 2.25, 3.0]),
        typed("i8", TensorProto.INT8, [3], "int32_data", [-128, -1, 127]),
        typed("h", TensorProto.FLOAT16, [2], "int32_data",
              [int(v) for v in np.array([1.5, -2.0], dtype=np.float16).view(np.uint16)]),
        typed("i64", TensorProto.INT64, [2], "int64_data", [-(2 ** 40), 7]),
        typed("f64", TensorProto.DOUBLE, [1], "double_data", [3.25]),
        typed("u32", TensorProto.UINT32, [2], "uint64_data", [4000000000, 1]),
        typed("flags", TensorProto.BOOL, [3], "int32_data", [1, 0, 1]),
        helper.make_tensor("scalar", TensorProto.INT32, [], [42]),
        helper.make_tensor("empty", TensorProto.FLOAT, [0, 5], []),
        helper.make_tensor("maxv", TensorProto.FLOAT, [], [6.0]),
    ]
    body = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["out"], name="inner")], "body", [],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
    custom = helper.make_node(
        "Custom", ["Y"], ["Z"], name="custom", domain="test.domain",
        alpha=0.5, axis=-2, mode="nearest",
        value=helper.make_tensor("v", TensorProto.INT64, [2], [7, -9]),
        scales=[1.5, 2.5], pads=[0, 1, -1], names=["a", "bc"],
        tlist=[helper.make_tensor("t0", TensorProto.FLOAT, [1], [9.5]),
               helper.make_tensor("t1", TensorProto.UINT8, [2], [3, 4])],
        body=body)
    # An empty list must load as an INTS attribute with zero elements.
    noints = onnx.AttributeProto()
    noints.name, noints.type = "noints", onnx.AttributeProto.INTS
    custom.attribute.append(noints)
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["XW"], name="mm"),
        helper.make_node("Add", ["XW", "B"], ["Y"], name="add"),
        custom,
        helper.make_node("Clip", ["X", "", "maxv"], ["C"], name="clip"),
        helper.make_node("Dropout", ["C"], ["D", ""], name="drop"),
        helper.make_node("Constant", [], ["K"], name="const",
                         value=helper.make_tensor("k", TensorProto.FLOAT, [2], [1.0, 2.0])),
    ]
    graph = helper.make_graph(nodes, "basic", [x, w_in], [y, z, d], inits,
                              value_info=[helper.make_tensor_value_info("XW", TensorProto.FLOAT, ["N", 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                   helper.make_opsetid("test.domain", 1)],
                             ir_version=8, producer_name="make_loader_fixtures")


def external_tensor(name, dtype, dims, location, offset, length):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            e = t.external_data.add()
            e.key, e.value = key, str(value)
    return t


def external_bin():
    """16 pad bytes, float32 [1,2,3,4] at 16, 3 pad bytes, int64 [10,-20,30] at 35
    (misaligned: must be copied), uint8 [1..5] at 59 to the end of the file (no length)."""
    b = bytes(16) + struct.pack("<4f", 1, 2, 3, 4) + bytes(3) + struct.pack("<3q", 10, -20, 30)
    return b + bytes([1, 2, 3, 4, 5])


def external_model(location, inits=None):
    if inits is None:
        inits = [external_tensor("ef", TensorProto.FLOAT, [2, 2], location, 16, 16),
                 external_tensor("ei", TensorProto.INT64, [3], location, 35, 24),
                 external_tensor("eu", TensorProto.UINT8, [5], location, 59, None)]
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 2])
    graph = helper.make_graph([helper.make_node("Identity", ["ef"], ["Y"])], "ext", [], [out], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def bad_rawsize_model():
    t = helper.make_tensor("W", TensorProto.FLOAT, [3, 4], np.zeros(12, np.float32).tobytes(), raw=True)
    t.raw_data = t.raw_data[:44]
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [3, 4])
    graph = helper.make_graph([helper.make_node("Identity", ["W"], ["Y"])], "bad", [], [out], [t])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def simple_model(nodes, inits=()):
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [], [out], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def deep_model(depth):
    """Graph attributes nested `depth` levels: beyond the loader's limit, must fail cleanly."""
    g = helper.make_graph([], "leaf", [], [])
    for i in range(depth):
        g = helper.make_graph([helper.make_node("If", ["c"], [], then_branch=g)], f"level{i}", [], [])
    return simple_model([helper.make_node("If", ["c"], ["Y"], then_branch=g)])


def refattr_model():
    node = helper.make_node("Elu", ["Y0"], ["Y"])
    a = onnx.AttributeProto()
    a.name, a.ref_attr_name, a.type = "alpha", "outer_alpha", onnx.AttributeProto.FLOAT
    node.attribute.append(a)
    return simple_model([node], [helper.make_tensor("Y0", TensorProto.FLOAT, [1], [1.0])])


def rank9_model():
    return simple_model([helper.make_node("Identity", ["Y0"], ["Y"])],
                        [helper.make_tensor("Y0", TensorProto.FLOAT, [1] * 9, [1.0])])


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "basic.onnx": basic_model().SerializeToString(),
        "external.onnx": external_model("external.bin").SerializeToString(),
        "external.bin": external_bin(),
        "external_missing.onnx": external_model("missing_weights.bin").SerializeToString(),
        "external_escape.onnx": external_model("../external.bin").SerializeToString(),
        "external_short.onnx": external_model("external.bin", [
            external_tensor("ef", TensorProto.FLOAT, [2, 2], "external.bin", 56, 16)]).SerializeToString(),
        "bad_rawsize.onnx": bad_rawsize_model().SerializeToString(),
        "deep.onnx": deep_model(40).SerializeToString(),
        "refattr.onnx": refattr_model().SerializeToString(),
        "rank9.onnx": rank9_model().SerializeToString(),
        "tensor_f16.pb": typed("half", TensorProto.FLOAT16, [2, 1], "int32_data",
                               [int(v) for v in np.array([0.25, -3.5], np.float16).view(np.uint16)]
                               ).SerializeToString(),
    }
    total = 0
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        total += len(data)
    print(f"wrote {len(files)} fixtures, {total} bytes, to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
