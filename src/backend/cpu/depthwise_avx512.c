/* Depthwise plane kernel built with the AVX-512 flags. Kernels 3, 5 or 7 wide (up to 7 tall,
 * undilated) with column stride 1 or 2 take intrinsics paths that read the unpadded plane in
 * place: zero padding comes from masked loads (masked-off lanes never touch memory), so the
 * caller copies nothing. 3×3 stride-1 planes whose output rows are as wide as the input rows
 * run over the flattened plane, 16 outputs per step whatever the width (7×7 and 14×14 planes
 * would waste most lanes row by row); column edges are per-lane masks. 3×3 stride-2 planes
 * put two output rows in a vector when rows are at most 7 wide, and otherwise (one column of
 * padding) sweep each row once, two loads a kernel row. Other planes go row by row, stride 2
 * split into even and odd columns by permutes. The _clamp entries also apply
 * min(max(y, lo), hi) (ReLU, Clip) before the store; the multi-plane one builds the load masks
 * of small flat planes once for all its planes. Everything else uses the auto-vectorized
 * template. */
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
    return g->kh >= 1 && g->kh <= 7 && (g->kw == 3 || g->kw == 5 || g->kw == 7) && g->dh == 1 && g->dw == 1 &&
           (g->sw == 1 || g->sw == 2);
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

/* Load masks of one column chunk, the same for every row: for stride 1, the runs at c0 + t
 * for each tap t (m[t]); for stride 2, the 32-column pairs at c0 + 2q (m[2q], m[2q + 1]),
 * whose even and odd lanes are taps 2q and 2q + 1. All ones inside the row. */
typedef struct col_masks {
    __mmask16 m[8];
} col_masks;

static inline col_masks chunk_masks(int c0, int n, int iw, int sw, int kw)
{
    col_masks cm = { { 0 } };
    if (sw == 1) {
        for (int t = 0; t < kw; t++) cm.m[t] = lanes(-c0 - t, ER_MIN(n, iw - c0 - t));
    } else {
        for (int q = 0; 2 * q < kw; q++) {
            int c = c0 + 2 * q, end = ER_MIN(2 * n, iw - c);
            cm.m[2 * q] = lanes(-c, end);
            cm.m[2 * q + 1] = lanes(-c - 16, end - 16);
        }
    }
    return cm;
}

/* acc + one kernel row's kw taps (weights w) for one column chunk of input row r. The FMAs
 * broadcast the weights from memory: 25 or 49 weight vectors would not fit in registers, and
 * spilled full vectors cost a 64-byte load per FMA where a broadcast loads 4 bytes. */
static inline __attribute__((always_inline)) __m512 row_taps(const float *r, int c0, int sw, int kw,
                                                             const col_masks *cm, const float *w, __m512 acc)
{
    if (sw == 1) {
        for (int t = 0; t < kw; t++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), load_at(cm->m[t], r, c0 + t), acc);
        return acc;
    }
    for (int q = 0; 2 * q < kw; q++) {
        __m512 a = load_at(cm->m[2 * q], r, c0 + 2 * q), b = load_at(cm->m[2 * q + 1], r, c0 + 2 * q + 16);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(w[2 * q]), deinterleave(a, b, false), acc);
        if (2 * q + 1 < kw) acc = _mm512_fmadd_ps(_mm512_set1_ps(w[2 * q + 1]), deinterleave(a, b, true), acc);
    }
    return acc;
}

/* Output rows row0 + ph and the one below it, stride 1 with all kh + 1 input rows inside:
 * each loaded tap serves both rows, so a chunk loads (kh + 1)·kw vectors for 2·kh·kw FMAs. */
static inline __attribute__((always_inline)) void two_rows_s1(const float *x, int iw, int row0, const float *w,
                                                              int kh, int kw, const col_masks *cm, int c0,
                                                              __m512 vb, __m512 *top, __m512 *bottom)
{
    __m512 a0 = vb, a1 = _mm512_setzero_ps(), b0 = vb, b1 = _mm512_setzero_ps();
    for (int i = 0; i <= kh; i++) {
        const float *r = x + (size_t)(row0 + i) * iw;
        for (int t = 0; t < kw; t++) {
            const __m512 v = load_at(cm->m[t], r, c0 + t);
            if (i < kh) {
                if (i % 2 == 0)
                    a0 = _mm512_fmadd_ps(_mm512_set1_ps(w[i * kw + t]), v, a0);
                else
                    a1 = _mm512_fmadd_ps(_mm512_set1_ps(w[i * kw + t]), v, a1);
            }
            if (i > 0) {
                if (i % 2 == 1)
                    b0 = _mm512_fmadd_ps(_mm512_set1_ps(w[(i - 1) * kw + t]), v, b0);
                else
                    b1 = _mm512_fmadd_ps(_mm512_set1_ps(w[(i - 1) * kw + t]), v, b1);
            }
        }
    }
    *top = _mm512_add_ps(a0, a1);
    *bottom = _mm512_add_ps(b0, b1);
}

/* One column chunk [o, o + 16) of every output row, kh×kw taps (both constants after
 * inlining): the chunk's masks stay in registers for all rows. Stride-1 rows whose windows lie
 * inside the input go two at a time (two_rows_s1); other rows with all kh kernel rows inside
 * unroll completely, each kernel row its own FMA chain, the rows' sums added at the end. */
static inline __attribute__((always_inline)) void dw_chunk_k(const er_dw_geom *g, const float *x, const float *w,
                                                             __m512 vb, float *y, const __m512 *clamp, int o,
                                                             int kh, int kw)
{
    const int ih = g->ih, iw = g->iw, oh_n = g->oh, ow_n = g->ow, sh = g->sh, sw = g->sw, ph = g->ph;
    const int c0 = o * sw - g->pw;
    const col_masks cm = chunk_masks(c0, ER_MIN(16, ow_n - o), iw, sw, kw);
    const __mmask16 store = lanes(0, ow_n - o);
    for (int oh = 0; oh < oh_n; oh++) {
        const int row0 = oh * sh - ph, t0 = ER_MAX(0, -row0), t1 = ER_MIN(kh, ih - row0);
        if (sh == 1 && sw == 1 && t0 == 0 && row0 + kh < ih && oh + 1 < oh_n) {
            __m512 top, bottom;
            two_rows_s1(x, iw, row0, w, kh, kw, &cm, c0, vb, &top, &bottom);
            store_lanes(y + (size_t)oh * ow_n + o, store, top, clamp);
            store_lanes(y + (size_t)(oh + 1) * ow_n + o, store, bottom, clamp);
            oh++;
            continue;
        }
        __m512 acc = vb;
        if (t0 == 0 && t1 == kh) {
            for (int t = 0; t < kh; t++)
                acc = _mm512_add_ps(acc, row_taps(x + (size_t)(row0 + t) * iw, c0, sw, kw, &cm, w + t * kw,
                                                  _mm512_setzero_ps()));
        } else {
            for (int t = t0; t < t1; t++)
                acc = _mm512_add_ps(acc, row_taps(x + (size_t)(row0 + t) * iw, c0, sw, kw, &cm, w + t * kw,
                                                  _mm512_setzero_ps()));
        }
        store_lanes(y + (size_t)oh * ow_n + o, store, acc, clamp);
    }
}

static inline __attribute__((always_inline)) void dw_rows_k(const er_dw_geom *g, const float *x, const float *k,
                                                            float bias, float *y, const __m512 *clamp, int kh,
                                                            int kw)
{
    const __m512 vb = _mm512_set1_ps(bias);
    for (int o = 0; o < g->ow; o += 16) dw_chunk_k(g, x, k, vb, y, clamp, o, kh, kw);
}

/* acc + one kernel row's taps for one column chunk (first input column c0), input row r
 * (NULL: a padding row). */
static inline __m512 taps3(const float *r, int c0, int sw, const col_masks *cm, const __m512 *w, __m512 acc)
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

/* The 16 floats of row r from column c (c >= 0), zero past the row's iw. With whole (iw and c
 * multiples of 16) a block lies whole inside the row or whole past it. */
static inline __attribute__((always_inline)) __m512 row_block(const float *r, int c, int iw, bool whole)
{
    if (whole) return c < iw ? _mm512_loadu_ps(r + c) : _mm512_setzero_ps();
    if (c + 16 <= iw) return _mm512_loadu_ps(r + c);
    return c < iw ? _mm512_maskz_loadu_ps(lanes(0, iw - c), r + c) : _mm512_setzero_ps();
}

/* Stride 2 with one column of padding: chunk o's input columns from 2·o are two blocks, read
 * whole inside the row (on 64-byte aligned rows, like the 112-wide MobileNet planes, they
 * never straddle cache lines). Taps 1 and 2 are the blocks' even and odd lanes; tap 0 is the
 * odd lanes moved up one lane, lane 0 taking the last odd lane of the chunk before (prev:
 * zero left of the row, the padding column), so a kernel row costs two loads, not four. */
static inline __attribute__((always_inline)) __m512 taps3_s2_pad1(const float *r, int c, int iw, bool whole,
                                                                   __m512 *prev, const __m512 *w, __m512 acc)
{
    if (!r) return acc;
    const __m512 a = row_block(r, c, iw, whole), b = row_block(r, c + 16, iw, whole);
    const __m512 odd = deinterleave(a, b, true);
    const __m512i up = _mm512_alignr_epi32(_mm512_castps_si512(odd), _mm512_castps_si512(*prev), 15);
    *prev = odd;
    acc = _mm512_fmadd_ps(w[0], _mm512_castsi512_ps(up), acc);
    acc = _mm512_fmadd_ps(w[1], deinterleave(a, b, false), acc);
    return _mm512_fmadd_ps(w[2], odd, acc);
}

static inline __attribute__((always_inline)) void s2_pad1_rows(const er_dw_geom *g, const float *x, const float *k,
                                                                float bias, float *y, const __m512 *clamp, bool whole)
{
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(k[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    const int ih = g->ih, iw = g->iw, ow = g->ow;
    for (int oh = 0; oh < g->oh; oh++) {
        const float *r[3];
        for (int kh = 0; kh < 3; kh++) {
            const int row = oh * g->sh - g->ph + kh;
            r[kh] = row >= 0 && row < ih ? x + (size_t)row * iw : NULL;
        }
        __m512 p0 = _mm512_setzero_ps(), p1 = p0, p2 = p0;
        float *yr = y + (size_t)oh * ow;
        for (int o = 0; o < ow; o += 16) {
            const __m512 a0 = taps3_s2_pad1(r[0], 2 * o, iw, whole, &p0, w, vb);
            const __m512 a1 = taps3_s2_pad1(r[1], 2 * o, iw, whole, &p1, w + 3, _mm512_setzero_ps());
            const __m512 a2 = taps3_s2_pad1(r[2], 2 * o, iw, whole, &p2, w + 6, _mm512_setzero_ps());
            store_lanes(yr + o, lanes(0, ow - o), _mm512_add_ps(a0, _mm512_add_ps(a1, a2)), clamp);
        }
    }
}

static void dw3x3_s2_pad1(const er_dw_geom *g, const float *x, const float *k, float bias, float *y,
                          const __m512 *clamp)
{
    if (g->iw % 16 == 0)
        s2_pad1_rows(g, x, k, bias, y, clamp, true);
    else
        s2_pad1_rows(g, x, k, bias, y, clamp, false);
}

/* Column chunks per block of dw3x3_rows: their masks stay on the stack while the block's rows
 * are swept in order, so the plane streams through the cache once (a plane of 112×112 floats
 * overflows L1 and was re-read from L2 for each column chunk). */
#define DW_ROW_CHUNKS 8

typedef struct chunk_geom {
    col_masks cm;
    __mmask16 store;
    int c0;
} chunk_geom;

static void chunk_geom_init(const er_dw_geom *g, int o, chunk_geom *c)
{
    const int n = ER_MIN(16, g->ow - o), c0 = o * g->sw - g->pw, iw = g->iw;
    c->c0 = c0;
    c->cm = chunk_masks(c0, n, iw, g->sw, 3);
    c->store = lanes(0, n);
}

/* Output rows in order, for each the column chunks [o0, o0 + 16·nc). */
static void dw3x3_rows(const er_dw_geom *g, const float *x, const float *k, float bias, float *y,
                       const __m512 *clamp)
{
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(k[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    const int ih = g->ih, iw = g->iw, oh_n = g->oh, ow_n = g->ow, sh = g->sh, sw = g->sw, ph = g->ph;
    chunk_geom cg[DW_ROW_CHUNKS];
    for (int o0 = 0; o0 < ow_n; o0 += 16 * DW_ROW_CHUNKS) {
        const int nc = ER_MIN(DW_ROW_CHUNKS, (ow_n - o0 + 15) / 16);
        for (int c = 0; c < nc; c++) chunk_geom_init(g, o0 + 16 * c, &cg[c]);
        for (int oh = 0; oh < oh_n; oh++) {
            const float *r[3];
            for (int kh = 0; kh < 3; kh++) {
                int row = oh * sh - ph + kh;
                r[kh] = row >= 0 && row < ih ? x + (size_t)row * iw : NULL;
            }
            float *yr = y + (size_t)oh * ow_n + o0;
            for (int c = 0; c < nc; c++) {
                const chunk_geom *q = &cg[c];
                const __m512 a0 = taps3(r[0], q->c0, sw, &q->cm, w, vb);
                const __m512 a1 = taps3(r[1], q->c0, sw, &q->cm, w + 3, _mm512_setzero_ps());
                const __m512 a2 = taps3(r[2], q->c0, sw, &q->cm, w + 6, _mm512_setzero_ps());
                store_lanes(yr + 16 * c, q->store, _mm512_add_ps(a0, _mm512_add_ps(a1, a2)), clamp);
            }
        }
    }
}

/* 3×3 stride 2 with output rows of at most 7 (the 7×7 planes of 14×14 inputs): a row pair
 * shares one vector, so the lanes of row by row (7 of 16) fill to 14. Each kernel row loads
 * the 16 input columns from c0 of both input rows; one permute per tap gathers column
 * c0 + 2j + t of the top row into lane j and of the bottom row into lane ow + j, which is
 * the pair's layout in y. */
static bool s2_pairs(const er_dw_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->sw == 2 && g->ow <= 7;
}

/* The 16 floats of input row row from column -pw (lanes m inside the row). */
static inline __m512 pair_row(const float *x, int ih, int iw, int pw, int row, __mmask16 m)
{
    if (row < 0 || row >= ih) return _mm512_setzero_ps();
    return load_at(m, x, (ptrdiff_t)row * iw - pw);
}

static inline __m512 pair_taps(__m512 a, __m512 b, const __m512i *idx, const __m512 *w, __m512 acc)
{
    acc = _mm512_fmadd_ps(w[0], _mm512_permutex2var_ps(a, idx[0], b), acc);
    acc = _mm512_fmadd_ps(w[1], _mm512_permutex2var_ps(a, idx[1], b), acc);
    return _mm512_fmadd_ps(w[2], _mm512_permutex2var_ps(a, idx[2], b), acc);
}

static void dw3x3_s2_pairs(const er_dw_geom *g, const float *x, const float *k, float bias, float *y,
                           const __m512 *clamp)
{
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(k[i]);
    const int ow = g->ow, sh = g->sh, ph = g->ph;
    const __m512i j = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __mmask16 top = _mm512_cmplt_epi32_mask(j, _mm512_set1_epi32(ow));
    /* lane j: 2j (top) or 16 + 2(j - ow) (bottom); lanes past 2·ow are never stored */
    const __m512i even = _mm512_mask_blend_epi32(top, _mm512_add_epi32(_mm512_slli_epi32(j, 1),
                                                                        _mm512_set1_epi32(16 - 2 * ow)),
                                                 _mm512_slli_epi32(j, 1));
    const __m512i idx[3] = { even, _mm512_add_epi32(even, _mm512_set1_epi32(1)),
                             _mm512_add_epi32(even, _mm512_set1_epi32(2)) };
    const __mmask16 m = lanes(g->pw, g->iw + g->pw);
    const int ih = g->ih, iw = g->iw, pw = g->pw;
    const __m512 vb = _mm512_set1_ps(bias);
    for (int oh = 0; oh < g->oh; oh += 2) {
        const bool two = oh + 1 < g->oh;
        /* a bottom row past the output reads as padding */
        const int r = oh * sh - ph, rb = two ? r + sh : -3;
        const __m512 z = _mm512_setzero_ps();
        __m512 a0 = pair_taps(pair_row(x, ih, iw, pw, r, m), pair_row(x, ih, iw, pw, rb, m), idx, w, vb);
        __m512 a1 = pair_taps(pair_row(x, ih, iw, pw, r + 1, m), pair_row(x, ih, iw, pw, rb + 1, m), idx, w + 3, z);
        __m512 a2 = pair_taps(pair_row(x, ih, iw, pw, r + 2, m), pair_row(x, ih, iw, pw, rb + 2, m), idx, w + 6, z);
        store_lanes(y + (size_t)oh * ow, lanes(0, two ? 2 * ow : ow), _mm512_add_ps(a0, _mm512_add_ps(a1, a2)), clamp);
    }
}

static void dw_rows(const er_dw_geom *g, const float *x, const float *k, float bias, float *y, const __m512 *clamp)
{
    /* square kernels get their own unrolled builds; other heights loop over kernel rows */
    if (g->kh == g->kw) {
        switch (g->kw) {
        case 3: dw3x3_rows(g, x, k, bias, y, clamp); return;
        case 5: dw_rows_k(g, x, k, bias, y, clamp, 5, 5); return;
        default: dw_rows_k(g, x, k, bias, y, clamp, 7, 7); return;
        }
    }
    switch (g->kw) {
    case 3: dw_rows_k(g, x, k, bias, y, clamp, g->kh, 3); return;
    case 5: dw_rows_k(g, x, k, bias, y, clamp, g->kh, 5); return;
    default: dw_rows_k(g, x, k, bias, y, clamp, g->kh, 7); return;
    }
}

static void dw_in_place(const er_dw_geom *g, const float *x, const float *k, float bias, float *y,
                        const __m512 *clamp)
{
    if (g->oh <= 0 || g->ow <= 0) return;
    if (g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->ow == g->iw)
        dw3x3_flat(g, x, k, bias, y, clamp);
    else if (s2_pairs(g))
        dw3x3_s2_pairs(g, x, k, bias, y, clamp);
    else if (g->kh == 3 && g->kw == 3 && g->sw == 2 && g->pw == 1)
        dw3x3_s2_pad1(g, x, k, bias, y, clamp);
    else
        dw_rows(g, x, k, bias, y, clamp);
}

void er_dw_plane_avx512(const er_dw_geom *g, const float *x, const float *k, float bias, float *y)
{
    if (er_dw_plane_avx512_in_place(g))
        dw_in_place(g, x, k, bias, y, NULL);
    else
        dw_plane_impl(g, x, k, bias, y);
}

void er_dw_plane_avx512_clamp(const er_dw_geom *g, const float *x, const float *k, float bias, float lo, float hi,
                              float *y)
{
    const __m512 clamp[2] = { _mm512_set1_ps(lo), _mm512_set1_ps(hi) };
    dw_in_place(g, x, k, bias, y, clamp);
}

/* Flat 3×3 stride-1 planes of at most this many 16-output chunks (7×7, 14×14) take their load
 * masks from a table built once for a run of planes: building them costs more than the
 * plane's own nine FMAs per chunk. */
#define DW_TABLE_CHUNKS 16

/* Per chunk: the nine taps' masks (input row and column inside the plane, output in range),
 * then the store mask. */
typedef struct flat_table {
    int chunks;
    __mmask16 m[DW_TABLE_CHUNKS][10];
} flat_table;

static bool flat_table_init(const er_dw_geom *g, flat_table *t)
{
    const int W = g->iw, out_n = g->oh * W;
    if (!(g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->ow == W) ||
        out_n > 16 * DW_TABLE_CHUNKS || out_n <= 0)
        return false;
    t->chunks = (out_n + 15) / 16;
    const int ih = g->ih, ph = g->ph, pw = g->pw;
    /* the column of each lane's output, advanced by 16 per chunk (as in flat_chunks) */
    int cols[16];
    for (int j = 0, c = 0; j < 16; j++, c = c + 1 == W ? 0 : c + 1) cols[j] = c;
    __m512i col = _mm512_loadu_si512(cols);
    const __m512i vstep = _mm512_set1_epi32(16 % W), vw = _mm512_set1_epi32(W);
    for (int c = 0; c < t->chunks; c++) {
        const int p = c * 16;
        const __mmask16 valid = lanes(0, out_n - p);
        for (int kw = 0; kw < 3; kw++) {
            const __mmask16 cm = _mm512_cmpge_epi32_mask(col, _mm512_set1_epi32(pw - kw)) &
                                 _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32(W + pw - kw));
            for (int kh = 0; kh < 3; kh++)
                t->m[c][kh * 3 + kw] = valid & cm & lanes((ph - kh) * W - p, (ih + ph - kh) * W - p);
        }
        t->m[c][9] = valid;
        col = _mm512_add_epi32(col, vstep);
        col = _mm512_mask_sub_epi32(col, _mm512_cmpge_epi32_mask(col, vw), col, vw);
    }
    return true;
}

static void flat_table_plane(const er_dw_geom *g, const flat_table *t, const float *x, const float *k, float bias,
                             float *y, const __m512 *clamp)
{
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(k[i]);
    const int W = g->iw;
    for (int c = 0; c < t->chunks; c++) {
        const __mmask16 *m = t->m[c];
        const int base = c * 16 - g->ph * W - g->pw;
        __m512 a0 = flat_row(x, base, 0xffff, m, w, _mm512_set1_ps(bias));
        __m512 a1 = flat_row(x, base + W, 0xffff, m + 3, w + 3, _mm512_setzero_ps());
        __m512 a2 = flat_row(x, base + 2 * W, 0xffff, m + 6, w + 6, _mm512_setzero_ps());
        store_lanes(y + c * 16, m[9], _mm512_add_ps(a0, _mm512_add_ps(a1, a2)), clamp);
    }
}

void er_dw_planes_avx512_clamp(const er_dw_geom *g, const float *x, const float *w, const float *bias, int channels,
                               int64_t p0, int64_t p1, float lo, float hi, float *y)
{
    const size_t in_plane = (size_t)g->ih * g->iw, out_plane = (size_t)g->oh * g->ow;
    const int kvol = g->kh * g->kw;
    const __m512 clamp[2] = { _mm512_set1_ps(lo), _mm512_set1_ps(hi) };
    flat_table t;
    const bool table = flat_table_init(g, &t);
    for (int64_t p = p0; p < p1; p++) {
        const int c = (int)(p % channels);
        const float *xp = x + (size_t)p * in_plane, *kp = w + (size_t)c * kvol;
        const float b = bias ? bias[c] : 0.0f;
        if (table)
            flat_table_plane(g, &t, xp, kp, b, y + (size_t)p * out_plane, clamp);
        else
            dw_in_place(g, xp, kp, b, y + (size_t)p * out_plane, clamp);
    }
}
