/* Depthwise plane kernel built with the AVX-512 flags. 3×3 kernels with stride 1 or 2 take
 * intrinsics paths that read the unpadded plane in place: zero padding comes from masked
 * loads (masked-off lanes never touch memory), so the caller copies nothing. Stride-1 planes
 * whose output rows are as wide as the input rows run over the flattened plane, 16 outputs
 * per step whatever the width (7×7 and 14×14 planes would waste most lanes row by row);
 * column edges are per-lane masks. Other 3×3 planes go row by row, stride 2 split into even
 * and odd columns by permutes. The _clamp entry also applies min(max(y, lo), hi) (ReLU, Clip)
 * before the store. Everything else uses the auto-vectorized template. */
#include <stdint.h>

#include <immintrin.h>

#include "backend/cpu/depthwise_impl.h"

/* Lanes j with lo <= j < hi (branch-free: clamped bounds give an empty mask when hi <= lo). */
static inline __mmask16 lanes(int lo, int hi)
{
    unsigned l = (unsigned)ER_MIN(ER_MAX(lo, 0), 16), h = (unsigned)ER_MIN(ER_MAX(hi, 0), 16);
    return (__mmask16)(((1u << h) - 1u) & ~((1u << l) - 1u));
}

/* Plain store when all lanes are written: a later read of them (the epilogue) can then take
 * the data straight from the store. */
static inline void store_lanes(float *y, __mmask16 m, __m512 v, const __m512 *clamp)
{
    if (clamp) v = _mm512_min_ps(_mm512_max_ps(v, clamp[0]), clamp[1]);
    if (m == 0xffff)
        _mm512_storeu_ps(y, v);
    else
        _mm512_mask_storeu_ps(y, m, v);
}

/* Masked load at x + off, where off may point before x: only lanes in m are read. */
static inline __m512 load_at(__mmask16 m, const float *x, ptrdiff_t off)
{
    return _mm512_maskz_loadu_ps(m, (const void *)((uintptr_t)x + (uintptr_t)(off * (ptrdiff_t)sizeof(float))));
}

bool er_dw_plane_avx512_in_place(const er_dw_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->dh == 1 && g->dw == 1 && (g->sw == 1 || g->sw == 2);
}

/* acc + one kernel row's three taps of the flattened plane at base (column masks cm, row
 * mask rm). */
static inline __m512 flat_row(const float *x, int base, __mmask16 rm, const __mmask16 *cm, const __m512 *w,
                              __m512 acc)
{
    acc = _mm512_fmadd_ps(w[0], load_at(rm & cm[0], x, base), acc);
    acc = _mm512_fmadd_ps(w[1], load_at(rm & cm[1], x, base + 1), acc);
    return _mm512_fmadd_ps(w[2], load_at(rm & cm[2], x, base + 2), acc);
}

/* Chunks [p0, p1) of 16 flattened outputs; general = false only where every tap's input row
 * lies inside the plane for all 16 lanes, so only the column masks apply. One accumulator per
 * kernel row keeps the FMA chains short. */
static inline void flat_chunks(const float *x, const __m512 *w, __m512 vb, float *y, int W, int ih, int ph,
                               int pw, int out_n, int p0, int p1, bool general, __m512i *col,
                               const __m512 *clamp)
{
    const __m512i vstep = _mm512_set1_epi32(16 % W), vw = _mm512_set1_epi32(W);
    const __m512i lo0 = _mm512_set1_epi32(pw), lo1 = _mm512_set1_epi32(pw - 1), lo2 = _mm512_set1_epi32(pw - 2);
    const __m512i hi0 = _mm512_set1_epi32(W + pw), hi1 = _mm512_set1_epi32(W + pw - 1);
    const __m512i hi2 = _mm512_set1_epi32(W + pw - 2);
    __m512i c = *col;
    for (int p = p0; p < p1; p += 16) {
        __mmask16 valid = general ? lanes(0, out_n - p) : 0xffff, cm[3];
        cm[0] = valid & _mm512_cmpge_epi32_mask(c, lo0) & _mm512_cmplt_epi32_mask(c, hi0);
        cm[1] = valid & _mm512_cmpge_epi32_mask(c, lo1) & _mm512_cmplt_epi32_mask(c, hi1);
        cm[2] = valid & _mm512_cmpge_epi32_mask(c, lo2) & _mm512_cmplt_epi32_mask(c, hi2);
        /* row masks: lanes whose input row (output row + kh - ph) lies inside the plane */
        __mmask16 r0 = 0xffff, r1 = 0xffff, r2 = 0xffff;
        if (general) {
            r0 = lanes(ph * W - p, (ih + ph) * W - p);
            r1 = lanes((ph - 1) * W - p, (ih + ph - 1) * W - p);
            r2 = lanes((ph - 2) * W - p, (ih + ph - 2) * W - p);
        }
        int base = p - ph * W - pw;
        __m512 a0 = flat_row(x, base, r0, cm, w, vb);
        __m512 a1 = flat_row(x, base + W, r1, cm, w + 3, _mm512_setzero_ps());
        __m512 a2 = flat_row(x, base + 2 * W, r2, cm, w + 6, _mm512_setzero_ps());
        store_lanes(y + p, valid, _mm512_add_ps(a0, _mm512_add_ps(a1, a2)), clamp);
        c = _mm512_add_epi32(c, vstep);
        c = _mm512_mask_sub_epi32(c, _mm512_cmpge_epi32_mask(c, vw), c, vw);
    }
    *col = c;
}

static void dw3x3_flat(const er_dw_geom *g, const float *x, const float *k, float bias, float *y,
                       const __m512 *clamp)
{
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(k[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    const int W = g->iw, ih = g->ih, ph = g->ph, pw = g->pw, out_n = g->oh * W;
    int cols[16];
    for (int j = 0, c = 0; j < 16; j++, c = c + 1 == W ? 0 : c + 1) cols[j] = c;
    __m512i col = _mm512_loadu_si512(cols);
    /* interior chunks: p >= ph·W and p + 16 <= min((ih + ph - 2)·W, out_n) */
    int first = ER_MIN((ph * W + 15) / 16 * 16, (out_n + 15) / 16 * 16);
    int end = ER_MIN((ih + ph - 2) * W, out_n);
    int last = end > first ? first + (end - first) / 16 * 16 : first;
    flat_chunks(x, w, vb, y, W, ih, ph, pw, out_n, 0, first, true, &col, clamp);
    flat_chunks(x, w, vb, y, W, ih, ph, pw, out_n, first, last, false, &col, clamp);
    flat_chunks(x, w, vb, y, W, ih, ph, pw, out_n, last, out_n, true, &col, clamp);
}

/* Even (odd = false) or odd lanes of the pair (a, b) of 16-float vectors. */
static inline __m512 deinterleave(__m512 a, __m512 b, bool odd)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i oddi = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, odd ? oddi : even, b);
}

/* Load masks of one column chunk, the same for every row: for stride 1, the runs at c0,
 * c0 + 1, c0 + 2 (m[0..2]); for stride 2, the 32-column pairs at c0 (m[0], m[1]) and c0 + 2
 * (m[2], m[3]). All ones when the chunk's taps lie inside the row. */
typedef struct col_masks {
    __mmask16 m[4];
} col_masks;

static inline col_masks chunk_masks(int c0, int n, int iw, int sw)
{
    col_masks cm;
    if (sw == 1) {
        for (int t = 0; t < 3; t++) cm.m[t] = lanes(-c0 - t, ER_MIN(n, iw - c0 - t));
        cm.m[3] = 0;
    } else {
        for (int t = 0; t < 2; t++) {
            int c = c0 + 2 * t, end = ER_MIN(2 * n, iw - c);
            cm.m[2 * t] = lanes(-c, end);
            cm.m[2 * t + 1] = lanes(-c - 16, end - 16);
        }
    }
    return cm;
}

/* acc + one kernel row's taps for one column chunk (first input column c0), input row r
 * (NULL: a padding row). */
static inline __m512 rows_taps(const float *r, int c0, int sw, const col_masks *cm, const __m512 *w, __m512 acc)
{
    if (!r) return acc;
    __m512 t0, t1, t2;
    if (sw == 1) {
        t0 = load_at(cm->m[0], r, c0);
        t1 = load_at(cm->m[1], r, c0 + 1);
        t2 = load_at(cm->m[2], r, c0 + 2);
    } else {
        /* input columns c0 + 2j (t0), c0 + 2j + 1 (t1), c0 + 2j + 2 (t2) */
        __m512 a = load_at(cm->m[0], r, c0), b = load_at(cm->m[1], r, c0 + 16);
        t0 = deinterleave(a, b, false);
        t1 = deinterleave(a, b, true);
        t2 = deinterleave(load_at(cm->m[2], r, c0 + 2), load_at(cm->m[3], r, c0 + 18), false);
    }
    acc = _mm512_fmadd_ps(w[0], t0, acc);
    acc = _mm512_fmadd_ps(w[1], t1, acc);
    return _mm512_fmadd_ps(w[2], t2, acc);
}

/* Column chunk by column chunk, so each chunk's masks are computed once for all rows. */
static void dw3x3_rows(const er_dw_geom *g, const float *x, const float *k, float bias, float *y,
                       const __m512 *clamp)
{
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(k[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    const int ih = g->ih, iw = g->iw, oh_n = g->oh, ow_n = g->ow, sh = g->sh, sw = g->sw, ph = g->ph, pw = g->pw;
    for (int o = 0; o < ow_n; o += 16) {
        int n = ER_MIN(16, ow_n - o), c0 = o * sw - pw;
        const col_masks cm = chunk_masks(c0, n, iw, sw);
        const __mmask16 store = lanes(0, n);
        for (int oh = 0; oh < oh_n; oh++) {
            const float *r[3];
            for (int kh = 0; kh < 3; kh++) {
                int row = oh * sh - ph + kh;
                r[kh] = row >= 0 && row < ih ? x + (size_t)row * iw : NULL;
            }
            __m512 a0 = rows_taps(r[0], c0, sw, &cm, w, vb);
            __m512 a1 = rows_taps(r[1], c0, sw, &cm, w + 3, _mm512_setzero_ps());
            __m512 a2 = rows_taps(r[2], c0, sw, &cm, w + 6, _mm512_setzero_ps());
            store_lanes(y + (size_t)oh * ow_n + o, store, _mm512_add_ps(a0, _mm512_add_ps(a1, a2)), clamp);
        }
    }
}

static void dw3x3(const er_dw_geom *g, const float *x, const float *k, float bias, float *y, const __m512 *clamp)
{
    if (g->oh <= 0 || g->ow <= 0) return;
    if (g->sh == 1 && g->sw == 1 && g->ow == g->iw)
        dw3x3_flat(g, x, k, bias, y, clamp);
    else
        dw3x3_rows(g, x, k, bias, y, clamp);
}

void er_dw_plane_avx512(const er_dw_geom *g, const float *x, const float *k, float bias, float *y)
{
    if (er_dw_plane_avx512_in_place(g))
        dw3x3(g, x, k, bias, y, NULL);
    else
        dw_plane_impl(g, x, k, bias, y);
}

void er_dw_plane_avx512_clamp(const er_dw_geom *g, const float *x, const float *k, float bias, float lo, float hi,
                              float *y)
{
    const __m512 clamp[2] = { _mm512_set1_ps(lo), _mm512_set1_ps(hi) };
    dw3x3(g, x, k, bias, y, clamp);
}
