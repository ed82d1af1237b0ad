#!/usr/bin/python3
"""Trains a tiny Llama-architecture model on the fortune cookies of Debian's `fortunes`
package (/usr/share/games/fortunes) and writes it as GGUF with a SentencePiece-style
vocabulary, so edgerun can be seen producing readable text.

  train_tiny_llm.py --out models/tiny-fortunes.gguf [--seconds 240]

The run is bounded by wall time (CPU, PyTorch); the seed makes the data order reproducible.
"""
import argparse
import glob
import heapq
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402

SPACE = "\u2581"


def load_text():
    if not glob.glob("/usr/share/games/fortunes/*"):
        print("warning: the fortunes package is not installed; training on the license texts", file=sys.stderr)
    text = gw.default_corpus()
    # fortune files separate entries with lines holding "%"
    entries = [e.strip() for e in text.replace("\r", "").split("\n%\n") if e.strip()]
    return "\n\n".join(entries)


class SpmEncoder:
    """The same score-ordered pair merging as edgerun's tokenizer, cached per word."""

    def __init__(self, tokens, scores):
        self.id = {t: i for i, t in enumerate(tokens)}
        self.score = scores
        self.cache = {}

    def word(self, w):
        if w in self.cache:
            return self.cache[w]
        syms = list(w)
        heap = []

        def push(i):
            if i + 1 < len(syms) and syms[i] is not None:
                j = i + 1
                while j < len(syms) and syms[j] is None:
                    j += 1
                if j < len(syms):
                    t = self.id.get(syms[i] + syms[j])
                    if t is not None:
                        heapq.heappush(heap, (-self.score[t], i, j, syms[i] + syms[j]))

        for i in range(len(syms)):
            push(i)
        while heap:
            _, i, j, merged = heapq.heappop(heap)
            if syms[i] is None or syms[j] is None or syms[i] + syms[j] != merged:
                continue
            syms[i], syms[j] = merged, None
            push(i)
            k = i - 1
            while k >= 0 and syms[k] is None:
                k -= 1
            if k >= 0:
                push(k)
        out = []
        for s in syms:
            if s is None:
                continue
            if s in self.id:
                out.append(self.id[s])
            else:
                out += [self.id["<0x%02X>" % b] for b in s.encode("utf-8")]
        self.cache[w] = out
        return out

    def encode(self, text):
        norm = SPACE + text.replace(" ", SPACE)
        ids, start = [], 0
        for k in range(1, len(norm) + 1):
            if k == len(norm) or norm[k] == SPACE:
                ids += self.word(norm[start:k])
                start = k
        return ids


class Block(torch.nn.Module):
    def __init__(self, dim, n_head, ffn):
        super().__init__()
        self.n_head, self.hd = n_head, dim // n_head
        self.attn_norm = torch.nn.Parameter(torch.ones(dim))
        self.ffn_norm = torch.nn.Parameter(torch.ones(dim))
        self.wq, self.wk, self.wv, self.wo = (torch.nn.Linear(dim, dim, bias=False) for _ in range(4))
        self.gate = torch.nn.Linear(dim, ffn, bias=False)
        self.up = torch.nn.Linear(dim, ffn, bias=False)
        self.down = torch.nn.Linear(ffn, dim, bias=False)

    @staticmethod
    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def rope(self, x, cos, sin):
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)

    def forward(self, x, cos, sin):
        B, T, D = x.shape
        h = self.norm(x, self.attn_norm)
        q = self.rope(self.wq(h).view(B, T, self.n_head, self.hd), cos, sin).transpose(1, 2)
        k = self.rope(self.wk(h).view(B, T, self.n_head, self.hd), cos, sin).transpose(1, 2)
        v = self.wv(h).view(B, T, self.n_head, self.hd).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        o = torch.softmax(att, dim=-1) @ v
        x = x + self.wo(o.transpose(1, 2).reshape(B, T, D))
        h = self.norm(x, self.ffn_norm)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Tiny(torch.nn.Module):
    def __init__(self, vocab, dim, n_layer, n_head, ffn, ctx):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, dim)
        torch.nn.init.normal_(self.emb.weight, std=0.02)
        self.blocks = torch.nn.ModuleList(Block(dim, n_head, ffn) for _ in range(n_layer))
        self.out_norm = torch.nn.Parameter(torch.ones(dim))
        hd = dim // n_head
        ang = np.outer(np.arange(ctx), 10000.0 ** (-2.0 * np.arange(hd // 2) / hd))
        self.register_buffer("cos", torch.tensor(np.cos(ang), dtype=torch.float32)[None, :, None, :])
        self.register_buffer("sin", torch.tensor(np.sin(ang), dtype=torch.float32)[None, :, None, :])

    def forward(self, idx):
        T = idx.shape[1]
        x = self.emb(idx)
        for b in self.blocks:
            x = b(x, self.cos[:, :T], self.sin[:, :T])
        return Block.norm(x, self.out_norm) @ self.emb.weight.T   # tied embeddings


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=240)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=384)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--seq", type=int, default=96)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)
    text = load_text()
    (tokens, types, scores), _ = gw.spm_vocab(text, a.vocab, a.vocab - 259 - 120)
    enc = SpmEncoder(tokens, scores)
    data = torch.tensor(enc.encode(text[:1500000]), dtype=torch.long)
    print("corpus %d chars, %d tokens" % (len(text), len(data)), file=sys.stderr)
    model = Tiny(len(tokens), a.dim, a.layers, a.heads, a.ffn, a.ctx)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(a.seed)
    t0, step = time.time(), 0
    while time.time() - t0 < a.seconds:
        lr = 3e-3 * min(1.0, (step + 1) / 50) * max(0.1, 1 - (time.time() - t0) / a.seconds)
        for pg in opt.param_groups:
            pg["lr"] = lr
        ix = torch.randint(len(data) - a.seq - 1, (a.batch,), generator=g)
        x = torch.stack([data[i:i + a.seq] for i in ix])
        y = torch.stack([data[i + 1:i + a.seq + 1] for i in ix])
        loss = F.cross_entropy(model(x).view(-1, len(tokens)), y.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print("step %d loss %.3f (%.0fs)" % (step, loss.item(), time.time() - t0), file=sys.stderr)
        step += 1
    print("final loss %.3f after %d steps" % (loss.item(), step), file=sys.stderr)
    write(a, model, tokens, types, scores)


def write(a, model, tokens, types, scores):
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    w = gw.GGUFWriter()
    cfg = dict(dim=a.dim, n_layer=a.layers, n_head=a.heads, n_head_kv=a.heads, ffn=a.ffn,
               n_vocab=len(tokens), ctx=a.ctx, name="tiny-fortunes")
    names = {"token_embd.weight": "emb.weight", "output_norm.weight": "out_norm"}
    for i in range(a.layers):
        for gg, tt in (("attn_norm", "attn_norm"), ("ffn_norm", "ffn_norm"), ("attn_q", "wq.weight"),
                       ("attn_k", "wk.weight"), ("attn_v", "wv.weight"), ("attn_output", "wo.weight"),
                       ("ffn_gate", "gate.weight"), ("ffn_up", "up.weight"), ("ffn_down", "down.weight")):
            names["blk.%d.%s.weight" % (i, gg)] = "blocks.%d.%s" % (i, tt)
    gw.add_model(w, cfg, "f32", "llama", lambda name, shape: sd[names[name]].reshape(shape), tied=True)
    w.add("tokenizer.ggml.model", gw.STRING, "llama")
    w.add("tokenizer.ggml.tokens", gw.ARRAY, tokens, gw.STRING)
    w.add("tokenizer.ggml.scores", gw.ARRAY, scores, gw.F32)
    w.add("tokenizer.ggml.token_type", gw.ARRAY, types, gw.I32)
    w.add("tokenizer.ggml.bos_token_id", gw.U32, 1)
    w.add("tokenizer.ggml.eos_token_id", gw.U32, 2)
    w.add("tokenizer.ggml.unknown_token_id", gw.U32, 0)
    w.add("tokenizer.ggml.add_bos_token", gw.BOOL, True)
    w.add("tokenizer.chat_template", gw.STRING, gw.LLAMA2_TEMPLATE)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    w.write(a.out)
    print("wrote %s (%.1f MB)" % (a.out, os.path.getsize(a.out) / 1e6), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
