#!/usr/bin/python3
"""Writes GGUF v3 files: Llama-family models with random (or given) weights, tokenizer
vocabularies trained on a text corpus, and ggml block quantization in numpy.

  gguf_writer.py random --shape stories15M --type q4_0 --out m.gguf [--arch qwen2] [--vocab bpe]

Shapes: tiny (fast tests), stories15M, tinyllama (TinyLlama-1.1B). Types: f32 f16 bf16 q8_0
q4_0 q4_k q6_k q4_k_m (Q4_K with Q6_K for output, some attn_v / ffn_down, as llama.cpp mixes).
"""
import argparse
import collections
import glob
import heapq
import os
import re
import struct
import sys
import zlib

import numpy as np

GGUF_MAGIC = b"GGUF"
ALIGN = 32

# metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
               BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}

# ggml tensor types
T_F32, T_F16, T_Q4_0, T_Q8_0, T_Q4_K, T_Q6_K, T_BF16 = 0, 1, 2, 8, 12, 14, 30
TYPE_IDS = {"f32": T_F32, "f16": T_F16, "bf16": T_BF16, "q8_0": T_Q8_0, "q4_0": T_Q4_0,
            "q4_k": T_Q4_K, "q6_k": T_Q6_K}
# (elements per block, bytes per block)
BLOCK = {T_F32: (1, 4), T_F16: (1, 2), T_BF16: (1, 2), T_Q8_0: (32, 34), T_Q4_0: (32, 18),
         T_Q4_K: (256, 144), T_Q6_K: (256, 210)}
# llama.cpp's general.file_type numbering
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7, "q4_k": 15, "q4_k_m": 15, "q6_k": 18,
             "bf16": 32}


def _f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def _bf16_bits(x):
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def quantize_q8_0(x):
    x = x.reshape(-1, 32)
    d = np.abs(x).max(axis=1) / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    q = np.round(x * inv[:, None]).astype(np.int8)
    out = np.empty((x.shape[0], 34), np.uint8)
    out[:, :2] = _f16(d).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def quantize_q4_0(x):
    x = x.reshape(-1, 32)
    idx = np.abs(x).argmax(axis=1)
    mx = x[np.arange(x.shape[0]), idx]
    d = mx / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.round(x * inv[:, None]) + 8, 0, 15).astype(np.uint8)
    out = np.empty((x.shape[0], 18), np.uint8)
    out[:, :2] = _f16(d).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def quantize_q4_k(x):
    x = x.reshape(-1, 8, 32)
    nb = x.shape[0]
    lo = np.minimum(x.min(axis=2), 0)
    hi = np.maximum(x.max(axis=2), 0)
    scale, off = (hi - lo) / 15.0, -lo
    d = _f16(scale.max(axis=1) / 63.0)
    dmin = _f16(off.max(axis=1) / 63.0)
    df, dmf = d.astype(np.float32)[:, None], dmin.astype(np.float32)[:, None]
    sc = np.clip(np.round(np.divide(scale, df, out=np.zeros_like(scale), where=df > 0)), 0, 63).astype(np.uint8)
    m = np.clip(np.round(np.divide(off, dmf, out=np.zeros_like(off), where=dmf > 0)), 0, 63).astype(np.uint8)
    ds = (df * sc)[:, :, None]
    q = np.divide(x + (dmf * m)[:, :, None], ds, out=np.zeros_like(x), where=ds > 0)
    q = np.clip(np.round(q), 0, 15).astype(np.uint8)
    scales = np.empty((nb, 12), np.uint8)
    scales[:, 0:4] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    scales[:, 4:8] = m[:, 0:4] | ((m[:, 4:8] >> 4) << 6)
    scales[:, 8:12] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    qs = (q[:, 0::2, :] | (q[:, 1::2, :] << 4)).reshape(nb, 128)
    out = np.empty((nb, 144), np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = dmin.view(np.uint8).reshape(-1, 2)
    out[:, 4:16] = scales
    out[:, 16:] = qs
    return out.tobytes()


def quantize_q6_k(x):
    x = x.reshape(-1, 16, 16)
    nb = x.shape[0]
    scale = np.abs(x).max(axis=2) / 31.0
    d = _f16(scale.max(axis=1) / 127.0)
    df = d.astype(np.float32)[:, None]
    sc = np.clip(np.round(np.divide(scale, df, out=np.zeros_like(scale), where=df > 0)), 0, 127).astype(np.int8)
    ds = (df * sc)[:, :, None]
    q = np.divide(x, ds, out=np.zeros_like(x), where=ds > 0)
    q = (np.clip(np.round(q), -32, 31) + 32).astype(np.uint8).reshape(nb, 2, 4, 32)
    ql = np.empty((nb, 2, 64), np.uint8)
    ql[:, :, :32] = (q[:, :, 0] & 15) | ((q[:, :, 2] & 15) << 4)
    ql[:, :, 32:] = (q[:, :, 1] & 15) | ((q[:, :, 3] & 15) << 4)
    qh = np.zeros((nb, 2, 32), np.uint8)
    for quarter in range(4):
        qh |= (q[:, :, quarter] >> 4) << (2 * quarter)
    out = np.empty((nb, 210), np.uint8)
    out[:, :128] = ql.reshape(nb, 128)
    out[:, 128:192] = qh.reshape(nb, 64)
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:] = d.view(np.uint8).reshape(-1, 2)
    return out.tobytes()


def encode_tensor(x, ttype):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if ttype == T_F32:
        return x.tobytes()
    if ttype == T_F16:
        return _f16(x).tobytes()
    if ttype == T_BF16:
        return _bf16_bits(x).tobytes()
    return {T_Q8_0: quantize_q8_0, T_Q4_0: quantize_q4_0, T_Q4_K: quantize_q4_k,
            T_Q6_K: quantize_q6_k}[ttype](x)


def tensor_nbytes(ne, ttype):
    blk, size = BLOCK[ttype]
    n = int(np.prod(ne))
    assert ne[0] % blk == 0, (ne, ttype)
    return n // blk * size


class GGUFWriter:
    """Collects metadata and tensor descriptions; tensor data comes from callables so large
    models are produced one tensor at a time."""

    def __init__(self):
        self.kv = []
        self.tensors = []

    def add(self, key, vtype, value, arr_type=None):
        self.kv.append((key, vtype, value, arr_type))

    def add_tensor(self, name, ne, ttype, produce):
        """ne: dims with the contiguous one first; produce() returns float32 data in numpy
        (row-major) order, i.e. shape reversed(ne)."""
        self.tensors.append((name, list(ne), ttype, produce))

    @staticmethod
    def _str(s):
        b = s.encode("utf-8") if isinstance(s, str) else s
        return struct.pack("<Q", len(b)) + b

    def _value(self, vtype, v, arr_type):
        if vtype == STRING:
            return self._str(v)
        if vtype == ARRAY:
            out = [struct.pack("<IQ", arr_type, len(v))]
            if arr_type == STRING:
                out += [self._str(s) for s in v]
            else:
                out.append(np.asarray(v, dtype=np.dtype(_SCALAR_FMT[arr_type][1:]).newbyteorder("<")).tobytes())
            return b"".join(out)
        return struct.pack(_SCALAR_FMT[vtype], v)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(GGUF_MAGIC + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv)))
            for key, vtype, value, arr_type in self.kv:
                f.write(self._str(key) + struct.pack("<I", vtype) + self._value(vtype, value, arr_type))
            offset = 0
            offsets = []
            for name, ne, ttype, _ in self.tensors:
                f.write(self._str(name) + struct.pack("<I", len(ne)))
                f.write(struct.pack("<%dQ" % len(ne), *ne) + struct.pack("<IQ", ttype, offset))
                offsets.append(offset)
                offset += (tensor_nbytes(ne, ttype) + ALIGN - 1) // ALIGN * ALIGN
            f.write(b"\0" * (-f.tell() % ALIGN))
            base = f.tell()
            for (name, ne, ttype, produce), off in zip(self.tensors, offsets):
                data = encode_tensor(produce(), ttype)
                assert len(data) == tensor_nbytes(ne, ttype), name
                f.write(b"\0" * (base + off - f.tell()))
                f.write(data)
            f.write(b"\0" * (-f.tell() % ALIGN))


# ---- tokenizer vocabularies ---------------------------------------------------------------

TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6
LLAMA2_TEMPLATE = ("{% for message in messages %}{% if message['role'] == 'user' %}"
                   "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"
                   "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}")
CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                   "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def default_corpus():
    """Text that Debian ships: the fortunes package when installed, else the licenses."""
    files = sorted(f for f in glob.glob("/usr/share/games/fortunes/*") if "." not in os.path.basename(f))
    if not files:
        files = sorted(glob.glob("/usr/share/common-licenses/*"))
    text = []
    for f in files:
        if os.path.isfile(f):
            with open(f, encoding="utf-8", errors="ignore") as fh:
                text.append(fh.read())
    return "\n".join(text)


def bytes_to_unicode():
    """GPT-2's reversible map of bytes onto printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping, extra = {}, 0
    for b in range(256):
        if b in keep:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def train_merges(words, n_merges):
    """Byte-pair merges over a {tuple of symbols: count} table. Pair counts live in a heap
    with lazy invalidation, and a merge revisits only the words containing the pair."""
    words = [(list(w), c) for w, c in words.items()]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, (w, c) in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += c
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while heap and len(merges) < n_merges:
        negc, best = heapq.heappop(heap)
        if pairs.get(best, 0) != -negc:
            continue
        if -negc < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        touched = set()
        for i in where.pop(best, ()):
            w, c = words[i]
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] -= c
                touched.add((a, b))
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == best[0] and w[j + 1] == best[1]:
                    out.append(joined)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = (out, c)
            for a, b in zip(out, out[1:]):
                pairs[(a, b)] += c
                where[(a, b)].add(i)
                touched.add((a, b))
        for p in touched:
            if pairs[p] > 0:
                heapq.heappush(heap, (-pairs[p], p))
            else:
                del pairs[p]
    return merges


def spm_vocab(text, n_vocab, n_merges):
    """SentencePiece-style vocabulary: <unk>, <s>, </s>, 256 byte pieces, characters and
    merged pieces scored by merge order."""
    norm = "\u2581" + text.replace(" ", "\u2581").replace("\n", "\u2581")
    counts = collections.Counter(re.findall("\u2581?[^\u2581]+", norm)[:200000])
    chars = collections.Counter()
    for w, c in counts.items():
        for ch in w:
            chars[ch] += c
    merges = train_merges({tuple(w): c for w, c in counts.items()}, n_merges)
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL] + [TOKEN_BYTE] * 256
    scores = [0.0] * len(tokens)
    seen = set(tokens)
    for i, (a, b) in enumerate(merges):
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
            types.append(TOKEN_NORMAL)
            scores.append(-float(i))
    for ch, _ in chars.most_common(300):
        if ch not in seen:
            tokens.append(ch)
            seen.add(ch)
            types.append(TOKEN_NORMAL)
            scores.append(-1e6)
    return _pad(tokens, types, scores, n_vocab), None


def bpe_vocab(text, n_vocab, n_merges):
    """Byte-level BPE vocabulary (GPT-2 style) with ChatML special tokens."""
    b2u = bytes_to_unicode()
    pieces = re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", text)[:200000]
    counts = collections.Counter("".join(b2u[b] for b in p.encode("utf-8")) for p in pieces)
    merges = train_merges({tuple(w): c for w, c in counts.items()}, n_merges)
    tokens = [b2u[b] for b in range(256)]
    seen = set(tokens)
    kept = []
    for a, b in merges:
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
            kept.append(a + " " + b)
    types = [TOKEN_NORMAL] * len(tokens)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    n_pad = n_vocab - len(tokens) - len(specials)
    assert n_pad >= 0, "vocabulary too small for the merges"
    tokens += ["<unused%d>" % i for i in range(n_pad)] + specials
    types += [TOKEN_NORMAL] * n_pad + [TOKEN_CONTROL] * len(specials)
    return (tokens, types, [0.0] * len(tokens)), kept


def _pad(tokens, types, scores, n_vocab):
    assert len(tokens) <= n_vocab, "vocabulary larger than requested"
    n_pad = n_vocab - len(tokens)
    return (tokens + ["<unused%d>" % i for i in range(n_pad)], types + [TOKEN_NORMAL] * n_pad,
            scores + [-1e9] * n_pad)


def add_tokenizer(w, kind, n_vocab, text=None, n_merges=None, arch="llama"):
    text = default_corpus() if text is None else text
    n_merges = n_merges or min(n_vocab // 2, 3000)
    if kind == "spm":
        (tokens, types, scores), _ = spm_vocab(text, n_vocab, n_merges)
        w.add("tokenizer.ggml.model", STRING, "llama")
        w.add("tokenizer.ggml.tokens", ARRAY, tokens, STRING)
        w.add("tokenizer.ggml.scores", ARRAY, scores, F32)
        w.add("tokenizer.ggml.token_type", ARRAY, types, I32)
        w.add("tokenizer.ggml.bos_token_id", U32, 1)
        w.add("tokenizer.ggml.eos_token_id", U32, 2)
        w.add("tokenizer.ggml.unknown_token_id", U32, 0)
        w.add("tokenizer.ggml.add_bos_token", BOOL, True)
        w.add("tokenizer.ggml.add_eos_token", BOOL, False)
        w.add("tokenizer.chat_template", STRING, LLAMA2_TEMPLATE)
    else:
        (tokens, types, _), merges = bpe_vocab(text, n_vocab, n_merges)
        eot = tokens.index("<|endoftext|>")
        w.add("tokenizer.ggml.model", STRING, "gpt2")
        w.add("tokenizer.ggml.pre", STRING, "qwen2" if arch == "qwen2" else "llama-bpe")
        w.add("tokenizer.ggml.tokens", ARRAY, tokens, STRING)
        w.add("tokenizer.ggml.token_type", ARRAY, types, I32)
        w.add("tokenizer.ggml.merges", ARRAY, merges, STRING)
        w.add("tokenizer.ggml.bos_token_id", U32, eot)
        w.add("tokenizer.ggml.eos_token_id", U32, tokens.index("<|im_end|>"))
        w.add("tokenizer.ggml.add_bos_token", BOOL, arch != "qwen2")
        w.add("tokenizer.chat_template", STRING, CHATML_TEMPLATE)


# ---- models -------------------------------------------------------------------------------

SHAPES = {
    "tiny": dict(dim=256, n_layer=2, n_head=4, n_head_kv=2, ffn=512, n_vocab=1024, ctx=512),
    "stories15M": dict(dim=288, n_layer=6, n_head=6, n_head_kv=6, ffn=768, n_vocab=32000, ctx=256),
    "tinyllama": dict(dim=2048, n_layer=22, n_head=32, n_head_kv=4, ffn=5632, n_vocab=32000, ctx=2048),
}


def tensor_type(name, qtype, cols, layer, n_layer):
    """ggml type for a 2-D weight under a file type (1-D tensors are always f32)."""
    if qtype == "q4_k_m":
        more_bits = layer is not None and (layer < n_layer // 8 or layer >= 7 * n_layer // 8 or
                                           (layer - n_layer // 8) % 3 == 2)
        if name == "output.weight" or (more_bits and name.split(".")[-2] in ("attn_v", "ffn_down")):
            t = T_Q6_K
        else:
            t = T_Q4_K
    else:
        t = TYPE_IDS[qtype]
    blk = BLOCK[t][0]
    if cols % blk:
        t = T_Q8_0 if cols % 32 == 0 else T_F16
    return t


def add_model(w, cfg, qtype, arch, weights, tied=False, rope_base=10000.0):
    """weights(name, shape) returns float32 numpy data of that (row-major) shape."""
    dim, nl, nh, nkv, ffn, nv = (cfg[k] for k in ("dim", "n_layer", "n_head", "n_head_kv", "ffn", "n_vocab"))
    hd = dim // nh
    w.add("general.architecture", STRING, arch)
    w.add("general.name", STRING, cfg.get("name", "edgerun-test"))
    w.add("general.file_type", U32, FILE_TYPE[qtype])
    w.add("general.alignment", U32, ALIGN)
    w.add(arch + ".context_length", U32, cfg["ctx"])
    w.add(arch + ".embedding_length", U32, dim)
    w.add(arch + ".block_count", U32, nl)
    w.add(arch + ".feed_forward_length", U32, ffn)
    w.add(arch + ".rope.dimension_count", U32, hd)
    w.add(arch + ".attention.head_count", U32, nh)
    w.add(arch + ".attention.head_count_kv", U32, nkv)
    w.add(arch + ".attention.layer_norm_rms_epsilon", F32, 1e-5)
    w.add(arch + ".rope.freq_base", F32, rope_base)

    def mat(name, rows, cols, layer=None):
        w.add_tensor(name, [cols, rows], tensor_type(name, qtype, cols, layer, nl),
                     lambda: weights(name, (rows, cols)))

    def vec(name, n):
        w.add_tensor(name, [n], T_F32, lambda: weights(name, (n,)))

    mat("token_embd.weight", nv, dim)
    vec("output_norm.weight", dim)
    if not tied:
        mat("output.weight", nv, dim)
    for i in range(nl):
        p = "blk.%d." % i
        vec(p + "attn_norm.weight", dim)
        mat(p + "attn_q.weight", dim, dim, i)
        mat(p + "attn_k.weight", nkv * hd, dim, i)
        mat(p + "attn_v.weight", nkv * hd, dim, i)
        if arch == "qwen2":
            vec(p + "attn_q.bias", dim)
            vec(p + "attn_k.bias", nkv * hd)
            vec(p + "attn_v.bias", nkv * hd)
        mat(p + "attn_output.weight", dim, dim, i)
        vec(p + "ffn_norm.weight", dim)
        mat(p + "ffn_gate.weight", ffn, dim, i)
        mat(p + "ffn_up.weight", ffn, dim, i)
        mat(p + "ffn_down.weight", dim, ffn, i)


def random_weights(seed, dim):
    """Scales chosen so activations keep unit size and logits are peaked (std ~4), which keeps
    greedy decoding away from near-ties."""
    def make(name, shape):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        if len(shape) == 1:
            base = 1.0 if name.endswith("norm.weight") else 0.0
            return (base + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
        if name == "token_embd.weight":
            return rng.standard_normal(shape, dtype=np.float32)
        scale = 4.0 if name == "output.weight" else 1.0
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(scale / np.sqrt(shape[1]))
    return make


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("random", help="random-weight model")
    r.add_argument("--shape", default="tiny", choices=SHAPES)
    r.add_argument("--type", default="f32", choices=list(TYPE_IDS) + ["q4_k_m"])
    r.add_argument("--arch", default="llama", choices=["llama", "qwen2"])
    r.add_argument("--vocab", default="spm", choices=["spm", "bpe"])
    r.add_argument("--layers", type=int, help="override the layer count")
    r.add_argument("--tied", action="store_true", help="no output.weight (tied embeddings)")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--out", required=True)
    a = ap.parse_args()
    cfg = dict(SHAPES[a.shape])
    if a.layers:
        cfg["n_layer"] = a.layers
    w = GGUFWriter()
    add_model(w, cfg, a.type, a.arch, random_weights(a.seed, cfg["dim"]), tied=a.tied,
              rope_base=1000000.0 if a.arch == "qwen2" else 10000.0)
    add_tokenizer(w, a.vocab, cfg["n_vocab"], arch=a.arch)
    w.write(a.out)


if __name__ == "__main__":
    sys.exit(main())
