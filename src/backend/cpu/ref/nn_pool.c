/* MaxPool, AveragePool, LpPool and their Global forms. Windows are walked tap by tap with
 * padding taps skipped. Non-float32 inputs (MaxPool takes int8/uint8/float16) are widened
 * into the workspace and narrowed back, so one float kernel serves every type. */
#include <math.h>
#include <string.h>

#include "backend/cpu/ref/nn.h"

typedef enum { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

typedef struct {
    er_nn_window w;
    pool_kind kind;
    bool include_pad;
    int storage_order;
    float p;
    const float *x;
    float *y;
    int64_t *idx;             /* MaxPool Indices, or NULL */
} pool_args;

static bool pool_dtype_ok(pool_kind kind, er_dtype dt)
{
    return dt == ER_F32 || dt == ER_F16 || (kind == POOL_MAX && (dt == ER_U8 || dt == ER_I8));
}

/* Workspace for widened input and output when X is not float32. */
static size_t widen_bytes(const er_tensor *x, const er_tensor *y)
{
    return x->dtype == ER_F32 ? 0 : (size_t)(er_tensor_numel(x) + er_tensor_numel(y)) * sizeof(float);
}

static void widen(const er_tensor *t, float *dst)
{
    int64_t n = er_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) dst[i] = (float)er_get_f64(t->data, t->dtype, i);
}

static void narrow(const float *src, er_tensor *t)
{
    int64_t n = er_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) er_nn_store(t->data, t->dtype, i, src[i]);
}

static er_status pool_window(er_kctx *ctx, const er_tensor *x, er_nn_window *w)
{
    int nk = 0;
    const int64_t *k = er_attr_ints(ctx->node, "kernel_shape", &nk);
    if (!k) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute kernel_shape is required");
    if (nk != x->ndim - 2)
        return er_op_fail(ctx, ER_ERR_SHAPE, "kernel_shape has %d values but X has %d spatial dimensions", nk,
                          x->ndim - 2);
    bool ceil_mode = er_attr_int(ctx->node, "ceil_mode", 0) != 0;
    return er_nn_window_forward(ctx, x->dims + 2, k, nk, ceil_mode, w);
}

static er_status pool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                            pool_kind kind)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (!x) return er_op_fail(ctx, ER_ERR_FORMAT, "input X is required");
    if (!pool_dtype_ok(kind, x->dtype))
        return er_op_fail(ctx, ER_ERR_DTYPE, "X has unsupported type %s", er_dtype_name(x->dtype));
    if (x->ndim < 3 || x->ndim > 2 + ER_NN_MAX_SPATIAL)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "X has rank %d; ranks 3 to %d are supported", x->ndim,
                          2 + ER_NN_MAX_SPATIAL);
    er_nn_window w;
    if ((st = pool_window(ctx, x, &w)) != ER_OK) return st;
    int nsp = x->ndim - 2;
    int64_t dims[ER_MAX_DIMS] = { x->dims[0], x->dims[1] };
    for (int i = 0; i < nsp; i++) dims[2 + i] = w.out[ER_NN_MAX_SPATIAL - nsp + i];
    er_tensor_set_shape(out[0], x->dtype, dims, x->ndim);
    if (kind == POOL_MAX && n_out > 1) er_tensor_set_shape(out[1], ER_I64, dims, x->ndim);
    ctx->workspace_bytes = widen_bytes(x, out[0]);
    return ER_OK;
}

/* Flat index of input tap (d, h, w) of plane p, row-major or column-major over (d, h, w). */
static int64_t tap_index(const pool_args *a, int64_t p, int64_t d, int64_t h, int64_t w)
{
    const int64_t *in = a->w.in;
    int64_t local = a->storage_order ? (w * in[1] + h) * in[0] + d : (d * in[1] + h) * in[2] + w;
    return p * in[0] * in[1] * in[2] + local;
}

/* Number of taps of one window dimension that fall in [lo_edge, hi_edge). */
static int64_t taps_in(int64_t start, int64_t k, int64_t dil, int64_t lo_edge, int64_t hi_edge)
{
    int64_t n = 0;
    for (int64_t t = 0; t < k; t++) n += start + t * dil >= lo_edge && start + t * dil < hi_edge;
    return n;
}

static void pool_one(const pool_args *a, int64_t p, int64_t od, int64_t oh, int64_t ow, int64_t o)
{
    const er_nn_window *w = &a->w;
    const float *x = a->x + p * w->in[0] * w->in[1] * w->in[2];
    int64_t start[3] = { od * w->stride[0] - w->pad0[0], oh * w->stride[1] - w->pad0[1],
                         ow * w->stride[2] - w->pad0[2] };
    double acc = a->kind == POOL_MAX ? -INFINITY : 0.0;
    int64_t best = -1, count = 0;
    for (int64_t kd = 0; kd < w->k[0]; kd++) {
        int64_t d = start[0] + kd * w->dil[0];
        if (d < 0 || d >= w->in[0]) continue;
        for (int64_t kh = 0; kh < w->k[1]; kh++) {
            int64_t h = start[1] + kh * w->dil[1];
            if (h < 0 || h >= w->in[1]) continue;
            for (int64_t kw = 0; kw < w->k[2]; kw++) {
                int64_t c = start[2] + kw * w->dil[2];
                if (c < 0 || c >= w->in[2]) continue;
                float v = x[(d * w->in[1] + h) * w->in[2] + c];
                count++;
                if (a->kind == POOL_MAX) {
                    if (v > acc || best < 0) {
                        acc = v;
                        best = tap_index(a, p, d, h, c);
                    }
                } else if (a->kind == POOL_AVG) {
                    acc += v;
                } else {
                    acc += pow(fabs(v), a->p);
                }
            }
        }
    }
    if (a->kind == POOL_AVG) {
        if (a->include_pad) {
            count = 1;
            for (int i = 0; i < 3; i++)
                count *= taps_in(start[i], w->k[i], w->dil[i], -w->pad0[i], w->in[i] + w->pad1[i]);
        }
        acc = count ? acc / (double)count : 0.0;
    } else if (a->kind == POOL_LP) {
        acc = pow(acc, 1.0 / a->p);
    }
    a->y[o] = (float)acc;
    if (a->idx) a->idx[o] = best < 0 ? 0 : best;
}

static void pool_planes(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const pool_args *a = arg;
    const int64_t *on = a->w.out;
    for (int64_t p = begin; p < end; p++) {
        int64_t o = p * on[0] * on[1] * on[2];
        for (int64_t od = 0; od < on[0]; od++)
            for (int64_t oh = 0; oh < on[1]; oh++)
                for (int64_t ow = 0; ow < on[2]; ow++) pool_one(a, p, od, oh, ow, o++);
    }
}

static er_status pool_run(er_kctx *ctx, er_tensor **in, er_tensor **out, int n_out, pool_kind kind)
{
    const er_tensor *x = in[0];
    pool_args a = {
        .kind = kind,
        .include_pad = er_attr_int(ctx->node, "count_include_pad", 0) != 0,
        .storage_order = (int)er_attr_int(ctx->node, "storage_order", 0),
        .p = (float)er_attr_int(ctx->node, "p", 2),
        .idx = kind == POOL_MAX && n_out > 1 ? out[1]->data : NULL,
    };
    er_status st = pool_window(ctx, x, &a.w);
    if (st != ER_OK) return st;
    bool wide = x->dtype != ER_F32;
    if (wide) {
        float *ws = ctx->workspace;
        widen(x, ws);
        a.x = ws;
        a.y = ws + er_tensor_numel(x);
    } else {
        a.x = x->data;
        a.y = out[0]->data;
    }
    er_nn_parallel(ctx, x->dims[0] * x->dims[1], pool_planes, &a);
    if (wide) narrow(a.y, out[0]);
    return ER_OK;
}

er_status er_nn_maxpool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    return pool_infer(ctx, in, n_in, out, n_out, POOL_MAX);
}

er_status er_nn_maxpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    return pool_run(ctx, in, out, n_out, POOL_MAX);
}

er_status er_nn_avgpool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    return pool_infer(ctx, in, n_in, out, n_out, POOL_AVG);
}

er_status er_nn_avgpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    return pool_run(ctx, in, out, n_out, POOL_AVG);
}

er_status er_nn_lppool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    return pool_infer(ctx, in, n_in, out, n_out, POOL_LP);
}

er_status er_nn_lppool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    return pool_run(ctx, in, out, n_out, POOL_LP);
}

er_status er_nn_global_pool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (!x) return er_op_fail(ctx, ER_ERR_FORMAT, "input X is required");
    if (x->dtype != ER_F32 && x->dtype != ER_F16)
        return er_op_fail(ctx, ER_ERR_DTYPE, "X has unsupported type %s", er_dtype_name(x->dtype));
    if (x->ndim < 2) return er_op_fail(ctx, ER_ERR_SHAPE, "X has rank %d, expected at least 2", x->ndim);
    int64_t dims[ER_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    er_tensor_set_shape(out[0], x->dtype, dims, x->ndim);
    return ER_OK;
}

/* Reduces each (n, c) plane of X to one value; float16 is read and written element-wise. */
static er_status global_pool(er_kctx *ctx, const er_tensor *x, er_tensor *y, pool_kind kind)
{
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t size = er_shape_numel(x->dims + 2, x->ndim - 2);
    const double p = (double)er_attr_int(ctx->node, "p", 2);
    for (int64_t i = 0; i < planes; i++) {
        double acc = kind == POOL_MAX ? -INFINITY : 0.0;
        for (int64_t j = 0; j < size; j++) {
            double v = x->dtype == ER_F32 ? ((const float *)x->data)[i * size + j]
                                          : er_get_f64(x->data, x->dtype, i * size + j);
            if (kind == POOL_MAX) acc = v > acc ? v : acc;
            else if (kind == POOL_AVG) acc += v;
            else acc += pow(fabs(v), p);
        }
        if (kind == POOL_AVG) acc = size ? acc / (double)size : 0.0;
        else if (kind == POOL_LP) acc = pow(acc, 1.0 / p);
        er_set_f64(y->data, y->dtype, i, acc);
    }
    return ER_OK;
}

er_status er_nn_global_avgpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    return global_pool(ctx, in[0], out[0], POOL_AVG);
}

er_status er_nn_global_maxpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    return global_pool(ctx, in[0], out[0], POOL_MAX);
}

er_status er_nn_global_lppool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    return global_pool(ctx, in[0], out[0], POOL_LP);
}
