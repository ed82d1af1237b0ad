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
    int32_t *w32;             /* [group][mg][k4], or [group][mg / 16][k4][16] for er_qgemm_t_* */
    int32_t *bias;            /* [c_out] */
    float *mult;              /* [c_out] */
    uint8_t *col;             /* [4][n] im2col rows of one K group */
    uint8_t *xpack;           /* [k4][np][4] */
    er_qgemm_fn gemm;
    er_qgemm_pack_fn pack;
    bool pointwise;           /* 1x1, stride 1, no pad, uint8 input: the input already is the im2col */
    int64_t chunk;            /* output columns packed and multiplied at a time */
    int64_t row_step;         /* rows per GEMM task: the kernel's tile height */
    /* 2-D without dilation: im2col packs straight from zero-point-padded planes */
    bool direct;
    uint8_t *padded;          /* [cg][ph][pw] */
    uint8_t *zp_plane;        /* zero points read for the K padding */
    int64_t *tap_off;         /* [k4 * 4]: padded-group offset of K row k's first tap, -1 past K */
    /* stride 1 (wide form): no im2col. The input is padded into planes of 4 interleaved
     * channels, K is ordered (tap, channel) so each K group's word for output column n is
     * the 4-byte word at goff[g] + 4n, and the GEMM computes every column of the padded
     * width (oh x pw), the pad columns' results then dropped */
    bool wide;
    uint8_t *x4;              /* [cg / 4][ph][pw][4] */
    int64_t *goff;            /* [k4] */
    uint8_t *ybuf;            /* [mg][oh * pw] */
    er_qgemm_gather_fn gather;
    /* small planes (lanes over rows) without im2col: the channels-in-lanes kernel reads
     * the words of x4 in place, through goff and the output position */
    bool tconv;
    er_qgemm_t_conv_fn tconv_fn;
    er_qgemm_pack4_fn pack4;
    er_qdw_pad_fn pad;        /* pads a channel plane (direct and depthwise forms) */
    /* depthwise 2-D (group = C_in = C_out): direct kernel on zero-point-padded planes */
    bool dw;
    int64_t ph, pw;           /* padded plane */
    int n_planes;             /* one plane buffer per thread */
    uint8_t *planes;
    float *planes_f;          /* the same planes as float (er_qdw_plane_f32) */
    er_qdw_row_fn dw_row;
    er_qdw_plane_fn dw_plane;
    bool dw_vnni;             /* er_qdw_plane_avx512vnni with plan and wdw */
    er_qdw_plan plan;
    int32_t *wdw;             /* [c_out][kh * kq] */
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
    free(s->tap_off);
    er_aligned_free(s->x4);
    free(s->goff);
    er_aligned_free(s->ybuf);
    er_qdw_plan_free(&s->plan);
    free(s->wdw);
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
    s->tap_off = malloc(sizeof(int64_t) * (size_t)(s->k4 * 4));
    if (!s->padded || !s->zp_plane || !s->tap_off) return false;
    const int64_t taps = w->k[1] * w->k[2];
    for (int64_t k = 0; k < s->k4 * 4; k++)
        s->tap_off[k] = k < s->kg ? k / taps * s->ph * s->pw + k % taps / w->k[2] * s->pw + k % w->k[2] : -1;
    memset(s->zp_plane, s->x_pad, (size_t)plane);
    /* the slack past the planes is read (for lanes and taps whose results are dropped) */
    memset(s->padded, s->x_pad, (size_t)(s->c_in / s->group * s->ph * s->pw + ER_QDW_SLACK + 64));
    s->pack4 = er_qgemm_pack4_select();
    s->pad = er_qdw_pad_select();
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
    if (!s->planes) return false;
    /* the slack past each plane is read (for lanes and taps whose results are dropped) */
    memset(s->planes, s->x_pad, (size_t)(s->n_planes * (s->ph * s->pw + ER_QDW_SLACK)));
    s->pad = er_qdw_pad_select();
    if (er_qdw_vnni_usable() && er_qdw_plan_init(&s->plan, w->out[1], w->out[2], (int)w->stride[1], (int)w->stride[2],
                                                 (int)w->k[1], (int)w->k[2], s->pw)) {
        s->dw_vnni = true;
        s->wdw = malloc(sizeof(int32_t) * (size_t)(s->c_out * s->plan.kh * s->plan.kq));
        if (!s->wdw) return false;
        for (int64_t c = 0; c < s->c_out; c++)
            er_qdw_pack_w((const int8_t *)(s->w32 + c * s->k4), (int)w->k[1], (int)w->k[2],
                          s->wdw + c * s->plan.kh * s->plan.kq);
        return true;
    }
    s->planes_f = er_aligned_alloc(sizeof(float) * (size_t)(s->n_planes * s->ph * s->pw));
    s->dw_row = er_qdw_row_select();
    s->dw_plane = er_qdw_plane_select();
    return s->planes_f != NULL;
}

/* The packed chunk (K x chunk bytes) stays in L2 while the GEMM walks it; packing all N
 * columns first sends the larger layers' im2col (1.8 MB at ResNet's first stage) through
 * L3. Chunks of the direct form are whole output rows, in multiples that fill the GEMM's
 * 32-column tiles where the row width allows. */
#define CHUNK_BYTES (192 * 1024)

static int64_t chunk_columns(const qconv_state *s)
{
    const int64_t per_col = s->k4 * 4, budget = ER_MAX(CHUNK_BYTES / per_col, 1);
    if (s->pointwise) return ER_MIN(s->n, ER_MAX(32, budget / 32 * 32));
    if (!s->direct) return s->n;
    const int64_t ow = s->w.out[2], oh = s->w.out[1];
    int64_t g = 32;
    while (ow % g) g /= 2;
    const int64_t unit = 32 / g, rows = ER_MAX(unit, budget / (unit * ow) * unit);
    return ER_MIN(rows, oh) * ow;
}

/* Output channels in the lanes (er_qgemm_t_*) where 16-column vectors would leave an eighth
 * or more of their lanes idle (the 7x7 planes of deep layers fill 49 of 64), or a twentieth
 * with K deep enough that the tile's 2 weight vectors per k step weigh little: at 14x14
 * (196 of 208) and K >= 256 the transposed kernel runs 8-10 % faster, at K below 128 the
 * same or slower. */
static bool lanes_over_rows(const qconv_state *s)
{
    const int64_t idle = s->np - s->n;
    return s->mg % 16 == 0 && (idle * 8 >= s->n || (idle * 20 >= s->n && s->k4 * 4 >= 256));
}

static bool repack_rows_in_lanes(qconv_state *s)
{
    int32_t *wt = malloc(sizeof(int32_t) * (size_t)(s->c_out * s->k4));
    if (!wt) return false;
    for (int64_t g = 0; g < s->group; g++)
        er_qgemm_pack_wt(s->w32 + g * s->mg * s->k4, s->mg, s->k4, wt + g * s->mg * s->k4);
    free(s->w32);
    s->w32 = wt;
    s->gemm = er_qgemm_t_select();
    s->row_step = 32;
    return true;
}

/* Stride 1 without dilation, uint8 input, channels per group a multiple of 4, pad columns
 * at most a twelfth of the padded width (at 14x14 the wasted columns cost what the im2col
 * saves); not the small planes the lanes-over-rows kernel takes. */
static bool wide_form(const qconv_state *s, const er_tensor *x)
{
    const er_nn_window *w = &s->w;
    const int64_t pw = w->pad0[2] + w->in[2] + w->pad1[2];
    return x->ndim == 4 && !s->pointwise && !s->x_signed && (s->c_in / s->group) % 4 == 0 && w->stride[1] == 1 &&
           w->stride[2] == 1 && w->dil[1] == 1 && w->dil[2] == 1 && (pw - w->out[2]) * 12 <= pw && !lanes_over_rows(s);
}

/* The same kernel without im2col where the words stay in place: 2-D, no dilation, uint8
 * input, channels per group a multiple of 4, column strides the kernel has a form for, more
 * than one tap (a strided 1x1 conv packs only the pixels it reads; interleaving all of them
 * costs more, 10 % at ResNet's downsampling convs). */
static bool tconv_form(const qconv_state *s, const er_tensor *x)
{
    const er_nn_window *w = &s->w;
    return x->ndim == 4 && !s->pointwise && !s->x_signed && (s->c_in / s->group) % 4 == 0 && w->dil[1] == 1 &&
           w->dil[2] == 1 && w->stride[2] <= 2 && w->k[1] * w->k[2] > 1 && lanes_over_rows(s);
}

/* The 4-channel-interleaved padded input of the wide and tconv forms and its K group
 * offsets; weights reordered from (channel, tap) to (tap, channel) K. */
static bool interleaved_buffers(qconv_state *s)
{
    const er_nn_window *w = &s->w;
    const int64_t cg4 = s->c_in / s->group / 4, taps = w->k[1] * w->k[2];
    s->ph = w->pad0[1] + w->in[1] + w->pad1[1];
    s->pw = w->pad0[2] + w->in[2] + w->pad1[2];
    /* the wide kernel reads up to 31 words past the last column of the last group */
    s->x4 = er_aligned_alloc((size_t)(cg4 * s->ph * s->pw * 4 + (w->k[2] + 32) * 4 + 64));
    s->goff = malloc(sizeof(int64_t) * (size_t)s->k4);
    int32_t *wr = malloc(sizeof(int32_t) * (size_t)(s->c_out * s->k4));
    if (!s->x4 || !s->goff || !wr) {
        free(wr);
        return false;
    }
    memset(s->x4, s->x_pad, (size_t)(cg4 * s->ph * s->pw * 4 + (w->k[2] + 32) * 4 + 64));
    for (int64_t t = 0; t < taps; t++)
        for (int64_t c4 = 0; c4 < cg4; c4++) {
            const int64_t g = t * cg4 + c4;
            s->goff[g] = (c4 * s->ph * s->pw + t / w->k[2] * s->pw + t % w->k[2]) * 4;
            for (int64_t m = 0; m < s->c_out; m++) {
                const uint8_t *src = (const uint8_t *)(s->w32 + m * s->k4);
                uint8_t *dst = (uint8_t *)(wr + m * s->k4 + g);
                for (int j = 0; j < 4; j++) dst[j] = src[(c4 * 4 + j) * taps + t];
            }
        }
    free(s->w32);
    s->w32 = wr;
    s->pack4 = er_qgemm_pack4_select();
    return true;
}

static bool wide_buffers(qconv_state *s)
{
    s->wide = true;
    s->gather = er_qgemm_gather_select();
    if (!interleaved_buffers(s)) return false;
    s->ybuf = er_aligned_alloc((size_t)(s->mg * s->w.out[1] * s->pw + 64));
    return s->ybuf != NULL;
}

static bool tconv_buffers(qconv_state *s)
{
    s->tconv = true;
    s->tconv_fn = er_qgemm_t_conv_select();
    return interleaved_buffers(s) && repack_rows_in_lanes(s);
}

/* The packed im2col of one chunk of columns (and the unpacked rows of the generic form). */
static bool packed_buffers(qconv_state *s)
{
    s->chunk = chunk_columns(s);
    const int64_t bytes = s->k4 * ((s->chunk + 15) / 16 * 16) * 4 + 64;
    s->xpack = er_aligned_alloc((size_t)bytes);
    if (!s->pointwise && !s->direct) s->col = er_aligned_alloc((size_t)(4 * s->n));
    if (!s->xpack || (!s->pointwise && !s->direct && !s->col)) return false;
    /* the GEMM reads the columns past N of each K group and stores nothing of them */
    memset(s->xpack, s->x_pad, (size_t)bytes);
    return true;
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
    s->row_step = 8;
    bool ok = pack_weights(s, in, n_in);
    if (ok && tconv_form(s, x)) ok = tconv_buffers(s);
    else if (ok && wide_form(s, x)) ok = wide_buffers(s);
    else if (ok) {
        if (direct_form(s, x)) ok = direct_buffers(s);
        ok = ok && packed_buffers(s);
        if (ok && lanes_over_rows(s)) ok = repack_rows_in_lanes(s);
    }
    if (!ok) {
        er_qconv_release(s);
        return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing weights");
    }
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
 * whose rows follow at a fixed step. Output rows [t0, t0 + rows) into a chunk of np columns. */
static void im2col_direct(const qconv_state *s, int64_t t0, int64_t rows, int64_t np)
{
    const er_nn_window *w = &s->w;
    const int64_t ow_n = w->out[2], off = t0 * w->stride[1] * s->pw;
    for (int64_t g = 0; g < s->k4; g++) {
        const uint8_t *r[4];
        for (int j = 0; j < 4; j++) {
            const int64_t o = s->tap_off[4 * g + j];
            r[j] = o >= 0 ? s->padded + o + off : s->zp_plane;
        }
        s->pack4(r, w->stride[2], ow_n, rows, w->stride[1] * s->pw, s->xpack + g * np * 4);
    }
}

static void pad_group(const qconv_state *s, const uint8_t *x)
{
    const int64_t plane = s->ph * s->pw, in_plane = s->w.in[1] * s->w.in[2];
    for (int64_t c = 0; c < s->c_in / s->group; c++) pad_plane(s, x + c * in_plane, s->padded + c * plane);
}

/* im2col of output columns [c0, c0 + cols) of one group of one image straight into the
 * packed GEMM layout (np columns): a 1x1 input packs as it is, the direct form from padded
 * planes (whole output rows), others four rows at a time so the unpacked rows stay in L1
 * instead of round-tripping a K x N buffer. */
static void im2col_pack(const qconv_state *s, const uint8_t *x, int64_t c0, int64_t cols, int64_t np)
{
    if (s->pointwise) {
        s->pack(x + c0, s->n, s->kg, cols, s->x_pad, s->xpack);
        return;
    }
    if (s->direct) {
        im2col_direct(s, c0 / s->w.out[2], cols / s->w.out[2], np);
        return;
    }
    for (int64_t g = 0; g < s->k4; g++) {
        int64_t rows = ER_MIN(4, s->kg - 4 * g);
        for (int64_t j = 0; j < rows; j++) im2col_row(s, x, 4 * g + j, s->col + j * s->n);
        s->pack(s->col, s->n, rows, s->n, s->x_pad, s->xpack + g * np * 4);
    }
}

typedef struct {
    const qconv_state *s;
    const int32_t *w;
    int64_t np, n;            /* the chunk's packed and real columns */
    er_qgemm_out o;
} gemm_task;

static void gemm_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const gemm_task *t = arg;
    const qconv_state *s = t->s;
    s->gemm(t->w, s->xpack, s->k4, t->np, begin * s->row_step, ER_MIN(end * s->row_step, s->mg), 0, t->n, &t->o);
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
    s->pad(x, w->in[1], w->in[2], w->pad0[1], w->pad0[2], s->ph, s->pw, s->x_pad, s->x_signed ? 0x80 : 0, p);
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
        if (s->dw_vnni) {
            er_qdw_req q = { .bias = s->bias[c], .mult = s->mult[c], .zp = (int32_t)t->yzp, .is_signed = t->ysigned };
            er_qdw_plane_avx512vnni(&s->plan, p, s->wdw + c * s->plan.kh * s->plan.kq, &q,
                                    (uint8_t *)t->y + pl * out_plane);
            continue;
        }
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

/* The group's input into the wide form's interleaved planes: rows first (the SIMD packer
 * writes up to 60 bytes past a row), then the zero-point border over what they spilled. */
static void interleave_group(const qconv_state *s, const uint8_t *x)
{
    const er_nn_window *w = &s->w;
    const int64_t in_plane = w->in[1] * w->in[2], plane4 = s->ph * s->pw * 4, row4 = s->pw * 4;
    const int64_t l4 = w->pad0[2] * 4, r4 = (s->pw - w->pad0[2] - w->in[2]) * 4;
    for (int64_t c4 = 0; c4 < s->c_in / s->group / 4; c4++) {
        uint8_t *p = s->x4 + c4 * plane4;
        for (int64_t h = 0; h < w->in[1]; h++) {
            const uint8_t *r[4];
            for (int j = 0; j < 4; j++) r[j] = x + (c4 * 4 + j) * in_plane + h * w->in[2];
            s->pack4(r, 1, w->in[2], 1, 0, p + (w->pad0[1] + h) * row4 + l4);
        }
        memset(p, s->x_pad, (size_t)(w->pad0[1] * row4));
        for (int64_t h = w->pad0[1]; h < w->pad0[1] + w->in[1]; h++) {
            memset(p + h * row4, s->x_pad, (size_t)l4);
            memset(p + h * row4 + row4 - r4, s->x_pad, (size_t)r4);
        }
        memset(p + (w->pad0[1] + w->in[1]) * row4, s->x_pad, (size_t)((s->ph - w->pad0[1] - w->in[1]) * row4));
    }
}

typedef struct {
    const qconv_state *s;
    const int32_t *w;
    er_qgemm_out o;
    uint8_t *y;               /* the group's output planes */
} wide_task;

/* Rows [begin, end) x 8: the GEMM over the padded width, then the real columns out. */
static void wide_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const wide_task *t = arg;
    const qconv_state *s = t->s;
    const int64_t oh = s->w.out[1], ow = s->w.out[2], nw = oh * s->pw;
    const int64_t m0 = begin * 8, m1 = ER_MIN(end * 8, s->mg);
    s->gather(t->w, s->x4, s->goff, s->k4, m0, m1, 0, nw, &t->o);
    for (int64_t m = m0; m < m1; m++)
        for (int64_t r = 0; r < oh; r++) memcpy(t->y + (m * oh + r) * ow, s->ybuf + m * nw + r * s->pw, (size_t)ow);
}

static void run_wide(er_kctx *ctx, const qconv_state *s, const uint8_t *xg, int64_t m0, int32_t yzp, bool ysigned,
                     uint8_t *y)
{
    interleave_group(s, xg);
    wide_task t = { .s = s, .w = s->w32 + m0 * s->k4, .y = y,
                    .o = { .bias = s->bias + m0, .mult = s->mult + m0, .zp = yzp, .is_signed = ysigned, .y = s->ybuf,
                           .ldy = s->w.out[1] * s->pw } };
    er_parallel_for(ctx->pool, (s->mg + 7) / 8, 1, wide_rows, &t);
}

typedef struct {
    const qconv_state *s;
    const int32_t *w;
    er_qgemm_conv_geom geo;
    er_qgemm_out o;
} tconv_task;

static void tconv_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const tconv_task *t = arg;
    const qconv_state *s = t->s;
    s->tconv_fn(t->w, s->x4, s->goff, s->k4, begin * 32, ER_MIN(end * 32, s->mg), &t->geo, &t->o);
}

static void run_tconv(er_kctx *ctx, const qconv_state *s, const uint8_t *xg, int64_t m0, int32_t yzp, bool ysigned,
                      uint8_t *y)
{
    const er_nn_window *w = &s->w;
    interleave_group(s, xg);
    tconv_task t = { .s = s, .w = s->w32 + m0 * s->k4,
                     .geo = { .oh = w->out[1], .ow = w->out[2], .rstep = w->stride[1] * s->pw * 4, .cstep = w->stride[2] * 4 },
                     .o = { .bias = s->bias + m0, .mult = s->mult + m0, .zp = yzp, .is_signed = ysigned, .y = y, .ldy = s->n } };
    er_parallel_for(ctx->pool, (s->mg + 31) / 32, 1, tconv_rows, &t);
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
            const int64_t m0 = g * s->mg;
            if (s->tconv) {
                run_tconv(ctx, s, xg, m0, yzp, ysigned, (uint8_t *)out[0]->data + (b * s->c_out + m0) * s->n);
                continue;
            }
            if (s->wide) {
                run_wide(ctx, s, xg, m0, yzp, ysigned, (uint8_t *)out[0]->data + (b * s->c_out + m0) * s->n);
                continue;
            }
            if (s->direct) pad_group(s, xg);
            for (int64_t c0 = 0; c0 < s->n; c0 += s->chunk) {
                const int64_t cols = ER_MIN(s->chunk, s->n - c0), np = (cols + 15) / 16 * 16;
                im2col_pack(s, xg, c0, cols, np);
                gemm_task t = {
                    .s = s, .w = s->w32 + m0 * s->k4, .np = np, .n = cols,
                    .o = { .bias = s->bias + m0, .mult = s->mult + m0, .zp = yzp, .is_signed = ysigned,
                           .y = (uint8_t *)out[0]->data + (b * s->c_out + m0) * s->n + c0, .ldy = s->n },
                };
                er_parallel_for(ctx->pool, (s->mg + s->row_step - 1) / s->row_step, 1, gemm_rows, &t);
            }
        }
    return ER_OK;
}
