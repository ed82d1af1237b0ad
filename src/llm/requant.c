/* quantize-llm: rewrites a GGUF file with requantized 2-D weights. */
#include "edgerun_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/gguf.h"
#include "llm/quants.h"

typedef struct target {
    const char *name;
    uint32_t type;
    uint32_t file_type;   /* llama.cpp's general.file_type numbering */
} target;

static const target targets[] = {
    {"q8_0", ER_Q_Q8_0, 7}, {"q4_0", ER_Q_Q4_0, 2}, {"q4_k", ER_Q_Q4_K, 14}, {"f16", ER_Q_F16, 1},
};

static uint32_t new_type(const er_gguf_tensor *t, uint32_t want)
{
    if (t->n_dims != 2) return t->type;
    if (er_qtype_row_size(want, t->ne[0])) return want;
    /* K-quant rows must be multiples of 256; fall back to the 32-element format */
    if (want == ER_Q_Q4_K && er_qtype_row_size(ER_Q_Q8_0, t->ne[0])) return ER_Q_Q8_0;
    return t->type;
}

static bool put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }

static bool put_u32(FILE *f, uint32_t v) { return put(f, &v, 4); }
static bool put_u64(FILE *f, uint64_t v) { return put(f, &v, 8); }

static bool pad_to(FILE *f, size_t align)
{
    static const uint8_t zeros[64] = {0};
    long pos = ftell(f);
    if (pos < 0) return false;
    size_t n = (align - (size_t)pos % align) % align;
    while (n) {
        size_t k = ER_MIN(n, sizeof zeros);
        if (!put(f, zeros, k)) return false;
        n -= k;
    }
    return true;
}

static bool write_header(FILE *f, const er_gguf *g, const target *tg, const uint32_t *types)
{
    bool ok = put(f, "GGUF", 4) && put_u32(f, 3) && put_u64(f, (uint64_t)g->n_tensors) &&
              put_u64(f, (uint64_t)g->n_kv);
    for (int64_t i = 0; ok && i < g->n_kv; i++) {
        const er_gguf_kv *kv = &g->kv[i];
        if (er_gguf_str_eq(kv->key, "general.file_type")) {
            ok = put_u64(f, kv->key.n) && put(f, kv->key.s, kv->key.n) && put_u32(f, ER_GGUF_U32) &&
                 put_u32(f, tg->file_type);
        } else {
            const uint8_t *start = (const uint8_t *)kv->key.s - 8;
            ok = put(f, start, (size_t)(kv->end - start));
        }
    }
    uint64_t off = 0;
    for (int64_t i = 0; ok && i < g->n_tensors; i++) {
        const er_gguf_tensor *t = &g->tensors[i];
        ok = put_u64(f, t->name.n) && put(f, t->name.s, t->name.n) && put_u32(f, (uint32_t)t->n_dims);
        for (int d = 0; ok && d < t->n_dims; d++) ok = put_u64(f, (uint64_t)t->ne[d]);
        ok = ok && put_u32(f, types[i]) && put_u64(f, off);
        size_t rows = (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        off += (er_qtype_row_size(types[i], t->ne[0]) * rows + g->alignment - 1) / g->alignment * g->alignment;
    }
    return ok && pad_to(f, g->alignment);
}

static bool write_tensor(FILE *f, const er_gguf *g, const er_gguf_tensor *t, uint32_t type, float *row, void *q)
{
    if (type == t->type) return put(f, t->data, t->nbytes) && pad_to(f, g->alignment);
    const er_qtraits *src = er_qtype_traits(t->type), *dst = er_qtype_traits(type);
    size_t in_row = er_qtype_row_size(t->type, t->ne[0]), out_row = er_qtype_row_size(type, t->ne[0]);
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    for (int64_t r = 0; r < rows; r++) {
        src->to_float((const uint8_t *)t->data + (size_t)r * in_row, row, t->ne[0]);
        dst->from_float(row, q, t->ne[0]);
        if (!put(f, q, out_row)) return false;
    }
    return pad_to(f, g->alignment);
}

static er_status requantize(const er_gguf *g, const char *out_path, const target *tg, char *err, size_t es)
{
    uint32_t *types = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof *types);
    int64_t max_row = 1;
    for (int64_t i = 0; types && i < g->n_tensors; i++) {
        types[i] = new_type(&g->tensors[i], tg->type);
        max_row = ER_MAX(max_row, g->tensors[i].ne[0]);
    }
    float *row = malloc((size_t)max_row * sizeof *row);
    void *q = malloc((size_t)max_row * 4);
    FILE *f = fopen(out_path, "wb");
    er_status st = ER_OK;
    if (!types || !row || !q) st = er_fail(err, es, ER_ERR_NOMEM, "out of memory");
    else if (!f) st = er_fail(err, es, ER_ERR_IO, "cannot create '%s'", out_path);
    bool ok = st == ER_OK && write_header(f, g, tg, types);
    for (int64_t i = 0; ok && i < g->n_tensors; i++) ok = write_tensor(f, g, &g->tensors[i], types[i], row, q);
    if (f && fclose(f) != 0) ok = false;
    if (st == ER_OK && !ok) st = er_fail(err, es, ER_ERR_IO, "cannot write '%s'", out_path);
    free(types);
    free(row);
    free(q);
    return st;
}

er_status er_llm_quantize(const char *in_path, const char *out_path, const char *type, er_msg *msg)
{
    char *err = msg ? msg->text : NULL;
    size_t es = sizeof msg->text;
    const target *tg = NULL;
    for (size_t i = 0; i < ER_ARRAY_LEN(targets); i++)
        if (type && strcmp(type, targets[i].name) == 0) tg = &targets[i];
    if (!tg) return er_fail(err, es, ER_ERR_INVALID_ARG, "unknown type '%s' (q8_0, q4_0, q4_k, f16)", type ? type : "");
    er_gguf *g;
    er_status st = er_gguf_open(in_path, &g, err, es);
    if (st != ER_OK) return st;
    st = requantize(g, out_path, tg, err, es);
    er_gguf_free(g);
    return st;
}
