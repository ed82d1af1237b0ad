/* Helpers shared by the reference NN kernels: window geometry, range clipping, threading
 * and saturating stores. */
#include <math.h>
#include <string.h>

#include "backend/cpu/ref/nn.h"

void er_nn_valid_range(int64_t n_src, int64_t n_dst, int64_t s, int64_t off, int64_t *lo, int64_t *hi)
{
    int64_t a = er_nn_ceil_div(-off, s);
    int64_t b = er_nn_floor_div(n_dst - 1 - off, s) + 1;
    *lo = ER_MAX(a, 0);
    *hi = ER_MIN(b, n_src);
    if (*hi < *lo) *hi = *lo;
}

void er_nn_parallel(er_kctx *ctx, int64_t n, er_range_fn fn, void *arg)
{
    er_parallel_for(ctx->pool, n, 1, fn, arg);
}

er_status er_nn_spatial_attr(er_kctx *ctx, const char *name, int nsp, int64_t def, int64_t min, int64_t *dst)
{
    int n = 0;
    const int64_t *v = er_attr_ints(ctx->node, name, &n);
    if (v && n != nsp)
        return er_op_fail(ctx, ER_ERR_FORMAT, "attribute %s has %d values, expected %d", name, n, nsp);
    int off = ER_NN_MAX_SPATIAL - nsp;
    for (int i = 0; i < ER_NN_MAX_SPATIAL; i++) {
        dst[i] = (i < off || !v) ? def : v[i - off];
        if (dst[i] < min)
            return er_op_fail(ctx, ER_ERR_FORMAT, "attribute %s[%d] = %lld, must be >= %lld", name,
                              i - off, (long long)dst[i], (long long)min);
    }
    return ER_OK;
}

er_status er_nn_window_attrs(er_kctx *ctx, int nsp, er_nn_window *w)
{
    if (nsp < 1 || nsp > ER_NN_MAX_SPATIAL)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "%d spatial dimensions (1 to %d supported)", nsp,
                          ER_NN_MAX_SPATIAL);
    w->nsp = nsp;
    er_status st = er_nn_spatial_attr(ctx, "strides", nsp, 1, 1, w->stride);
    if (st == ER_OK) st = er_nn_spatial_attr(ctx, "dilations", nsp, 1, 1, w->dil);
    return st;
}

/* pads holds all begins, then all ends. */
er_status er_nn_read_pads(er_kctx *ctx, int nsp, er_nn_window *w)
{
    int n = 0;
    const int64_t *p = er_attr_ints(ctx->node, "pads", &n);
    int off = ER_NN_MAX_SPATIAL - nsp;
    for (int i = 0; i < ER_NN_MAX_SPATIAL; i++) w->pad0[i] = w->pad1[i] = 0;
    if (!p) return ER_OK;
    if (n != 2 * nsp)
        return er_op_fail(ctx, ER_ERR_FORMAT, "attribute pads has %d values, expected %d", n, 2 * nsp);
    for (int i = 0; i < nsp; i++) {
        w->pad0[off + i] = p[i];
        w->pad1[off + i] = p[nsp + i];
        if (p[i] < 0 || p[nsp + i] < 0)
            return er_op_fail(ctx, ER_ERR_FORMAT, "negative pads are not allowed");
    }
    return ER_OK;
}

er_status er_nn_auto_pad(er_kctx *ctx, er_nn_pad_mode *mode)
{
    const char *s = er_attr_str(ctx->node, "auto_pad", "NOTSET");
    if (strcmp(s, "NOTSET") == 0) *mode = ER_NN_PAD_NOTSET;
    else if (strcmp(s, "SAME_UPPER") == 0) *mode = ER_NN_PAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0) *mode = ER_NN_PAD_SAME_LOWER;
    else if (strcmp(s, "VALID") == 0) *mode = ER_NN_PAD_VALID;
    else return er_op_fail(ctx, ER_ERR_FORMAT, "unknown auto_pad '%s'", s);
    return ER_OK;
}

er_status er_nn_window_forward(er_kctx *ctx, const int64_t *in_sp, const int64_t *k, int nsp,
                               bool ceil_mode, er_nn_window *w)
{
    er_status st = er_nn_window_attrs(ctx, nsp, w);
    er_nn_pad_mode mode = ER_NN_PAD_NOTSET;
    if (st == ER_OK) st = er_nn_auto_pad(ctx, &mode);
    if (st == ER_OK) st = er_nn_read_pads(ctx, nsp, w);
    if (st != ER_OK) return st;
    int off = ER_NN_MAX_SPATIAL - nsp;
    for (int i = 0; i < ER_NN_MAX_SPATIAL; i++) {
        w->in[i] = i < off ? 1 : in_sp[i - off];
        w->k[i] = i < off ? 1 : k[i - off];
        if (w->k[i] < 1)
            return er_op_fail(ctx, ER_ERR_FORMAT, "kernel dimension %d is %lld", i - off, (long long)w->k[i]);
        int64_t ek = w->dil[i] * (w->k[i] - 1) + 1, s = w->stride[i], in = w->in[i];
        if (mode == ER_NN_PAD_SAME_UPPER || mode == ER_NN_PAD_SAME_LOWER) {
            w->out[i] = (in + s - 1) / s;
            int64_t total = ER_MAX((w->out[i] - 1) * s + ek - in, 0);
            w->pad0[i] = mode == ER_NN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            w->pad1[i] = total - w->pad0[i];
            continue;
        }
        if (mode == ER_NN_PAD_VALID) w->pad0[i] = w->pad1[i] = 0;
        int64_t span = in + w->pad0[i] + w->pad1[i] - ek;
        if (span < 0)
            return er_op_fail(ctx, ER_ERR_SHAPE,
                              "spatial dimension %d: kernel extent %lld exceeds the padded input %lld",
                              i - off, (long long)ek, (long long)(in + w->pad0[i] + w->pad1[i]));
        w->out[i] = (ceil_mode ? er_nn_ceil_div(span, s) : span / s) + 1;
        /* a last window that would start inside the end padding is dropped (as PyTorch does) */
        if (ceil_mode && (w->out[i] - 1) * s >= in + w->pad0[i]) w->out[i]--;
    }
    return ER_OK;
}

void er_nn_store(void *data, er_dtype dt, int64_t i, double v)
{
    if (dt == ER_U8 || dt == ER_I8) {
        double lo = dt == ER_U8 ? 0.0 : -128.0, hi = dt == ER_U8 ? 255.0 : 127.0;
        v = isnan(v) ? 0.0 : nearbyint(v);
        v = v < lo ? lo : v > hi ? hi : v;
    }
    er_set_f64(data, dt, i, v);
}
