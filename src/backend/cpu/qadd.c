/* QAdd: portable kernel (the oracle of the AVX-512 one), broadcasting fallback, the op. */
#include <math.h>

#include "backend/cpu/qadd.h"
#include "core/cpu.h"

static inline int32_t load_q(const void *p, bool is_signed, int64_t i)
{
    return is_signed ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

/* QuantizeLinear's steps: divide, NaN to 0, clamp less the zero point, round half to even. */
static inline void store_q(const er_qadd_params *p, float v, void *y, int64_t i)
{
    const float lo = (p->y_signed ? -128.0f : 0.0f) - (float)p->zy, hi = (p->y_signed ? 127.0f : 255.0f) - (float)p->zy;
    v = v / p->sy;
    v = isnan(v) ? 0.0f : v < lo ? lo : v > hi ? hi : v;
    int32_t q = (int32_t)nearbyintf(v) + p->zy;
    if (p->y_signed) ((int8_t *)y)[i] = (int8_t)q;
    else ((uint8_t *)y)[i] = (uint8_t)q;
}

static inline float deq(const er_qadd_params *p, const void *x, int64_t i, int32_t z, float s)
{
    return (float)(load_q(x, p->x_signed, i) - z) * s;
}

void er_qadd_ref(const er_qadd_params *p, const void *a, const void *b, int64_t n, void *y)
{
    for (int64_t i = 0; i < n; i++) store_q(p, deq(p, a, i, p->za, p->sa) + deq(p, b, i, p->zb, p->sb), y, i);
}

static void qadd_broadcast(const er_qadd_params *p, const er_tensor *a, const er_tensor *b, er_tensor *y)
{
    int64_t sa[ER_MAX_DIMS], sb[ER_MAX_DIMS];
    er_broadcast_strides(a->dims, a->ndim, y->dims, y->ndim, sa);
    er_broadcast_strides(b->dims, b->ndim, y->dims, y->ndim, sb);
    const int64_t total = er_tensor_numel(y);
    for (int64_t i = 0; i < total; i++) {
        int64_t ia = 0, ib = 0, rem = i;
        for (int d = y->ndim - 1; d >= 0; d--) {
            int64_t idx = rem % y->dims[d];
            rem /= y->dims[d];
            ia += idx * sa[d];
            ib += idx * sb[d];
        }
        store_q(p, deq(p, a->data, ia, p->za, p->sa) + deq(p, b->data, ib, p->zb, p->sb), y->data, i);
    }
}

static bool is_q8(const er_tensor *t) { return t && (t->dtype == ER_U8 || t->dtype == ER_I8); }

static er_status check_param(er_kctx *ctx, const er_tensor *s, const er_tensor *z, er_dtype q, const char *name)
{
    if (!s || s->dtype != ER_F32 || er_tensor_numel(s) != 1)
        return er_op_fail(ctx, ER_ERR_FORMAT, "%s scale must be one float32", name);
    if (z && (z->dtype != q || er_tensor_numel(z) != 1))
        return er_op_fail(ctx, ER_ERR_FORMAT, "%s zero point must be one %s", name, er_dtype_name(q));
    return ER_OK;
}

er_status er_qadd_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 7, 8);
    if (st != ER_OK) return st;
    if (!is_q8(in[0]) || !in[3] || in[3]->dtype != in[0]->dtype)
        return er_op_fail(ctx, ER_ERR_DTYPE, "A and B must both be uint8 or both int8");
    const er_tensor *yz = n_in > 7 ? in[7] : NULL;
    er_dtype yt = yz ? yz->dtype : in[0]->dtype;
    if (yt != ER_U8 && yt != ER_I8) return er_op_fail(ctx, ER_ERR_DTYPE, "Y zero point must be uint8 or int8");
    if ((st = check_param(ctx, in[1], in[2], in[0]->dtype, "A")) != ER_OK ||
        (st = check_param(ctx, in[4], in[5], in[0]->dtype, "B")) != ER_OK || (st = check_param(ctx, in[6], yz, yt, "Y")) != ER_OK)
        return st;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    st = er_broadcast_shape(ctx, in[0]->dims, in[0]->ndim, in[3]->dims, in[3]->ndim, dims, &nd);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], yt, dims, nd);
    return ER_OK;
}

static int32_t zp_of(const er_tensor *z)
{
    if (!z) return 0;
    return z->dtype == ER_I8 ? *(const int8_t *)z->data : *(const uint8_t *)z->data;
}

typedef void (*qadd_fn)(const er_qadd_params *p, const void *a, const void *b, int64_t n, void *y);

typedef struct {
    const er_qadd_params *p;
    const uint8_t *a, *b;
    uint8_t *y;
    int64_t n;
    qadd_fn fn;
} qadd_task;

#define CHUNK 8192 /* elements per parallel task */

static void qadd_chunks(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const qadd_task *t = arg;
    const int64_t i0 = begin * CHUNK, i1 = ER_MIN(end * CHUNK, t->n);
    t->fn(t->p, t->a + i0, t->b + i0, i1 - i0, t->y + i0);
}

er_status er_qadd_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const er_tensor *a = in[0], *b = in[3], *yz = n_in > 7 ? in[7] : NULL;
    er_qadd_params p = { .sa = *(const float *)in[1]->data, .sb = *(const float *)in[4]->data,
                         .sy = *(const float *)in[6]->data, .za = zp_of(in[2]), .zb = zp_of(in[5]), .zy = zp_of(yz),
                         .x_signed = a->dtype == ER_I8, .y_signed = out[0]->dtype == ER_I8 };
    if (!(p.sy > 0.0f)) return er_op_fail(ctx, ER_ERR_FORMAT, "Y scale must be positive, got %g", (double)p.sy);
    if (!er_shape_equal(a->dims, a->ndim, b->dims, b->ndim)) {
        qadd_broadcast(&p, a, b, out[0]);
        return ER_OK;
    }
    qadd_task t = { &p, a->data, b->data, out[0]->data, er_tensor_numel(a),
                    er_cpu_isa() == ER_ISA_AVX512 ? er_qadd_avx512 : er_qadd_ref };
    er_parallel_for(ctx->pool, (t.n + CHUNK - 1) / CHUNK, 1, qadd_chunks, &t);
    return ER_OK;
}
