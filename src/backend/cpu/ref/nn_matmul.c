/* Gemm and MatMul. One strided row kernel serves both: rows of the output are independent
 * tasks; with a row-contiguous B the inner loop is an axpy along the output row, otherwise a
 * dot product along K. */
#include "backend/cpu/ref/nn.h"

/* y[i, :] += alpha * sum_k a[i, k] * b[k, :] with element strides rs (row) and cs (column). */
typedef struct {
    const float *a, *b;
    float *y;
    int64_t m, n, k;
    int64_t a_rs, a_cs, b_rs, b_cs;
    float alpha;
} mm_desc;

static void mm_row(const mm_desc *d, const float *a, const float *b, float *restrict yr)
{
    if (d->b_cs == 1) {
        for (int64_t kk = 0; kk < d->k; kk++) {
            const float av = d->alpha * a[kk * d->a_cs];
            const float *restrict br = b + kk * d->b_rs;
            for (int64_t j = 0; j < d->n; j++) yr[j] += av * br[j];
        }
        return;
    }
    for (int64_t j = 0; j < d->n; j++) {
        float acc = 0.0f;
        for (int64_t kk = 0; kk < d->k; kk++) acc += a[kk * d->a_cs] * b[kk * d->b_rs + j * d->b_cs];
        yr[j] += d->alpha * acc;
    }
}

static er_status require_f32(er_kctx *ctx, const er_tensor *t, const char *what)
{
    if (!t) return er_op_fail(ctx, ER_ERR_FORMAT, "input %s is required", what);
    if (t->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "%s is %s; only float32 is supported", what, er_dtype_name(t->dtype));
    return ER_OK;
}

/* ---- Gemm ---- */

er_status er_nn_gemm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 2, 3);
    if (st == ER_OK) st = require_f32(ctx, in[0], "A");
    if (st == ER_OK) st = require_f32(ctx, in[1], "B");
    const er_tensor *a = in[0], *b = in[1], *c = n_in > 2 ? in[2] : NULL;
    if (st == ER_OK && c) st = require_f32(ctx, c, "C");
    if (st != ER_OK) return st;
    if (a->ndim != 2 || b->ndim != 2)
        return er_op_fail(ctx, ER_ERR_SHAPE, "A and B must be 2-D, got ranks %d and %d", a->ndim, b->ndim);
    bool ta = er_attr_int(ctx->node, "transA", 0) != 0, tb = er_attr_int(ctx->node, "transB", 0) != 0;
    int64_t m = a->dims[ta], k = a->dims[!ta], kb = b->dims[tb], n = b->dims[!tb];
    if (k != kb)
        return er_op_fail(ctx, ER_ERR_SHAPE, "inner dimensions differ: A gives K = %lld, B gives %lld", (long long)k,
                          (long long)kb);
    int64_t dims[2] = { m, n };
    if (c) {
        bool ok = c->ndim <= 2;
        for (int i = 0; ok && i < c->ndim; i++) {
            int64_t d = c->dims[i], want = dims[2 - c->ndim + i];
            ok = d == 1 || d == want;
        }
        if (!ok) {
            char s[128];
            return er_op_fail(ctx, ER_ERR_SHAPE, "C %s does not broadcast to [%lld,%lld]",
                              er_shape_str(c->dims, c->ndim, s, sizeof s), (long long)m, (long long)n);
        }
    }
    er_tensor_set_shape(out[0], ER_F32, dims, 2);
    return ER_OK;
}

typedef struct {
    mm_desc d;
    const er_tensor *c;
    float beta;
} gemm_args;

static void gemm_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const gemm_args *g = arg;
    const mm_desc *d = &g->d;
    int64_t c_str[2] = { 0, 0 };
    const int64_t dims[2] = { d->m, d->n };
    if (g->c) er_broadcast_strides(g->c->dims, g->c->ndim, dims, 2, c_str);
    const float *cd = g->c ? g->c->data : NULL;
    for (int64_t i = begin; i < end; i++) {
        float *yr = d->y + i * d->n;
        for (int64_t j = 0; j < d->n; j++) yr[j] = cd ? g->beta * cd[i * c_str[0] + j * c_str[1]] : 0.0f;
        mm_row(d, d->a + i * d->a_rs, d->b, yr);
    }
}

er_status er_nn_gemm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const er_tensor *a = in[0], *b = in[1];
    bool ta = er_attr_int(ctx->node, "transA", 0) != 0, tb = er_attr_int(ctx->node, "transB", 0) != 0;
    gemm_args g = {
        .d = {
            .a = a->data, .b = b->data, .y = out[0]->data,
            .m = out[0]->dims[0], .n = out[0]->dims[1], .k = a->dims[!ta],
            .a_rs = ta ? 1 : a->dims[1], .a_cs = ta ? a->dims[1] : 1,
            .b_rs = tb ? 1 : b->dims[1], .b_cs = tb ? b->dims[1] : 1,
            .alpha = er_attr_float(ctx->node, "alpha", 1.0f),
        },
        .c = n_in > 2 ? in[2] : NULL,
        .beta = er_attr_float(ctx->node, "beta", 1.0f),
    };
    er_nn_parallel(ctx, g.d.m, gemm_rows, &g);
    return ER_OK;
}

/* ---- MatMul ---- */

/* Shapes as matrices: 1-D A is [1, K], 1-D B is [K, 1]; batch dims broadcast. */
typedef struct {
    int nb;                                  /* batch rank of the output */
    int64_t batch[ER_MAX_DIMS];
    int64_t a_bstr[ER_MAX_DIMS], b_bstr[ER_MAX_DIMS];   /* in matrices, 0 when broadcast */
    int64_t m, n, k;
} mm_shape;

static er_status matmul_shape(er_kctx *ctx, const er_tensor *a, const er_tensor *b, mm_shape *s,
                              int64_t *out_dims, int *out_nd)
{
    if (a->ndim < 1 || b->ndim < 1)
        return er_op_fail(ctx, ER_ERR_SHAPE, "MatMul operands must have rank >= 1, got %d and %d", a->ndim, b->ndim);
    s->m = a->ndim == 1 ? 1 : a->dims[a->ndim - 2];
    s->k = a->dims[a->ndim - 1];
    int64_t kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2];
    s->n = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
    if (s->k != kb) {
        char sa[128], sb[128];
        return er_op_fail(ctx, ER_ERR_SHAPE, "inner dimensions differ: A %s, B %s",
                          er_shape_str(a->dims, a->ndim, sa, sizeof sa), er_shape_str(b->dims, b->ndim, sb, sizeof sb));
    }
    int na = a->ndim > 2 ? a->ndim - 2 : 0, nb = b->ndim > 2 ? b->ndim - 2 : 0;
    er_status st = er_broadcast_shape(ctx, a->dims, na, b->dims, nb, s->batch, &s->nb);
    if (st != ER_OK) return st;
    er_broadcast_strides(a->dims, na, s->batch, s->nb, s->a_bstr);
    er_broadcast_strides(b->dims, nb, s->batch, s->nb, s->b_bstr);
    int nd = 0;
    for (int i = 0; i < s->nb; i++) out_dims[nd++] = s->batch[i];
    if (a->ndim > 1) out_dims[nd++] = s->m;
    if (b->ndim > 1) out_dims[nd++] = s->n;
    *out_nd = nd;
    return ER_OK;
}

er_status er_nn_matmul_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 2, 2);
    if (st == ER_OK) st = require_f32(ctx, in[0], "A");
    if (st == ER_OK) st = require_f32(ctx, in[1], "B");
    if (st != ER_OK) return st;
    mm_shape s;
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    if ((st = matmul_shape(ctx, in[0], in[1], &s, dims, &nd)) != ER_OK) return st;
    er_tensor_set_shape(out[0], ER_F32, dims, nd);
    return ER_OK;
}

typedef struct {
    mm_desc d;
    mm_shape s;
} matmul_args;

static void matmul_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const matmul_args *ma = arg;
    const mm_desc *d = &ma->d;
    const mm_shape *s = &ma->s;
    for (int64_t r = begin; r < end; r++) {
        int64_t bi = r / d->m, i = r % d->m, a_off = 0, b_off = 0;
        for (int j = s->nb - 1; j >= 0; j--) {
            int64_t idx = bi % s->batch[j];
            bi /= s->batch[j];
            a_off += idx * s->a_bstr[j];
            b_off += idx * s->b_bstr[j];
        }
        float *yr = d->y + r * d->n;
        for (int64_t j = 0; j < d->n; j++) yr[j] = 0.0f;
        mm_row(d, d->a + a_off * d->m * d->k + i * d->k, d->b + b_off * d->k * d->n, yr);
    }
}

er_status er_nn_matmul_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    matmul_args ma;
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    er_status st = matmul_shape(ctx, in[0], in[1], &ma.s, dims, &nd);
    if (st != ER_OK) return st;
    ma.d = (mm_desc){
        .a = in[0]->data, .b = in[1]->data, .y = out[0]->data,
        .m = ma.s.m, .n = ma.s.n, .k = ma.s.k,
        .a_rs = ma.s.k, .a_cs = 1, .b_rs = ma.s.n, .b_cs = 1, .alpha = 1.0f,
    };
    er_nn_parallel(ctx, er_shape_numel(ma.s.batch, ma.s.nb) * ma.s.m, matmul_rows, &ma);
    return ER_OK;
}
