#include "llm/model.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- loading ------------------------------------------------------------------------- */

typedef struct loader {
    er_gguf *g;
    er_llm_model *m;
    char arch[32];
    char *err;
    size_t err_size;
} loader;

static bool meta_int(loader *L, const char *suffix, int64_t *v, bool required, int64_t def)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->arch, suffix);
    if (er_gguf_get_int(L->g, key, v)) return true;
    if (required) {
        er_fail(L->err, L->err_size, ER_ERR_FORMAT, "gguf: missing or non-integer metadata '%s'", key);
        return false;
    }
    *v = def;
    return true;
}

static float meta_float(loader *L, const char *suffix, float def)
{
    char key[128];
    double v;
    snprintf(key, sizeof key, "%s.%s", L->arch, suffix);
    return er_gguf_get_float(L->g, key, &v) ? (float)v : def;
}

static er_status load_config(loader *L)
{
    er_llm_config *c = &L->m->cfg;
    er_gguf_str a;
    if (!er_gguf_get_str(L->g, "general.architecture", &a))
        return er_fail(L->err, L->err_size, ER_ERR_FORMAT, "gguf: missing metadata 'general.architecture'");
    snprintf(L->arch, sizeof L->arch, "%.*s", (int)ER_MIN(a.n, 31), a.s);
    if (er_gguf_str_eq(a, "llama")) {
        c->arch = ER_LLM_ARCH_LLAMA;
    } else if (er_gguf_str_eq(a, "qwen2")) {
        c->arch = ER_LLM_ARCH_QWEN2;
        c->rope_neox = true;
    } else {
        return er_fail(L->err, L->err_size, ER_ERR_UNSUPPORTED,
                       "unsupported architecture '%.*s' (supported: llama, qwen2)",
                       (int)ER_MIN(a.n, 64), a.s);
    }
    int64_t dim, n_layer, n_head, n_head_kv, ffn, n_ctx, rope_dim;
    if (!meta_int(L, "embedding_length", &dim, true, 0) || !meta_int(L, "block_count", &n_layer, true, 0) ||
        !meta_int(L, "attention.head_count", &n_head, true, 0) ||
        !meta_int(L, "feed_forward_length", &ffn, true, 0) ||
        !meta_int(L, "attention.head_count_kv", &n_head_kv, false, n_head) ||
        !meta_int(L, "context_length", &n_ctx, false, 2048))
        return ER_ERR_FORMAT;
    if (dim <= 0 || dim > 65536 || n_layer <= 0 || n_layer > 1024 || n_head <= 0 || dim % n_head ||
        n_head_kv <= 0 || n_head % n_head_kv || ffn <= 0 || ffn > 1 << 20 || n_ctx <= 0)
        return er_fail(L->err, L->err_size, ER_ERR_FORMAT,
                       "gguf: inconsistent hyper-parameters (dim %lld, layers %lld, heads %lld/%lld, ffn %lld)",
                       (long long)dim, (long long)n_layer, (long long)n_head, (long long)n_head_kv,
                       (long long)ffn);
    c->dim = (int)dim;
    c->n_layer = (int)n_layer;
    c->n_head = (int)n_head;
    c->n_head_kv = (int)n_head_kv;
    c->head_dim = (int)(dim / n_head);
    c->ffn = (int)ffn;
    c->n_ctx_train = (int)ER_MIN(n_ctx, 1 << 20);
    if (c->head_dim % 2)
        return er_fail(L->err, L->err_size, ER_ERR_FORMAT, "gguf: head size %d is odd", c->head_dim);
    if (!meta_int(L, "rope.dimension_count", &rope_dim, false, c->head_dim)) return ER_ERR_FORMAT;
    if (rope_dim != c->head_dim)
        return er_fail(L->err, L->err_size, ER_ERR_UNSUPPORTED,
                       "partial rotary embeddings (%lld of %d dims) are not supported",
                       (long long)rope_dim, c->head_dim);
    c->rms_eps = meta_float(L, "attention.layer_norm_rms_epsilon", 1e-5f);
    c->rope_base = meta_float(L, "rope.freq_base", 10000.0f);
    return ER_OK;
}

static const er_gguf_tensor *find_tensor(loader *L, const char *name, bool required)
{
    const er_gguf_tensor *t = er_gguf_find_tensor(L->g, name);
    if (!t && required)
        er_fail(L->err, L->err_size, ER_ERR_FORMAT, "gguf: missing tensor '%s'", name);
    return t;
}

static er_status load_weight(loader *L, const char *name, int64_t cols, int64_t rows, er_llm_weight *w)
{
    const er_gguf_tensor *t = find_tensor(L, name, true);
    if (!t) return ER_ERR_FORMAT;
    if (t->n_dims != 2 || t->ne[0] != cols || t->ne[1] != rows)
        return er_fail(L->err, L->err_size, ER_ERR_SHAPE,
                       "gguf: tensor '%s' is [%lld, %lld], expected [%lld, %lld]", name,
                       (long long)t->ne[0], (long long)t->ne[1], (long long)cols, (long long)rows);
    w->type = t->type;
    w->cols = cols;
    w->rows = rows;
    w->data = t->data;
    w->row_bytes = er_qtype_row_size(t->type, cols);
    if (!L->m->kern->vec_dot[t->type])
        return er_fail(L->err, L->err_size, ER_ERR_UNSUPPORTED, "tensor '%s': type %s cannot be used as a weight",
                       name, er_qtype_name(t->type));
    return ER_OK;
}

/* Vectors (norms, biases) are used as f32; other types are converted once at load. */
static er_status load_vector(loader *L, const char *name, int64_t n, bool required, const float **out)
{
    *out = NULL;
    const er_gguf_tensor *t = find_tensor(L, name, required);
    if (!t) return required ? ER_ERR_FORMAT : ER_OK;
    if (t->ne[0] != n || t->ne[1] * t->ne[2] * t->ne[3] != 1)
        return er_fail(L->err, L->err_size, ER_ERR_SHAPE, "gguf: tensor '%s' has %lld elements, expected %lld",
                       name, (long long)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]), (long long)n);
    if (t->type == ER_Q_F32 && ((uintptr_t)t->data & 3) == 0) {
        *out = t->data;
        return ER_OK;
    }
    float *v = malloc((size_t)n * sizeof *v);
    float **owned = realloc(L->m->owned, (size_t)(L->m->n_owned + 1) * sizeof *owned);
    if (!v || !owned) {
        free(v);
        if (owned) L->m->owned = owned;
        return er_fail(L->err, L->err_size, ER_ERR_NOMEM, "out of memory loading '%s'", name);
    }
    L->m->owned = owned;
    owned[L->m->n_owned++] = v;
    er_qtype_traits(t->type)->to_float(t->data, v, n);
    *out = v;
    return ER_OK;
}

static er_status load_layer(loader *L, int i, er_llm_layer *ly)
{
    const er_llm_config *c = &L->m->cfg;
    int64_t kv_dim = (int64_t)c->n_head_kv * c->head_dim;
    char n[96];
    er_status st;
#define W(suffix, cols, rows, dst) \
    snprintf(n, sizeof n, "blk.%d." suffix, i); \
    if ((st = load_weight(L, n, cols, rows, dst)) != ER_OK) return st;
#define V(suffix, len, req, dst) \
    snprintf(n, sizeof n, "blk.%d." suffix, i); \
    if ((st = load_vector(L, n, len, req, dst)) != ER_OK) return st;
    V("attn_norm.weight", c->dim, true, &ly->attn_norm);
    V("ffn_norm.weight", c->dim, true, &ly->ffn_norm);
    W("attn_q.weight", c->dim, c->dim, &ly->wq);
    W("attn_k.weight", c->dim, kv_dim, &ly->wk);
    W("attn_v.weight", c->dim, kv_dim, &ly->wv);
    W("attn_output.weight", c->dim, c->dim, &ly->wo);
    W("ffn_gate.weight", c->dim, c->ffn, &ly->w_gate);
    W("ffn_up.weight", c->dim, c->ffn, &ly->w_up);
    W("ffn_down.weight", c->ffn, c->dim, &ly->w_down);
    bool bias = c->arch == ER_LLM_ARCH_QWEN2;
    V("attn_q.bias", c->dim, bias, &ly->bq);
    V("attn_k.bias", kv_dim, bias, &ly->bk);
    V("attn_v.bias", kv_dim, bias, &ly->bv);
#undef W
#undef V
    return ER_OK;
}

static er_status load_weights(loader *L)
{
    er_llm_model *m = L->m;
    er_llm_config *c = &m->cfg;
    const er_gguf_tensor *emb = find_tensor(L, "token_embd.weight", true);
    if (!emb) return ER_ERR_FORMAT;
    if (emb->n_dims != 2 || emb->ne[0] != c->dim || emb->ne[1] > (1 << 24))
        return er_fail(L->err, L->err_size, ER_ERR_SHAPE, "gguf: token_embd.weight must be [%d, n_vocab]", c->dim);
    c->n_vocab = (int)emb->ne[1];
    er_status st = load_weight(L, "token_embd.weight", c->dim, c->n_vocab, &m->tok_embd);
    if (st != ER_OK) return st;
    if (er_gguf_find_tensor(L->g, "output.weight"))
        st = load_weight(L, "output.weight", c->dim, c->n_vocab, &m->output);
    else
        m->output = m->tok_embd;
    if (st != ER_OK) return st;
    if ((st = load_vector(L, "output_norm.weight", c->dim, true, &m->output_norm)) != ER_OK) return st;
    if ((st = load_vector(L, "rope_freqs.weight", c->head_dim / 2, false, &m->rope_freqs)) != ER_OK)
        return st;
    m->layers = calloc((size_t)c->n_layer, sizeof *m->layers);
    if (!m->layers) return er_fail(L->err, L->err_size, ER_ERR_NOMEM, "out of memory");
    for (int i = 0; i < c->n_layer; i++)
        if ((st = load_layer(L, i, &m->layers[i])) != ER_OK) return st;
    return ER_OK;
}

bool er_llm_weight_pack(const er_qkernels *k, er_llm_weight *w)
{
    if (!k->repack[w->type] || w->rows % ER_PACK_ROWS || w->cols % ER_QK) return true;
    w->group_bytes = k->packed_group_bytes[w->type](w->cols);
    w->packed = er_aligned_alloc((size_t)(w->rows / ER_PACK_ROWS) * w->group_bytes);
    if (!w->packed) return false;
    for (int64_t g = 0; g < w->rows / ER_PACK_ROWS; g++)
        k->repack[w->type](w->data + (size_t)g * ER_PACK_ROWS * w->row_bytes, w->row_bytes, w->cols,
                           w->packed + (size_t)g * w->group_bytes);
    return true;
}

/* Drops the mapped pages that lie wholly inside a repacked tensor, so the weights are not
 * resident twice, not even while loading (they fault back in from the file if read). */
static void drop_pages(const er_llm_weight *w)
{
    uintptr_t page = 4096, a = (uintptr_t)w->data, e = a + (uintptr_t)w->rows * w->row_bytes;
    a = (a + page - 1) & ~(page - 1);
    e &= ~(page - 1);
    if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
}

/* Packed copies replace the file's weights for every matmul; the embedding table is still
 * read from the mapping by row. */
static er_status pack_weights(er_llm_model *m, char *err, size_t err_size)
{
    bool ok = true, mapped = m->gguf->map.data != NULL;
    for (int i = 0; ok && i < m->cfg.n_layer; i++) {
        er_llm_layer *ly = &m->layers[i];
        er_llm_weight *ws[] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->w_gate, &ly->w_up, &ly->w_down};
        for (size_t j = 0; ok && j < ER_ARRAY_LEN(ws); j++) {
            ok = er_llm_weight_pack(m->kern, ws[j]);
            if (ok && ws[j]->packed && mapped) drop_pages(ws[j]);
        }
    }
    if (ok) ok = er_llm_weight_pack(m->kern, &m->output);
    if (!ok) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory repacking the weights");
    if (m->output.packed && mapped && m->output.data != m->tok_embd.data) drop_pages(&m->output);
    return ER_OK;
}

er_status er_llm_model_load(er_gguf *g, er_llm_model **out, char *err, size_t err_size)
{
    *out = NULL;
    er_llm_model *m = calloc(1, sizeof *m);
    if (!m) {
        er_gguf_free(g);
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    }
    m->gguf = g;
    m->kern = er_qkernels_get();
    loader L = {g, m, "", err, err_size};
    er_status st = load_config(&L);
    if (st == ER_OK) st = load_weights(&L);
    if (st == ER_OK) st = pack_weights(m, err, err_size);
    if (st != ER_OK) {
        er_llm_model_free(m);
        return st;
    }
    *out = m;
    return ER_OK;
}

static void free_packed(er_llm_weight *w)
{
    er_aligned_free(w->packed);
    w->packed = NULL;
}

void er_llm_model_free(er_llm_model *m)
{
    if (!m) return;
    if (m->output.packed != m->tok_embd.packed) free_packed(&m->output);
    free_packed(&m->tok_embd);
    for (int i = 0; m->layers && i < m->cfg.n_layer; i++) {
        er_llm_layer *ly = &m->layers[i];
        er_llm_weight *ws[] = {&ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->w_gate, &ly->w_up, &ly->w_down};
        for (size_t j = 0; j < ER_ARRAY_LEN(ws); j++) free_packed(ws[j]);
    }
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    er_gguf_free(m->gguf);
    free(m);
}

/* ---- state --------------------------------------------------------------------------- */

struct er_llm_state {
    int n_ctx, n_batch, n_threads;
    size_t kv_bytes;
    float *k_cache, *v_cache;   /* [layer][pos][kv_dim] */
    float *x, *xn, *q, *k, *v, *att, *h1, *h2;
    float *scores;              /* [thread][n_ctx] */
    void *act;                  /* quantized activations */
    er_packed_act *pact;        /* per token views into act for packed weights */
};

/* Every weight type's activation format takes at most 4 bytes per element. */
static size_t max_act_bytes(int64_t cols) { return (size_t)cols * 4 + 512; }

er_status er_llm_state_create(const er_llm_model *m, int n_ctx, int n_batch, int n_threads,
                              er_llm_state **out, char *err, size_t err_size)
{
    *out = NULL;
    const er_llm_config *c = &m->cfg;
    if (n_ctx <= 0 || n_batch <= 0 || n_threads <= 0)
        return er_fail(err, err_size, ER_ERR_INVALID_ARG, "context, batch and threads must be positive");
    er_llm_state *s = calloc(1, sizeof *s);
    if (!s) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    s->n_threads = n_threads;
    size_t kv_dim = (size_t)c->n_head_kv * c->head_dim;
    size_t cache = (size_t)c->n_layer * (size_t)n_ctx * kv_dim * sizeof(float);
    size_t B = (size_t)n_batch;
    s->kv_bytes = 2 * cache;
    s->k_cache = er_aligned_alloc(cache);
    s->v_cache = er_aligned_alloc(cache);
    s->x = er_aligned_alloc(B * (size_t)c->dim * 4);
    s->xn = er_aligned_alloc(B * (size_t)c->dim * 4);
    s->q = er_aligned_alloc(B * (size_t)c->dim * 4);
    s->att = er_aligned_alloc(B * (size_t)c->dim * 4);
    s->k = er_aligned_alloc(B * kv_dim * 4);
    s->v = er_aligned_alloc(B * kv_dim * 4);
    s->h1 = er_aligned_alloc(B * (size_t)c->ffn * 4);
    s->h2 = er_aligned_alloc(B * (size_t)c->ffn * 4);
    s->scores = er_aligned_alloc((size_t)n_threads * (size_t)n_ctx * 4);
    s->act = er_aligned_alloc(B * max_act_bytes(ER_MAX(c->dim, c->ffn)));
    s->pact = calloc(B, sizeof *s->pact);
    if (!s->k_cache || !s->v_cache || !s->x || !s->xn || !s->q || !s->att || !s->k || !s->v ||
        !s->h1 || !s->h2 || !s->scores || !s->act || !s->pact) {
        er_llm_state_free(s);
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory for a %d-token context (%.1f MiB KV cache)",
                       n_ctx, 2.0 * (double)cache / (1 << 20));
    }
    *out = s;
    return ER_OK;
}

void er_llm_state_free(er_llm_state *s)
{
    if (!s) return;
    er_aligned_free(s->k_cache);
    er_aligned_free(s->v_cache);
    er_aligned_free(s->x);
    er_aligned_free(s->xn);
    er_aligned_free(s->q);
    er_aligned_free(s->att);
    er_aligned_free(s->k);
    er_aligned_free(s->v);
    er_aligned_free(s->h1);
    er_aligned_free(s->h2);
    er_aligned_free(s->scores);
    er_aligned_free(s->act);
    free(s->pact);
    free(s);
}

int er_llm_state_ctx(const er_llm_state *s) { return s->n_ctx; }

size_t er_llm_state_kv_bytes(const er_llm_state *s) { return s->kv_bytes; }

/* ---- matmul -------------------------------------------------------------------------- */

size_t er_llm_act_row_bytes(const er_llm_weight *w)
{
    if (w->packed) {
        size_t n = (size_t)w->cols * 2 + (size_t)(w->cols / ER_QK) * 8;
        return (n + 63) & ~(size_t)63;
    }
    uint32_t at = er_qtype_traits(w->type)->vec_dot_type;
    return er_qtype_row_size(at, w->cols);
}

/* Weights whose activations are prepared alike can share one preparation. */
static int act_format(const er_llm_weight *w)
{
    return w->packed ? -1 : (int)er_qtype_traits(w->type)->vec_dot_type;
}

typedef struct mm_ctx {
    const er_qkernels *k;
    const er_llm_weight *w;
    const uint8_t *act;
    size_t act_stride;
    const er_packed_act *pact;
    int n_tok;
    float *y;
    bool accumulate;
} mm_ctx;

static void store(const mm_ctx *c, int t, int64_t r, float v)
{
    float *dst = &c->y[(int64_t)t * c->w->rows + r];
    *dst = c->accumulate ? *dst + v : v;
}

/* Rows are taken four at a time so a block of weights stays in L1 while every token of the
 * batch is multiplied with it. */
static void mm_rows(void *vctx, int64_t r0, int64_t r1, int tid)
{
    (void)tid;
    const mm_ctx *c = vctx;
    const er_llm_weight *w = c->w;
    er_vec_dot_fn dot = c->k->vec_dot[w->type];
    void (*dot4)(int64_t, const void *, size_t, const void *, float *) = c->k->vec_dot_x4[w->type];
    int64_t r = r0;
    void (*gemm4)(int64_t, const void *, size_t, const void *, size_t, int, float *, int64_t, int) =
        c->k->gemm_x4[w->type];
    if (gemm4 && c->n_tok > 1) {
        for (; r + 4 <= r1; r += 4)
            gemm4(w->cols, w->data + r * w->row_bytes, w->row_bytes, c->act, c->act_stride, c->n_tok, c->y + r,
                  w->rows, c->accumulate);
    }
    if (dot4 && c->n_tok > 1) {
        for (; r + 4 <= r1; r += 4) {
            const uint8_t *wr = w->data + r * w->row_bytes;
            for (int t = 0; t < c->n_tok; t++) {
                float o[4];
                dot4(w->cols, wr, w->row_bytes, c->act + t * c->act_stride, o);
                for (int i = 0; i < 4; i++) store(c, t, r + i, o[i]);
            }
        }
    }
    for (; r < r1; r++)
        for (int t = 0; t < c->n_tok; t++)
            store(c, t, r, dot(w->cols, w->data + r * w->row_bytes, c->act + t * c->act_stride));
}

static void mm_groups(void *vctx, int64_t g0, int64_t g1, int tid)
{
    (void)tid;
    const mm_ctx *c = vctx;
    const er_llm_weight *w = c->w;
    for (int64_t g = g0; g < g1; g++)
        c->k->gemm_packed[w->type](w->cols, w->packed + (size_t)g * w->group_bytes, c->pact, c->n_tok,
                                   c->y + g * ER_PACK_ROWS, w->rows, c->accumulate);
}

typedef struct prep_ctx {
    const er_qkernels *k;
    const er_llm_weight *w;
    const float *x;
    uint8_t *act;
    size_t stride;
    er_packed_act *pact;
} prep_ctx;

/* The packed kernels read plain arrays: the Q8_0 quants (signed and offset to unsigned),
 * block scales and block sums, all from the reference quantizer so both paths round alike. */
static void prep_packed_row(const float *x, int64_t cols, uint8_t *base, er_packed_act *pa)
{
    int64_t nb = cols / ER_QK;
    int8_t *q = (int8_t *)base;
    uint8_t *uq = base + cols;
    float *d = (float *)(base + 2 * cols);
    int32_t *sum = (int32_t *)(d + nb);
    for (int64_t b = 0; b < nb; b++) {
        er_block_q8_0 blk;
        er_quantize_row_q8_0(x + b * ER_QK, &blk, ER_QK);
        d[b] = er_f16_to_f32(blk.d);
        int s = 0;
        for (int i = 0; i < ER_QK; i++) {
            q[b * ER_QK + i] = blk.qs[i];
            uq[b * ER_QK + i] = (uint8_t)(blk.qs[i] + 128);
            s += blk.qs[i];
        }
        sum[b] = s;
    }
    *pa = (er_packed_act){q, uq, d, sum};
}

static void prep_rows(void *vctx, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const prep_ctx *c = vctx;
    const er_llm_weight *w = c->w;
    for (int64_t t = t0; t < t1; t++) {
        if (w->packed) {
            prep_packed_row(c->x + t * w->cols, w->cols, c->act + t * c->stride, &c->pact[t]);
        } else {
            uint32_t at = er_qtype_traits(w->type)->vec_dot_type;
            c->k->quantize_act[at](c->x + t * w->cols, c->act + t * c->stride, w->cols);
        }
    }
}

static void quantize_act(const er_qkernels *k, er_threadpool *pool, const er_llm_weight *w,
                         const float *x, int n_tok, void *act, er_packed_act *pact)
{
    prep_ctx pc = {k, w, x, act, er_llm_act_row_bytes(w), pact};
    er_parallel_for(pool, n_tok, 4, prep_rows, &pc);
}

#define MM_MAX_PARTS 3
/* Rows claimed at a time: small enough that threads finish within microseconds of each other
 * (a straggler makes the others sleep and pay a wake-up), large enough to stream. */
#define MM_CHUNK_ROWS 32

/* Weights applied to the same prepared activations, walked as one range of rows that the
 * threads claim chunk by chunk. */
typedef struct mm_multi_ctx {
    mm_ctx part[MM_MAX_PARTS];
    int n;
    int64_t rows;
    atomic_llong next;
} mm_multi_ctx;

/* A packed group belongs to the chunk holding its first row, so chunks split groups exactly. */
static void mm_multi_chunk(const mm_multi_ctx *c, int64_t r0, int64_t r1, int tid)
{
    int64_t base = 0;
    for (int i = 0; i < c->n; i++) {
        const mm_ctx *p = &c->part[i];
        int64_t a = ER_MAX(r0 - base, 0), b = ER_MIN(r1 - base, p->w->rows);
        base += p->w->rows;
        if (a >= b) continue;
        if (p->w->packed)
            mm_groups((void *)p, (a + ER_PACK_ROWS - 1) / ER_PACK_ROWS, (b + ER_PACK_ROWS - 1) / ER_PACK_ROWS, tid);
        else
            mm_rows((void *)p, a, b, tid);
    }
}

static void mm_multi_worker(void *vctx, int64_t t0, int64_t t1, int tid)
{
    (void)t0;
    (void)t1;
    mm_multi_ctx *c = vctx;
    for (;;) {
        int64_t r0 = atomic_fetch_add_explicit(&c->next, MM_CHUNK_ROWS, memory_order_relaxed);
        if (r0 >= c->rows) return;
        mm_multi_chunk(c, r0, ER_MIN(r0 + MM_CHUNK_ROWS, c->rows), tid);
    }
}

/* One parallel pass over all of ws (which share act's format): for a single token each
 * matmul is short, so fewer hand-offs between threads matter. */
static void matmul_multi(const er_qkernels *k, er_threadpool *pool, const er_llm_weight *const *ws,
                         float *const *ys, int n, const void *act, const er_packed_act *pact, int n_tok,
                         bool accumulate)
{
    mm_multi_ctx c = {.n = n};
    for (int i = 0; i < n; i++) {
        c.part[i] = (mm_ctx){k, ws[i], act, er_llm_act_row_bytes(ws[i]), pact, n_tok, ys[i], accumulate};
        c.rows += ws[i]->rows;
    }
    atomic_init(&c.next, 0);
    int workers = (int)ER_MIN(er_threadpool_size(pool), (c.rows + MM_CHUNK_ROWS - 1) / MM_CHUNK_ROWS);
    er_parallel_for(pool, workers, 1, mm_multi_worker, &c);
}

static void matmul_quantized(const er_qkernels *k, er_threadpool *pool, const er_llm_weight *w,
                             const void *act, const er_packed_act *pact, int n_tok, float *y, bool accumulate)
{
    matmul_multi(k, pool, &w, &y, 1, act, pact, n_tok, accumulate);
}

void er_llm_matmul(const er_qkernels *k, er_threadpool *pool, const er_llm_weight *w,
                   const float *x, int n_tok, float *y, bool accumulate, void *act, er_packed_act *pact)
{
    quantize_act(k, pool, w, x, n_tok, act, pact);
    matmul_quantized(k, pool, w, act, pact, n_tok, y, accumulate);
}

/* ---- forward ------------------------------------------------------------------------- */

static void rmsnorm(float *y, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
}

static void rope(const er_llm_model *m, float *v, int n_heads, int pos)
{
    const er_llm_config *c = &m->cfg;
    int half = c->head_dim / 2;
    for (int i = 0; i < half; i++) {
        float freq = powf(c->rope_base, -2.0f * (float)i / (float)c->head_dim);
        if (m->rope_freqs) freq /= m->rope_freqs[i];
        float theta = (float)pos * freq;
        float cs = cosf(theta), sn = sinf(theta);
        for (int h = 0; h < n_heads; h++) {
            float *p = v + h * c->head_dim;
            int a = c->rope_neox ? i : 2 * i, b = c->rope_neox ? i + half : 2 * i + 1;
            float x0 = p[a], x1 = p[b];
            p[a] = x0 * cs - x1 * sn;
            p[b] = x0 * sn + x1 * cs;
        }
    }
}

typedef struct attn_ctx {
    const er_llm_model *m;
    er_llm_state *s;
    int layer, pos, n_tok;
} attn_ctx;

static void attn_one(const attn_ctx *a, int t, int h, float *sc)
{
    const er_llm_config *c = &a->m->cfg;
    int hd = c->head_dim, kv_dim = c->n_head_kv * hd;
    int kvh = h / (c->n_head / c->n_head_kv);
    int n_pos = a->pos + t + 1;
    const float *q = a->s->q + (size_t)t * c->dim + h * hd;
    size_t base = (size_t)a->layer * a->s->n_ctx * kv_dim + (size_t)kvh * hd;
    const float *kc = a->s->k_cache + base, *vc = a->s->v_cache + base;
    float scale = 1.0f / sqrtf((float)hd), mx = -INFINITY;
    for (int p = 0; p < n_pos; p++) {
        const float *k = kc + (size_t)p * kv_dim;
        float d = 0;
        for (int i = 0; i < hd; i++) d += q[i] * k[i];
        sc[p] = d * scale;
        mx = fmaxf(mx, sc[p]);
    }
    float sum = 0;
    for (int p = 0; p < n_pos; p++) {
        sc[p] = expf(sc[p] - mx);
        sum += sc[p];
    }
    float *o = a->s->att + (size_t)t * c->dim + h * hd;
    memset(o, 0, (size_t)hd * sizeof *o);
    for (int p = 0; p < n_pos; p++) {
        const float *v = vc + (size_t)p * kv_dim;
        float wgt = sc[p] / sum;
        for (int i = 0; i < hd; i++) o[i] += wgt * v[i];
    }
}

static void attn_range(void *vctx, int64_t i0, int64_t i1, int tid)
{
    const attn_ctx *a = vctx;
    float *sc = a->s->scores + (size_t)tid * a->s->n_ctx;
    for (int64_t i = i0; i < i1; i++) attn_one(a, (int)(i / a->m->cfg.n_head), (int)(i % a->m->cfg.n_head), sc);
}

static void add_bias(float *y, const float *b, int n_tok, int n)
{
    if (!b) return;
    for (int t = 0; t < n_tok; t++)
        for (int i = 0; i < n; i++) y[(size_t)t * n + i] += b[i];
}

static void attention_block(const er_llm_model *m, er_llm_state *s, er_threadpool *pool, int l,
                            int n, int pos)
{
    const er_llm_config *c = &m->cfg;
    const er_llm_layer *ly = &m->layers[l];
    const er_qkernels *k = m->kern;
    int kv_dim = c->n_head_kv * c->head_dim;
    for (int t = 0; t < n; t++)
        rmsnorm(s->xn + (size_t)t * c->dim, s->x + (size_t)t * c->dim, ly->attn_norm, c->dim, c->rms_eps);
    /* q, k and v read the same activations: quantize once (all three share a type in
     * practice; a mixed file falls back to quantizing per weight). */
    bool same = act_format(&ly->wk) == act_format(&ly->wq) && act_format(&ly->wv) == act_format(&ly->wq);
    quantize_act(k, pool, &ly->wq, s->xn, n, s->act, s->pact);
    if (same) {
        const er_llm_weight *ws[] = {&ly->wq, &ly->wk, &ly->wv};
        float *ys[] = {s->q, s->k, s->v};
        matmul_multi(k, pool, ws, ys, 3, s->act, s->pact, n, false);
    } else {
        matmul_quantized(k, pool, &ly->wq, s->act, s->pact, n, s->q, false);
        quantize_act(k, pool, &ly->wk, s->xn, n, s->act, s->pact);
        matmul_quantized(k, pool, &ly->wk, s->act, s->pact, n, s->k, false);
        quantize_act(k, pool, &ly->wv, s->xn, n, s->act, s->pact);
        matmul_quantized(k, pool, &ly->wv, s->act, s->pact, n, s->v, false);
    }
    add_bias(s->q, ly->bq, n, c->dim);
    add_bias(s->k, ly->bk, n, kv_dim);
    add_bias(s->v, ly->bv, n, kv_dim);
    for (int t = 0; t < n; t++) {
        rope(m, s->q + (size_t)t * c->dim, c->n_head, pos + t);
        rope(m, s->k + (size_t)t * kv_dim, c->n_head_kv, pos + t);
        size_t off = ((size_t)l * s->n_ctx + (size_t)(pos + t)) * kv_dim;
        memcpy(s->k_cache + off, s->k + (size_t)t * kv_dim, (size_t)kv_dim * 4);
        memcpy(s->v_cache + off, s->v + (size_t)t * kv_dim, (size_t)kv_dim * 4);
    }
    attn_ctx a = {m, s, l, pos, n};
    er_parallel_for(pool, (int64_t)n * c->n_head, 1, attn_range, &a);
    er_llm_matmul(k, pool, &ly->wo, s->att, n, s->x, true, s->act, s->pact);
}

static float silu(float x) { return x / (1.0f + expf(-x)); }

typedef struct swiglu_ctx {
    float *gate;
    const float *up;
} swiglu_ctx;

static void swiglu_range(void *vctx, int64_t i0, int64_t i1, int tid)
{
    (void)tid;
    const swiglu_ctx *c = vctx;
    for (int64_t i = i0; i < i1; i++) c->gate[i] = silu(c->gate[i]) * c->up[i];
}

static void ffn_block(const er_llm_model *m, er_llm_state *s, er_threadpool *pool, int l, int n)
{
    const er_llm_config *c = &m->cfg;
    const er_llm_layer *ly = &m->layers[l];
    const er_qkernels *k = m->kern;
    for (int t = 0; t < n; t++)
        rmsnorm(s->xn + (size_t)t * c->dim, s->x + (size_t)t * c->dim, ly->ffn_norm, c->dim, c->rms_eps);
    quantize_act(k, pool, &ly->w_gate, s->xn, n, s->act, s->pact);
    if (act_format(&ly->w_up) == act_format(&ly->w_gate)) {
        const er_llm_weight *ws[] = {&ly->w_gate, &ly->w_up};
        float *ys[] = {s->h1, s->h2};
        matmul_multi(k, pool, ws, ys, 2, s->act, s->pact, n, false);
    } else {
        matmul_quantized(k, pool, &ly->w_gate, s->act, s->pact, n, s->h1, false);
        quantize_act(k, pool, &ly->w_up, s->xn, n, s->act, s->pact);
        matmul_quantized(k, pool, &ly->w_up, s->act, s->pact, n, s->h2, false);
    }
    /* Threaded although short: a serial stretch this long would put the workers to sleep. */
    swiglu_ctx sw = {s->h1, s->h2};
    er_parallel_for(pool, (int64_t)n * c->ffn, 1024, swiglu_range, &sw);
    er_llm_matmul(k, pool, &ly->w_down, s->h1, n, s->x, true, s->act, s->pact);
}

static void embed(const er_llm_model *m, const int32_t *tokens, int n, float *x)
{
    const er_llm_weight *e = &m->tok_embd;
    const er_qtraits *tr = er_qtype_traits(e->type);
    for (int t = 0; t < n; t++)
        tr->to_float(e->data + (size_t)tokens[t] * e->row_bytes, x + (size_t)t * m->cfg.dim, e->cols);
}

static void output_logits(const er_llm_model *m, er_llm_state *s, er_threadpool *pool, int n,
                          float *logits, bool all)
{
    const er_llm_config *c = &m->cfg;
    int first = all ? 0 : n - 1, cnt = all ? n : 1;
    for (int t = 0; t < cnt; t++)
        rmsnorm(s->xn + (size_t)t * c->dim, s->x + (size_t)(first + t) * c->dim, m->output_norm,
                c->dim, c->rms_eps);
    er_llm_matmul(m->kern, pool, &m->output, s->xn, cnt, logits, false, s->act, s->pact);
}

er_status er_llm_forward(const er_llm_model *m, er_llm_state *s, er_threadpool *pool,
                         const int32_t *tokens, int n, int pos, float *logits, bool all_logits,
                         char *err, size_t err_size)
{
    const er_llm_config *c = &m->cfg;
    if (n <= 0) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "no tokens to evaluate");
    if (pos < 0 || n > s->n_ctx - pos)
        return er_fail(err, err_size, ER_ERR_INVALID_ARG,
                       "context full: %d tokens at position %d exceed the context of %d", n, pos, s->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->n_vocab)
            return er_fail(err, err_size, ER_ERR_INVALID_ARG, "token id %d is outside the vocabulary (%d)",
                           tokens[i], c->n_vocab);
    for (int done = 0; done < n;) {
        int nb = ER_MIN(s->n_batch, n - done);
        embed(m, tokens + done, nb, s->x);
        for (int l = 0; l < c->n_layer; l++) {
            attention_block(m, s, pool, l, nb, pos + done);
            ffn_block(m, s, pool, l, nb);
        }
        bool last = done + nb == n;
        if (all_logits)
            output_logits(m, s, pool, nb, logits + (size_t)done * c->n_vocab, true);
        else if (last)
            output_logits(m, s, pool, nb, logits, false);
        done += nb;
    }
    return ER_OK;
}
