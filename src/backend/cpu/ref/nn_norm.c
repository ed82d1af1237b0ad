/* BatchNormalization, InstanceNormalization, LayerNormalization and GroupNormalization.
 * Statistics are accumulated in double (the population variance, as ONNX defines them). */
#include <math.h>

#include "backend/cpu/ref/nn.h"

static er_status require_f32(er_kctx *ctx, const er_tensor *t, const char *what)
{
    if (!t) return er_op_fail(ctx, ER_ERR_FORMAT, "input %s is required", what);
    if (t->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "%s is %s; only float32 is supported", what, er_dtype_name(t->dtype));
    return ER_OK;
}

static er_status require_numel(er_kctx *ctx, const er_tensor *t, const char *what, int64_t n)
{
    if (er_tensor_numel(t) != n)
        return er_op_fail(ctx, ER_ERR_SHAPE, "%s has %lld elements, expected %lld", what,
                          (long long)er_tensor_numel(t), (long long)n);
    return ER_OK;
}

/* Mean and population variance of n floats. */
static void moments(const float *x, int64_t n, double *mean, double *var)
{
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    double m = n ? s / (double)n : 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - m;
        ss += d * d;
    }
    *mean = m;
    *var = n ? ss / (double)n : 0.0;
}

/* ---- BatchNormalization ---- */

static bool bn_training(er_kctx *ctx, int n_out)
{
    if (ctx->opset >= 14) return er_attr_int(ctx->node, "training_mode", 0) != 0;
    if (ctx->opset < 7 && er_attr_int(ctx->node, "is_test", 0)) return false;
    return n_out > 1;
}

/* Elements per parameter: 1 with per-channel parameters, else the spatial size (spatial=0
 * before opset 9 gives parameters per channel and position). */
static int64_t bn_param_inner(er_kctx *ctx, const er_tensor *x)
{
    if (ctx->opset < 9 && er_attr_int(ctx->node, "spatial", 1) == 0)
        return er_shape_numel(x->dims + 2, x->ndim - 2);
    return 1;
}

er_status er_nn_batchnorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    static const char *names[5] = { "X", "scale", "B", "mean", "var" };
    er_status st = er_op_check_arity(ctx, n_in, 5, 5);
    for (int i = 0; i < 5 && st == ER_OK; i++) st = require_f32(ctx, in[i], names[i]);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (x->ndim < 2) return er_op_fail(ctx, ER_ERR_SHAPE, "X has rank %d, expected at least 2", x->ndim);
    bool training = bn_training(ctx, n_out);
    int64_t np = x->dims[1] * bn_param_inner(ctx, x);
    for (int i = 1; i < 5 && st == ER_OK; i++) st = require_numel(ctx, in[i], names[i], np);
    if (st != ER_OK) return st;
    if (training && np != x->dims[1])
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "training mode with spatial=0 is not supported");
    if (n_out > 3)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "outputs saved_mean/saved_var are not supported");
    er_tensor_set_shape(out[0], ER_F32, x->dims, x->ndim);
    for (int i = 1; i < n_out; i++) er_tensor_set_shape(out[i], ER_F32, in[3]->dims, in[3]->ndim);
    return ER_OK;
}

/* y = (x - mean) / sqrt(var + eps) * scale + bias over channel c's planes. */
static void bn_apply(const er_tensor *x, float *y, int64_t c, double mean, double var,
                     double scale, double bias, double eps)
{
    const int64_t n = x->dims[0], ch = x->dims[1], sp = er_shape_numel(x->dims + 2, x->ndim - 2);
    const float *xd = x->data;
    const double a = scale / sqrt(var + eps), b = bias - mean * a;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = xd + (i * ch + c) * sp;
        float *yr = y + (i * ch + c) * sp;
        for (int64_t j = 0; j < sp; j++) yr[j] = (float)(xr[j] * a + b);
    }
}

static void bn_apply_spatial0(const er_tensor *x, float *y, const float *const *p, double eps)
{
    const int64_t n = x->dims[0], inner = er_shape_numel(x->dims + 1, x->ndim - 1);
    const float *xd = x->data;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < inner; j++) {
            double a = p[0][j] / sqrt((double)p[3][j] + eps);
            y[i * inner + j] = (float)((xd[i * inner + j] - p[2][j]) * a + p[1][j]);
        }
}

/* Per-channel batch mean and variance over N and the spatial dims. */
static void bn_batch_moments(const er_tensor *x, int64_t c, double *mean, double *var)
{
    const int64_t n = x->dims[0], ch = x->dims[1], sp = er_shape_numel(x->dims + 2, x->ndim - 2);
    const float *xd = x->data;
    const int64_t count = n * sp;
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < sp; j++) s += xd[(i * ch + c) * sp + j];
    double m = count > 0 ? s / (double)count : 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < sp; j++) {
            double d = xd[(i * ch + c) * sp + j] - m;
            ss += d * d;
        }
    *mean = m;
    *var = count > 0 ? ss / (double)count : 0.0;
}

er_status er_nn_batchnorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    const er_tensor *x = in[0];
    const float *scale = in[1]->data, *bias = in[2]->data, *mean = in[3]->data, *var = in[4]->data;
    const double eps = er_attr_float(ctx->node, "epsilon", 1e-5f);
    const double momentum = er_attr_float(ctx->node, "momentum", 0.9f);
    float *y = out[0]->data;
    if (bn_param_inner(ctx, x) > 1) {
        const float *p[4] = { scale, bias, mean, var };
        bn_apply_spatial0(x, y, p, eps);
        return ER_OK;
    }
    const bool training = bn_training(ctx, n_out);
    float *run_mean = n_out > 1 ? out[1]->data : NULL, *run_var = n_out > 2 ? out[2]->data : NULL;
    for (int64_t c = 0; c < x->dims[1]; c++) {
        double m = mean[c], v = var[c];
        /* outside training the running statistics pass through unchanged */
        if (training) bn_batch_moments(x, c, &m, &v);
        if (run_mean) run_mean[c] = training ? (float)(mean[c] * momentum + m * (1.0 - momentum)) : mean[c];
        if (run_var) run_var[c] = training ? (float)(var[c] * momentum + v * (1.0 - momentum)) : var[c];
        bn_apply(x, y, c, m, v, scale[c], bias[c], eps);
    }
    return ER_OK;
}

/* ---- InstanceNormalization ---- */

er_status er_nn_instnorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 3, 3);
    if (st == ER_OK) st = require_f32(ctx, in[0], "input");
    if (st == ER_OK) st = require_f32(ctx, in[1], "scale");
    if (st == ER_OK) st = require_f32(ctx, in[2], "B");
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (x->ndim < 3) return er_op_fail(ctx, ER_ERR_SHAPE, "input has rank %d, expected at least 3", x->ndim);
    if ((st = require_numel(ctx, in[1], "scale", x->dims[1])) != ER_OK) return st;
    if ((st = require_numel(ctx, in[2], "B", x->dims[1])) != ER_OK) return st;
    er_tensor_set_shape(out[0], ER_F32, x->dims, x->ndim);
    return ER_OK;
}

er_status er_nn_instnorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0];
    const float *xd = x->data, *scale = in[1]->data, *bias = in[2]->data;
    float *y = out[0]->data;
    const double eps = er_attr_float(ctx->node, "epsilon", 1e-5f);
    const int64_t ch = x->dims[1], planes = x->dims[0] * ch, sp = er_shape_numel(x->dims + 2, x->ndim - 2);
    for (int64_t p = 0; p < planes; p++) {
        double mean, var;
        moments(xd + p * sp, sp, &mean, &var);
        const double a = scale[p % ch] / sqrt(var + eps), b = bias[p % ch] - mean * a;
        for (int64_t j = 0; j < sp; j++) y[p * sp + j] = (float)(xd[p * sp + j] * a + b);
    }
    return ER_OK;
}

/* ---- LayerNormalization ---- */

/* Scale/B must broadcast to the normalised trailing dims X.dims[axis:]. */
static er_status ln_check_param(er_kctx *ctx, const er_tensor *p, const char *what, const er_tensor *x, int axis)
{
    if (p->ndim > x->ndim - axis)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "%s has rank %d; at most %d (the normalised dims) is supported",
                          what, p->ndim, x->ndim - axis);
    for (int i = 0; i < p->ndim; i++) {
        int64_t d = p->dims[i], xd = x->dims[x->ndim - p->ndim + i];
        if (d != 1 && d != xd) {
            char a[128], b[128];
            return er_op_fail(ctx, ER_ERR_SHAPE, "%s shape %s does not broadcast to X %s", what,
                              er_shape_str(p->dims, p->ndim, a, sizeof a), er_shape_str(x->dims, x->ndim, b, sizeof b));
        }
    }
    return ER_OK;
}

er_status er_nn_layernorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 3);
    if (st == ER_OK) st = require_f32(ctx, in[0], "X");
    if (st == ER_OK) st = require_f32(ctx, in[1], "Scale");
    if (st == ER_OK && n_in > 2 && in[2]) st = require_f32(ctx, in[2], "B");
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    int axis;
    if ((st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", -1), x->ndim, &axis)) != ER_OK) return st;
    if ((st = ln_check_param(ctx, in[1], "Scale", x, axis)) != ER_OK) return st;
    if (n_in > 2 && in[2] && (st = ln_check_param(ctx, in[2], "B", x, axis)) != ER_OK) return st;
    int64_t stash = er_attr_int(ctx->node, "stash_type", 1);
    if (stash != 1)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "stash_type %lld (only 1, float32, is supported)", (long long)stash);
    er_tensor_set_shape(out[0], ER_F32, x->dims, x->ndim);
    int64_t dims[ER_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) dims[i] = i < axis ? x->dims[i] : 1;
    for (int i = 1; i < n_out && i < 3; i++) er_tensor_set_shape(out[i], ER_F32, dims, x->ndim);
    return ER_OK;
}

/* Offset into a parameter broadcast over the trailing dims `dims` (rank nd) for flat index i. */
static int64_t param_offset(int64_t i, const int64_t *dims, const int64_t *strides, int nd)
{
    int64_t off = 0;
    for (int d = nd - 1; d >= 0; d--) {
        off += (i % dims[d]) * strides[d];
        i /= dims[d];
    }
    return off;
}

er_status er_nn_layernorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *x = in[0], *sc = in[1], *bt = n_in > 2 ? in[2] : NULL;
    int axis;
    er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", -1), x->ndim, &axis);
    if (st != ER_OK) return st;
    const double eps = er_attr_float(ctx->node, "epsilon", 1e-5f);
    const int nd = x->ndim - axis;
    const int64_t *nd_dims = x->dims + axis;
    const int64_t inner = er_shape_numel(nd_dims, nd), outer = er_shape_numel(x->dims, axis);
    int64_t s_str[ER_MAX_DIMS], b_str[ER_MAX_DIMS];
    er_broadcast_strides(sc->dims, sc->ndim, nd_dims, nd, s_str);
    if (bt) er_broadcast_strides(bt->dims, bt->ndim, nd_dims, nd, b_str);
    const bool s_full = er_tensor_numel(sc) == inner, b_full = !bt || er_tensor_numel(bt) == inner;
    const float *xd = x->data, *sd = sc->data, *bd = bt ? bt->data : NULL;
    float *y = out[0]->data;
    float *mean_out = n_out > 1 ? out[1]->data : NULL, *inv_out = n_out > 2 ? out[2]->data : NULL;
    for (int64_t o = 0; o < outer; o++) {
        double mean, var;
        moments(xd + o * inner, inner, &mean, &var);
        const double inv = 1.0 / sqrt(var + eps);
        if (mean_out) mean_out[o] = (float)mean;
        if (inv_out) inv_out[o] = (float)inv;
        for (int64_t j = 0; j < inner; j++) {
            double s = sd[s_full ? j : param_offset(j, nd_dims, s_str, nd)];
            double b = bd ? bd[b_full ? j : param_offset(j, nd_dims, b_str, nd)] : 0.0;
            y[o * inner + j] = (float)((xd[o * inner + j] - mean) * inv * s + b);
        }
    }
    return ER_OK;
}

/* ---- GroupNormalization ---- */

er_status er_nn_groupnorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 3, 3);
    if (st == ER_OK) st = require_f32(ctx, in[0], "X");
    if (st == ER_OK) st = require_f32(ctx, in[1], "scale");
    if (st == ER_OK) st = require_f32(ctx, in[2], "bias");
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (x->ndim < 3) return er_op_fail(ctx, ER_ERR_SHAPE, "X has rank %d, expected at least 3", x->ndim);
    int64_t g = er_attr_int(ctx->node, "num_groups", 0), c = x->dims[1];
    if (g < 1 || c % g)
        return er_op_fail(ctx, ER_ERR_FORMAT, "num_groups %lld does not divide %lld channels", (long long)g,
                          (long long)c);
    for (int i = 1; i < 3; i++) {
        int64_t n = er_tensor_numel(in[i]);
        if (n != g && n != c)
            return er_op_fail(ctx, ER_ERR_SHAPE, "%s has %lld elements, expected num_groups (%lld) or channels (%lld)",
                              i == 1 ? "scale" : "bias", (long long)n, (long long)g, (long long)c);
    }
    er_tensor_set_shape(out[0], ER_F32, x->dims, x->ndim);
    return ER_OK;
}

er_status er_nn_groupnorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0];
    const float *xd = x->data, *scale = in[1]->data, *bias = in[2]->data;
    float *y = out[0]->data;
    const double eps = er_attr_float(ctx->node, "epsilon", 1e-5f);
    const int64_t g = er_attr_int(ctx->node, "num_groups", 1), c = x->dims[1], cg = c / g;
    const int64_t sp = er_shape_numel(x->dims + 2, x->ndim - 2), gsize = cg * sp;
    const bool per_channel = er_tensor_numel(in[1]) == c && c != g;
    for (int64_t p = 0; p < x->dims[0] * g; p++) {
        double mean, var;
        moments(xd + p * gsize, gsize, &mean, &var);
        const double inv = 1.0 / sqrt(var + eps);
        for (int64_t j = 0; j < gsize; j++) {
            int64_t ch = (p % g) * cg + j / sp, k = per_channel ? ch : p % g;
            y[p * gsize + j] = (float)((xd[p * gsize + j] - mean) * inv * scale[k] + bias[k]);
        }
    }
    return ER_OK;
}
