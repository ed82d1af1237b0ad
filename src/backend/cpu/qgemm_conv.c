/* Packed-weight QLinearConv (see qgemm_conv.h). */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/qdwconv.h"
#include "backend/cpu/qgemm.h"
#include "backend/cpu/qgemm_conv.h"
#include "backend/cpu/ref/nn.h"

typedef struct qconv_state {
    er_nn_window w;
    int64_t group, mg, kg, k4, n, np, c_in, c_out;
    bool x_signed;            /* int8 input: flipped to uint8 (x + 128) while packing */
    uint8_t x_pad;            /* the input zero point in the uint8 domain */
    int32_t *w32;             /* [group][mg][k4] */
    int32_t *bias;            /* [c_out] */
    float *mult;              /* [c_out] */
    uint8_t *col;             /* [4][n] im2col rows of one K group */
    uint8_t *xpack;           /* [k4][np][4] */
    er_qgemm_fn gemm;
    er_qgemm_pack_fn pack;
    bool pointwise;           /* 1x1, stride 1, no pad, uint8 input: the input already is the im2col */
    /* 2-D without dilation: im2col packs straight from zero-point-padded planes */
    bool direct;
    uint8_t *padded;          /* [cg][ph][pw] */
    uint8_t *zp_plane;        /* zero points read for the K padding */
    er_qgemm_pack4_fn pack4;
    /* depthwise 2-D (group = C_in = C_out): direct kernel on zero-point-padded planes */
    bool dw;
    int64_t ph, pw;           /* padded plane */
    int n_planes;             /* one plane buffer per thread */
    uint8_t *planes;
    float *planes_f;          /* the same planes as float (er_qdw_plane_f32) */
    er_qdw_row_fn dw_row;
    er_qdw_plane_fn dw_plane;
} qconv_state;

void er_qconv_release(void *state)
{
    qconv_state *s = state;
    if (!s) return;
    free(s->w32);
    free(s->bias);
    free(s->mult);
    er_aligned_free(s->col);
    er_aligned_free(s->xpack);
    er_aligned_free(s->planes);
    er_aligned_free(s->planes_f);
    er_aligned_free(s->padded);
    er_aligned_free(s->zp_plane);
    free(s);
}

static bool all_known(er_tensor **in, int n_in)
{
    for (int k = 1; k < n_in; k++)
        if (k != 0 && k != 3 && in[k] && !in[k]->data) return false;
    return in[3] && in[3]->data;
}

/* Packs W [M, C/g, k...] int8 into per-group int32 words and computes the per-row terms. */
static bool pack_weights(qconv_state *s, er_tensor **in, int n_in)
{
    const int8_t *w = in[3]->data;
    const float xs = *(const float *)in[1]->data, ys = *(const float *)in[6]->data;
    const float *ws = in[4]->data;
    int64_t nws = er_tensor_numel(in[4]);
    const int32_t *b = n_in > 8 && in[8] ? in[8]->data : NULL;
    int32_t xzp = in[2] ? (s->x_signed ? *(const int8_t *)in[2]->data + 128 : *(const uint8_t *)in[2]->data) : (s->x_signed ? 128 : 0);
    s->x_pad = (uint8_t)xzp;
    s->w32 = calloc((size_t)(s->c_out * s->k4), sizeof(int32_t));
    s->bias = malloc(sizeof(int32_t) * (size_t)s->c_out);
    s->mult = malloc(sizeof(float) * (size_t)s->c_out);
    if (!s->w32 || !s->bias || !s->mult) return false;
    for (int64_t m = 0; m < s->c_out; m++) {
        int32_t sum = 0;
        uint8_t *dst = (uint8_t *)(s->w32 + m * s->k4);
        for (int64_t k = 0; k < s->kg; k++) {
            dst[k] = (uint8_t)w[m * s->kg + k];
            sum += w[m * s->kg + k];
        }
        s->bias[m] = (b ? b[m] : 0) - xzp * sum;
        s->mult[m] = xs * ws[nws == 1 ? 0 : m] / ys;
    }
    return true;
}

/* 2-D, one input and one output channel per group, no dilation, taps few enough for the
 * exact float accumulation of qdwconv.h. */
static bool depthwise_form(const qconv_state *s, const er_tensor *x, const er_tensor *w)
{
    const er_nn_window *win = &s->w;
    return x->ndim == 4 && s->group == s->c_in && s->c_out == s->c_in && w->dims[1] == 1 && win->dil[1] == 1 &&
           win->dil[2] == 1 && s->kg <= ER_QDW_MAX_TAPS;
}

static bool pointwise_form(const qconv_state *s)
{
    const er_nn_window *w = &s->w;
    bool unit = !s->x_signed;
    for (int d = 0; d < 3; d++)
        unit = unit && w->k[d] == 1 && w->stride[d] == 1 && w->pad0[d] == 0 && w->pad1[d] == 0;
    return unit;
}

static bool direct_form(const qconv_state *s, const er_tensor *x)
{
    const er_nn_window *w = &s->w;
    return x->ndim == 4 && !s->pointwise && w->dil[1] == 1 && w->dil[2] == 1;
}

static bool direct_buffers(qconv_state *s)
{
    const er_nn_window *w = &s->w;
    s->direct = true;
    s->ph = w->pad0[1] + w->in[1] + w->pad1[1];
    s->pw = w->pad0[2] + w->in[2] + w->pad1[2];
    int64_t plane = s->ph * s->pw + 64;
    s->padded = er_aligned_alloc((size_t)(s->c_in / s->group * s->ph * s->pw + ER_QDW_SLACK + 64));
    s->zp_plane = er_aligned_alloc((size_t)plane);
    if (!s->padded || !s->zp_plane) return false;
    memset(s->zp_plane, s->x_pad, (size_t)plane);
    s->pack4 = er_qgemm_pack4_select();
    return true;
}

static bool dw_buffers(qconv_state *s, er_threadpool *pool)
{
    const er_nn_window *w = &s->w;
    s->dw = true;
    s->ph = w->pad0[1] + w->in[1] + w->pad1[1];
    s->pw = w->pad0[2] + w->in[2] + w->pad1[2];
    s->n_planes = pool ? er_threadpool_size(pool) : 1;
    s->planes = er_aligned_alloc((size_t)(s->n_planes * (s->ph * s->pw + ER_QDW_SLACK)));
    s->planes_f = er_aligned_alloc(sizeof(float) * (size_t)(s->n_planes * s->ph * s->pw));
    s->dw_row = er_qdw_row_select();
    s->dw_plane = er_qdw_plane_select();
    return s->planes && s->planes_f;
}

er_status er_qconv_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, void **state)
{
    (void)n_out;
    *state = NULL;
    if (n_in < 8 || !all_known(in, n_in) || in[3]->dtype != ER_I8 || !in[7]) return ER_OK;
    if (in[5]) {
        const int8_t *wz = in[5]->data;
        for (int64_t i = 0; i < er_tensor_numel(in[5]); i++)
            if (wz[i] != 0) return ER_OK;
    }
    const er_tensor *x = in[0], *w = in[3];
    qconv_state *s = calloc(1, sizeof *s);
    if (!s) return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
    er_status st = er_nn_window_forward(ctx, x->dims + 2, w->dims + 2, x->ndim - 2, false, &s->w);
    if (st != ER_OK) {
        free(s);
        return st;
    }
    s->group = er_attr_int(ctx->node, "group", 1);
    s->c_in = x->dims[1];
    s->c_out = w->dims[0];
    s->mg = s->c_out / s->group;
    s->kg = er_tensor_numel(w) / s->c_out;
    s->k4 = (s->kg + 3) / 4;
    s->n = s->w.out[0] * s->w.out[1] * s->w.out[2];
    s->np = (s->n + 15) / 16 * 16;
    s->x_signed = x->dtype == ER_I8;
    if (depthwise_form(s, x, w)) {
        bool ok = pack_weights(s, in, n_in) && dw_buffers(s, ctx->pool);
        if (!ok) {
            er_qconv_release(s);
            return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing weights");
        }
        *state = s;
        return ER_OK;
    }
    s->pointwise = pointwise_form(s);
    s->gemm = er_qgemm_select();
    s->pack = er_qgemm_pack_select();
    s->col = er_aligned_alloc((size_t)(4 * s->n));
    s->xpack = er_aligned_alloc((size_t)(s->k4 * s->np * 4 + 64));
    if (!s->col || !s->xpack || !pack_weights(s, in, n_in) || (direct_form(s, x) && !direct_buffers(s))) {
        er_qconv_release(s);
        return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing weights");
    }
    /* the GEMM reads the columns past N of each K group; they never change */
    memset(s->xpack, s->x_pad, (size_t)(s->k4 * s->np * 4 + 64));
    *state = s;
    (void)out;
    return ER_OK;
}

/* One im2col row k = (c, kd, kh, kw) of one group: for each output position, the input
 * element under tap k, or the zero point where the tap falls in the padding. */
static void im2col_row(const qconv_state *s, const uint8_t *x, int64_t k, uint8_t *dst)
{
    const er_nn_window *w = &s->w;
    const int64_t kw = k % w->k[2], kh = k / w->k[2] % w->k[1], kd = k / (w->k[2] * w->k[1]) % w->k[0];
    const int64_t c = k / (w->k[2] * w->k[1] * w->k[0]), ow_n = w->out[2];
    const uint8_t *xc = x + c * w->in[0] * w->in[1] * w->in[2];
    const uint8_t flip = s->x_signed ? 0x80 : 0;
    const int64_t woff = kw * w->dil[2] - w->pad0[2], sw = w->stride[2];
    int64_t lo, hi;
    er_nn_valid_range(ow_n, w->in[2], sw, woff, &lo, &hi);
    for (int64_t od = 0; od < w->out[0]; od++) {
        int64_t id = od * w->stride[0] + kd * w->dil[0] - w->pad0[0];
        for (int64_t oh = 0; oh < w->out[1]; oh++, dst += ow_n) {
            int64_t ih = oh * w->stride[1] + kh * w->dil[1] - w->pad0[1];
            if (id < 0 || id >= w->in[0] || ih < 0 || ih >= w->in[1] || lo >= hi) {
                memset(dst, s->x_pad, (size_t)ow_n);
                continue;
            }
            const uint8_t *xr = xc + (id * w->in[1] + ih) * w->in[2] + woff;
            memset(dst, s->x_pad, (size_t)lo);
            if (sw == 1 && !flip) memcpy(dst + lo, xr + lo, (size_t)(hi - lo));
            else
                for (int64_t ow = lo; ow < hi; ow++) dst[ow] = (uint8_t)(xr[ow * sw] ^ flip);
            memset(dst + hi, s->x_pad, (size_t)(ow_n - hi));
        }
    }
}

static void pad_plane(const qconv_state *s, const uint8_t *x, uint8_t *p);

/* The direct form: every tap of an output row reads one strided span of a padded plane,
 * whose rows follow at a fixed step. */
static void im2col_direct(const qconv_state *s, const uint8_t *x)
{
    const er_nn_window *w = &s->w;
    const int64_t plane = s->ph * s->pw, in_plane = w->in[1] * w->in[2], ow_n = w->out[2], taps = w->k[1] * w->k[2];
    for (int64_t c = 0; c < s->c_in / s->group; c++) pad_plane(s, x + c * in_plane, s->padded + c * plane);
    for (int64_t g = 0; g < s->k4; g++) {
        const uint8_t *r[4];
        for (int j = 0; j < 4; j++) {
            int64_t k = 4 * g + j, c = k / taps, kh = k % taps / w->k[2], kw = k % w->k[2];
            r[j] = k < s->kg ? s->padded + c * plane + kh * s->pw + kw : s->zp_plane;
        }
        s->pack4(r, w->stride[2], ow_n, w->out[1], w->stride[1] * s->pw, s->xpack + g * s->np * 4);
    }
}

/* im2col of one group of one image straight into the packed GEMM layout: a 1x1 input
 * packs as it is, the direct form from padded planes, others four rows at a time so the
 * unpacked rows stay in L1 instead of round-tripping a K x N buffer. */
static void im2col_pack(const qconv_state *s, const uint8_t *x)
{
    if (s->pointwise) {
        s->pack(x, s->n, s->kg, s->n, s->x_pad, s->xpack);
        return;
    }
    if (s->direct) {
        im2col_direct(s, x);
        return;
    }
    for (int64_t g = 0; g < s->k4; g++) {
        int64_t rows = ER_MIN(4, s->kg - 4 * g);
        for (int64_t j = 0; j < rows; j++) im2col_row(s, x, 4 * g + j, s->col + j * s->n);
        s->pack(s->col, s->n, rows, s->n, s->x_pad, s->xpack + g * s->np * 4);
    }
}

typedef struct {
    const qconv_state *s;
    const int32_t *w;
    er_qgemm_out o;
} gemm_task;

static void gemm_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const gemm_task *t = arg;
    const qconv_state *s = t->s;
    s->gemm(t->w, s->xpack, s->k4, s->np, begin * 8, ER_MIN(end * 8, s->mg), 0, s->n, &t->o);
}

typedef struct {
    const qconv_state *s;
    const uint8_t *x;
    void *y;
    bool ysigned;
    float yzp;
} dw_task;

/* Copies one channel plane into the middle of a buffer filled with the input zero point. */
static void pad_plane(const qconv_state *s, const uint8_t *x, uint8_t *p)
{
    const er_nn_window *w = &s->w;
    const uint8_t flip = s->x_signed ? 0x80 : 0;
    memset(p, s->x_pad, (size_t)(s->ph * s->pw + ER_QDW_SLACK));
    for (int64_t h = 0; h < w->in[1]; h++) {
        uint8_t *d = p + (w->pad0[1] + h) * s->pw + w->pad0[2];
        const uint8_t *r = x + h * w->in[2];
        if (!flip) memcpy(d, r, (size_t)w->in[2]);
        else
            for (int64_t i = 0; i < w->in[2]; i++) d[i] = (uint8_t)(r[i] ^ flip);
    }
}

/* Planes [begin, end) over batch x channels. */
static void dw_planes(void *arg, int64_t begin, int64_t end, int tid)
{
    const dw_task *t = arg;
    const qconv_state *s = t->s;
    const er_nn_window *w = &s->w;
    const int64_t in_plane = w->in[1] * w->in[2], out_plane = w->out[1] * w->out[2];
    uint8_t *p = s->planes + (size_t)tid * (size_t)(s->ph * s->pw + ER_QDW_SLACK);
    float *pf = s->planes_f + (size_t)tid * (size_t)(s->ph * s->pw);
    for (int64_t pl = begin; pl < end; pl++) {
        int64_t c = pl % s->c_out;
        pad_plane(s, t->x + pl * in_plane, p);
        s->dw_plane(p, s->ph, s->pw, (int)w->stride[2], pf);
        er_qdw_row r = { .x = p, .xf = pf, .pw = s->pw, .w = (const int8_t *)(s->w32 + c * s->k4),
                         .kh = (int)w->k[1], .kw = (int)w->k[2], .stride = (int)w->stride[2], .sh = (int)w->stride[1],
                         .ow = w->out[2], .bias = s->bias[c], .mult = s->mult[c], .zp = t->yzp,
                         .is_signed = t->ysigned, .y = (uint8_t *)t->y + pl * out_plane, .rows = w->out[1] };
        s->dw_row(&r);
    }
}

static void run_depthwise(er_kctx *ctx, const qconv_state *s, const er_tensor *x, er_tensor *y, int32_t yzp)
{
    dw_task t = { .s = s, .x = x->data, .y = y->data, .ysigned = y->dtype == ER_I8, .yzp = (float)yzp };
    er_threadpool *pool = ctx->pool && er_threadpool_size(ctx->pool) <= s->n_planes ? ctx->pool : NULL;
    er_parallel_for(pool, x->dims[0] * s->c_out, 1, dw_planes, &t);
}

er_status er_qconv_run_packed(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const qconv_state *s = ctx->state;
    const er_tensor *x = in[0];
    const int64_t in_plane = s->w.in[0] * s->w.in[1] * s->w.in[2], cg = s->c_in / s->group;
    const bool ysigned = out[0]->dtype == ER_I8;
    const int32_t yzp = ysigned ? *(const int8_t *)in[7]->data : *(const uint8_t *)in[7]->data;
    if (s->dw) {
        run_depthwise(ctx, s, x, out[0], yzp);
        return ER_OK;
    }
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t g = 0; g < s->group; g++) {
            const uint8_t *xg = (const uint8_t *)x->data + (b * s->c_in + g * cg) * in_plane;
            im2col_pack(s, xg);
            int64_t m0 = g * s->mg;
            gemm_task t = {
                .s = s, .w = s->w32 + m0 * s->k4,
                .o = { .bias = s->bias + m0, .mult = s->mult + m0, .zp = yzp, .is_signed = ysigned,
                       .y = (uint8_t *)out[0]->data + (b * s->c_out + m0) * s->n, .ldy = s->n },
            };
            er_parallel_for(ctx->pool, (s->mg + 7) / 8, 1, gemm_rows, &t);
        }
    return ER_OK;
}
