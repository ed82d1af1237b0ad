/* Reference kernels of the quantization op family: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv and
 * com.microsoft QLinearAdd. Integer products accumulate exactly in int32; requantization
 * runs in double so these kernels are the oracle the fused int8 kernels are tested against. */
#include <math.h>
#include <string.h>

#include "backend/cpu/qadd.h"
#include "backend/cpu/qfake.h"
#include "backend/cpu/qgather.h"
#include "backend/cpu/qgemm_conv.h"
#include "backend/cpu/qgemm_matmul.h"
#include "backend/cpu/qmaxpool.h"
#include "backend/cpu/qquant.h"
#include "core/cpu.h"
#include "backend/cpu/ref/nn.h"

/* ---- element access and rounding ---- */

static bool is_q8(er_dtype dt) { return dt == ER_U8 || dt == ER_I8; }
static bool is_qtype(er_dtype dt) { return dt == ER_U8 || dt == ER_I8 || dt == ER_U16 || dt == ER_I16; }

static int32_t qload(const void *p, er_dtype dt, int64_t i)
{
    switch (dt) {
    case ER_U8: return ((const uint8_t *)p)[i];
    case ER_I8: return ((const int8_t *)p)[i];
    case ER_U16: return ((const uint16_t *)p)[i];
    case ER_I16: return ((const int16_t *)p)[i];
    case ER_I32: return ((const int32_t *)p)[i];
    default: return 0;
    }
}

static void qrange(er_dtype dt, double *lo, double *hi)
{
    switch (dt) {
    case ER_U8: *lo = 0; *hi = 255; break;
    case ER_I8: *lo = -128; *hi = 127; break;
    case ER_U16: *lo = 0; *hi = 65535; break;
    case ER_I16: *lo = -32768; *hi = 32767; break;
    default: *lo = -2147483648.0; *hi = 2147483647.0; break;
    }
}

/* Rounds half to even (the default FP rounding mode), adds zp and saturates. */
static void qstore(void *p, er_dtype dt, int64_t i, double v, int32_t zp)
{
    double lo, hi;
    qrange(dt, &lo, &hi);
    v = isnan(v) ? 0.0 : nearbyint(v) + zp;
    v = v < lo ? lo : v > hi ? hi : v;
    switch (dt) {
    case ER_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case ER_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case ER_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case ER_I16: ((int16_t *)p)[i] = (int16_t)v; break;
    default: ((int32_t *)p)[i] = (int32_t)v; break;
    }
}

/* ---- quantization parameters ---- */

/* A scale and zero point, per tensor (n == 1) or one per index along an axis. */
typedef struct qparam {
    const float *scale;
    const void *zp;       /* NULL: zero */
    er_dtype zdt;
    int64_t n;
} qparam;

static float qp_scale(const qparam *q, int64_t c) { return q->scale[q->n == 1 ? 0 : c]; }
static int32_t qp_zp(const qparam *q, int64_t c) { return q->zp ? qload(q->zp, q->zdt, q->n == 1 ? 0 : c) : 0; }

/* Checks a scale (float32) and optional zero point (of dtype want, or any 8-bit type when
 * want is ER_UNDEFINED) that hold 1 value or `len` values (len 0: only 1 allowed). zero_ok
 * admits a zero scale: DynamicQuantizeLinear computes one for an all-zero tensor, and
 * dequantizing with it is well defined. */
static er_status qp_read_scale(er_kctx *ctx, const er_tensor *s, const er_tensor *z, er_dtype want, int64_t len,
                               const char *what, bool zero_ok, qparam *q)
{
    if (!s) return er_op_fail(ctx, ER_ERR_FORMAT, "%s scale is required", what);
    if (s->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "%s scale is %s; only float32 scales are supported", what,
                          er_dtype_name(s->dtype));
    int64_t n = er_tensor_numel(s);
    if (s->ndim > 1 || (n != 1 && n != len))
        return er_op_fail(ctx, ER_ERR_SHAPE, "%s scale has %lld values with rank %d; expected 1%s", what, (long long)n,
                          s->ndim, len > 1 ? " or one per channel" : "");
    if (z) {
        if (want != ER_UNDEFINED ? z->dtype != want : !is_qtype(z->dtype))
            return er_op_fail(ctx, ER_ERR_DTYPE, "%s zero point is %s, expected %s", what, er_dtype_name(z->dtype),
                              er_dtype_name(want != ER_UNDEFINED ? want : ER_U8));
        if (er_tensor_numel(z) != n)
            return er_op_fail(ctx, ER_ERR_SHAPE, "%s zero point has %lld values but its scale has %lld", what,
                              (long long)er_tensor_numel(z), (long long)n);
    }
    *q = (qparam){ .scale = s->data, .zp = z ? z->data : NULL, .zdt = z ? z->dtype : ER_U8, .n = n };
    if (s->data) {
        for (int64_t i = 0; i < n; i++)
            if (!(q->scale[i] > 0.0f || (zero_ok && q->scale[i] == 0.0f)) || isinf(q->scale[i]))
                return er_op_fail(ctx, ER_ERR_FORMAT, "%s scale[%lld] = %g; scales must be positive and finite", what,
                                  (long long)i, (double)q->scale[i]);
    }
    return ER_OK;
}

static er_status qp_read(er_kctx *ctx, const er_tensor *s, const er_tensor *z, er_dtype want, int64_t len,
                         const char *what, qparam *q)
{
    return qp_read_scale(ctx, s, z, want, len, what, false, q);
}

static const er_tensor *opt_in(er_tensor **in, int n_in, int k) { return k < n_in ? in[k] : NULL; }

/* ---- QuantizeLinear / DequantizeLinear ---- */

typedef struct {
    int axis;
    int64_t inner;        /* elements after the axis */
    qparam q;
} qdq_geom;

static er_status qdq_geometry(er_kctx *ctx, er_tensor **in, int n_in, er_dtype zp_want, const char *what,
                              bool zero_ok, qdq_geom *g)
{
    const er_tensor *x = in[0];
    if (er_attr_int(ctx->node, "block_size", 0) != 0)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "blocked quantization (block_size) is not supported");
    int64_t len = 0;
    const er_tensor *s = in[1];
    g->axis = 0;
    g->inner = 1;
    if (s && er_tensor_numel(s) != 1) {
        er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 1), x->ndim, &g->axis);
        if (st != ER_OK) return st;
        len = x->ndim ? x->dims[g->axis] : 1;
        for (int i = g->axis + 1; i < x->ndim; i++) g->inner *= x->dims[i];
    }
    return qp_read_scale(ctx, s, opt_in(in, n_in, 2), zp_want, len, what, zero_ok, &g->q);
}

/* The common per-tensor float → 8-bit case, in float as ONNX Runtime computes it. Clamping
 * to integer bounds before rounding gives the same result as after, and keeps |v| small
 * enough for the 1.5 * 2^23 trick to round half to even without a libm call, so the loop
 * vectorizes. NaN quantizes to the zero point, as in qstore. */
static void quantize_f32_q8(const float *x, int64_t n, float scale, int32_t zp, bool is_signed, void *y)
{
    const float lo = (is_signed ? -128.0f : 0.0f) - (float)zp, hi = (is_signed ? 127.0f : 255.0f) - (float)zp;
    const float magic = 12582912.0f;
    if (is_signed) {
        int8_t *yv = y;
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] / scale;
            v = v != v ? 0.0f : v < lo ? lo : v > hi ? hi : v;
            yv[i] = (int8_t)((int32_t)((v + magic) - magic) + zp);
        }
        return;
    }
    uint8_t *yv = y;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] / scale;
        v = v != v ? 0.0f : v < lo ? lo : v > hi ? hi : v;
        yv[i] = (uint8_t)((int32_t)((v + magic) - magic) + zp);
    }
}

static er_status quantize_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 2, 3);
    if (st != ER_OK) return st;
    if (!in[0]) return er_op_fail(ctx, ER_ERR_FORMAT, "input x is required");
    if (in[0]->dtype != ER_F32 && in[0]->dtype != ER_I32)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "x is %s; float32 and int32 are supported",
                          er_dtype_name(in[0]->dtype));
    const er_tensor *z = opt_in(in, n_in, 2);
    er_dtype odt = (er_dtype)er_attr_int(ctx->node, "output_dtype", 0);
    if (odt == ER_UNDEFINED) odt = z ? z->dtype : ER_U8;
    if (!is_qtype(odt))
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "output type %s is not supported (uint8, int8, uint16, int16 are)",
                          er_dtype_name(odt));
    qdq_geom g;
    if ((st = qdq_geometry(ctx, in, n_in, odt, "y", false, &g)) != ER_OK) return st;
    er_tensor_set_shape(out[0], odt, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

static er_status quantize_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    qdq_geom g;
    er_status st = qdq_geometry(ctx, in, n_in, out[0]->dtype, "y", false, &g);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    int64_t n = er_tensor_numel(x);
    if (g.q.n == 1 && x->dtype == ER_F32 && is_q8(out[0]->dtype)) {
        (er_cpu_isa() == ER_ISA_AVX512 ? er_quantize_f32_q8_avx512 : quantize_f32_q8)(x->data, n, g.q.scale[0], qp_zp(&g.q, 0), out[0]->dtype == ER_I8, out[0]->data);
        return ER_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t c = (i / g.inner) % g.q.n;
        float v = x->dtype == ER_F32 ? ((const float *)x->data)[i] : (float)((const int32_t *)x->data)[i];
        qstore(out[0]->data, out[0]->dtype, i, v / qp_scale(&g.q, c), qp_zp(&g.q, c));
    }
    return ER_OK;
}

static er_status dequantize_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 2, 3);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (!x) return er_op_fail(ctx, ER_ERR_FORMAT, "input x is required");
    if (!is_qtype(x->dtype) && x->dtype != ER_I32)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "x is %s; uint8, int8, uint16, int16 and int32 are supported",
                          er_dtype_name(x->dtype));
    qdq_geom g;
    if ((st = qdq_geometry(ctx, in, n_in, x->dtype, "x", false, &g)) != ER_OK) return st;
    er_tensor_set_shape(out[0], ER_F32, x->dims, x->ndim);
    return ER_OK;
}

static er_status dequantize_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    qdq_geom g;
    /* a constant zero scale was refused when the session was planned (infer) */
    er_status st = qdq_geometry(ctx, in, n_in, in[0]->dtype, "x", true, &g);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    float *y = out[0]->data;
    int64_t n = er_tensor_numel(x);
    if (g.q.n == 1 && x->dtype == ER_U8) {
        const uint8_t *xv = x->data;
        const float s = g.q.scale[0];
        const int32_t z = qp_zp(&g.q, 0);
        for (int64_t i = 0; i < n; i++) y[i] = (float)(xv[i] - z) * s;
        return ER_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t c = (i / g.inner) % g.q.n;
        y[i] = (float)(qload(x->data, x->dtype, i) - qp_zp(&g.q, c)) * qp_scale(&g.q, c);
    }
    return ER_OK;
}

/* ---- DynamicQuantizeLinear ---- */

static er_status dynq_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st != ER_OK) return st;
    if (!in[0] || in[0]->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "x must be float32");
    if (n_out != 3) return er_op_fail(ctx, ER_ERR_FORMAT, "expects 3 outputs, got %d", n_out);
    er_tensor_set_shape(out[0], ER_U8, in[0]->dims, in[0]->ndim);
    er_tensor_set_shape(out[1], ER_F32, NULL, 0);
    er_tensor_set_shape(out[2], ER_U8, NULL, 0);
    return ER_OK;
}

static er_status dynq_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)ctx, (void)n_in, (void)n_out;
    const float *x = in[0]->data;
    int64_t n = er_tensor_numel(in[0]);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    float scale = (hi - lo) / 255.0f;
    int32_t zp = 0;
    if (scale > 0.0f) {
        double z = nearbyint((double)(0.0f - lo / scale));
        zp = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
    }
    for (int64_t i = 0; i < n; i++)
        qstore(out[0]->data, ER_U8, i, scale > 0.0f ? x[i] / scale : 0.0, zp);
    if (out[1]->data) *(float *)out[1]->data = scale;
    if (out[2]->data) *(uint8_t *)out[2]->data = (uint8_t)zp;
    return ER_OK;
}

/* ---- integer matrix products ---- */

/* Batched A[..., M, K] x B[..., K, N] with numpy broadcasting of the batch dims. */
typedef struct mm_geom {
    int64_t m, k, n, batch;
    int nb;                               /* output batch rank */
    int64_t bdims[ER_MAX_DIMS];
    int64_t a_bstride[ER_MAX_DIMS], b_bstride[ER_MAX_DIMS];   /* in whole matrices */
} mm_geom;

static er_status mm_shape(er_kctx *ctx, const er_tensor *a, const er_tensor *b, mm_geom *g, int64_t *dims,
                          int *ndim)
{
    if (a->ndim < 1 || b->ndim < 1) return er_op_fail(ctx, ER_ERR_SHAPE, "A and B must have rank >= 1");
    int64_t ad[ER_MAX_DIMS + 1], bd[ER_MAX_DIMS + 1];
    int na = a->ndim, nb = b->ndim;
    memcpy(ad, a->dims, sizeof(int64_t) * (size_t)na);
    memcpy(bd, b->dims, sizeof(int64_t) * (size_t)nb);
    if (na == 1) { ad[1] = ad[0]; ad[0] = 1; na = 2; }
    if (nb == 1) { bd[1] = 1; nb = 2; }
    g->m = ad[na - 2];
    g->k = ad[na - 1];
    g->n = bd[nb - 1];
    if (bd[nb - 2] != g->k)
        return er_op_fail(ctx, ER_ERR_SHAPE, "inner dimensions differ: A has K = %lld, B has %lld", (long long)g->k,
                          (long long)bd[nb - 2]);
    int64_t bshape[ER_MAX_DIMS];
    int n_batch;
    er_status st = er_broadcast_shape(ctx, ad, na - 2, bd, nb - 2, bshape, &n_batch);
    if (st != ER_OK) return st;
    g->nb = n_batch;
    g->batch = er_shape_numel(bshape, n_batch);
    memcpy(g->bdims, bshape, sizeof(int64_t) * (size_t)n_batch);
    er_broadcast_strides(ad, na - 2, bshape, n_batch, g->a_bstride);
    er_broadcast_strides(bd, nb - 2, bshape, n_batch, g->b_bstride);
    if (dims) {
        int r = 0;
        for (int i = 0; i < n_batch; i++) dims[r++] = bshape[i];
        if (a->ndim > 1) dims[r++] = g->m;
        if (b->ndim > 1) dims[r++] = g->n;
        *ndim = r;
    }
    return ER_OK;
}

/* Matrix offsets of batch entry i in A and B. */
static void mm_batch_offsets(const mm_geom *g, int64_t i, int64_t *oa, int64_t *ob)
{
    *oa = *ob = 0;
    for (int d = g->nb - 1; d >= 0; d--) {
        int64_t idx = i % g->bdims[d];
        i /= g->bdims[d];
        *oa += idx * g->a_bstride[d];
        *ob += idx * g->b_bstride[d];
    }
}

typedef struct {
    const void *a, *b;
    er_dtype adt, bdt;
    qparam qa, qb;                  /* zero points: per tensor, per row of A, per column of B */
    int32_t *acc;                   /* [batch, M, N] */
    mm_geom g;
} imm_args;

static void imm_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const imm_args *p = arg;
    const mm_geom *g = &p->g;
    for (int64_t r = begin; r < end; r++) {
        int64_t bi = r / g->m, i = r % g->m, oa, ob;
        mm_batch_offsets(g, bi, &oa, &ob);
        int64_t abase = (oa * g->m + i) * g->k, bbase = ob * g->k * g->n;
        int32_t za = qp_zp(&p->qa, i);
        int32_t *y = p->acc + r * g->n;
        for (int64_t j = 0; j < g->n; j++) {
            int32_t zb = qp_zp(&p->qb, j), s = 0;
            for (int64_t kk = 0; kk < g->k; kk++)
                s += (qload(p->a, p->adt, abase + kk) - za) * (qload(p->b, p->bdt, bbase + kk * g->n + j) - zb);
            y[j] = s;
        }
    }
}

static void imm_compute(er_kctx *ctx, imm_args *a)
{
    er_nn_parallel(ctx, a->g.batch * a->g.m, imm_rows, a);
}

static er_status check_q8(er_kctx *ctx, const er_tensor *t, const char *what)
{
    if (!t) return er_op_fail(ctx, ER_ERR_FORMAT, "input %s is required", what);
    if (!is_q8(t->dtype))
        return er_op_fail(ctx, ER_ERR_DTYPE, "%s is %s, expected uint8 or int8", what, er_dtype_name(t->dtype));
    return ER_OK;
}

/* A zero point without a scale (the *Integer ops): checks type and count. */
static er_status zp_only(er_kctx *ctx, const er_tensor *z, er_dtype want, int64_t len, const char *what, qparam *q)
{
    *q = (qparam){ .n = 1, .zdt = want };
    if (!z) return ER_OK;
    if (z->dtype != want)
        return er_op_fail(ctx, ER_ERR_DTYPE, "%s zero point is %s but %s is %s", what, er_dtype_name(z->dtype), what,
                          er_dtype_name(want));
    int64_t n = er_tensor_numel(z);
    if (n != 1 && n != len)
        return er_op_fail(ctx, ER_ERR_SHAPE, "%s zero point has %lld values; expected 1 or %lld", what,
                          (long long)n, (long long)len);
    q->zp = z->data;
    q->n = n;
    return ER_OK;
}

static er_status matmulint_check(er_kctx *ctx, er_tensor **in, int n_in, imm_args *a, int64_t *dims, int *ndim)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 4);
    if (st == ER_OK) st = check_q8(ctx, in[0], "A");
    if (st == ER_OK) st = check_q8(ctx, in[1], "B");
    if (st == ER_OK) st = mm_shape(ctx, in[0], in[1], &a->g, dims, ndim);
    if (st != ER_OK) return st;
    if ((st = zp_only(ctx, opt_in(in, n_in, 2), in[0]->dtype, a->g.m, "A", &a->qa)) != ER_OK) return st;
    if ((st = zp_only(ctx, opt_in(in, n_in, 3), in[1]->dtype, a->g.n, "B", &a->qb)) != ER_OK) return st;
    a->a = in[0]->data;
    a->b = in[1]->data;
    a->adt = in[0]->dtype;
    a->bdt = in[1]->dtype;
    return ER_OK;
}

static er_status matmulint_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    imm_args a;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    er_status st = matmulint_check(ctx, in, n_in, &a, dims, &nd);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], ER_I32, dims, nd);
    return ER_OK;
}

static er_status matmulint_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    if (ctx->state) return er_qmm_run_packed(ctx, in, n_in, out, n_out);
    imm_args a;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    er_status st = matmulint_check(ctx, in, n_in, &a, dims, &nd);
    if (st != ER_OK) return st;
    a.acc = out[0]->data;
    imm_compute(ctx, &a);
    return ER_OK;
}

/* QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp. */
static er_status qlmm_check(er_kctx *ctx, er_tensor **in, int n_in, imm_args *a, qparam *qy, int64_t *dims,
                            int *ndim)
{
    er_status st = er_op_check_arity(ctx, n_in, 8, 8);
    if (st == ER_OK) st = check_q8(ctx, in[0], "a");
    if (st == ER_OK) st = check_q8(ctx, in[3], "b");
    if (st == ER_OK) st = mm_shape(ctx, in[0], in[3], &a->g, dims, ndim);
    if (st == ER_OK) st = qp_read(ctx, in[1], in[2], in[0]->dtype, a->g.m, "a", &a->qa);
    if (st == ER_OK) st = qp_read(ctx, in[4], in[5], in[3]->dtype, a->g.n, "b", &a->qb);
    if (st == ER_OK) st = qp_read(ctx, in[6], in[7], ER_UNDEFINED, 0, "y", qy);
    if (st != ER_OK) return st;
    if (!in[7]) return er_op_fail(ctx, ER_ERR_FORMAT, "y zero point is required");
    a->a = in[0]->data;
    a->b = in[3]->data;
    a->adt = in[0]->dtype;
    a->bdt = in[3]->dtype;
    return ER_OK;
}

static er_status qlmm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    imm_args a;
    qparam qy;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    er_status st = qlmm_check(ctx, in, n_in, &a, &qy, dims, &nd);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], in[7]->dtype, dims, nd);
    ctx->workspace_bytes = (size_t)er_shape_numel(dims, nd) * sizeof(int32_t);
    return ER_OK;
}

static er_status qlmm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    if (ctx->state) return er_qmm_run_packed(ctx, in, n_in, out, n_out);
    imm_args a;
    qparam qy;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    er_status st = qlmm_check(ctx, in, n_in, &a, &qy, dims, &nd);
    if (st != ER_OK) return st;
    a.acc = ctx->workspace;
    imm_compute(ctx, &a);
    const double sy = qy.scale[0];
    const int32_t zy = qp_zp(&qy, 0);
    int64_t rows = a.g.batch * a.g.m;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < a.g.n; j++) {
            int64_t o = r * a.g.n + j;
            double real = (double)a.acc[o] * qp_scale(&a.qa, r % a.g.m) * qp_scale(&a.qb, j);
            qstore(out[0]->data, out[0]->dtype, o, real / sy, zy);
        }
    return ER_OK;
}

/* QGemm (com.microsoft; also domain edgerun, which the QDQ fusion emits):
 * A, a_scale, a_zp, B, b_scale, b_zp, [C], [y_scale], [y_zp]; attributes alpha, transA, transB.
 * Y[r, n] = alpha * a_scale * b_scale[n] * (sum_k (A[r, k] - a_zp) (B'[k, n] - b_zp[n]) + C_int[n])
 *           + C_float[n]
 * in float (no y_scale) or quantized with y_scale, y_zp. C is int32 in units of the
 * accumulator (ONNX Runtime's form); a float C (edgerun domain only) is added after scaling.
 * A may have leading batch dimensions (the fusion feeds MatMul activations [B, S, K]). */
typedef struct qgemm_geom {
    int64_t rows, k, n;
    bool trans_b;
    float alpha;
    qparam qa, qb, qy;
    const er_tensor *c;
    bool quant_out;
} qgemm_geom;

static er_status qgemm_check(er_kctx *ctx, er_tensor **in, int n_in, qgemm_geom *g, int64_t *dims, int *nd)
{
    er_status st = er_op_check_arity(ctx, n_in, 6, 9);
    if (st == ER_OK) st = check_q8(ctx, in[0], "A");
    if (st == ER_OK) st = check_q8(ctx, in[3], "B");
    if (st != ER_OK) return st;
    const er_tensor *a = in[0], *b = in[3];
    if (er_attr_int(ctx->node, "transA", 0) != 0)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "transA = 1 is not supported");
    if (a->ndim < 1 || b->ndim != 2)
        return er_op_fail(ctx, ER_ERR_SHAPE, "A has rank %d and B rank %d; expected A rank >= 1 and B rank 2", a->ndim,
                          b->ndim);
    g->trans_b = er_attr_int(ctx->node, "transB", 0) != 0;
    g->alpha = er_attr_float(ctx->node, "alpha", 1.0f);
    g->k = a->dims[a->ndim - 1];
    g->rows = er_shape_numel(a->dims, a->ndim - 1);
    g->n = b->dims[g->trans_b ? 0 : 1];
    if (b->dims[g->trans_b ? 1 : 0] != g->k)
        return er_op_fail(ctx, ER_ERR_SHAPE, "A has K = %lld but B%s is [%lld, %lld]", (long long)g->k,
                          g->trans_b ? " (transposed)" : "", (long long)b->dims[0], (long long)b->dims[1]);
    if ((st = qp_read(ctx, in[1], in[2], a->dtype, 0, "a", &g->qa)) != ER_OK) return st;
    if ((st = qp_read(ctx, in[4], in[5], b->dtype, g->n, "b", &g->qb)) != ER_OK) return st;
    g->c = opt_in(in, n_in, 6);
    const er_tensor *ys = opt_in(in, n_in, 7), *yz = opt_in(in, n_in, 8);
    g->quant_out = ys != NULL;
    if (ys && (st = qp_read(ctx, ys, yz, ER_UNDEFINED, 0, "y", &g->qy)) != ER_OK) return st;
    if (!ys && yz) return er_op_fail(ctx, ER_ERR_FORMAT, "y zero point given without y scale");
    if (g->c) {
        bool edgerun = ctx->node->domain && strcmp(ctx->node->domain, "edgerun") == 0;
        if (g->c->dtype != ER_I32 && !(edgerun && g->c->dtype == ER_F32))
            return er_op_fail(ctx, ER_ERR_DTYPE, "C is %s, expected int32", er_dtype_name(g->c->dtype));
        int64_t nc = er_tensor_numel(g->c);
        if (nc != 1 && nc != g->n)
            return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "C has %lld values; 1 or N = %lld are supported", (long long)nc,
                              (long long)g->n);
    }
    memcpy(dims, a->dims, sizeof(int64_t) * (size_t)a->ndim);
    dims[a->ndim - 1] = g->n;
    *nd = a->ndim;
    return ER_OK;
}

static er_status qgemm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    qgemm_geom g;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    er_status st = qgemm_check(ctx, in, n_in, &g, dims, &nd);
    if (st != ER_OK) return st;
    const er_tensor *yz = opt_in(in, n_in, 8);
    er_tensor_set_shape(out[0], g.quant_out ? (yz ? yz->dtype : ER_U8) : ER_F32, dims, nd);
    return ER_OK;
}

static double qgemm_c(const er_tensor *c, er_dtype want, int64_t n)
{
    if (!c || c->dtype != want) return 0.0;
    int64_t i = er_tensor_numel(c) == 1 ? 0 : n;
    return want == ER_I32 ? ((const int32_t *)c->data)[i] : ((const float *)c->data)[i];
}

static er_status qgemm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    if (ctx->state) return er_qmm_run_packed(ctx, in, n_in, out, n_out);
    qgemm_geom g;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    er_status st = qgemm_check(ctx, in, n_in, &g, dims, &nd);
    if (st != ER_OK) return st;
    const er_tensor *a = in[0], *b = in[3];
    const int32_t za = qp_zp(&g.qa, 0);
    for (int64_t r = 0; r < g.rows; r++)
        for (int64_t n = 0; n < g.n; n++) {
            int64_t acc = 0;
            int32_t zb = qp_zp(&g.qb, n);
            for (int64_t k = 0; k < g.k; k++) {
                int64_t bi = g.trans_b ? n * g.k + k : k * g.n + n;
                acc += (int64_t)(qload(a->data, a->dtype, r * g.k + k) - za) * (qload(b->data, b->dtype, bi) - zb);
            }
            double v = (double)g.alpha * qp_scale(&g.qa, 0) * qp_scale(&g.qb, n) * (double)(acc + qgemm_c(g.c, ER_I32, n)) +
                       qgemm_c(g.c, ER_F32, n);
            if (g.quant_out) qstore(out[0]->data, out[0]->dtype, r * g.n + n, v / qp_scale(&g.qy, 0), qp_zp(&g.qy, 0));
            else ((float *)out[0]->data)[r * g.n + n] = (float)v;
        }
    return ER_OK;
}

/* ---- integer convolution ---- */

typedef struct {
    er_nn_window w;
    const void *x, *wt;
    er_dtype xdt, wdt;
    int32_t xzp;
    qparam qw;            /* weight zero points per output channel */
    int32_t *acc;
    int64_t c_in, c_out, group;
} iconv_args;

static int64_t plane3(const int64_t *d) { return d[0] * d[1] * d[2]; }

/* Adds one input plane, through one kernel slice, into one int32 output plane. */
static void iconv_accumulate(const iconv_args *a, int64_t xoff, int64_t woff, int32_t wzp, int32_t *y)
{
    const er_nn_window *w = &a->w;
    const int64_t ih_n = w->in[1], iw_n = w->in[2], oh_n = w->out[1], ow_n = w->out[2];
    for (int64_t kd = 0; kd < w->k[0]; kd++) {
        int64_t d_lo, d_hi;
        er_nn_valid_range(w->out[0], w->in[0], w->stride[0], kd * w->dil[0] - w->pad0[0], &d_lo, &d_hi);
        for (int64_t kh = 0; kh < w->k[1]; kh++) {
            int64_t h_lo, h_hi;
            er_nn_valid_range(oh_n, ih_n, w->stride[1], kh * w->dil[1] - w->pad0[1], &h_lo, &h_hi);
            for (int64_t kw = 0; kw < w->k[2]; kw++) {
                int32_t wv = qload(a->wt, a->wdt, woff + (kd * w->k[1] + kh) * w->k[2] + kw) - wzp;
                int64_t wo = kw * w->dil[2] - w->pad0[2], lo, hi;
                er_nn_valid_range(ow_n, iw_n, w->stride[2], wo, &lo, &hi);
                for (int64_t od = d_lo; od < d_hi; od++) {
                    int64_t id = od * w->stride[0] + kd * w->dil[0] - w->pad0[0];
                    for (int64_t oh = h_lo; oh < h_hi; oh++) {
                        int64_t ih = oh * w->stride[1] + kh * w->dil[1] - w->pad0[1];
                        int64_t xr = xoff + (id * ih_n + ih) * iw_n + wo;
                        int32_t *yr = y + (od * oh_n + oh) * ow_n;
                        for (int64_t j = lo; j < hi; j++)
                            yr[j] += wv * (qload(a->x, a->xdt, xr + j * w->stride[2]) - a->xzp);
                    }
                }
            }
        }
    }
}

static void iconv_planes(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const iconv_args *a = arg;
    const int64_t in_plane = plane3(a->w.in), out_plane = plane3(a->w.out), kvol = plane3(a->w.k);
    const int64_t cg_in = a->c_in / a->group, cg_out = a->c_out / a->group;
    for (int64_t p = begin; p < end; p++) {
        int64_t n = p / a->c_out, m = p % a->c_out, g = m / cg_out;
        int32_t *y = a->acc + p * out_plane;
        memset(y, 0, sizeof(int32_t) * (size_t)out_plane);
        for (int64_t c = 0; c < cg_in; c++)
            iconv_accumulate(a, (n * a->c_in + g * cg_in + c) * in_plane, (m * cg_in + c) * kvol, qp_zp(&a->qw, m), y);
    }
}

/* Shapes X [N, C, spatial...] and W [M, C/group, kernel...]; fills the geometry. */
static er_status iconv_shape(er_kctx *ctx, const er_tensor *x, const er_tensor *w, iconv_args *a, int64_t *dims)
{
    er_status st = check_q8(ctx, x, "x");
    if (st == ER_OK) st = check_q8(ctx, w, "w");
    if (st != ER_OK) return st;
    if (x->ndim < 3 || x->ndim > 2 + ER_NN_MAX_SPATIAL || w->ndim != x->ndim)
        return er_op_fail(ctx, ER_ERR_SHAPE, "x has rank %d and w rank %d; equal ranks 3 to %d are supported", x->ndim,
                          w->ndim, 2 + ER_NN_MAX_SPATIAL);
    a->group = er_attr_int(ctx->node, "group", 1);
    a->c_in = x->dims[1];
    a->c_out = w->dims[0];
    if (a->group < 1 || a->c_in % a->group || a->c_out % a->group || w->dims[1] * a->group != a->c_in)
        return er_op_fail(ctx, ER_ERR_SHAPE, "x has %lld channels, w has %lld output and %lld input channels per group, group = %lld",
                          (long long)a->c_in, (long long)a->c_out, (long long)w->dims[1], (long long)a->group);
    int nsp = x->ndim - 2;
    if ((st = er_nn_window_forward(ctx, x->dims + 2, w->dims + 2, nsp, false, &a->w)) != ER_OK) return st;
    dims[0] = x->dims[0];
    dims[1] = a->c_out;
    for (int i = 0; i < nsp; i++) dims[2 + i] = a->w.out[ER_NN_MAX_SPATIAL - nsp + i];
    a->x = x->data;
    a->wt = w->data;
    a->xdt = x->dtype;
    a->wdt = w->dtype;
    return ER_OK;
}

static er_status x_zero_point(er_kctx *ctx, const qparam *q, int32_t *zp)
{
    if (q->n != 1) return er_op_fail(ctx, ER_ERR_SHAPE, "x zero point must be a single value");
    *zp = qp_zp(q, 0);
    return ER_OK;
}

/* ConvInteger: x, w, x_zero_point, w_zero_point. */
static er_status convint_check(er_kctx *ctx, er_tensor **in, int n_in, iconv_args *a, int64_t *dims)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 4);
    if (st == ER_OK) st = iconv_shape(ctx, in[0], in[1], a, dims);
    qparam qx;
    if (st == ER_OK) st = zp_only(ctx, opt_in(in, n_in, 2), in[0]->dtype, 1, "x", &qx);
    if (st == ER_OK) st = x_zero_point(ctx, &qx, &a->xzp);
    if (st == ER_OK) st = zp_only(ctx, opt_in(in, n_in, 3), in[1]->dtype, a->c_out, "w", &a->qw);
    return st;
}

static er_status convint_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    iconv_args a;
    int64_t dims[ER_MAX_DIMS];
    er_status st = convint_check(ctx, in, n_in, &a, dims);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], ER_I32, dims, in[0]->ndim);
    return ER_OK;
}

static er_status convint_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    iconv_args a;
    int64_t dims[ER_MAX_DIMS];
    er_status st = convint_check(ctx, in, n_in, &a, dims);
    if (st != ER_OK) return st;
    a.acc = out[0]->data;
    er_nn_parallel(ctx, dims[0] * a.c_out, iconv_planes, &a);
    return ER_OK;
}

/* QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B (int32). */
static er_status qlconv_check(er_kctx *ctx, er_tensor **in, int n_in, iconv_args *a, qparam *qx, qparam *qy,
                              int64_t *dims)
{
    er_status st = er_op_check_arity(ctx, n_in, 8, 9);
    if (st == ER_OK) st = iconv_shape(ctx, in[0], in[3], a, dims);
    if (st == ER_OK) st = qp_read(ctx, in[1], in[2], in[0]->dtype, 0, "x", qx);
    if (st == ER_OK) st = x_zero_point(ctx, qx, &a->xzp);
    if (st == ER_OK) st = qp_read(ctx, in[4], in[5], in[3]->dtype, a->c_out, "w", &a->qw);
    if (st == ER_OK) st = qp_read(ctx, in[6], in[7], ER_UNDEFINED, 0, "y", qy);
    if (st != ER_OK) return st;
    if (!in[7]) return er_op_fail(ctx, ER_ERR_FORMAT, "y zero point is required");
    const er_tensor *b = opt_in(in, n_in, 8);
    if (b && (b->dtype != ER_I32 || b->ndim != 1 || b->dims[0] != a->c_out))
        return er_op_fail(ctx, ER_ERR_SHAPE, "B must be int32 of shape [%lld]", (long long)a->c_out);
    return ER_OK;
}

static er_status qlconv_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    iconv_args a;
    qparam qx, qy;
    int64_t dims[ER_MAX_DIMS];
    er_status st = qlconv_check(ctx, in, n_in, &a, &qx, &qy, dims);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], in[7]->dtype, dims, in[0]->ndim);
    ctx->workspace_bytes = (size_t)er_shape_numel(dims, in[0]->ndim) * sizeof(int32_t);
    return ER_OK;
}

static er_status qlconv_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    iconv_args a;
    qparam qx, qy;
    int64_t dims[ER_MAX_DIMS];
    if (ctx->state) return er_qconv_run_packed(ctx, in, n_in, out, n_out);
    er_status st = qlconv_check(ctx, in, n_in, &a, &qx, &qy, dims);
    if (st != ER_OK) return st;
    a.acc = ctx->workspace;
    er_nn_parallel(ctx, dims[0] * a.c_out, iconv_planes, &a);
    const er_tensor *b = opt_in(in, n_in, 8);
    const int32_t *bias = b ? b->data : NULL;
    int64_t plane = er_shape_numel(dims + 2, in[0]->ndim - 2), total = er_shape_numel(dims, in[0]->ndim);
    const double sx = qx.scale[0], sy = qy.scale[0];
    const int32_t zy = qp_zp(&qy, 0);
    for (int64_t i = 0; i < total; i++) {
        int64_t m = (i / plane) % a.c_out;
        double acc = (double)a.acc[i] + (bias ? bias[m] : 0);
        qstore(out[0]->data, out[0]->dtype, i, acc * sx * qp_scale(&a.qw, m) / sy, zy);
    }
    return ER_OK;
}

/* ---- com.microsoft QLinearAdd: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp ---- */

static er_status qladd_check(er_kctx *ctx, er_tensor **in, int n_in, qparam q[3], int64_t *dims, int *nd)
{
    er_status st = er_op_check_arity(ctx, n_in, 7, 8);
    if (st == ER_OK) st = check_q8(ctx, in[0], "A");
    if (st == ER_OK) st = check_q8(ctx, in[3], "B");
    if (st == ER_OK) st = qp_read(ctx, in[1], in[2], in[0]->dtype, 0, "A", &q[0]);
    if (st == ER_OK) st = qp_read(ctx, in[4], in[5], in[3]->dtype, 0, "B", &q[1]);
    if (st == ER_OK) st = qp_read(ctx, in[6], opt_in(in, n_in, 7), in[0]->dtype, 0, "C", &q[2]);
    if (st == ER_OK && in[0]->dtype != in[3]->dtype)
        st = er_op_fail(ctx, ER_ERR_DTYPE, "A is %s but B is %s", er_dtype_name(in[0]->dtype),
                        er_dtype_name(in[3]->dtype));
    if (st == ER_OK) st = er_broadcast_shape(ctx, in[0]->dims, in[0]->ndim, in[3]->dims, in[3]->ndim, dims, nd);
    return st;
}

static er_status qladd_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    qparam q[3];
    int64_t dims[ER_MAX_DIMS];
    int nd;
    er_status st = qladd_check(ctx, in, n_in, q, dims, &nd);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, dims, nd);
    return ER_OK;
}

static er_status qladd_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    qparam q[3];
    int64_t dims[ER_MAX_DIMS], sa[ER_MAX_DIMS], sb[ER_MAX_DIMS];
    int nd;
    er_status st = qladd_check(ctx, in, n_in, q, dims, &nd);
    if (st != ER_OK) return st;
    const er_tensor *a = in[0], *b = in[3];
    er_broadcast_strides(a->dims, a->ndim, dims, nd, sa);
    er_broadcast_strides(b->dims, b->ndim, dims, nd, sb);
    int64_t total = er_shape_numel(dims, nd);
    const double s0 = q[0].scale[0], s1 = q[1].scale[0], s2 = q[2].scale[0];
    const int32_t z0 = qp_zp(&q[0], 0), z1 = qp_zp(&q[1], 0), z2 = qp_zp(&q[2], 0);
    for (int64_t i = 0; i < total; i++) {
        int64_t ia = 0, ib = 0, rem = i;
        for (int d = nd - 1; d >= 0; d--) {
            int64_t idx = rem % dims[d];
            rem /= dims[d];
            ia += idx * sa[d];
            ib += idx * sb[d];
        }
        double v = (qload(a->data, a->dtype, ia) - z0) * s0 + (qload(b->data, b->dtype, ib) - z1) * s1;
        qstore(out[0]->data, out[0]->dtype, i, v / s2, z2);
    }
    return ER_OK;
}

const er_op er_ops_quant[] = {
    { .name = "QuantizeLinear", .infer = quantize_infer, .run = quantize_run },
    { .name = "DequantizeLinear", .infer = dequantize_infer, .run = dequantize_run },
    { .name = "QuantizeLinear", .domain = "com.microsoft", .infer = quantize_infer, .run = quantize_run },
    { .name = "DequantizeLinear", .domain = "com.microsoft", .infer = dequantize_infer, .run = dequantize_run },
    { .name = "DynamicQuantizeLinear", .infer = dynq_infer, .run = dynq_run },
    { .name = "MatMulInteger", .infer = matmulint_infer, .run = matmulint_run, .prepare = er_qmm_prepare,
      .release = er_qmm_release },
    { .name = "QLinearMatMul", .infer = qlmm_infer, .run = qlmm_run, .prepare = er_qmm_prepare,
      .release = er_qmm_release },
    { .name = "ConvInteger", .infer = convint_infer, .run = convint_run },
    { .name = "QLinearConv", .infer = qlconv_infer, .run = qlconv_run, .prepare = er_qconv_prepare,
      .release = er_qconv_release },
    { .name = "QLinearAdd", .domain = "com.microsoft", .infer = qladd_infer, .run = qladd_run },
    { .name = "QGemm", .domain = "com.microsoft", .infer = qgemm_infer, .run = qgemm_run, .prepare = er_qmm_prepare,
      .release = er_qmm_release },
    { .name = "MaxPool", .domain = "edgerun", .infer = er_nn_maxpool_infer, .run = er_qmaxpool_run },
    { .name = "QAdd", .domain = "edgerun", .infer = er_qadd_infer, .run = er_qadd_run },
    { .name = "QuantDequant", .domain = "edgerun", .infer = er_qfake_infer, .run = er_qfake_run },
    { .name = "GatherDQ", .domain = "edgerun", .infer = er_qgather_infer, .run = er_qgather_run },
    { .name = "QGemmDQ", .domain = "edgerun", .infer = er_qgemm_dq_infer, .run = er_qgemm_dq_run,
      .prepare = er_qmm_prepare, .release = er_qmm_release },
    { .name = "QGemm", .domain = "edgerun", .infer = qgemm_infer, .run = qgemm_run, .prepare = er_qmm_prepare,
      .release = er_qmm_release },
    { .name = NULL },
};
