#!/usr/bin/python3
"""Trains the small CNN used by the INT8 accuracy tests on scikit-learn's digits set
(1797 labelled 8x8 images, shipped by Debian's python3-sklearn), twice: in float32 and
with quantization-aware training (fake-quant), and exports both to ONNX.

Writes to models/digits/ (or --out):
  digits_fp32.onnx   the float model (input "x" [N,1,8,8] float32 in [0,1], output "logits")
  digits_qat.onnx    the QAT model exported as QuantizeLinear/DequantizeLinear pairs
  test_x.npy, test_y.npy   the held-out split (20 %, stratified, never trained on)
  calib_x.npy        128 training images for static calibration
  torch_accuracy.json      top-1 of both models as PyTorch evaluates them

Usage: /usr/bin/python3 tools/train_digits.py [--out DIR] [--epochs N]
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0


class DigitsNet(nn.Module):
    """Conv-ReLU x2, max-pool, a residual conv block (exercises Add), two linear layers."""

    def __init__(self, qat=False):
        super().__init__()
        self.quant = tq.QuantStub() if qat else nn.Identity()
        self.dequant = tq.DeQuantStub() if qat else nn.Identity()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.add = torch.nn.quantized.FloatFunctional()
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.conv1(x))
        x = self.pool(self.relu2(self.conv2(x)))
        x = self.add.add(x, self.relu3(self.conv3(x)))
        x = torch.flatten(x, 1)
        x = self.fc2(self.relu4(self.fc1(x)))
        return self.dequant(x)


def load_split():
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)


def train(model, x, y, epochs, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean() * 100.0)


def qat_config():
    """uint8 activations over the full [0, 255] range and symmetric per-channel int8 weights (zero point 0):
    the ranges ONNX QuantizeLinear can express (fbgemm's default reduces activations to 7 bits)."""
    act = tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                    dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    wt = tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-128,
                                   quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    return tq.QConfig(activation=act, weight=wt)


def export(model, path, opset):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 8, 8), path, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}, opset_version=opset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models", "digits"))
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    x_tr, x_te, y_tr, y_te = load_split()

    fp32 = DigitsNet()
    train(fp32, x_tr, y_tr, args.epochs, 1e-3)
    acc_fp32 = accuracy(fp32, x_te, y_te)
    export(fp32, os.path.join(args.out, "digits_fp32.onnx"), 13)

    qat = DigitsNet(qat=True)
    qat.load_state_dict(fp32.state_dict())
    qat.eval()
    qat = tq.fuse_modules_qat(qat, [["conv1", "relu1"], ["conv2", "relu2"], ["conv3", "relu3"], ["fc1", "relu4"]])
    qat.qconfig = qat_config()
    qat.train()
    tq.prepare_qat(qat, inplace=True)
    train(qat, x_tr, y_tr, max(args.epochs // 3, 1), 1e-4)
    qat.apply(tq.disable_observer)
    acc_qat = accuracy(qat, x_te, y_te)
    export(qat, os.path.join(args.out, "digits_qat.onnx"), 13)

    rng = np.random.default_rng(SEED)
    np.save(os.path.join(args.out, "test_x.npy"), x_te)
    np.save(os.path.join(args.out, "test_y.npy"), y_te)
    np.save(os.path.join(args.out, "calib_x.npy"), x_tr[rng.choice(len(x_tr), 128, replace=False)])
    result = {"fp32_top1": acc_fp32, "qat_fakequant_top1": acc_qat, "n_test": int(len(y_te)),
              "n_train": int(len(y_tr))}
    with open(os.path.join(args.out, "torch_accuracy.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
