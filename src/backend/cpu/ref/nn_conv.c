/* Conv and ConvTranspose: direct loops, one output plane per task, with the innermost loop
 * running along the output (or input) row so it vectorises. */
#include "backend/cpu/ref/nn.h"

static er_status check_f32(er_kctx *ctx, const er_tensor *t, const char *what)
{
    if (t->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "%s is %s; only float32 is supported", what, er_dtype_name(t->dtype));
    return ER_OK;
}

/* Validates X and W of Conv/ConvTranspose and the optional kernel_shape attribute. */
static er_status conv_common(er_kctx *ctx, er_tensor **in, int n_in, int64_t *group)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 3);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *w = in[1];
    if (!x || !w) return er_op_fail(ctx, ER_ERR_FORMAT, "inputs X and W are required");
    if ((st = check_f32(ctx, x, "X")) != ER_OK || (st = check_f32(ctx, w, "W")) != ER_OK) return st;
    if (n_in > 2 && in[2] && (st = check_f32(ctx, in[2], "B")) != ER_OK) return st;
    if (x->ndim < 3 || x->ndim > 2 + ER_NN_MAX_SPATIAL)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "X has rank %d; ranks 3 to %d are supported", x->ndim,
                          2 + ER_NN_MAX_SPATIAL);
    if (w->ndim != x->ndim)
        return er_op_fail(ctx, ER_ERR_SHAPE, "W has rank %d but X has rank %d", w->ndim, x->ndim);
    *group = er_attr_int(ctx->node, "group", 1);
    if (*group < 1) return er_op_fail(ctx, ER_ERR_FORMAT, "group = %lld", (long long)*group);
    int nk = 0;
    const int64_t *ks = er_attr_ints(ctx->node, "kernel_shape", &nk);
    if (ks) {
        bool ok = nk == x->ndim - 2;
        for (int i = 0; ok && i < nk; i++) ok = ks[i] == w->dims[2 + i];
        if (!ok) {
            char a[128], b[128];
            return er_op_fail(ctx, ER_ERR_SHAPE, "kernel_shape %s does not match W %s",
                              er_shape_str(ks, nk, a, sizeof a), er_shape_str(w->dims, w->ndim, b, sizeof b));
        }
    }
    return ER_OK;
}

static er_status check_bias(er_kctx *ctx, const er_tensor *b, int64_t m)
{
    if (b && (b->ndim != 1 || b->dims[0] != m))
        return er_op_fail(ctx, ER_ERR_SHAPE, "B must have shape [%lld], got rank %d with %lld elements",
                          (long long)m, b->ndim, (long long)er_tensor_numel(b));
    return ER_OK;
}

er_status er_nn_conv_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    int64_t group;
    er_status st = conv_common(ctx, in, n_in, &group);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *w = in[1];
    int64_t c = x->dims[1], m = w->dims[0];
    if (c % group || m % group || w->dims[1] * group != c)
        return er_op_fail(ctx, ER_ERR_SHAPE,
                          "X has %lld channels, W has %lld output and %lld input channels per group, group = %lld",
                          (long long)c, (long long)m, (long long)w->dims[1], (long long)group);
    if ((st = check_bias(ctx, n_in > 2 ? in[2] : NULL, m)) != ER_OK) return st;
    int nsp = x->ndim - 2;
    er_nn_window win;
    if ((st = er_nn_window_forward(ctx, x->dims + 2, w->dims + 2, nsp, false, &win)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS] = { x->dims[0], m };
    for (int i = 0; i < nsp; i++) dims[2 + i] = win.out[ER_NN_MAX_SPATIAL - nsp + i];
    er_tensor_set_shape(out[0], ER_F32, dims, x->ndim);
    return ER_OK;
}

typedef struct {
    er_nn_window w;
    const float *x, *wt, *b;
    float *y;
    int64_t c_in, c_out, group;   /* c_in/c_out: total channels of X and Y */
} conv_args;

/* Accumulates one input channel plane into one output plane through one kernel slice
 * (kernel values wk, laid out [kd][kh][kw]). */
static void conv_accumulate(const er_nn_window *w, const float *restrict x, const float *restrict wk,
                            float *restrict y)
{
    const int64_t ih_n = w->in[1], iw_n = w->in[2];
    const int64_t oh_n = w->out[1], ow_n = w->out[2];
    const int64_t sw = w->stride[2];
    for (int64_t kd = 0; kd < w->k[0]; kd++) {
        int64_t d_lo, d_hi;
        er_nn_valid_range(w->out[0], w->in[0], w->stride[0], kd * w->dil[0] - w->pad0[0], &d_lo, &d_hi);
        for (int64_t kh = 0; kh < w->k[1]; kh++) {
            int64_t h_lo, h_hi;
            er_nn_valid_range(oh_n, ih_n, w->stride[1], kh * w->dil[1] - w->pad0[1], &h_lo, &h_hi);
            for (int64_t kw = 0; kw < w->k[2]; kw++) {
                const float wv = wk[(kd * w->k[1] + kh) * w->k[2] + kw];
                const int64_t woff = kw * w->dil[2] - w->pad0[2];
                int64_t lo, hi;
                er_nn_valid_range(ow_n, iw_n, sw, woff, &lo, &hi);
                const int64_t len = hi - lo;
                for (int64_t od = d_lo; od < d_hi; od++) {
                    const int64_t id = od * w->stride[0] + kd * w->dil[0] - w->pad0[0];
                    for (int64_t oh = h_lo; oh < h_hi; oh++) {
                        const int64_t ih = oh * w->stride[1] + kh * w->dil[1] - w->pad0[1];
                        const float *xr = x + (id * ih_n + ih) * iw_n + lo * sw + woff;
                        float *yr = y + (od * oh_n + oh) * ow_n + lo;
                        if (sw == 1)
                            for (int64_t j = 0; j < len; j++) yr[j] += wv * xr[j];
                        else
                            for (int64_t j = 0; j < len; j++) yr[j] += wv * xr[j * sw];
                    }
                }
            }
        }
    }
}

static int64_t plane(const int64_t *d) { return d[0] * d[1] * d[2]; }

static void conv_planes(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const conv_args *a = arg;
    const er_nn_window *w = &a->w;
    const int64_t in_plane = plane(w->in), out_plane = plane(w->out), kvol = plane(w->k);
    const int64_t cg_in = a->c_in / a->group, cg_out = a->c_out / a->group;
    for (int64_t p = begin; p < end; p++) {
        const int64_t n = p / a->c_out, m = p % a->c_out, g = m / cg_out;
        float *y = a->y + p * out_plane;
        const float bias = a->b ? a->b[m] : 0.0f;
        for (int64_t i = 0; i < out_plane; i++) y[i] = bias;
        for (int64_t c = 0; c < cg_in; c++) {
            const float *x = a->x + (n * a->c_in + g * cg_in + c) * in_plane;
            conv_accumulate(w, x, a->wt + (m * cg_in + c) * kvol, y);
        }
    }
}

er_status er_nn_conv_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const er_tensor *x = in[0], *wt = in[1], *b = n_in > 2 ? in[2] : NULL;
    conv_args a = {
        .x = x->data, .wt = wt->data, .b = b ? b->data : NULL, .y = out[0]->data,
        .c_in = x->dims[1], .c_out = out[0]->dims[1], .group = er_attr_int(ctx->node, "group", 1),
    };
    er_status st = er_nn_window_forward(ctx, x->dims + 2, wt->dims + 2, x->ndim - 2, false, &a.w);
    if (st != ER_OK) return st;
    er_nn_parallel(ctx, x->dims[0] * a.c_out, conv_planes, &a);
    return ER_OK;
}

/* ConvTranspose geometry: w->in holds the input dims, w->out the output dims. */
static er_status convt_window(er_kctx *ctx, const er_tensor *x, const er_tensor *wt, er_nn_window *w)
{
    int nsp = x->ndim - 2, off = ER_NN_MAX_SPATIAL - nsp;
    er_status st = er_nn_window_attrs(ctx, nsp, w);
    er_nn_pad_mode mode = ER_NN_PAD_NOTSET;
    int64_t opad[ER_NN_MAX_SPATIAL];
    if (st == ER_OK) st = er_nn_auto_pad(ctx, &mode);
    if (st == ER_OK) st = er_nn_read_pads(ctx, nsp, w);
    if (st == ER_OK) st = er_nn_spatial_attr(ctx, "output_padding", nsp, 0, 0, opad);
    if (st != ER_OK) return st;
    int n_os = 0;
    const int64_t *os = er_attr_ints(ctx->node, "output_shape", &n_os);
    if (os && n_os == nsp + 2) os += 2;
    else if (os && n_os != nsp)
        return er_op_fail(ctx, ER_ERR_FORMAT, "output_shape has %d values, expected %d", n_os, nsp);
    for (int i = 0; i < ER_NN_MAX_SPATIAL; i++) {
        w->in[i] = i < off ? 1 : x->dims[2 + i - off];
        w->k[i] = i < off ? 1 : wt->dims[2 + i - off];
        int64_t s = w->stride[i], ek = w->dil[i] * (w->k[i] - 1) + 1;
        if (opad[i] >= ER_MAX(s, w->dil[i]))
            return er_op_fail(ctx, ER_ERR_FORMAT, "output_padding %lld must be smaller than the stride or dilation",
                              (long long)opad[i]);
        int64_t full = s * (w->in[i] - 1) + opad[i] + ek;
        if (os || mode == ER_NN_PAD_SAME_UPPER || mode == ER_NN_PAD_SAME_LOWER) {
            int64_t want = i < off ? 1 : os ? os[i - off] : w->in[i] * s;
            int64_t total = full - want;
            /* the odd unit of padding goes to the end for SAME_UPPER, to the start otherwise */
            int64_t half = er_nn_floor_div(total, 2);
            w->pad0[i] = mode == ER_NN_PAD_SAME_UPPER ? half : total - half;
            w->pad1[i] = total - w->pad0[i];
            w->out[i] = want;
        } else {
            if (mode == ER_NN_PAD_VALID) w->pad0[i] = w->pad1[i] = 0;
            w->out[i] = full - w->pad0[i] - w->pad1[i];
        }
        if (w->out[i] < 1)
            return er_op_fail(ctx, ER_ERR_SHAPE, "spatial dimension %d of the output would be %lld", i - off,
                              (long long)w->out[i]);
    }
    return ER_OK;
}

er_status er_nn_convt_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    int64_t group;
    er_status st = conv_common(ctx, in, n_in, &group);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *w = in[1];
    int64_t c = x->dims[1], m = w->dims[1] * group;
    if (w->dims[0] != c || c % group)
        return er_op_fail(ctx, ER_ERR_SHAPE, "X has %lld channels but W has %lld (group = %lld)", (long long)c,
                          (long long)w->dims[0], (long long)group);
    if ((st = check_bias(ctx, n_in > 2 ? in[2] : NULL, m)) != ER_OK) return st;
    er_nn_window win;
    if ((st = convt_window(ctx, x, w, &win)) != ER_OK) return st;
    int nsp = x->ndim - 2;
    int64_t dims[ER_MAX_DIMS] = { x->dims[0], m };
    for (int i = 0; i < nsp; i++) dims[2 + i] = win.out[ER_NN_MAX_SPATIAL - nsp + i];
    er_tensor_set_shape(out[0], ER_F32, dims, x->ndim);
    return ER_OK;
}

/* Scatters one input plane through one kernel slice into one output plane. */
static void convt_accumulate(const er_nn_window *w, const float *restrict x, const float *restrict wk,
                             float *restrict y)
{
    const int64_t ih_n = w->in[1], iw_n = w->in[2];
    const int64_t oh_n = w->out[1], ow_n = w->out[2];
    const int64_t sw = w->stride[2];
    for (int64_t kd = 0; kd < w->k[0]; kd++) {
        int64_t d_lo, d_hi;
        er_nn_valid_range(w->in[0], w->out[0], w->stride[0], kd * w->dil[0] - w->pad0[0], &d_lo, &d_hi);
        for (int64_t kh = 0; kh < w->k[1]; kh++) {
            int64_t h_lo, h_hi;
            er_nn_valid_range(ih_n, oh_n, w->stride[1], kh * w->dil[1] - w->pad0[1], &h_lo, &h_hi);
            for (int64_t kw = 0; kw < w->k[2]; kw++) {
                const float wv = wk[(kd * w->k[1] + kh) * w->k[2] + kw];
                const int64_t woff = kw * w->dil[2] - w->pad0[2];
                int64_t lo, hi;
                er_nn_valid_range(iw_n, ow_n, sw, woff, &lo, &hi);
                const int64_t len = hi - lo;
                for (int64_t id = d_lo; id < d_hi; id++) {
                    const int64_t od = id * w->stride[0] + kd * w->dil[0] - w->pad0[0];
                    for (int64_t ih = h_lo; ih < h_hi; ih++) {
                        const int64_t oh = ih * w->stride[1] + kh * w->dil[1] - w->pad0[1];
                        const float *xr = x + (id * ih_n + ih) * iw_n + lo;
                        float *yr = y + (od * oh_n + oh) * ow_n + lo * sw + woff;
                        for (int64_t j = 0; j < len; j++) yr[j * sw] += wv * xr[j];
                    }
                }
            }
        }
    }
}

static void convt_planes(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const conv_args *a = arg;
    const er_nn_window *w = &a->w;
    const int64_t in_plane = plane(w->in), out_plane = plane(w->out), kvol = plane(w->k);
    const int64_t cg_in = a->c_in / a->group, cg_out = a->c_out / a->group;
    for (int64_t p = begin; p < end; p++) {
        const int64_t n = p / a->c_out, m = p % a->c_out, g = m / cg_out, mi = m % cg_out;
        float *y = a->y + p * out_plane;
        const float bias = a->b ? a->b[m] : 0.0f;
        for (int64_t i = 0; i < out_plane; i++) y[i] = bias;
        for (int64_t c = g * cg_in; c < (g + 1) * cg_in; c++) {
            const float *x = a->x + (n * a->c_in + c) * in_plane;
            convt_accumulate(w, x, a->wt + (c * cg_out + mi) * kvol, y);
        }
    }
}

er_status er_nn_convt_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const er_tensor *x = in[0], *wt = in[1], *b = n_in > 2 ? in[2] : NULL;
    conv_args a = {
        .x = x->data, .wt = wt->data, .b = b ? b->data : NULL, .y = out[0]->data,
        .c_in = x->dims[1], .c_out = out[0]->dims[1], .group = er_attr_int(ctx->node, "group", 1),
    };
    er_status st = convt_window(ctx, x, wt, &a.w);
    if (st != ER_OK) return st;
    er_nn_parallel(ctx, x->dims[0] * a.c_out, convt_planes, &a);
    return ER_OK;
}
