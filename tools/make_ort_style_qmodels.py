#!/usr/bin/python3
"""Writes small quantized ONNX models in the layouts ONNX Runtime's quantization tool emits,
with random weights from a fixed seed, and their float inputs; plus malformed QDQ models.

Usage: /usr/bin/python3 tools/make_ort_style_qmodels.py OUTDIR
  OUTDIR/NAME.onnx and OUTDIR/NAME.x.npy (and NAME.b.npy for two-input models) for
    qop_conv_matmul  QuantizeLinear -> QLinearConv -> Reshape -> QLinearMatMul -> DequantizeLinear
                     (QOperator format, uint8 activations, int8 per-tensor weights)
    qop_add          com.microsoft QLinearAdd with scalar scales
    dyn_matmul       DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul -> Mul -> Add
                     (what quantize_dynamic emits)
    dynq_zero        DynamicQuantizeLinear -> DequantizeLinear on an all-zero input (scale 0)
    qdq_conv_gemm    QDQ format: int8 weights per channel (DequantizeLinear axis=0), int32
                     bias, uint8 activations, Conv -> Relu -> Flatten -> Gemm
  outputs: the 8-bit tensor before the last DequantizeLinear (name ends in _u8) where there
  is one, and the float result `y`.
  OUTDIR/bad_*.onnx: a DequantizeLinear whose scale length disagrees with its axis, a zero
  point whose type differs from the quantized input, a zero scale.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

RNG = np.random.default_rng(20261123)


def init(name, a):
    return nh.from_array(np.asarray(a), name)


def save(out, name, nodes, inputs, outputs, inits, extra_opsets=()):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)] + list(extra_opsets), producer_name="onnx.quantization")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))


def qweight(shape, axis=None):
    w = RNG.normal(0, 0.3, shape).astype(np.float32)
    amax = np.abs(w).max() if axis is None else np.abs(w).reshape(shape[0], -1).max(1)
    s = (amax / 127).astype(np.float32)
    sb = s if axis is None else s.reshape((-1,) + (1,) * (len(shape) - 1))
    return np.clip(np.round(w / sb), -127, 127).astype(np.int8), s


def qop_conv_matmul(out):
    wc, sc = qweight((4, 3, 3, 3))
    wm, sm = qweight((64, 5))
    inits = [
        init("x_scale", np.float32(2.0 / 255)), init("x_zp", np.uint8(128)),
        init("wc", wc), init("wc_scale", np.float32(sc)), init("wc_zp", np.int8(0)),
        init("c_scale", np.float32(0.05)), init("c_zp", np.uint8(120)),
        init("bc", RNG.integers(-300, 300, 4).astype(np.int32)),
        init("shape", np.array([1, 64], np.int64)),
        init("wm", wm), init("wm_scale", np.float32(sm)), init("wm_zp", np.int8(0)),
        init("y_scale", np.float32(0.08)), init("y_zp", np.uint8(125)),
    ]
    nodes = [
        h.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"]),
        h.make_node("QLinearConv", ["xq", "x_scale", "x_zp", "wc", "wc_scale", "wc_zp", "c_scale", "c_zp", "bc"],
                    ["cq"], pads=[1, 1, 1, 1], strides=[2, 2]),
        h.make_node("Reshape", ["cq", "shape"], ["rq"]),
        h.make_node("QLinearMatMul", ["rq", "c_scale", "c_zp", "wm", "wm_scale", "wm_zp", "y_scale", "y_zp"], ["y_u8"]),
        h.make_node("DequantizeLinear", ["y_u8", "y_scale", "y_zp"], ["y"]),
    ]
    save(out, "qop_conv_matmul", nodes, [h.make_tensor_value_info("x", TP.FLOAT, [1, 3, 8, 8])],
         [h.make_tensor_value_info("y_u8", TP.UINT8, [1, 5]), h.make_tensor_value_info("y", TP.FLOAT, [1, 5])], inits)
    np.save(os.path.join(out, "qop_conv_matmul.x.npy"), RNG.uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32))


def qop_add(out):
    inits = [
        init("a_scale", np.float32(0.02)), init("a_zp", np.uint8(100)),
        init("b_scale", np.float32(0.03)), init("b_zp", np.uint8(140)),
        init("y_scale", np.float32(0.04)), init("y_zp", np.uint8(128)),
    ]
    nodes = [
        h.make_node("QuantizeLinear", ["x", "a_scale", "a_zp"], ["aq"]),
        h.make_node("QuantizeLinear", ["b", "b_scale", "b_zp"], ["bq"]),
        h.make_node("QLinearAdd", ["aq", "a_scale", "a_zp", "bq", "b_scale", "b_zp", "y_scale", "y_zp"], ["y_u8"],
                    domain="com.microsoft"),
        h.make_node("DequantizeLinear", ["y_u8", "y_scale", "y_zp"], ["y"]),
    ]
    shape = [2, 3, 5, 7]
    save(out, "qop_add", nodes,
         [h.make_tensor_value_info("x", TP.FLOAT, shape), h.make_tensor_value_info("b", TP.FLOAT, [5, 7])],
         [h.make_tensor_value_info("y_u8", TP.UINT8, shape), h.make_tensor_value_info("y", TP.FLOAT, shape)], inits,
         [h.make_opsetid("com.microsoft", 1)])
    np.save(os.path.join(out, "qop_add.x.npy"), RNG.uniform(-2, 3, shape).astype(np.float32))
    np.save(os.path.join(out, "qop_add.b.npy"), RNG.uniform(-4, 3, [5, 7]).astype(np.float32))


def dyn_matmul(out):
    w, s = qweight((16, 8))
    inits = [init("w_q", w), init("w_scale", np.float32(s)), init("w_zp", np.int8(0)),
             init("bias", RNG.normal(0, 0.5, 8).astype(np.float32))]
    nodes = [
        h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "x_scale", "x_zp"]),
        h.make_node("MatMulInteger", ["xq", "w_q", "x_zp", "w_zp"], ["acc"]),
        h.make_node("Cast", ["acc"], ["accf"], to=TP.FLOAT),
        h.make_node("Mul", ["x_scale", "w_scale"], ["scale"]),
        h.make_node("Mul", ["accf", "scale"], ["mm"]),
        h.make_node("Add", ["mm", "bias"], ["y"]),
    ]
    save(out, "dyn_matmul", nodes, [h.make_tensor_value_info("x", TP.FLOAT, [3, 4, 16])],
         [h.make_tensor_value_info("y", TP.FLOAT, [3, 4, 8])], inits)
    np.save(os.path.join(out, "dyn_matmul.x.npy"), RNG.normal(0, 1, (3, 4, 16)).astype(np.float32))


def dynq_zero(out):
    nodes = [
        h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "x_scale", "x_zp"]),
        h.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["y"]),
    ]
    save(out, "dynq_zero", nodes, [h.make_tensor_value_info("x", TP.FLOAT, [2, 3])],
         [h.make_tensor_value_info("y", TP.FLOAT, [2, 3])], [])
    np.save(os.path.join(out, "dynq_zero.x.npy"), np.zeros((2, 3), np.float32))


def qdq_conv_gemm(out):
    wc, sc = qweight((6, 3, 3, 3), axis=0)
    wg = RNG.normal(0, 0.2, (5, 6 * 4 * 4)).astype(np.float32)
    sg = (np.abs(wg).max(1) / 127).astype(np.float32)
    wgq = np.clip(np.round(wg / sg[:, None]), -127, 127).astype(np.int8)
    xs, ys = np.float32(2.0 / 255), np.float32(0.03)
    inits = [
        init("x_scale", xs), init("x_zp", np.uint8(128)),
        init("wc_q", wc), init("wc_scale", sc), init("wc_zp", np.zeros(6, np.int8)),
        init("bc_q", RNG.integers(-500, 500, 6).astype(np.int32)), init("bc_scale", (sc * xs).astype(np.float32)),
        init("bc_zp", np.zeros(6, np.int32)),
        init("r_scale", ys), init("r_zp", np.uint8(0)),
        init("wg_q", wgq), init("wg_scale", sg), init("wg_zp", np.zeros(5, np.int8)),
        init("bg", RNG.normal(0, 0.1, 5).astype(np.float32)),
        init("y_scale", np.float32(0.05)), init("y_zp", np.uint8(128)),
    ]
    nodes = [
        h.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["x_q"]),
        h.make_node("DequantizeLinear", ["x_q", "x_scale", "x_zp"], ["x_dq"]),
        h.make_node("DequantizeLinear", ["wc_q", "wc_scale", "wc_zp"], ["wc_dq"], axis=0),
        h.make_node("DequantizeLinear", ["bc_q", "bc_scale", "bc_zp"], ["bc_dq"], axis=0),
        h.make_node("Conv", ["x_dq", "wc_dq", "bc_dq"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        h.make_node("Relu", ["c"], ["r"]),
        h.make_node("QuantizeLinear", ["r", "r_scale", "r_zp"], ["r_q"]),
        h.make_node("DequantizeLinear", ["r_q", "r_scale", "r_zp"], ["r_dq"]),
        h.make_node("Flatten", ["r_dq"], ["f"]),
        h.make_node("DequantizeLinear", ["wg_q", "wg_scale", "wg_zp"], ["wg_dq"], axis=0),
        h.make_node("Gemm", ["f", "wg_dq", "bg"], ["g"], transB=1),
        h.make_node("QuantizeLinear", ["g", "y_scale", "y_zp"], ["y_u8"]),
        h.make_node("DequantizeLinear", ["y_u8", "y_scale", "y_zp"], ["y"]),
    ]
    save(out, "qdq_conv_gemm", nodes, [h.make_tensor_value_info("x", TP.FLOAT, [2, 3, 8, 8])],
         [h.make_tensor_value_info("y_u8", TP.UINT8, [2, 5]), h.make_tensor_value_info("y", TP.FLOAT, [2, 5])], inits)
    np.save(os.path.join(out, "qdq_conv_gemm.x.npy"), RNG.uniform(-1, 1, (2, 3, 8, 8)).astype(np.float32))


def bad_qdq(out, name, scale, zp, axis):
    """Conv fed by a DequantizeLinear weight with the given scale, zero point and axis."""
    w, _ = qweight((4, 3, 3, 3), axis=0)
    nodes = [
        h.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w"], axis=axis),
        h.make_node("Conv", ["x", "w"], ["y"]),
    ]
    g = h.make_graph(nodes, name, [h.make_tensor_value_info("x", TP.FLOAT, [1, 3, 5, 5])],
                     [h.make_tensor_value_info("y", TP.FLOAT, [1, 4, 3, 3])],
                     [init("w_q", w), init("w_scale", scale), init("w_zp", zp)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, os.path.join(out, name + ".onnx"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    qop_conv_matmul(out)
    qop_add(out)
    dyn_matmul(out)
    dynq_zero(out)
    qdq_conv_gemm(out)
    s3 = np.full(3, 0.01, np.float32)
    bad_qdq(out, "bad_scale_len", s3, np.zeros(3, np.int8), 0)
    bad_qdq(out, "bad_zp_type", np.full(4, 0.01, np.float32), np.zeros(4, np.uint8), 0)
    bad_qdq(out, "bad_zero_scale", np.array([0.01, 0.0, 0.01, 0.01], np.float32), np.zeros(4, np.int8), 0)
    np.save(os.path.join(out, "bad.x.npy"), np.ones((1, 3, 5, 5), np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
