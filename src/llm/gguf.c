#include "llm/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/quants.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define GGUF_DEFAULT_ALIGNMENT 32
/* Bounds that no real file approaches; they keep counts from driving huge allocations. */
#define GGUF_MAX_COUNT (1ll << 24)

typedef struct reader {
    const uint8_t *p, *end;
    char *err;
    size_t err_size;
} reader;

static bool need(reader *r, uint64_t n, const char *what)
{
    if ((uint64_t)(r->end - r->p) < n) {
        er_fail(r->err, r->err_size, ER_ERR_FORMAT, "gguf: file truncated while reading %s", what);
        return false;
    }
    return true;
}

static bool rd_u32(reader *r, uint32_t *v, const char *what)
{
    if (!need(r, 4, what)) return false;
    memcpy(v, r->p, 4);
    r->p += 4;
    return true;
}

static bool rd_u64(reader *r, uint64_t *v, const char *what)
{
    if (!need(r, 8, what)) return false;
    memcpy(v, r->p, 8);
    r->p += 8;
    return true;
}

static bool rd_str(reader *r, er_gguf_str *s, const char *what)
{
    uint64_t n;
    if (!rd_u64(r, &n, what) || !need(r, n, what)) return false;
    s->s = (const char *)r->p;
    s->n = n;
    r->p += n;
    return true;
}

size_t er_gguf_vtype_size(uint32_t type)
{
    switch (type) {
    case ER_GGUF_U8: case ER_GGUF_I8: case ER_GGUF_BOOL: return 1;
    case ER_GGUF_U16: case ER_GGUF_I16: return 2;
    case ER_GGUF_U32: case ER_GGUF_I32: case ER_GGUF_F32: return 4;
    case ER_GGUF_U64: case ER_GGUF_I64: case ER_GGUF_F64: return 8;
    default: return 0;
    }
}

const char *er_gguf_vtype_name(uint32_t type)
{
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                  "string", "array", "u64", "i64", "f64"};
    return type < ER_ARRAY_LEN(names) ? names[type] : "unknown";
}

static bool skip_value(reader *r, uint32_t type, const char *key)
{
    if (type == ER_GGUF_STRING) {
        er_gguf_str s;
        return rd_str(r, &s, key);
    }
    size_t sz = er_gguf_vtype_size(type);
    if (sz == 0) {
        er_fail(r->err, r->err_size, ER_ERR_FORMAT, "gguf: key '%s' has unknown value type %u",
                key, type);
        return false;
    }
    if (!need(r, sz, key)) return false;
    r->p += sz;
    return true;
}

static bool read_kv(reader *r, er_gguf_kv *kv)
{
    char key[128];
    if (!rd_str(r, &kv->key, "metadata key") || !rd_u32(r, &kv->type, "metadata type"))
        return false;
    snprintf(key, sizeof key, "%.*s", (int)ER_MIN(kv->key.n, 100), kv->key.s);
    if (kv->type == ER_GGUF_ARRAY) {
        if (!rd_u32(r, &kv->arr_type, key) || !rd_u64(r, &kv->arr_n, key)) return false;
        if (kv->arr_type == ER_GGUF_ARRAY) {
            er_fail(r->err, r->err_size, ER_ERR_UNSUPPORTED, "gguf: key '%s' is a nested array", key);
            return false;
        }
        kv->data = r->p;
        size_t esz = er_gguf_vtype_size(kv->arr_type);
        if (kv->arr_type != ER_GGUF_STRING && esz == 0) {
            er_fail(r->err, r->err_size, ER_ERR_FORMAT,
                    "gguf: key '%s' is an array of unknown type %u", key, kv->arr_type);
            return false;
        }
        if (esz) {
            if (kv->arr_n > (uint64_t)(r->end - r->p) / esz) return need(r, UINT64_MAX, key);
            r->p += kv->arr_n * esz;
        } else {
            for (uint64_t i = 0; i < kv->arr_n; i++)
                if (!skip_value(r, ER_GGUF_STRING, key)) return false;
        }
    } else {
        kv->data = r->p;
        if (!skip_value(r, kv->type, key)) return false;
    }
    kv->end = r->p;
    return true;
}

static er_status read_tensor_info(reader *r, er_gguf_tensor *t)
{
    uint32_t nd;
    if (!rd_str(r, &t->name, "tensor name") || !rd_u32(r, &nd, "tensor rank")) return ER_ERR_FORMAT;
    int nl = (int)ER_MIN(t->name.n, 100);
    if (nd < 1 || nd > ER_GGUF_MAX_DIMS)
        return er_fail(r->err, r->err_size, ER_ERR_FORMAT, "gguf: tensor '%.*s' has %u dims",
                       nl, t->name.s, nd);
    t->n_dims = (int)nd;
    int64_t numel = 1;
    for (int i = 0; i < ER_GGUF_MAX_DIMS; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < nd; i++) {
        uint64_t d;
        if (!rd_u64(r, &d, "tensor dims")) return ER_ERR_FORMAT;
        if (d == 0 || d > (1ull << 40) || (uint64_t)numel > (1ull << 40) / d)
            return er_fail(r->err, r->err_size, ER_ERR_FORMAT,
                           "gguf: tensor '%.*s' has an invalid dimension %llu", nl, t->name.s,
                           (unsigned long long)d);
        t->ne[i] = (int64_t)d;
        numel *= (int64_t)d;
    }
    if (!rd_u32(r, &t->type, "tensor type") || !rd_u64(r, &t->offset, "tensor offset"))
        return ER_ERR_FORMAT;
    if (!er_qtype_traits(t->type)) {
        const char *tn = er_qtype_name(t->type);
        return er_fail(r->err, r->err_size, ER_ERR_UNSUPPORTED,
                       "gguf: tensor '%.*s' has unsupported type %u (%s)", nl, t->name.s, t->type,
                       tn ? tn : "unknown");
    }
    size_t row = er_qtype_row_size(t->type, t->ne[0]);
    if (row == 0)
        return er_fail(r->err, r->err_size, ER_ERR_FORMAT,
                       "gguf: tensor '%.*s' row of %lld is not a multiple of the %s block", nl,
                       t->name.s, (long long)t->ne[0], er_qtype_name(t->type));
    t->nbytes = row * (size_t)(numel / t->ne[0]);
    return ER_OK;
}

static er_status parse(er_gguf *g, char *err, size_t err_size)
{
    reader r = {g->base, g->base + g->size, err, err_size};
    uint32_t magic;
    uint64_t n_tensors, n_kv;
    if (!rd_u32(&r, &magic, "header")) return ER_ERR_FORMAT;
    if (magic != GGUF_MAGIC) return er_fail(err, err_size, ER_ERR_FORMAT, "not a GGUF file (bad magic)");
    if (!rd_u32(&r, &g->version, "header")) return ER_ERR_FORMAT;
    if (g->version != 2 && g->version != 3)
        return er_fail(err, err_size, ER_ERR_UNSUPPORTED, "gguf: version %u is not supported (2 or 3)",
                       g->version);
    if (!rd_u64(&r, &n_tensors, "header") || !rd_u64(&r, &n_kv, "header")) return ER_ERR_FORMAT;
    if (n_tensors > GGUF_MAX_COUNT || n_kv > GGUF_MAX_COUNT)
        return er_fail(err, err_size, ER_ERR_FORMAT, "gguf: implausible counts (%llu tensors, %llu keys)",
                       (unsigned long long)n_tensors, (unsigned long long)n_kv);
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;
    g->kv = calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) return er_fail(err, err_size, ER_ERR_NOMEM, "gguf: out of memory");
    g->kv_begin = r.p;
    for (int64_t i = 0; i < g->n_kv; i++)
        if (!read_kv(&r, &g->kv[i])) return ER_ERR_FORMAT;
    g->kv_end = r.p;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t al;
    if (er_gguf_find(g, "general.alignment")) {
        if (!er_gguf_get_int(g, "general.alignment", &al) || al <= 0 || (al & (al - 1)) || al > 65536)
            return er_fail(err, err_size, ER_ERR_FORMAT, "gguf: general.alignment is not a power of two");
        g->alignment = (size_t)al;
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        er_status st = read_tensor_info(&r, &g->tensors[i]);
        if (st != ER_OK) return st;
    }
    size_t off = (size_t)(r.p - g->base);
    g->data_offset = (off + g->alignment - 1) / g->alignment * g->alignment;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        er_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0 || g->data_offset > g->size ||
            t->offset > g->size - g->data_offset || t->nbytes > g->size - g->data_offset - t->offset)
            return er_fail(err, err_size, ER_ERR_FORMAT,
                           "gguf: tensor '%.*s' data lies outside the file (truncated?)",
                           (int)ER_MIN(t->name.n, 100), t->name.s);
        t->data = g->base + g->data_offset + t->offset;
    }
    return ER_OK;
}

er_status er_gguf_parse(const void *data, size_t size, er_gguf **out, char *err, size_t err_size)
{
    *out = NULL;
    er_gguf *g = calloc(1, sizeof *g);
    if (!g) return er_fail(err, err_size, ER_ERR_NOMEM, "gguf: out of memory");
    g->base = data;
    g->size = size;
    er_status st = parse(g, err, err_size);
    if (st != ER_OK) {
        er_gguf_free(g);
        return st;
    }
    *out = g;
    return ER_OK;
}

er_status er_gguf_open(const char *path, er_gguf **out, char *err, size_t err_size)
{
    *out = NULL;
    er_mapped m;
    er_status st = er_map_file(path, &m, err, err_size);
    if (st != ER_OK) return st;
    st = er_gguf_parse(m.data, m.size, out, err, err_size);
    if (st != ER_OK) {
        er_unmap(&m);
        return st;
    }
    (*out)->map = m;
    return ER_OK;
}

void er_gguf_free(er_gguf *g)
{
    if (!g) return;
    free(g->kv);
    free(g->tensors);
    er_unmap(&g->map);
    free(g);
}

bool er_gguf_str_eq(er_gguf_str s, const char *c)
{
    size_t n = strlen(c);
    return s.n == n && memcmp(s.s, c, n) == 0;
}

const er_gguf_kv *er_gguf_find(const er_gguf *g, const char *key)
{
    for (int64_t i = 0; i < g->n_kv; i++)
        if (er_gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const er_gguf_tensor *er_gguf_find_tensor(const er_gguf *g, const char *name)
{
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (er_gguf_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static bool scalar_f64(uint32_t type, const uint8_t *p, double *v)
{
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32;
            uint64_t u64; int64_t i64; double f64; } u;
    size_t sz = er_gguf_vtype_size(type);
    if (sz == 0) return false;
    memcpy(&u, p, sz);
    switch (type) {
    case ER_GGUF_U8: case ER_GGUF_BOOL: *v = u.u8; break;
    case ER_GGUF_I8: *v = u.i8; break;
    case ER_GGUF_U16: *v = u.u16; break;
    case ER_GGUF_I16: *v = u.i16; break;
    case ER_GGUF_U32: *v = u.u32; break;
    case ER_GGUF_I32: *v = u.i32; break;
    case ER_GGUF_F32: *v = u.f32; break;
    case ER_GGUF_U64: *v = (double)u.u64; break;
    case ER_GGUF_I64: *v = (double)u.i64; break;
    case ER_GGUF_F64: *v = u.f64; break;
    default: return false;
    }
    return true;
}

bool er_gguf_get_int(const er_gguf *g, const char *key, int64_t *v)
{
    const er_gguf_kv *kv = er_gguf_find(g, key);
    if (!kv || kv->type == ER_GGUF_F32 || kv->type == ER_GGUF_F64) return false;
    if (kv->type == ER_GGUF_U64) {
        uint64_t u;
        memcpy(&u, kv->data, 8);
        if (u > INT64_MAX) return false;
        *v = (int64_t)u;
        return true;
    }
    if (kv->type == ER_GGUF_I64) {
        memcpy(v, kv->data, 8);
        return true;
    }
    double d;
    if (!scalar_f64(kv->type, kv->data, &d)) return false;
    *v = (int64_t)d;
    return true;
}

bool er_gguf_get_float(const er_gguf *g, const char *key, double *v)
{
    const er_gguf_kv *kv = er_gguf_find(g, key);
    return kv && kv->type != ER_GGUF_ARRAY && scalar_f64(kv->type, kv->data, v);
}

bool er_gguf_get_bool(const er_gguf *g, const char *key, bool *v)
{
    const er_gguf_kv *kv = er_gguf_find(g, key);
    if (!kv || kv->type != ER_GGUF_BOOL) return false;
    *v = kv->data[0] != 0;
    return true;
}

bool er_gguf_get_str(const er_gguf *g, const char *key, er_gguf_str *v)
{
    const er_gguf_kv *kv = er_gguf_find(g, key);
    if (!kv || kv->type != ER_GGUF_STRING) return false;
    uint64_t n;
    memcpy(&n, kv->data, 8);
    v->s = (const char *)kv->data + 8;
    v->n = n;
    return true;
}

bool er_gguf_arr_f64(const er_gguf_kv *kv, uint64_t i, double *v)
{
    if (kv->type != ER_GGUF_ARRAY || i >= kv->arr_n) return false;
    size_t sz = er_gguf_vtype_size(kv->arr_type);
    return sz && scalar_f64(kv->arr_type, kv->data + i * sz, v);
}

bool er_gguf_arr_strs(const er_gguf_kv *kv, er_gguf_str *out)
{
    if (kv->type != ER_GGUF_ARRAY || kv->arr_type != ER_GGUF_STRING) return false;
    const uint8_t *p = kv->data;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        uint64_t n;
        memcpy(&n, p, 8);
        out[i].s = (const char *)p + 8;
        out[i].n = n;
        p += 8 + n;
    }
    return true;
}
