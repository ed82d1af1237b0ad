/* Direct convolution, output channels in lanes (see conv_direct.h), with AVX-512. */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/conv_direct.h"

#define CB 32        /* output channels per block: two vectors */
#define TILE2_MAX 14 /* pixels per register tile of 32 channels: 28 accumulators */
#define TILE1_MAX 28 /* pixels per register tile of 16 channels */

/* Padded copies larger than this go through row windows instead (see conv_direct.h). */
#define PLANES_MAX_FLOATS (256 * 1024)

/* The plane the kernel reads: every tap of every output pixel lies inside it, so the K loop
 * carries no bounds tests. */
static er_cdir_input plane_dims(const er_dw_geom *g, int c, int *ihp, int *iwp)
{
    int need_h = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1, need_w = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    bool copy = g->ph || g->pw || need_h > g->ih || need_w > g->iw;
    *ihp = copy ? ER_MAX(g->ih + g->ph, need_h) : g->ih;
    *iwp = copy ? ER_MAX(g->iw + g->pw, need_w) : g->iw;
    if (!copy) return ER_CDIR_IN_PLACE;
    return (int64_t)c * *ihp * *iwp > PLANES_MAX_FLOATS ? ER_CDIR_WINDOW : ER_CDIR_PLANES;
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

static size_t row_buf_floats(const er_dw_geom *g) { return round16((size_t)g->ow) * CB; }

static size_t window_floats(const er_dw_geom *g, int c, int iwp) { return round16((size_t)c * g->kh * iwp); }

size_t er_cdir_ws_floats(const er_dw_geom *g, int c, int threads)
{
    int ihp, iwp;
    er_cdir_input in = plane_dims(g, c, &ihp, &iwp);
    size_t per_thread = row_buf_floats(g) + (in == ER_CDIR_WINDOW ? window_floats(g, c, iwp) : 0);
    return (in == ER_CDIR_PLANES ? round16((size_t)c * ihp * iwp) : 0) + per_thread * (size_t)threads;
}

/* Measured on Zen 5 against the SGEMM, weights cold as in a network: the direct kernel wins on
 * every conv whose im2col needs gathering taps (KH·KW > 1: strided, padded, small planes, M
 * down to 8), even with megabytes of weights. Where the SGEMM's B is cheap (1×1 convs) it loses
 * once the weights stop fitting in L2: a block's weights then stream from DRAM during its first
 * output row instead of overlapping the compute as the SGEMM's A panels do. Plain 1×1 convs
 * also need K long against M, or the output transposes cost more than the dense SGEMM loses. */
bool er_cdir_applicable(const er_dw_geom *g, int c, int m)
{
    int ihp, iwp;
    er_cdir_input in = plane_dims(g, c, &ihp, &iwp);
    if ((int64_t)c * ihp * iwp > INT32_MAX) return false;
    if (g->kh * g->kw > 1 || in != ER_CDIR_IN_PLACE) return true;
    int64_t weights = (int64_t)c * m;
    if (g->sh > 1 || g->sw > 1) return weights <= 1024 * 1024;
    return c >= 192 && c >= 2 * m && weights <= 512 * 1024;
}

void er_cdir_free(er_cdir *d)
{
    er_aligned_free(d->wt);
    free(d->koff);
    d->wt = NULL;
    d->koff = NULL;
}

/* Packed weight floats per group: K rows of 32 channels per block, 16 in a half last block. */
static size_t group_floats(const er_cdir *d) { return (size_t)(d->blocks * CB - (d->half ? 16 : 0)) * d->kdim; }

er_status er_cdir_prepare(er_cdir *d, const er_dw_geom *g, const float *w, int group, int c, int m)
{
    *d = (er_cdir){ .group = group, .c = c, .m = m, .kdim = c * g->kh * g->kw, .blocks = (m + CB - 1) / CB };
    d->input = plane_dims(g, c, &d->ihp, &d->iwp);
    d->half = m % CB != 0 && m % CB <= 16 && g->sw <= 2;
    size_t per_group = group_floats(d);
    d->wt = er_aligned_alloc(sizeof(float) * per_group * (size_t)group);
    d->koff = malloc(sizeof(int) * (size_t)d->kdim);
    if (!d->wt || !d->koff) {
        er_cdir_free(d);
        return ER_ERR_NOMEM;
    }
    for (int gi = 0; gi < group; gi++)
        for (int b = 0; b < d->blocks; b++) {
            float *dst = d->wt + gi * per_group + (size_t)b * d->kdim * CB;
            int lanes = d->half && b == d->blocks - 1 ? 16 : CB;
            for (int k = 0; k < d->kdim; k++)
                for (int j = 0; j < lanes; j++) {
                    int o = b * CB + j;
                    dst[(size_t)k * lanes + j] = o < m ? w[((size_t)gi * m + o) * d->kdim + k] : 0.0f;
                }
        }
    /* a window holds, per channel, the KH rows one output row reads, one after another */
    size_t plane = (size_t)d->ihp * d->iwp, row_step = (size_t)g->dh * d->iwp;
    if (d->input == ER_CDIR_WINDOW) {
        plane = (size_t)g->kh * d->iwp;
        row_step = (size_t)d->iwp;
    }
    for (int ci = 0, k = 0; ci < c; ci++)
        for (int kh = 0; kh < g->kh; kh++)
            for (int kw = 0; kw < g->kw; kw++)
                d->koff[k++] = (int)(ci * plane + kh * row_step + (size_t)kw * g->dw);
    return ER_OK;
}

/* mr pixels (stride sw along a row) × 16·nv channels over all K; mr, sw and nv are constants
 * after inlining, so the accumulators stay in named registers and broadcasts use immediate
 * offsets. Two vectors of channels take up to 14 pixels, one vector up to 28. */
#define ACC_DECL2(i) __m512 a##i##0 = _mm512_setzero_ps(), a##i##1 = a##i##0
#define ACC_DECL1(i) __m512 a##i##0 = _mm512_setzero_ps()
#define ACC_FMA2(i)                                                                                                \
    if (mr > i) {                                                                                                  \
        __m512 b = _mm512_set1_ps(xk[(i) * sw]);                                                                   \
        a##i##0 = _mm512_fmadd_ps(b, w0, a##i##0);                                                                 \
        if (nv == 2) a##i##1 = _mm512_fmadd_ps(b, w1, a##i##1);                                                    \
    }
#define ACC_FMA1(i)                                                                                                \
    if (mr > i) a##i##0 = _mm512_fmadd_ps(_mm512_set1_ps(xk[(i) * sw]), w0, a##i##0);
#define ACC_STORE2(i)                                                                                              \
    if (mr > i) {                                                                                                  \
        _mm512_store_ps(out + (i) * CB, a##i##0);                                                                  \
        if (nv == 2) _mm512_store_ps(out + (i) * CB + 16, a##i##1);                                                \
    }
#define ACC_STORE1(i)                                                                                              \
    if (mr > i) _mm512_store_ps(out + (i) * CB, a##i##0);

static inline __attribute__((always_inline)) void tile(const int mr, const int sw, const int nv, int kdim,
                                                       const float *x, const int *koff, const float *w, float *out)
{
    ACC_DECL2(0); ACC_DECL2(1); ACC_DECL2(2); ACC_DECL2(3); ACC_DECL2(4); ACC_DECL2(5); ACC_DECL2(6);
    ACC_DECL2(7); ACC_DECL2(8); ACC_DECL2(9); ACC_DECL2(10); ACC_DECL2(11); ACC_DECL2(12); ACC_DECL2(13);
    ACC_DECL1(14); ACC_DECL1(15); ACC_DECL1(16); ACC_DECL1(17); ACC_DECL1(18); ACC_DECL1(19); ACC_DECL1(20);
    ACC_DECL1(21); ACC_DECL1(22); ACC_DECL1(23); ACC_DECL1(24); ACC_DECL1(25); ACC_DECL1(26); ACC_DECL1(27);
    for (int k = 0; k < kdim; k++, w += 16 * nv) {
        const float *xk = x + koff[k];
        __m512 w0 = _mm512_load_ps(w), w1 = nv == 2 ? _mm512_load_ps(w + 16) : w0;
        ACC_FMA2(0) ACC_FMA2(1) ACC_FMA2(2) ACC_FMA2(3) ACC_FMA2(4) ACC_FMA2(5) ACC_FMA2(6)
        ACC_FMA2(7) ACC_FMA2(8) ACC_FMA2(9) ACC_FMA2(10) ACC_FMA2(11) ACC_FMA2(12) ACC_FMA2(13)
        ACC_FMA1(14) ACC_FMA1(15) ACC_FMA1(16) ACC_FMA1(17) ACC_FMA1(18) ACC_FMA1(19) ACC_FMA1(20)
        ACC_FMA1(21) ACC_FMA1(22) ACC_FMA1(23) ACC_FMA1(24) ACC_FMA1(25) ACC_FMA1(26) ACC_FMA1(27)
    }
    ACC_STORE2(0) ACC_STORE2(1) ACC_STORE2(2) ACC_STORE2(3) ACC_STORE2(4) ACC_STORE2(5) ACC_STORE2(6)
    ACC_STORE2(7) ACC_STORE2(8) ACC_STORE2(9) ACC_STORE2(10) ACC_STORE2(11) ACC_STORE2(12) ACC_STORE2(13)
    ACC_STORE1(14) ACC_STORE1(15) ACC_STORE1(16) ACC_STORE1(17) ACC_STORE1(18) ACC_STORE1(19) ACC_STORE1(20)
    ACC_STORE1(21) ACC_STORE1(22) ACC_STORE1(23) ACC_STORE1(24) ACC_STORE1(25) ACC_STORE1(26) ACC_STORE1(27)
}

typedef void (*tile_fn)(int sw, int kdim, const float *x, const int *koff, const float *w, float *out);

#define TILE_FN(name, mr, sw_, nv)                                                                                 \
    static void name(int sw, int kdim, const float *x, const int *koff, const float *w, float *out)               \
    {                                                                                                              \
        (void)sw;                                                                                                  \
        tile(mr, sw_, nv, kdim, x, koff, w, out);                                                                  \
    }
/* two channel vectors: strides 1, 2 and any (sw at run time) */
#define TILE_FNS2(mr) TILE_FN(t2_s1_##mr, mr, 1, 2) TILE_FN(t2_s2_##mr, mr, 2, 2) TILE_FN(t2_sn_##mr, mr, sw, 2)
/* one channel vector: strides 1 and 2 (a last block of at most 16 channels) */
#define TILE_FNS1(mr) TILE_FN(t1_s1_##mr, mr, 1, 1) TILE_FN(t1_s2_##mr, mr, 2, 1)
TILE_FNS2(1) TILE_FNS2(2) TILE_FNS2(3) TILE_FNS2(4) TILE_FNS2(5) TILE_FNS2(6) TILE_FNS2(7)
TILE_FNS2(8) TILE_FNS2(9) TILE_FNS2(10) TILE_FNS2(11) TILE_FNS2(12) TILE_FNS2(13) TILE_FNS2(14)
TILE_FNS1(1) TILE_FNS1(2) TILE_FNS1(3) TILE_FNS1(4) TILE_FNS1(5) TILE_FNS1(6) TILE_FNS1(7)
TILE_FNS1(8) TILE_FNS1(9) TILE_FNS1(10) TILE_FNS1(11) TILE_FNS1(12) TILE_FNS1(13) TILE_FNS1(14)
TILE_FNS1(15) TILE_FNS1(16) TILE_FNS1(17) TILE_FNS1(18) TILE_FNS1(19) TILE_FNS1(20) TILE_FNS1(21)
TILE_FNS1(22) TILE_FNS1(23) TILE_FNS1(24) TILE_FNS1(25) TILE_FNS1(26) TILE_FNS1(27) TILE_FNS1(28)

#define ROW2(s)                                                                                                    \
    { NULL, t2_##s##_1, t2_##s##_2, t2_##s##_3, t2_##s##_4, t2_##s##_5, t2_##s##_6, t2_##s##_7, t2_##s##_8,      \
      t2_##s##_9, t2_##s##_10, t2_##s##_11, t2_##s##_12, t2_##s##_13, t2_##s##_14 }
#define ROW1(s)                                                                                                    \
    { NULL, t1_##s##_1, t1_##s##_2, t1_##s##_3, t1_##s##_4, t1_##s##_5, t1_##s##_6, t1_##s##_7, t1_##s##_8,      \
      t1_##s##_9, t1_##s##_10, t1_##s##_11, t1_##s##_12, t1_##s##_13, t1_##s##_14, t1_##s##_15, t1_##s##_16,     \
      t1_##s##_17, t1_##s##_18, t1_##s##_19, t1_##s##_20, t1_##s##_21, t1_##s##_22, t1_##s##_23, t1_##s##_24,    \
      t1_##s##_25, t1_##s##_26, t1_##s##_27, t1_##s##_28 }
static const tile_fn tiles2[3][TILE2_MAX + 1] = { ROW2(s1), ROW2(s2), ROW2(sn) };
static const tile_fn tiles1[2][TILE1_MAX + 1] = { ROW1(s1), ROW1(s2) };

/* In-register 16×16 transpose: r[i] lane j becomes r[j] lane i. */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    /* r[4i + q], 128-bit lane L, now holds element 4L + q of rows 4i..4i+3 */
    __m512 o[16];
    for (int q = 0; q < 4; q++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[q], r[4 + q], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 u1 = _mm512_shuffle_f32x4(r[q], r[4 + q], _MM_SHUFFLE(3, 1, 3, 1));
        __m512 v0 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], _MM_SHUFFLE(2, 0, 2, 0));
        __m512 v1 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], _MM_SHUFFLE(3, 1, 3, 1));
        o[q] = _mm512_shuffle_f32x4(u0, v0, _MM_SHUFFLE(2, 0, 2, 0));
        o[8 + q] = _mm512_shuffle_f32x4(u0, v0, _MM_SHUFFLE(3, 1, 3, 1));
        o[4 + q] = _mm512_shuffle_f32x4(u1, v1, _MM_SHUFFLE(2, 0, 2, 0));
        o[12 + q] = _mm512_shuffle_f32x4(u1, v1, _MM_SHUFFLE(3, 1, 3, 1));
    }
    for (int i = 0; i < 16; i++) r[i] = o[i];
}

/* The epilogue applied in registers as the transposed rows are stored; activations other than
 * ReLU and Clip run afterwards through the shared GEMM epilogue. */
typedef struct row_out {
    float *y;             /* channel 0 of the block at this output row */
    const float *res;     /* the residual at the same place, or NULL */
    const float *bias;    /* the block's bias, or NULL */
    size_t ld;            /* channel stride of y and res */
    bool clamp;           /* ReLU or Clip: min(max(y, lo), hi) */
    __m512 lo, hi;
} row_out;

static inline __attribute__((always_inline)) void put_row(const row_out *o, int c, size_t at, __mmask16 mask, __m512 v)
{
    if (o->bias) v = _mm512_add_ps(v, _mm512_set1_ps(o->bias[c]));
    if (o->res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, o->res + at));
    if (o->clamp) v = _mm512_min_ps(_mm512_max_ps(v, o->lo), o->hi);
    if (mask == 0xffff) _mm512_storeu_ps(o->y + at, v);
    else _mm512_mask_storeu_ps(o->y + at, mask, v);
}

/* buf holds n pixels × 32 channels; writes the first mc channels as rows of o->y. Rows are
 * stored by name (not in a loop over r[j]) so the transposed block stays in registers. */
static void store_transposed(const float *buf, int n, int mc, const row_out *o)
{
    for (int p0 = 0; p0 < n; p0 += 16) {
        __mmask16 mask = (__mmask16)(n - p0 >= 16 ? 0xffff : (1u << (n - p0)) - 1);
        for (int h = 0; h < CB && h < mc; h += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(buf + (size_t)(p0 + i) * CB + h);
            transpose16(r);
            int rows = ER_MIN(16, mc - h);
#define PUT(j) if ((j) < rows) put_row(o, h + (j), (size_t)(h + (j)) * o->ld + p0, mask, r[j])
            PUT(0); PUT(1); PUT(2); PUT(3); PUT(4); PUT(5); PUT(6); PUT(7);
            PUT(8); PUT(9); PUT(10); PUT(11); PUT(12); PUT(13); PUT(14); PUT(15);
#undef PUT
        }
    }
}

typedef struct cdir_job {
    const er_cdir *d;
    const er_dw_geom *g;
    const float *x, *wt;
    float *y;
    const er_gemm_epilogue *ep;
    float *rows;
    const tile_fn *fns2, *fns1;   /* by pixel count, for 32- and 16-channel blocks */
} cdir_job;

/* Runs the register tiles along one output row: near-equal widths of at most max pixels, so a
 * row never ends in a sliver. */
static void row_tiles(const tile_fn *fns, int max, const er_cdir *d, const er_dw_geom *g, const float *xr,
                      const float *w, float *buf)
{
    int tiles = (g->ow + max - 1) / max, base = g->ow / tiles, extra = g->ow % tiles;
    for (int t = 0, ow = 0; t < tiles; t++) {
        int mr = base + (t < extra);
        fns[mr](g->sw, d->kdim, xr + (size_t)ow * g->sw, d->koff, w, buf + (size_t)ow * CB);
        ow += mr;
    }
}

/* Output row oh of channel block b from input base xr (the row's first tap). */
static void block_row(const cdir_job *j, int b, int oh, const float *xr, float *buf)
{
    const er_cdir *d = j->d;
    const er_dw_geom *g = j->g;
    const er_gemm_epilogue *ep = j->ep;
    size_t n = (size_t)g->oh * g->ow;
    int mc = ER_MIN(CB, d->m - b * CB);
    const float *w = j->wt + (size_t)b * d->kdim * CB;
    if (d->half && b == d->blocks - 1) row_tiles(j->fns1, TILE1_MAX, d, g, xr, w, buf);
    else row_tiles(j->fns2, TILE2_MAX, d, g, xr, w, buf);
    bool inline_ep = (ep->act == ER_ACT_NONE || ep->act == ER_ACT_RELU || ep->act == ER_ACT_CLIP) &&
                     (!ep->residual || ep->ld_residual == (int)n) && !ep->bias_n;
    float lo = ep->act == ER_ACT_CLIP ? ep->alpha : 0.0f, hi = ep->act == ER_ACT_CLIP ? ep->beta : INFINITY;
    size_t at = (size_t)b * CB * n + (size_t)oh * g->ow;
    row_out o = { j->y + at, inline_ep && ep->residual ? ep->residual + at : NULL,
                  inline_ep && ep->bias_m ? ep->bias_m + b * CB : NULL, n, inline_ep && ep->act != ER_ACT_NONE,
                  _mm512_set1_ps(lo), _mm512_set1_ps(hi) };
    store_transposed(buf, g->ow, mc, &o);
    if (!inline_ep) er_gemm_epilogue_avx512(ep, j->y, (int)n, b * CB, b * CB + mc, oh * g->ow, (oh + 1) * g->ow);
}

static size_t thread_floats(const er_cdir *d, const er_dw_geom *g)
{
    return row_buf_floats(g) + (d->input == ER_CDIR_WINDOW ? window_floats(g, d->c, d->iwp) : 0);
}

/* Units are (block, output row), block-major: a block's weights stay in cache over its rows. */
static void cdir_rows(void *ctx, int64_t begin, int64_t end, int tid)
{
    const cdir_job *j = ctx;
    float *buf = j->rows + thread_floats(j->d, j->g) * (size_t)tid;
    for (int64_t u = begin; u < end; u++) {
        int b = (int)(u / j->g->oh), oh = (int)(u % j->g->oh);
        block_row(j, b, oh, j->x + (size_t)oh * j->g->sh * j->d->iwp, buf);
    }
}

/* A padded row of iwp floats: iw input floats after pw zeros (all zeros when src is NULL).
 * Plain copies: a masked load whose masked-off lanes reach an unmapped page costs ~1 µs. */
static void fill_row(float *dst, const float *src, int pw, int iw, int iwp)
{
    if (!src) {
        memset(dst, 0, sizeof(float) * (size_t)iwp);
        return;
    }
    for (int t = 0; t < pw; t++) dst[t] = 0.0f;
    memcpy(dst + pw, src, sizeof(float) * (size_t)iw);
    for (int t = pw + iw; t < iwp; t++) dst[t] = 0.0f;
}

/* Units are output rows: each thread pads the row's window once and runs every block on it. */
static void cdir_windows(void *ctx, int64_t begin, int64_t end, int tid)
{
    const cdir_job *j = ctx;
    const er_cdir *d = j->d;
    const er_dw_geom *g = j->g;
    float *buf = j->rows + thread_floats(d, g) * (size_t)tid, *win = buf + row_buf_floats(g);
    for (int64_t oh = begin; oh < end; oh++) {
        for (int c = 0; c < d->c; c++)
            for (int kh = 0; kh < g->kh; kh++) {
                int ir = (int)oh * g->sh - g->ph + kh * g->dh;
                const float *src = ir >= 0 && ir < g->ih ? j->x + ((size_t)c * g->ih + ir) * g->iw : NULL;
                fill_row(win + ((size_t)c * g->kh + kh) * d->iwp, src, g->pw, g->iw, d->iwp);
            }
        for (int b = 0; b < d->blocks; b++) block_row(j, b, (int)oh, win, buf);
    }
}

typedef struct pad_job {
    const er_cdir *d;
    const er_dw_geom *g;
    const float *x;
    float *xp;
} pad_job;

static void pad_channels(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const pad_job *j = ctx;
    const er_dw_geom *g = j->g;
    int ihp = j->d->ihp, iwp = j->d->iwp;
    for (int64_t c = begin; c < end; c++) {
        float *p = j->xp + (size_t)c * ihp * iwp;
        const float *x = j->x + (size_t)c * g->ih * g->iw;
        for (int r = 0; r < ihp; r++) {
            float *row = p + (size_t)r * iwp;
            int ir = r - g->ph;
            if (ir < 0 || ir >= g->ih) {
                memset(row, 0, sizeof(float) * (size_t)iwp);
                continue;
            }
            memset(row, 0, sizeof(float) * (size_t)g->pw);
            memcpy(row + g->pw, x + (size_t)ir * g->iw, sizeof(float) * (size_t)g->iw);
            memset(row + g->pw + g->iw, 0, sizeof(float) * (size_t)(iwp - g->pw - g->iw));
        }
    }
}

void er_cdir_run(er_threadpool *pool, const er_cdir *d, const er_dw_geom *g, int gi, const float *x, float *y,
                 const er_gemm_epilogue *ep, float *ws)
{
    float *rows = ws;
    if (d->input == ER_CDIR_PLANES) {
        pad_job pj = { d, g, x, ws };
        size_t plane = (size_t)d->ihp * d->iwp;
        er_parallel_for(er_pool_for(pool, (int64_t)(d->c * plane), ER_PAR_MIN_ELEMS), d->c, 1, pad_channels, &pj);
        x = ws;
        rows = ws + round16((size_t)d->c * plane);
    }
    int s = g->sw == 1 ? 0 : g->sw == 2 ? 1 : 2;
    cdir_job j = { d, g, x, d->wt + gi * group_floats(d), y, ep, rows, tiles2[s], s < 2 ? tiles1[s] : NULL };
    if (d->input == ER_CDIR_WINDOW) er_parallel_for(pool, g->oh, 1, cdir_windows, &j);
    else er_parallel_for(pool, (int64_t)d->blocks * g->oh, 1, cdir_rows, &j);
}
