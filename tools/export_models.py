#!/usr/bin/python3
"""Exports the test models to ONNX with Debian's python3-torch (no downloads: random weights
from fixed seeds) and writes one deterministic input set per model.

Usage: /usr/bin/python3 tools/export_models.py OUTDIR [--bench] [--force]

Writes, for every model NAME and opset N:
  OUTDIR/NAME.opN.onnx          the model (default torch.onnx.export settings, eval mode)
  OUTDIR/NAME.inputs/INPUT.npy  its inputs, one file per graph input (shared by all opsets)
  OUTDIR/NAME.torch/OUTPUT.npy  PyTorch's own outputs for those inputs
Files that already exist are kept (delete them or pass --force to re-export).

Test models (opset 13 and the highest opset this torch exports, 17 for torch 1.13):
  resnet18      torchvision ResNet-18, input 1x3x224x224 float32
  mobilenet_v2  torchvision MobileNetV2, input 1x3x224x224 float32
  encoder       BERT-style encoder: int64 token ids 1x64 -> token + position embedding,
                4 post-norm TransformerEncoder layers (d_model 256, 4 heads, FFN 1024, GELU),
                final LayerNorm; outputs hidden 1x64x256 and logits 1x8 (classifier on token 0)
  yolo          YOLO-style detector, input 1x3x320x320 float32: Conv+BN+SiLU stem, C2f blocks,
                SPPF, nearest-upsample + concat neck, decoupled head decoded to
                boxes 1x2100x4 (xywh, pixels) and scores 1x2100x8 (sigmoid)
--bench adds larger shapes for speed measurements, opset 13 only (not used by the tests):
  resnet50, encoder_base (12 layers, d_model 768, 12 heads, FFN 3072, seq 128),
  yolo640 (the detector at 1x3x640x640).
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.onnx._constants as onnx_constants
import torchvision

TEST_OPSETS = (13, onnx_constants.ONNX_MAX_OPSET)
BENCH_OPSETS = (13,)


def conv_bn_silu(c_in, c_out, k=1, s=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False), nn.BatchNorm2d(c_out), nn.SiLU())


class Bottleneck(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1 = conv_bn_silu(c, c, 3)
        self.cv2 = conv_bn_silu(c, c, 3)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    """CSP block as in YOLOv8: split in two, run bottlenecks on one half, concat every stage."""

    def __init__(self, c_in, c_out, n=1):
        super().__init__()
        self.c = c_out // 2
        self.cv1 = conv_bn_silu(c_in, 2 * self.c)
        self.cv2 = conv_bn_silu((2 + n) * self.c, c_out)
        self.m = nn.ModuleList(Bottleneck(self.c) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.cv1 = conv_bn_silu(c_in, c_in // 2)
        self.cv2 = conv_bn_silu(c_in * 2, c_out)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.cv2(torch.cat([x, y1, y2, self.pool(y2)], 1))


class Detect(nn.Module):
    """Per-level box and class branches; boxes decoded against a constant grid (strides 8/16/32)."""

    def __init__(self, channels, n_classes, size):
        super().__init__()
        self.n_classes = n_classes
        self.box = nn.ModuleList(nn.Sequential(conv_bn_silu(c, 32, 3), nn.Conv2d(32, 4, 1)) for c in channels)
        self.cls = nn.ModuleList(nn.Sequential(conv_bn_silu(c, 32, 3), nn.Conv2d(32, n_classes, 1)) for c in channels)
        for i, stride in enumerate((8, 16, 32)):
            n = size // stride
            ys, xs = torch.meshgrid(torch.arange(n, dtype=torch.float32), torch.arange(n, dtype=torch.float32),
                                    indexing="ij")
            self.register_buffer(f"grid{i}", torch.stack([xs, ys], -1).reshape(1, n * n, 2))
        self.strides = (8.0, 16.0, 32.0)

    def forward(self, feats):
        boxes, scores = [], []
        for i, x in enumerate(feats):
            b = self.box[i](x).flatten(2).transpose(1, 2)
            c = self.cls[i](x).flatten(2).transpose(1, 2)
            grid = getattr(self, f"grid{i}")
            xy = (b[..., :2].sigmoid() * 2 - 0.5 + grid) * self.strides[i]
            wh = (b[..., 2:].sigmoid() * 2) ** 2 * self.strides[i] * 4
            boxes.append(torch.cat([xy, wh], -1))
            scores.append(c.sigmoid())
        return torch.cat(boxes, 1), torch.cat(scores, 1)


class TinyYolo(nn.Module):
    def __init__(self, size, n_classes=8):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_silu(3, 16, 3, 2), conv_bn_silu(16, 32, 3, 2), C2f(32, 32, 1))
        self.p3 = nn.Sequential(conv_bn_silu(32, 64, 3, 2), C2f(64, 64, 2))
        self.p4 = nn.Sequential(conv_bn_silu(64, 96, 3, 2), C2f(96, 96, 2))
        self.p5 = nn.Sequential(conv_bn_silu(96, 128, 3, 2), C2f(128, 128, 1), SPPF(128, 128))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.n4 = C2f(128 + 96, 96)
        self.n3 = C2f(96 + 64, 64)
        self.detect = Detect((64, 96, 128), n_classes, size)

    def forward(self, x):
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        n4 = self.n4(torch.cat([self.up(p5), p4], 1))
        n3 = self.n3(torch.cat([self.up(n4), p3], 1))
        return self.detect([n3, n4, p5])


class Encoder(nn.Module):
    def __init__(self, vocab, seq, d_model, heads, layers, n_classes=8):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.randn(1, seq, d_model) * 0.02)
        # Sequence-first layout keeps torch off its fused inference kernel, which does not export.
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, n_classes)
        self.reinit_layers()

    def reinit_layers(self):
        """TransformerEncoder deep-copies one layer, and the exporter then stores the identical
        weights once for all layers; real encoders have distinct weights per layer."""
        for layer in self.encoder.layers:
            layer.self_attn._reset_parameters()
            for m in (layer.linear1, layer.linear2, layer.self_attn.out_proj):
                m.reset_parameters()
            for norm in (layer.norm1, layer.norm2):
                norm.weight.data.copy_(1 + 0.1 * torch.randn(norm.normalized_shape))
                norm.bias.data.copy_(0.1 * torch.randn(norm.normalized_shape))

    def forward(self, ids):
        x = (self.tok(ids) + self.pos).transpose(0, 1)
        hidden = self.encoder(x).transpose(0, 1)
        return hidden, self.head(hidden[:, 0])


def randomize_batchnorm(model, gen):
    """Fresh BatchNorm layers are identities; give them real statistics so BN is exercised."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def image_input(shape, seed):
    rng = np.random.default_rng(seed)
    return {"input": rng.standard_normal(shape).astype(np.float32)}


def build(name):
    """Returns (model, inputs: dict name -> ndarray, output names)."""
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(99)
    if name in ("resnet18", "resnet50", "mobilenet_v2"):
        model = getattr(torchvision.models, name)(weights=None)
        randomize_batchnorm(model, gen)
        return model, image_input((1, 3, 224, 224), 1), ["logits"]
    if name in ("encoder", "encoder_base"):
        cfg = dict(vocab=1000, seq=64, d_model=256, heads=4, layers=4) if name == "encoder" else \
            dict(vocab=30522, seq=128, d_model=768, heads=12, layers=12)
        model = Encoder(**cfg)
        ids = np.random.default_rng(2).integers(0, cfg["vocab"], size=(1, cfg["seq"]), dtype=np.int64)
        return model, {"input_ids": ids}, ["hidden", "logits"]
    if name in ("yolo", "yolo640"):
        size = 320 if name == "yolo" else 640
        model = TinyYolo(size)
        randomize_batchnorm(model, gen)
        pixels = np.random.default_rng(3).random((1, 3, size, size), dtype=np.float32)
        return model, {"images": pixels}, ["boxes", "scores"]
    raise ValueError(name)


def save_arrays(directory, arrays, force):
    os.makedirs(directory, exist_ok=True)
    for key, value in arrays.items():
        path = os.path.join(directory, f"{key}.npy")
        if force or not os.path.exists(path):
            np.save(path, value)


def export(name, opsets, outdir, force):
    paths = {op: os.path.join(outdir, f"{name}.op{op}.onnx") for op in opsets}
    todo = [op for op in opsets if force or not os.path.exists(paths[op])]
    if not todo:
        print(f"{name}: cached")
        return
    model, inputs, out_names = build(name)
    model.eval()
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    with torch.no_grad():
        ref = model(*args)
    ref = ref if isinstance(ref, tuple) else (ref,)
    save_arrays(os.path.join(outdir, f"{name}.inputs"), inputs, force)
    save_arrays(os.path.join(outdir, f"{name}.torch"), dict(zip(out_names, (r.numpy() for r in ref))), force)
    for op in todo:
        tmp = paths[op] + ".tmp"
        torch.onnx.export(model, args, tmp, opset_version=op, input_names=list(inputs), output_names=out_names)
        os.replace(tmp, paths[op])
        print(f"{name}: wrote {paths[op]} ({os.path.getsize(paths[op]) / 1e6:.1f} MB)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outdir")
    p.add_argument("--bench", action="store_true", help="also export the larger benchmark models")
    p.add_argument("--force", action="store_true", help="re-export even if the files exist")
    args = p.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    # torch 1.13's exporter warns about its own internal constants on every model.
    warnings.simplefilter("ignore", UserWarning)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    for name in ("resnet18", "mobilenet_v2", "encoder", "yolo"):
        export(name, TEST_OPSETS, args.outdir, args.force)
    if args.bench:
        for name in ("resnet50", "encoder_base", "yolo640"):
            export(name, BENCH_OPSETS, args.outdir, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
