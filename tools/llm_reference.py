#!/usr/bin/python3
"""Independent PyTorch implementation of the llama/qwen2 forward pass over a GGUF file, the
oracle for edgerun's LLM runtime.

  llm_reference.py MODEL.gguf --tokens 1,2,3 [--compare LOGITS.f32 --tol 1e-3]
                   [--greedy N | --expect-greedy 5,6,7] [--act-quant]

Weights are dequantized in numpy. With --act-quant the activations entering each matmul are
rounded to the block format edgerun's integer kernels use (Q8_0 for Q8_0/Q4_0 weights, Q8_K
for K-quants), so a quantized model can be held to the same tolerance as F32.
"""
import argparse
import struct
import sys

import numpy as np
import torch

torch.set_num_threads(2)

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}
# ggml type: (block elements, block bytes)
_BLOCKS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 12: (256, 144), 14: (256, 210)}


def read_gguf(path):
    buf = memoryview(open(path, "rb").read())
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("<Q")
        s = bytes(buf[pos:pos + n]).decode("utf-8", errors="replace")
        pos += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            at, n = take("<I"), take("<Q")
            return [value(at) for _ in range(n)]
        return take(_SCALARS[t])

    assert bytes(buf[:4]) == b"GGUF", "not a GGUF file"
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    assert version in (2, 3)
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        infos.append((name, ne, take("<I"), take("<Q")))
    align = meta.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, ne, t, off in infos:
        blk, size = _BLOCKS[t]
        n = int(np.prod(ne))
        raw = np.frombuffer(buf, np.uint8, n // blk * size, base + off)
        tensors[name] = (dequantize(raw, t, n).reshape(list(reversed(ne))), t)
    return meta, tensors


def _f16(raw):
    return raw.copy().view(np.float16).astype(np.float32)


def dequantize(raw, t, n):
    if t == 0:
        return raw.view(np.float32).copy()
    if t == 1:
        return _f16(raw)
    if t == 30:
        return (raw.copy().view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    if t == 8:
        b = raw.reshape(-1, 34)
        return (_f16(b[:, :2]) * b[:, 2:].view(np.int8).astype(np.float32)).reshape(-1)
    if t == 2:
        b = raw.reshape(-1, 18)
        q = np.concatenate([b[:, 2:] & 15, b[:, 2:] >> 4], axis=1).astype(np.float32) - 8
        return (_f16(b[:, :2]) * q).reshape(-1)
    if t == 12:
        return _deq_q4_k(raw.reshape(-1, 144))
    if t == 14:
        return _deq_q6_k(raw.reshape(-1, 210))
    raise ValueError("type %d" % t)


def _deq_q4_k(b):
    d, dmin = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    s = b[:, 4:16].astype(np.int32)
    sc = np.empty((b.shape[0], 8), np.int32)
    m = np.empty((b.shape[0], 8), np.int32)
    sc[:, :4], m[:, :4] = s[:, 0:4] & 63, s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 15) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    qs = b[:, 16:].reshape(-1, 4, 32)
    q = np.stack([qs & 15, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
    return (d[:, :, None] * sc[:, :, None] * q - dmin[:, :, None] * m[:, :, None]).reshape(-1).astype(np.float32)


def _deq_q6_k(b):
    ql = b[:, :128].reshape(-1, 2, 64).astype(np.int32)
    qh = b[:, 128:192].reshape(-1, 2, 32).astype(np.int32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32)
    d = _f16(b[:, 208:210])
    q = np.empty((b.shape[0], 2, 4, 32), np.int32)
    q[:, :, 0] = (ql[:, :, :32] & 15) | (((qh >> 0) & 3) << 4)
    q[:, :, 1] = (ql[:, :, 32:] & 15) | (((qh >> 2) & 3) << 4)
    q[:, :, 2] = (ql[:, :, :32] >> 4) | (((qh >> 4) & 3) << 4)
    q[:, :, 3] = (ql[:, :, 32:] >> 4) | (((qh >> 6) & 3) << 4)
    q = (q - 32).reshape(-1, 16, 16).astype(np.float32)
    return (d[:, :, None] * sc[:, :, None] * q).reshape(-1)


def _round_away(x):
    return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)


def act_quant(x, wtype):
    """Rounds activations the way edgerun's integer kernels see them."""
    if wtype in (8, 2):
        blk, f16_scale = 32, True
    elif wtype in (12, 14):
        blk, f16_scale = 256, False
    else:
        return x
    shape = x.shape
    xb = x.reshape(-1, blk)
    d = xb.abs().amax(dim=1, keepdim=True) / 127.0
    inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(d))
    q = _round_away(xb * inv)
    if f16_scale:
        d = d.half().float()
    return (q * d).reshape(shape)


class Model:
    def __init__(self, path, emulate):
        self.meta, self.t = read_gguf(path)
        self.arch = self.meta["general.architecture"]
        g = lambda k, d=None: self.meta.get(self.arch + "." + k, d)
        self.dim, self.n_layer = g("embedding_length"), g("block_count")
        self.n_head = g("attention.head_count")
        self.n_kv = g("attention.head_count_kv", self.n_head)
        self.hd = self.dim // self.n_head
        self.eps = g("attention.layer_norm_rms_epsilon", 1e-5)
        self.base = g("rope.freq_base", 10000.0)
        self.neox = self.arch == "qwen2"
        self.emulate = emulate

    def w(self, name):
        return torch.from_numpy(np.ascontiguousarray(self.t[name][0]))

    def linear(self, x, name):
        wt = self.t[name][1]
        if self.emulate:
            x = act_quant(x, wt)
        y = x @ self.w(name).T
        b = name.replace(".weight", ".bias")
        return y + self.w(b) if b in self.t else y

    def norm(self, x, name):
        x64 = x.double()
        r = torch.rsqrt((x64 * x64).mean(-1, keepdim=True) + self.eps)
        return (x64 * r).float() * self.w(name)

    def rope(self, x, pos):
        # x: [T, heads, hd]
        half = self.hd // 2
        freq = self.base ** (-2.0 * np.arange(half) / self.hd)
        ang = torch.from_numpy(np.outer(pos, freq)).float()[:, None, :]
        cos, sin = torch.cos(ang), torch.sin(ang)
        if self.neox:
            a, b = x[..., :half], x[..., half:]
            return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).reshape(x.shape)

    def logits(self, tokens):
        T = len(tokens)
        x = self.w("token_embd.weight")[torch.tensor(tokens)]
        pos = np.arange(T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        rep = self.n_head // self.n_kv
        for i in range(self.n_layer):
            p = "blk.%d." % i
            h = self.norm(x, p + "attn_norm.weight")
            q = self.rope(self.linear(h, p + "attn_q.weight").view(T, self.n_head, self.hd), pos)
            k = self.rope(self.linear(h, p + "attn_k.weight").view(T, self.n_kv, self.hd), pos)
            v = self.linear(h, p + "attn_v.weight").view(T, self.n_kv, self.hd)
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            att = torch.einsum("thd,shd->hts", q, k) / np.sqrt(self.hd) + mask
            o = torch.einsum("hts,shd->thd", torch.softmax(att, dim=-1), v).reshape(T, self.dim)
            x = x + self.linear(o, p + "attn_output.weight")
            h = self.norm(x, p + "ffn_norm.weight")
            g = self.linear(h, p + "ffn_gate.weight")
            u = self.linear(h, p + "ffn_up.weight")
            x = x + self.linear(torch.nn.functional.silu(g) * u, p + "ffn_down.weight")
        out = "output.weight" if "output.weight" in self.t else "token_embd.weight"
        return self.linear(self.norm(x, "output_norm.weight"), out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--act-quant", action="store_true")
    ap.add_argument("--compare", help="raw float32 logits [n_tokens, n_vocab] from edgerun")
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--greedy", type=int, default=0)
    ap.add_argument("--expect-greedy", help="comma-separated token ids edgerun generated")
    a = ap.parse_args()
    m = Model(a.model, a.act_quant)
    toks = [int(t) for t in a.tokens.split(",")]
    ok = True
    with torch.no_grad():
        ref = m.logits(toks).numpy()
        if a.compare:
            got = np.fromfile(a.compare, np.float32).reshape(ref.shape)
            diff = float(np.abs(got - ref).max())
            print("logits max abs diff %.3g, mean %.3g (tol %g, logit range %.2f..%.2f)" % (
                diff, float(np.abs(got - ref).mean()), a.tol, ref.min(), ref.max()))
            ok &= diff <= a.tol
        if a.expect_greedy:
            # Teacher-forced: the reference scores edgerun's greedy sequence in one pass; each
            # chosen token must be the reference's argmax up to the logit tolerance.
            exp = [int(t) for t in a.expect_greedy.split(",")]
            lg = m.logits(toks + exp[:-1])[len(toks) - 1:].numpy()
            best = lg.max(axis=1)
            mine = lg[np.arange(len(exp)), exp]
            exact = int((lg.argmax(axis=1) == np.array(exp)).sum())
            worst = float((best - mine).max())
            agree = worst <= a.tol
            print("greedy %d tokens: %d are the reference argmax, the rest within %.3g of it (tol %g): %s" % (
                len(exp), exact, worst, a.tol, agree))
            ok &= agree
        elif a.greedy:
            seq = list(toks)
            for _ in range(a.greedy):
                seq.append(int(m.logits(seq)[-1].argmax()))
            print("greedy:", ",".join(map(str, seq[len(toks):])))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
