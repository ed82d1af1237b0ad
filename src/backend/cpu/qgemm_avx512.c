/* AVX-512 VNNI int8 GEMM: vpdpbusd multiplies 4 u8 activations by 4 s8 weights and adds the
 * sum into an int32 lane. Tile: 8 rows x 32 columns in 16 zmm accumulators; each step
 * loads 2 zmm of packed X and broadcasts one 4-weight word per row. */
#include <immintrin.h>
#include <string.h>

#include "backend/cpu/qgemm.h"
#include "backend/cpu/qpack_avx512.h"

#define MR 8

/* Row m's 32 columns from two accumulators (which start from the row's bias): clamped in
 * int32, narrowed by er_q8_pack64, then one store. Narrowing stores to memory (vpmov*db
 * m128, one per 16 columns) cost small-K layers a third of their time. */
static inline void store_row32(const er_qgemm_out *o, int64_t m, int64_t n, __m512i acc0, __m512i acc1, int64_t n1)
{
    const __m512 mult = _mm512_set1_ps(o->mult[m]);
    const __m512i zp = _mm512_set1_epi32(o->zp);
    const __m512i lo = _mm512_set1_epi32(o->is_signed ? -128 : 0), hi = _mm512_set1_epi32(o->is_signed ? 127 : 255);
    __m512i q0 = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(acc0), mult)), zp);
    __m512i q1 = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(acc1), mult)), zp);
    q0 = _mm512_min_epi32(_mm512_max_epi32(q0, lo), hi);
    q1 = _mm512_min_epi32(_mm512_max_epi32(q1, lo), hi);
    const __m512i b = er_q8_pack64(q0, q1, q0, q1, o->is_signed);
    const int64_t left = n1 - n;
    const __mmask32 k = left >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << left) - 1);
    _mm256_mask_storeu_epi8((uint8_t *)o->y + m * o->ldy + n, k, _mm512_castsi512_si256(b));
}

/* rows [m, m + mr), columns [n, n + 16 * nv) clipped at n1; inlined with constant mr and nv
 * so the K loop carries no row or width tests */
static inline __attribute__((always_inline)) void tile(const int32_t *w, const uint8_t *x, const int64_t *goff,
                                                       int64_t k4, int64_t np, int64_t m, const int mr, int64_t n,
                                                       const int nv, int64_t n1, const er_qgemm_out *o)
{
    __m512i acc[MR][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm512_set1_epi32(o->bias[m + r]);
    const int32_t *wr = w + m * k4;
    for (int64_t g = 0; g < k4; g++) {
        const uint8_t *xp = x + (goff ? goff[g] : g * np * 4) + n * 4;
        __m512i x0 = _mm512_loadu_si512(xp);
        __m512i x1 = nv == 2 ? _mm512_loadu_si512(xp + 64) : x0;
        for (int r = 0; r < mr; r++) {
            __m512i wv = _mm512_set1_epi32(wr[r * k4 + g]);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x0, wv);
            if (nv == 2) acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x1, wv);
        }
    }
    for (int r = 0; r < mr; r++)
        store_row32(o, m + r, n, acc[r][0], nv == 2 ? acc[r][1] : acc[r][0], nv == 2 || n1 < n + 16 ? n1 : n + 16);
}

/* The full 8 x 32 tile with named accumulators: gcc keeps these in registers, where the
 * array form above makes it copy every accumulator once per K step. */
#define DP_ROW(R)                                                                                            \
    do {                                                                                                     \
        __m512i wv = _mm512_set1_epi32(wr[(R) * k4 + g]);                                                    \
        a##R##0 = _mm512_dpbusd_epi32(a##R##0, x0, wv);                                                      \
        a##R##1 = _mm512_dpbusd_epi32(a##R##1, x1, wv);                                                      \
    } while (0)

static inline __attribute__((always_inline)) void tile8x32(const int32_t *w, const uint8_t *x, const int64_t *goff,
                                                           int64_t k4, int64_t np, int64_t m, int64_t n, int64_t n1,
                                                           const er_qgemm_out *o)
{
    const int32_t *b = o->bias + m;
    __m512i a00 = _mm512_set1_epi32(b[0]), a01 = a00, a10 = _mm512_set1_epi32(b[1]), a11 = a10;
    __m512i a20 = _mm512_set1_epi32(b[2]), a21 = a20, a30 = _mm512_set1_epi32(b[3]), a31 = a30;
    __m512i a40 = _mm512_set1_epi32(b[4]), a41 = a40, a50 = _mm512_set1_epi32(b[5]), a51 = a50;
    __m512i a60 = _mm512_set1_epi32(b[6]), a61 = a60, a70 = _mm512_set1_epi32(b[7]), a71 = a70;
    const int32_t *wr = w + m * k4;
    for (int64_t g = 0; g < k4; g++) {
        const uint8_t *xp = x + (goff ? goff[g] : g * np * 4) + n * 4;
        __m512i x0 = _mm512_loadu_si512(xp), x1 = _mm512_loadu_si512(xp + 64);
        DP_ROW(0);
        DP_ROW(1);
        DP_ROW(2);
        DP_ROW(3);
        DP_ROW(4);
        DP_ROW(5);
        DP_ROW(6);
        DP_ROW(7);
    }
    const __m512i acc[MR][2] = { { a00, a01 }, { a10, a11 }, { a20, a21 }, { a30, a31 },
                                 { a40, a41 }, { a50, a51 }, { a60, a61 }, { a70, a71 } };
    for (int r = 0; r < MR; r++) store_row32(o, m + r, n, acc[r][0], acc[r][1], n1);
}

#define TILE_CASE(R)                                                                                         \
    case R:                                                                                                  \
        if (nv == 2) tile(w, x, goff, k4, np, m, R, n, 2, n1, o);                                            \
        else tile(w, x, goff, k4, np, m, R, n, 1, n1, o);                                                    \
        break;

static inline __attribute__((always_inline)) void tile_any(const int32_t *w, const uint8_t *x, const int64_t *goff,
                                                           int64_t k4, int64_t np, int64_t m, int64_t m1, int64_t n,
                                                           int64_t n1, const er_qgemm_out *o)
{
    const int nv = n + 16 < n1 ? 2 : 1;
    if (nv == 2 && m1 - m >= MR) {
        tile8x32(w, x, goff, k4, np, m, n, n1, o);
        return;
    }
    switch (m1 - m < MR ? m1 - m : MR) {
        TILE_CASE(1)
        TILE_CASE(2)
        TILE_CASE(3)
        TILE_CASE(4)
        TILE_CASE(5)
        TILE_CASE(6)
        TILE_CASE(7)
        TILE_CASE(8)
    }
}

/* The larger operand is walked once: with more rows than columns (deep layers: big weights,
 * small images) each row tile stays in L1 while the columns stream from L2, else each
 * column tile stays while the weights stream. Inlined with goff NULL (the packed layout) or
 * a table, so each form has its own k loop. */
static inline __attribute__((always_inline)) void gemm(const int32_t *w, const uint8_t *x, const int64_t *goff,
                                                       int64_t k4, int64_t np, int64_t m0, int64_t m1, int64_t n0,
                                                       int64_t n1, const er_qgemm_out *o)
{
    if (m1 - m0 > n1 - n0)
        for (int64_t m = m0; m < m1; m += MR)
            for (int64_t n = n0; n < n1; n += 32) tile_any(w, x, goff, k4, np, m, m1, n, n1, o);
    else
        for (int64_t n = n0; n < n1; n += 32)
            for (int64_t m = m0; m < m1; m += MR) tile_any(w, x, goff, k4, np, m, m1, n, n1, o);
}

void er_qgemm_u8s8_avx512vnni(const int32_t *w, const uint8_t *x, int64_t k4, int64_t np, int64_t m0,
                              int64_t m1, int64_t n0, int64_t n1, const er_qgemm_out *o)
{
    gemm(w, x, NULL, k4, np, m0, m1, n0, n1, o);
}

void er_qgemm_gather_avx512vnni(const int32_t *w, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0,
                                int64_t m1, int64_t n0, int64_t n1, const er_qgemm_out *o)
{
    gemm(w, x, goff, k4, 0, m0, m1, n0, n1, o);
}

/* Interleaves 4 rows 16 columns at a time: bytes (r0, r1) then (r01, r23) pairs give the
 * 4-byte groups of consecutive k per column. Full 4-row groups only; the rest goes through
 * the portable packer. */
void er_qgemm_pack_x_avx512(const uint8_t *x, int64_t ldx, int64_t k, int64_t n, uint8_t pad, uint8_t *dst)
{
    int64_t np = (n + 15) / 16 * 16, kfull = k / 4 * 4, nfull = n / 16 * 16;
    for (int64_t g = 0; g < kfull / 4; g++) {
        const uint8_t *r0 = x + 4 * g * ldx, *r1 = r0 + ldx, *r2 = r1 + ldx, *r3 = r2 + ldx;
        uint8_t *d = dst + g * np * 4;
        for (int64_t c = 0; c < nfull; c += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(r0 + c)), b = _mm_loadu_si128((const __m128i *)(r1 + c));
            __m128i e = _mm_loadu_si128((const __m128i *)(r2 + c)), f = _mm_loadu_si128((const __m128i *)(r3 + c));
            __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
            __m128i ef0 = _mm_unpacklo_epi8(e, f), ef1 = _mm_unpackhi_epi8(e, f);
            _mm_storeu_si128((__m128i *)(d + c * 4), _mm_unpacklo_epi16(ab0, ef0));
            _mm_storeu_si128((__m128i *)(d + c * 4 + 16), _mm_unpackhi_epi16(ab0, ef0));
            _mm_storeu_si128((__m128i *)(d + c * 4 + 32), _mm_unpacklo_epi16(ab1, ef1));
            _mm_storeu_si128((__m128i *)(d + c * 4 + 48), _mm_unpackhi_epi16(ab1, ef1));
        }
        for (int64_t c = nfull; c < np; c++)
            for (int j = 0; j < 4; j++) d[c * 4 + j] = c < n ? x[(4 * g + j) * ldx + c] : pad;
    }
    if (kfull < k) {
        /* the last partial group: pack it alone with the portable code */
        er_qgemm_pack_x(x + kfull * ldx, ldx, k - kfull, n, pad, dst + kfull / 4 * np * 4);
    }
}

static inline void interleave16(__m128i a, __m128i b, __m128i e, __m128i f, uint8_t *d)
{
    __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
    __m128i ef0 = _mm_unpacklo_epi8(e, f), ef1 = _mm_unpackhi_epi8(e, f);
    _mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi16(ab0, ef0));
    _mm_storeu_si128((__m128i *)(d + 16), _mm_unpackhi_epi16(ab0, ef0));
    _mm_storeu_si128((__m128i *)(d + 32), _mm_unpacklo_epi16(ab1, ef1));
    _mm_storeu_si128((__m128i *)(d + 48), _mm_unpackhi_epi16(ab1, ef1));
}

/* 16 bytes at stride 1, or the even bytes of 32 (the low byte of each 16-bit word) at stride 2. */
static inline __m128i load16(const uint8_t *p, int64_t sw)
{
    if (sw == 1) return _mm_loadu_si128((const __m128i *)p);
    return _mm256_cvtepi16_epi8(_mm256_loadu_si256((const __m256i *)p));
}

/* One output row of er_qgemm_pack4_avx512. */
static inline void pack4_row(const uint8_t *const r[4], int64_t off, int64_t sw, int64_t n, uint8_t *dst)
{
    int64_t c = 0;
    if (sw == 1 || sw == 2)
        for (; c + 16 <= n; c += 16) {
            int64_t o = off + c * sw;
            interleave16(load16(r[0] + o, sw), load16(r[1] + o, sw), load16(r[2] + o, sw), load16(r[3] + o, sw),
                         dst + c * 4);
        }
    if (c == n) return;
    /* after the loop above fewer than 16 columns are left at strides 1 and 2 */
    __mmask16 k = sw <= 2 ? (__mmask16)((1u << (n - c)) - 1) : 0;
    if (sw == 1) {
        int64_t o = off + c;
        interleave16(_mm_maskz_loadu_epi8(k, r[0] + o), _mm_maskz_loadu_epi8(k, r[1] + o),
                     _mm_maskz_loadu_epi8(k, r[2] + o), _mm_maskz_loadu_epi8(k, r[3] + o), dst + c * 4);
        return;
    }
    if (sw == 2) {
        int64_t o = off + 2 * c;
        __m128i v[4];
        for (int j = 0; j < 4; j++) v[j] = _mm256_cvtepi16_epi8(_mm256_maskz_loadu_epi16(k, r[j] + o));
        interleave16(v[0], v[1], v[2], v[3], dst + c * 4);
        return;
    }
    for (; c < n; c++)
        for (int j = 0; j < 4; j++) dst[c * 4 + j] = r[j][off + c * sw];
}

void er_qgemm_pack4_avx512(const uint8_t *const r[4], int64_t sw, int64_t n, int64_t rows, int64_t step,
                           uint8_t *dst)
{
    for (int64_t t = 0; t < rows; t++) pack4_row(r, t * step, sw, n, dst + t * n * 4);
}

/* ---- output channels in the lanes (er_qgemm_t_*) ---- */

#define TNC 8 /* columns per tile */

/* Requantized 16 rows (lanes) of one column as 16 bytes. */
static inline __m128i requant16(const er_qgemm_out *o, int64_t m, __m512i acc)
{
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(o->mult + m));
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(o->zp));
    if (o->is_signed) return _mm512_cvtsepi32_epi8(q);
    return _mm512_cvtusepi32_epi8(_mm512_max_epi32(q, _mm512_setzero_si512()));
}

/* c[j] holds column j of rows m..m+15: stores row r's nc bytes at y[(m + r) * ldy + n]. */
static inline void store_transposed(const er_qgemm_out *o, int64_t m, int64_t n, const __m128i c[TNC], int nc)
{
    __m128i p[8], q[8], r[8];
    for (int j = 0; j < 4; j++) {
        p[2 * j] = _mm_unpacklo_epi8(c[2 * j], c[2 * j + 1]);       /* rows 0-7, columns 2j, 2j+1 */
        p[2 * j + 1] = _mm_unpackhi_epi8(c[2 * j], c[2 * j + 1]);   /* rows 8-15 */
    }
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 2; j++) {
            q[4 * h + 2 * j] = _mm_unpacklo_epi16(p[4 * j + h], p[4 * j + 2 + h]);     /* 4 rows, 4 columns */
            q[4 * h + 2 * j + 1] = _mm_unpackhi_epi16(p[4 * j + h], p[4 * j + 2 + h]);
        }
    /* q[4h + 2j + s]: rows 8h + 4s .. +3, columns 4j .. 4j+3 */
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 2; s++) {
            r[4 * h + 2 * s] = _mm_unpacklo_epi32(q[4 * h + s], q[4 * h + 2 + s]);     /* rows 8h+4s, +1 */
            r[4 * h + 2 * s + 1] = _mm_unpackhi_epi32(q[4 * h + s], q[4 * h + 2 + s]); /* rows 8h+4s+2, +3 */
        }
    const __mmask16 mask = (__mmask16)((1u << nc) - 1);
    uint8_t *y = (uint8_t *)o->y + m * o->ldy + n;
    for (int i = 0; i < 8; i++) {
        _mm_mask_storeu_epi8(y + (2 * i) * o->ldy, mask, r[i]);
        _mm_mask_storeu_epi8(y + (2 * i + 1) * o->ldy, mask, _mm_unpackhi_epi64(r[i], r[i]));
    }
}

/* mv 16-row vectors x nc columns; inlined with constants so the k loop has no tests */
static inline __attribute__((always_inline)) void ttile(const int32_t *wt, const uint8_t *x, int64_t k4, int64_t np,
                                                        int64_t m, const int mv, int64_t n, const int nc,
                                                        const er_qgemm_out *o)
{
    __m512i acc[2][TNC];
    for (int v = 0; v < mv; v++) {
        const __m512i b = _mm512_loadu_si512(o->bias + m + 16 * v);
        for (int c = 0; c < nc; c++) acc[v][c] = b;
    }
    const int32_t *w0 = wt + m * k4, *w1 = w0 + 16 * k4;
    const uint8_t *xp = x + n * 4;
    for (int64_t g = 0; g < k4; g++, xp += np * 4) {
        const __m512i a0 = _mm512_loadu_si512(w0 + g * 16);
        const __m512i a1 = mv == 2 ? _mm512_loadu_si512(w1 + g * 16) : a0;
        for (int c = 0; c < nc; c++) {
            int32_t word;
            memcpy(&word, xp + 4 * c, 4);
            const __m512i xv = _mm512_set1_epi32(word);
            acc[0][c] = _mm512_dpbusd_epi32(acc[0][c], xv, a0);
            if (mv == 2) acc[1][c] = _mm512_dpbusd_epi32(acc[1][c], xv, a1);
        }
    }
    for (int v = 0; v < mv; v++) {
        __m128i col[TNC];
        for (int c = 0; c < TNC; c++) col[c] = c < nc ? requant16(o, m + 16 * v, acc[v][c]) : _mm_setzero_si128();
        store_transposed(o, m + 16 * v, n, col, nc);
    }
}

/* The full 32 x 8 tile with named accumulators (see tile8x32: the array form costs a copy of
 * every accumulator per k step). */
#define TDP(C)                                                                                               \
    do {                                                                                                     \
        int32_t word_;                                                                                       \
        memcpy(&word_, xp + 4 * (C), 4);                                                                     \
        const __m512i xv_ = _mm512_set1_epi32(word_);                                                        \
        b0##C = _mm512_dpbusd_epi32(b0##C, xv_, a0);                                                         \
        b1##C = _mm512_dpbusd_epi32(b1##C, xv_, a1);                                                         \
    } while (0)

static void ttile32x8(const int32_t *wt, const uint8_t *x, int64_t k4, int64_t np, int64_t m, int64_t n,
                      const er_qgemm_out *o)
{
    const __m512i c0 = _mm512_loadu_si512(o->bias + m), c1 = _mm512_loadu_si512(o->bias + m + 16);
    __m512i b00 = c0, b01 = c0, b02 = c0, b03 = c0, b04 = c0, b05 = c0, b06 = c0, b07 = c0;
    __m512i b10 = c1, b11 = c1, b12 = c1, b13 = c1, b14 = c1, b15 = c1, b16 = c1, b17 = c1;
    const int32_t *w0 = wt + m * k4, *w1 = w0 + 16 * k4;
    const uint8_t *xp = x + n * 4;
    for (int64_t g = 0; g < k4; g++, xp += np * 4) {
        const __m512i a0 = _mm512_loadu_si512(w0 + g * 16), a1 = _mm512_loadu_si512(w1 + g * 16);
        TDP(0);
        TDP(1);
        TDP(2);
        TDP(3);
        TDP(4);
        TDP(5);
        TDP(6);
        TDP(7);
    }
    const __m512i acc[2][TNC] = { { b00, b01, b02, b03, b04, b05, b06, b07 }, { b10, b11, b12, b13, b14, b15, b16, b17 } };
    for (int v = 0; v < 2; v++) {
        __m128i col[TNC];
        for (int c = 0; c < TNC; c++) col[c] = requant16(o, m + 16 * v, acc[v][c]);
        store_transposed(o, m + 16 * v, n, col, TNC);
    }
}

#define TTILE_CASE(NC)                                                                                       \
    case NC:                                                                                                 \
        if (mv == 2) ttile(wt, x, k4, np, m, 2, n, NC, o);                                                   \
        else ttile(wt, x, k4, np, m, 1, n, NC, o);                                                           \
        break;

void er_qgemm_t_u8s8_avx512vnni(const int32_t *wt, const uint8_t *x, int64_t k4, int64_t np, int64_t m0, int64_t m1,
                                int64_t n0, int64_t n1, const er_qgemm_out *o)
{
    for (int64_t m = m0; m < m1; m += 32) {
        const int mv = m1 - m >= 32 ? 2 : 1;
        for (int64_t n = n0; n < n1; n += TNC) {
            if (mv == 2 && n1 - n >= TNC) {
                ttile32x8(wt, x, k4, np, m, n, o);
                continue;
            }
            switch (n1 - n < TNC ? n1 - n : TNC) {
                TTILE_CASE(1)
                TTILE_CASE(2)
                TTILE_CASE(3)
                TTILE_CASE(4)
                TTILE_CASE(5)
                TTILE_CASE(6)
                TTILE_CASE(7)
                TTILE_CASE(8)
            }
        }
    }
}

/* ---- channels in the lanes, X in place (er_qgemm_t_conv_*) ---- */

/* Weights are fetched this many k steps (4 KB per 16-row stream) ahead: a 32-row block of a
 * deep layer (147 KB at K = 4608) streams from L2, or from L3 on its first tile, and the
 * hardware prefetcher leaves those loads exposed (ResNet-18's layer4 3x3 convs 0.33 ->
 * 0.28 ms with ctile32x14; 32 steps ahead gains almost as much, 8 a third of it). */
#define CPF 64

#define CDP(C)                                                                                               \
    do {                                                                                                     \
        if (nc > (C)) {                                                                                      \
            int32_t word_;                                                                                   \
            memcpy(&word_, xp + (C) * cstep, 4);                                                             \
            const __m512i xv_ = _mm512_set1_epi32(word_);                                                    \
            b0##C = _mm512_dpbusd_epi32(b0##C, xv_, a0);                                                     \
            if (mv == 2) b1##C = _mm512_dpbusd_epi32(b1##C, xv_, a1);                                        \
        }                                                                                                    \
    } while (0)

/* mv 16-row vectors x nc columns starting at word offset x + off; inlined with constant mv,
 * nc and cstep so the word offsets are displacements and unused accumulators vanish. */
static inline __attribute__((always_inline)) void ctile(const int32_t *wt, const uint8_t *x, const int64_t *goff,
                                                        int64_t k4, int64_t off, int64_t m, const int mv,
                                                        const int nc, const int cstep, int64_t n,
                                                        const er_qgemm_out *o)
{
    const __m512i c0 = _mm512_loadu_si512(o->bias + m), c1 = mv == 2 ? _mm512_loadu_si512(o->bias + m + 16) : c0;
    __m512i b00 = c0, b01 = c0, b02 = c0, b03 = c0, b04 = c0, b05 = c0, b06 = c0, b07 = c0;
    __m512i b10 = c1, b11 = c1, b12 = c1, b13 = c1, b14 = c1, b15 = c1, b16 = c1, b17 = c1;
    const int32_t *w0 = wt + m * k4, *w1 = w0 + 16 * k4;
    const uint8_t *xo = x + off;
    for (int64_t g = 0; g < k4; g++) {
        const uint8_t *xp = xo + goff[g];
        _mm_prefetch((const char *)(w0 + (g + CPF) * 16), _MM_HINT_T0);
        if (mv == 2) _mm_prefetch((const char *)(w1 + (g + CPF) * 16), _MM_HINT_T0);
        const __m512i a0 = _mm512_loadu_si512(w0 + g * 16), a1 = mv == 2 ? _mm512_loadu_si512(w1 + g * 16) : a0;
        CDP(0);
        CDP(1);
        CDP(2);
        CDP(3);
        CDP(4);
        CDP(5);
        CDP(6);
        CDP(7);
    }
    const __m512i acc[2][TNC] = { { b00, b01, b02, b03, b04, b05, b06, b07 }, { b10, b11, b12, b13, b14, b15, b16, b17 } };
    for (int v = 0; v < mv; v++) {
        __m128i col[TNC];
        for (int c = 0; c < TNC; c++) col[c] = c < nc ? requant16(o, m + 16 * v, acc[v][c]) : _mm_setzero_si128();
        store_transposed(o, m + 16 * v, n, col, nc);
    }
}

#define CTILE_NC(MV, CS)                                                                                     \
    switch (nc) {                                                                                            \
    case 1: ctile(wt, x, goff, k4, off, m, MV, 1, CS, n, o); break;                                          \
    case 2: ctile(wt, x, goff, k4, off, m, MV, 2, CS, n, o); break;                                          \
    case 3: ctile(wt, x, goff, k4, off, m, MV, 3, CS, n, o); break;                                          \
    case 4: ctile(wt, x, goff, k4, off, m, MV, 4, CS, n, o); break;                                          \
    case 5: ctile(wt, x, goff, k4, off, m, MV, 5, CS, n, o); break;                                          \
    case 6: ctile(wt, x, goff, k4, off, m, MV, 6, CS, n, o); break;                                          \
    case 7: ctile(wt, x, goff, k4, off, m, MV, 7, CS, n, o); break;                                          \
    default: ctile(wt, x, goff, k4, off, m, MV, 8, CS, n, o); break;                                         \
    }

static void ctile_any(const int32_t *wt, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t off, int64_t m,
                      int mv, int nc, int64_t cstep, int64_t n, const er_qgemm_out *o)
{
    if (mv == 2 && cstep == 4) CTILE_NC(2, 4)
    else if (mv == 2) CTILE_NC(2, 8)
    else if (cstep == 4) CTILE_NC(1, 4)
    else CTILE_NC(1, 8)
}

#define C2DP(C)                                                                                              \
    do {                                                                                                     \
        int32_t wa_, wb_;                                                                                    \
        memcpy(&wa_, xp + (C) * cstep, 4);                                                                   \
        const __m512i xa_ = _mm512_set1_epi32(wa_);                                                          \
        p0##C = _mm512_dpbusd_epi32(p0##C, xa_, a0);                                                         \
        p1##C = _mm512_dpbusd_epi32(p1##C, xa_, a1);                                                         \
        memcpy(&wb_, xq + (C) * cstep, 4);                                                                   \
        const __m512i xb_ = _mm512_set1_epi32(wb_);                                                          \
        q0##C = _mm512_dpbusd_epi32(q0##C, xb_, a0);                                                         \
        q1##C = _mm512_dpbusd_epi32(q1##C, xb_, a1);                                                         \
    } while (0)

/* 32 rows x two 7-column segments (words at x + off and x + off + dq; outputs n .. n + 13):
 * 28 accumulators, so each weight vector loaded serves 14 columns instead of 7 and a 7x7
 * plane's weight block passes through the core 4 times instead of 7 (with the prefetch,
 * 6 % faster than 7-wide tiles at ResNet-18's layer3 and layer4). */
static inline __attribute__((always_inline)) void ctile32x14(const int32_t *wt, const uint8_t *x,
                                                             const int64_t *goff, int64_t k4, int64_t off, int64_t dq,
                                                             int64_t m, const int cstep, int64_t n,
                                                             const er_qgemm_out *o)
{
    const __m512i c0 = _mm512_loadu_si512(o->bias + m), c1 = _mm512_loadu_si512(o->bias + m + 16);
    __m512i p00 = c0, p01 = c0, p02 = c0, p03 = c0, p04 = c0, p05 = c0, p06 = c0;
    __m512i p10 = c1, p11 = c1, p12 = c1, p13 = c1, p14 = c1, p15 = c1, p16 = c1;
    __m512i q00 = c0, q01 = c0, q02 = c0, q03 = c0, q04 = c0, q05 = c0, q06 = c0;
    __m512i q10 = c1, q11 = c1, q12 = c1, q13 = c1, q14 = c1, q15 = c1, q16 = c1;
    const int32_t *w0 = wt + m * k4, *w1 = w0 + 16 * k4;
    const uint8_t *xo = x + off;
    for (int64_t g = 0; g < k4; g++) {
        const uint8_t *xp = xo + goff[g], *xq = xp + dq;
        _mm_prefetch((const char *)(w0 + (g + CPF) * 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(w1 + (g + CPF) * 16), _MM_HINT_T0);
        const __m512i a0 = _mm512_loadu_si512(w0 + g * 16), a1 = _mm512_loadu_si512(w1 + g * 16);
        C2DP(0);
        C2DP(1);
        C2DP(2);
        C2DP(3);
        C2DP(4);
        C2DP(5);
        C2DP(6);
    }
    const __m512i acc[2][2][7] = { { { p00, p01, p02, p03, p04, p05, p06 }, { p10, p11, p12, p13, p14, p15, p16 } },
                                   { { q00, q01, q02, q03, q04, q05, q06 }, { q10, q11, q12, q13, q14, q15, q16 } } };
    for (int s = 0; s < 2; s++)
        for (int v = 0; v < 2; v++) {
            __m128i col[TNC];
            for (int c = 0; c < TNC; c++) col[c] = c < 7 ? requant16(o, m + 16 * v, acc[s][v][c]) : _mm_setzero_si128();
            store_transposed(o, m + 16 * v, n + 7 * s, col, 7);
        }
}

static void ctile_pair(const int32_t *wt, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t off, int64_t dq,
                       int64_t m, int64_t cstep, int64_t n, const er_qgemm_out *o)
{
    if (cstep == 4) ctile32x14(wt, x, goff, k4, off, dq, m, 4, n, o);
    else ctile32x14(wt, x, goff, k4, off, dq, m, 8, n, o);
}

/* Output rows are cut into ceil(ow / 8) segments of equal width (14 = 7 + 7): a narrow
 * last one keeps few accumulator chains busy. Segment i's width, word offset and first
 * output column: */
static int segment_width(const er_qgemm_conv_geom *geo, int64_t tiles, int64_t width, int64_t i)
{
    const int64_t c = i % tiles * width;
    return (int)(geo->ow - c < width ? geo->ow - c : width);
}

static int64_t segment_offset(const er_qgemm_conv_geom *geo, int64_t tiles, int64_t width, int64_t i)
{
    return i / tiles * geo->rstep + i % tiles * width * geo->cstep;
}

static int64_t segment_column(const er_qgemm_conv_geom *geo, int64_t tiles, int64_t width, int64_t i)
{
    return i / tiles * geo->ow + i % tiles * width;
}

/* One tile per segment, or two consecutive 7-wide segments of a 32-row block as one
 * (ctile32x14). cstep other than 4 and 8 takes the portable kernel. */
void er_qgemm_t_conv_avx512vnni(const int32_t *wt, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0,
                                int64_t m1, const er_qgemm_conv_geom *geo, const er_qgemm_out *o)
{
    if (geo->cstep != 4 && geo->cstep != 8) {
        er_qgemm_t_conv_ref(wt, x, goff, k4, m0, m1, geo, o);
        return;
    }
    const int64_t tiles = (geo->ow + TNC - 1) / TNC, width = (geo->ow + tiles - 1) / tiles;
    for (int64_t m = m0; m < m1; m += 32) {
        const int mv = m1 - m >= 32 ? 2 : 1;
        for (int64_t i = 0; i < geo->oh * tiles; i++) {
            const int nc = segment_width(geo, tiles, width, i);
            const int64_t off = segment_offset(geo, tiles, width, i), n = segment_column(geo, tiles, width, i);
            if (mv == 2 && nc == 7 && i + 1 < geo->oh * tiles && segment_width(geo, tiles, width, i + 1) == 7) {
                ctile_pair(wt, x, goff, k4, off, segment_offset(geo, tiles, width, i + 1) - off, m, geo->cstep, n, o);
                i++;
                continue;
            }
            ctile_any(wt, x, goff, k4, off, m, mv, nc, geo->cstep, n, o);
        }
    }
}
