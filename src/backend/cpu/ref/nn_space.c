/* DepthToSpace and SpaceToDepth: pure permutations of 4-D tensors of any element type. */
#include <string.h>

#include "backend/cpu/ref/nn.h"

static er_status space_check(er_kctx *ctx, er_tensor **in, int n_in, int64_t *bs)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (!x) return er_op_fail(ctx, ER_ERR_FORMAT, "input is required");
    if (x->ndim != 4) return er_op_fail(ctx, ER_ERR_SHAPE, "input has rank %d, expected 4", x->ndim);
    if (!er_dtype_valid(x->dtype) || x->dtype == ER_STRING)
        return er_op_fail(ctx, ER_ERR_DTYPE, "unsupported type %s", er_dtype_name(x->dtype));
    *bs = er_attr_int(ctx->node, "blocksize", 0);
    if (*bs < 1) return er_op_fail(ctx, ER_ERR_FORMAT, "blocksize %lld must be >= 1", (long long)*bs);
    return ER_OK;
}

/* DCR (default) reads depth as [b, b, C'], CRD as [C', b, b]. */
static er_status d2s_mode(er_kctx *ctx, bool *crd)
{
    const char *m = er_attr_str(ctx->node, "mode", "DCR");
    *crd = strcmp(m, "CRD") == 0;
    if (!*crd && strcmp(m, "DCR") != 0) return er_op_fail(ctx, ER_ERR_FORMAT, "unknown mode '%s'", m);
    return ER_OK;
}

er_status er_nn_d2s_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    int64_t bs;
    bool crd;
    er_status st = space_check(ctx, in, n_in, &bs);
    if (st == ER_OK) st = d2s_mode(ctx, &crd);
    if (st != ER_OK) return st;
    const int64_t *d = in[0]->dims;
    if (d[1] % (bs * bs))
        return er_op_fail(ctx, ER_ERR_SHAPE, "%lld channels are not divisible by blocksize^2 = %lld", (long long)d[1],
                          (long long)(bs * bs));
    int64_t dims[4] = { d[0], d[1] / (bs * bs), d[2] * bs, d[3] * bs };
    er_tensor_set_shape(out[0], in[0]->dtype, dims, 4);
    return ER_OK;
}

er_status er_nn_d2s_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    int64_t bs = er_attr_int(ctx->node, "blocksize", 1);
    bool crd;
    er_status st = d2s_mode(ctx, &crd);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    const int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3], oc = c / (bs * bs);
    const size_t es = er_dtype_size(x->dtype);
    const char *src = x->data;
    char *dst = out[0]->data;
    int64_t o = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < oc; k++)
            for (int64_t y = 0; y < h * bs; y++)
                for (int64_t xx = 0; xx < w * bs; xx++, o++) {
                    int64_t by = y % bs, bx = xx % bs;
                    int64_t ic = crd ? (k * bs + by) * bs + bx : (by * bs + bx) * oc + k;
                    int64_t i = ((b * c + ic) * h + y / bs) * w + xx / bs;
                    memcpy(dst + (size_t)o * es, src + (size_t)i * es, es);
                }
    return ER_OK;
}

er_status er_nn_s2d_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    int64_t bs;
    er_status st = space_check(ctx, in, n_in, &bs);
    if (st != ER_OK) return st;
    const int64_t *d = in[0]->dims;
    if (d[2] % bs || d[3] % bs)
        return er_op_fail(ctx, ER_ERR_SHAPE, "spatial size %lldx%lld is not divisible by blocksize %lld", (long long)d[2],
                          (long long)d[3], (long long)bs);
    int64_t dims[4] = { d[0], d[1] * bs * bs, d[2] / bs, d[3] / bs };
    er_tensor_set_shape(out[0], in[0]->dtype, dims, 4);
    return ER_OK;
}

er_status er_nn_s2d_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    int64_t bs = er_attr_int(ctx->node, "blocksize", 1);
    const er_tensor *x = in[0];
    const int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
    const int64_t oc = c * bs * bs, oh = h / bs, ow = w / bs;
    const size_t es = er_dtype_size(x->dtype);
    const char *src = x->data;
    char *dst = out[0]->data;
    int64_t o = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < oc; k++)
            for (int64_t y = 0; y < oh; y++)
                for (int64_t xx = 0; xx < ow; xx++, o++) {
                    /* output channel k = (by * bs + bx) * C + ic */
                    int64_t ic = k % c, blk = k / c, by = blk / bs, bx = blk % bs;
                    int64_t i = ((b * c + ic) * h + y * bs + by) * w + xx * bs + bx;
                    memcpy(dst + (size_t)o * es, src + (size_t)i * es, es);
                }
    return ER_OK;
}
