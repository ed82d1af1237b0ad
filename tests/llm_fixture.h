/* Builds small GGUF files in memory for the LLM tests (no Python needed): a metadata/tensor
 * writer and a random-weight llama model with a tiny SentencePiece-style vocabulary. */
#ifndef ER_TESTS_LLM_FIXTURE_H
#define ER_TESTS_LLM_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/gguf.h"
#include "llm/quants.h"

typedef struct fx_buf {
    uint8_t *p;
    size_t n, cap;
} fx_buf;

static inline void fx_put(fx_buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 1024;
        b->p = realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}

static inline void fx_u32(fx_buf *b, uint32_t v) { fx_put(b, &v, 4); }
static inline void fx_u64(fx_buf *b, uint64_t v) { fx_put(b, &v, 8); }
static inline void fx_f32(fx_buf *b, float v) { fx_put(b, &v, 4); }
static inline void fx_str(fx_buf *b, const char *s) { fx_u64(b, strlen(s)); fx_put(b, s, strlen(s)); }

typedef struct fx_tensor {
    char name[64];
    int n_dims;
    int64_t ne[4];
    uint32_t type;
    uint8_t *data;
    size_t nbytes;
} fx_tensor;

/* A file being assembled: metadata goes straight into kv, tensors are kept until fx_finish. */
typedef struct fx_file {
    fx_buf kv;
    int n_kv;
    fx_tensor t[128];
    int n_t;
} fx_file;

static inline void fx_key(fx_file *f, const char *key, uint32_t type)
{
    fx_str(&f->kv, key);
    fx_u32(&f->kv, type);
    f->n_kv++;
}

static inline void fx_kv_u32(fx_file *f, const char *key, uint32_t v) { fx_key(f, key, ER_GGUF_U32); fx_u32(&f->kv, v); }
static inline void fx_kv_f32(fx_file *f, const char *key, float v) { fx_key(f, key, ER_GGUF_F32); fx_f32(&f->kv, v); }
static inline void fx_kv_str(fx_file *f, const char *key, const char *v) { fx_key(f, key, ER_GGUF_STRING); fx_str(&f->kv, v); }
static inline void fx_kv_bool(fx_file *f, const char *key, int v)
{
    uint8_t b = (uint8_t)v;
    fx_key(f, key, ER_GGUF_BOOL);
    fx_put(&f->kv, &b, 1);
}

static inline void fx_kv_strs(fx_file *f, const char *key, const char *const *v, int n)
{
    fx_key(f, key, ER_GGUF_ARRAY);
    fx_u32(&f->kv, ER_GGUF_STRING);
    fx_u64(&f->kv, (uint64_t)n);
    for (int i = 0; i < n; i++) fx_str(&f->kv, v[i]);
}

static inline void fx_kv_arr(fx_file *f, const char *key, uint32_t type, const void *v, int n)
{
    fx_key(f, key, ER_GGUF_ARRAY);
    fx_u32(&f->kv, type);
    fx_u64(&f->kv, (uint64_t)n);
    fx_put(&f->kv, v, (size_t)n * er_gguf_vtype_size(type));
}

/* Float data in numpy order (ne reversed); stored as `type`. */
static inline void fx_tensor_f(fx_file *f, const char *name, int n_dims, int64_t ne0, int64_t ne1, uint32_t type,
                        const float *x)
{
    fx_tensor *t = &f->t[f->n_t++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->ne[0] = ne0;
    t->ne[1] = n_dims > 1 ? ne1 : 1;
    t->type = type;
    size_t row = er_qtype_row_size(type, ne0);
    t->nbytes = row * (size_t)t->ne[1];
    t->data = malloc(t->nbytes);
    for (int64_t r = 0; r < t->ne[1]; r++) er_qtype_traits(type)->from_float(x + r * ne0, t->data + r * row, ne0);
}

/* Serializes to a malloc'd buffer (alignment 32). */
static inline uint8_t *fx_finish(fx_file *f, size_t *size)
{
    fx_buf b = {0};
    fx_put(&b, "GGUF", 4);
    fx_u32(&b, 3);
    fx_u64(&b, (uint64_t)f->n_t);
    fx_u64(&b, (uint64_t)f->n_kv);
    fx_put(&b, f->kv.p, f->kv.n);
    uint64_t off = 0;
    for (int i = 0; i < f->n_t; i++) {
        fx_str(&b, f->t[i].name);
        fx_u32(&b, (uint32_t)f->t[i].n_dims);
        for (int d = 0; d < f->t[i].n_dims; d++) fx_u64(&b, (uint64_t)f->t[i].ne[d]);
        fx_u32(&b, f->t[i].type);
        fx_u64(&b, off);
        off += (f->t[i].nbytes + 31) / 32 * 32;
    }
    static const uint8_t zeros[32];
    fx_put(&b, zeros, (32 - b.n % 32) % 32);
    for (int i = 0; i < f->n_t; i++) {
        fx_put(&b, f->t[i].data, f->t[i].nbytes);
        fx_put(&b, zeros, (32 - f->t[i].nbytes % 32) % 32);
        free(f->t[i].data);
    }
    free(f->kv.p);
    *size = b.n;
    return b.p;
}

static inline float fx_rand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return ((float)(*s >> 8) / (float)(1u << 24)) * 2.0f - 1.0f;
}

/* SentencePiece-style vocabulary: <unk> <s> </s>, 256 byte pieces, then pieces. */
/* merged pieces in merge order (best score first), then single characters */
static const char *const fx_pieces[] = {"he", "ll", "llo", "hello", "\xe2\x96\x81hello", "or", "\xe2\x96\x81w",
                                        "\xe2\x96\x81wor", "ld", "\xe2\x96\x81world", "\xe2\x96\x81", "a", "b",
                                        "c", "d", "e", "h", "l", "o", "r", "w"};

static inline int fx_vocab(fx_file *f, int n_vocab)
{
    static char names[1024][24];  /* "<pad%d>" of any int fits */
    const char *tok[1024];
    float score[1024];
    int32_t type[1024];
    int n = 0;
    tok[n] = "<unk>", type[n] = 2, score[n++] = 0;
    tok[n] = "<s>", type[n] = 3, score[n++] = 0;
    tok[n] = "</s>", type[n] = 3, score[n++] = 0;
    for (int i = 0; i < 256; i++) {
        snprintf(names[n], sizeof names[n], "<0x%02X>", i);
        tok[n] = names[n], type[n] = 6, score[n++] = 0;
    }
    for (size_t i = 0; i < sizeof fx_pieces / sizeof *fx_pieces; i++)
        tok[n] = fx_pieces[i], type[n] = 1, score[n] = -(float)i, n++;
    while (n < n_vocab) {
        snprintf(names[n], sizeof names[n], "<pad%d>", n);
        tok[n] = names[n], type[n] = 1, score[n++] = -1000;
    }
    fx_kv_str(f, "tokenizer.ggml.model", "llama");
    fx_kv_strs(f, "tokenizer.ggml.tokens", tok, n);
    fx_kv_arr(f, "tokenizer.ggml.scores", ER_GGUF_F32, score, n);
    fx_kv_arr(f, "tokenizer.ggml.token_type", ER_GGUF_I32, type, n);
    fx_kv_u32(f, "tokenizer.ggml.bos_token_id", 1);
    fx_kv_u32(f, "tokenizer.ggml.eos_token_id", 2);
    return n;
}

typedef struct fx_model_opts {
    uint32_t wtype;   /* type of the 2-D weights */
    int dim, n_layer, n_head, n_head_kv, ffn, n_vocab, n_ctx;
    unsigned seed;
} fx_model_opts;

static inline void fx_weights(fx_file *f, const char *name, int64_t cols, int64_t rows, uint32_t type, unsigned *seed,
                       float scale, float base)
{
    float *x = malloc((size_t)(cols * rows) * sizeof *x);
    for (int64_t i = 0; i < cols * rows; i++) x[i] = base + scale * fx_rand(seed);
    fx_tensor_f(f, name, rows > 1 ? 2 : 1, cols, rows, rows > 1 ? type : ER_Q_F32, x);
    free(x);
}

/* A random llama model; returns the serialized file. */
static inline uint8_t *fx_model(const fx_model_opts *o, size_t *size)
{
    fx_file f = {0};
    int hd = o->dim / o->n_head, kv = o->n_head_kv * hd;
    fx_kv_str(&f, "general.architecture", "llama");
    fx_kv_u32(&f, "llama.context_length", (uint32_t)o->n_ctx);
    fx_kv_u32(&f, "llama.embedding_length", (uint32_t)o->dim);
    fx_kv_u32(&f, "llama.block_count", (uint32_t)o->n_layer);
    fx_kv_u32(&f, "llama.feed_forward_length", (uint32_t)o->ffn);
    fx_kv_u32(&f, "llama.attention.head_count", (uint32_t)o->n_head);
    fx_kv_u32(&f, "llama.attention.head_count_kv", (uint32_t)o->n_head_kv);
    fx_kv_f32(&f, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    fx_vocab(&f, o->n_vocab);
    unsigned s = o->seed;
    float ws = 1.7f / sqrtf((float)o->dim);
    fx_weights(&f, "token_embd.weight", o->dim, o->n_vocab, o->wtype, &s, 1.0f, 0);
    fx_weights(&f, "output_norm.weight", o->dim, 1, ER_Q_F32, &s, 0.1f, 1.0f);
    fx_weights(&f, "output.weight", o->dim, o->n_vocab, o->wtype, &s, 4 * ws, 0);
    for (int l = 0; l < o->n_layer; l++) {
        char n[64];
#define FXW(suffix, cols, rows, sc, base) snprintf(n, sizeof n, "blk.%d." suffix, l); fx_weights(&f, n, cols, rows, o->wtype, &s, sc, base)
        FXW("attn_norm.weight", o->dim, 1, 0.1f, 1.0f);
        FXW("attn_q.weight", o->dim, o->dim, ws, 0);
        FXW("attn_k.weight", o->dim, kv, ws, 0);
        FXW("attn_v.weight", o->dim, kv, ws, 0);
        FXW("attn_output.weight", o->dim, o->dim, ws, 0);
        FXW("ffn_norm.weight", o->dim, 1, 0.1f, 1.0f);
        FXW("ffn_gate.weight", o->dim, o->ffn, ws, 0);
        FXW("ffn_up.weight", o->dim, o->ffn, ws, 0);
        FXW("ffn_down.weight", o->ffn, o->dim, 1.7f / sqrtf((float)o->ffn), 0);
#undef FXW
    }
    return fx_finish(&f, size);
}

static inline int fx_write(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

#endif
