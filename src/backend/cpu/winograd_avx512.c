/* Winograd F(4×4, 3×3) and F(2×2, 3×3) kernels with AVX-512, vectorized over 16 tiles of one
 * tile row, and the GEMM micro-kernel both use. F(4×4, 3×3) 1-D transforms (Lavin & Gray,
 * points 0, ±1, ±2, ∞):
 *   input  Bᵀd: 4d0−5d2+d4, (d3+d4)−4(d1+d2), (d4−d3)+4(d1−d2), (d4−d2)±2(d3−d1), 4d1−5d3+d5
 *   output Aᵀm: m0+a+c, b+2e, a+4c, b+8e+m5   with a=m1+m2, b=m1−m2, c=m3+m4, e=m3−m4
 * F(2×2, 3×3): input d0−d2, d1+d2, d2−d1, d1−d3; output m0+m1+m2, m1−m2−m3.
 * The input transform runs down the columns first on whole rows (contiguous vectors), then
 * along each row, where tile t needs columns m·t .. m·t+m+1: permutes split the columns into
 * their phases mod m. The output transform does the reverse and interleaves the m phases back
 * into m output rows of 16·m contiguous columns. */
#include <immintrin.h>
#include <string.h>

#include "backend/cpu/winograd_impl.h"

static inline void in_1d(const __m512 d[6], __m512 v[6])
{
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
    v[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    v[1] = _mm512_fnmadd_ps(four, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
    v[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
    __m512 e = _mm512_sub_ps(d[4], d[2]), f = _mm512_sub_ps(d[3], d[1]);
    v[3] = _mm512_fmadd_ps(two, f, e);
    v[4] = _mm512_fnmadd_ps(two, f, e);
    v[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

static inline void out_1d(const __m512 m[6], __m512 y[4])
{
    __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    __m512 c = _mm512_add_ps(m[3], m[4]), e = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), e, b);
    y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c, a);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), e, b), m[5]);
}

static inline __mmask16 lanes(int n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* Columns x0 .. x0+15 of an input row as seen with pw columns of left padding. Left of the
 * row, a load from its start moves up by a permute (expand-loads are microcoded on AMD). */
static inline __m512 load_cols(const float *row, int iw, int pw, int x0)
{
    int ix0 = x0 - pw;
    if (ix0 >= 0) return ix0 < iw ? _mm512_maskz_loadu_ps(lanes(iw - ix0), row + ix0) : _mm512_setzero_ps();
    int skip = -ix0;
    if (skip >= 16) return _mm512_setzero_ps();
    __m512 v = _mm512_maskz_loadu_ps(lanes(ER_MIN(16 - skip, iw)), row);
    __m512i idx = _mm512_sub_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                   _mm512_set1_epi32(skip));
    return _mm512_maskz_permutexvar_ps((__mmask16)~lanes(skip), idx, v);
}

void er_wino4_input_avx512(const float *x, int ih, int iw, int ph, int pw, int ty, int tx0, int tx1, float *rows,
                           size_t rs, float *v, int vlen, size_t vxi)
{
    const __m512i idx01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i idx23 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    const __m512i sh0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    const __m512i sh1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
    int n = tx1 - tx0, width = 4 * n + 2;
    const float *r[6];
    for (int i = 0; i < 6; i++) {
        int iy = 4 * ty - ph + i;
        r[i] = iy >= 0 && iy < ih ? x + (size_t)iy * iw : NULL;
    }
    for (int xr = 0; xr < width; xr += 16) {
        __m512 d[6], w[6];
        for (int i = 0; i < 6; i++) d[i] = r[i] ? load_cols(r[i], iw, pw, 4 * tx0 + xr) : _mm512_setzero_ps();
        in_1d(d, w);
        for (int k = 0; k < 6; k++) _mm512_storeu_ps(rows + k * rs + xr, w[k]);
    }
    for (int t = 0; t < n; t += 16) {
        __mmask16 m = lanes(vlen - t);
        for (int k = 0; k < 6; k++) {
            const float *p = rows + k * rs + 4 * t;
            __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16), c = _mm512_loadu_ps(p + 32),
                   e = _mm512_loadu_ps(p + 48), f = _mm512_loadu_ps(p + 64);
            __m512 ab01 = _mm512_permutex2var_ps(a, idx01, b), ce01 = _mm512_permutex2var_ps(c, idx01, e);
            __m512 ab23 = _mm512_permutex2var_ps(a, idx23, b), ce23 = _mm512_permutex2var_ps(c, idx23, e);
            __m512 d[6], o[6];
            d[0] = _mm512_permutex2var_ps(ab01, lo, ce01);
            d[1] = _mm512_permutex2var_ps(ab01, hi, ce01);
            d[2] = _mm512_permutex2var_ps(ab23, lo, ce23);
            d[3] = _mm512_permutex2var_ps(ab23, hi, ce23);
            d[4] = _mm512_permutex2var_ps(d[0], sh0, f);
            d[5] = _mm512_permutex2var_ps(d[1], sh1, f);
            in_1d(d, o);
            for (int l = 0; l < 6; l++) _mm512_mask_storeu_ps(v + (size_t)(6 * k + l) * vxi + t, m, o[l]);
        }
    }
}

/* Four vectors of 16 tiles' columns 0..3 → 64 contiguous floats (tile-major). */
static inline void interleave4(const __m512 z[4], __m512 q[4])
{
    const __m512i p_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i p_hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i q_lo = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const __m512i q_hi = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    __m512 a_lo = _mm512_permutex2var_ps(z[0], p_lo, z[1]), a_hi = _mm512_permutex2var_ps(z[0], p_hi, z[1]);
    __m512 b_lo = _mm512_permutex2var_ps(z[2], p_lo, z[3]), b_hi = _mm512_permutex2var_ps(z[2], p_hi, z[3]);
    q[0] = _mm512_permutex2var_ps(a_lo, q_lo, b_lo);
    q[1] = _mm512_permutex2var_ps(a_lo, q_hi, b_lo);
    q[2] = _mm512_permutex2var_ps(a_hi, q_lo, b_hi);
    q[3] = _mm512_permutex2var_ps(a_hi, q_hi, b_hi);
}

void er_wino4_output_avx512(const float *mo, size_t mxi, int ty, int tx0, int tx1, float *y, int oh, int ow)
{
    int n = tx1 - tx0;
    for (int t = 0; t < n; t += 16) {
        __mmask16 m = lanes(n - t);
        __m512 s6[4][6];
        for (int s = 0; s < 6; s++) {
            __m512 col[6], r[4];
            for (int k = 0; k < 6; k++) col[k] = _mm512_maskz_loadu_ps(m, mo + (size_t)(6 * k + s) * mxi + t);
            out_1d(col, r);
            for (int k = 0; k < 4; k++) s6[k][s] = r[k];
        }
        int c0 = 4 * (tx0 + t), cols = ER_MIN(4 * (n - t), ow - c0);
        for (int k = 0; k < 4 && 4 * ty + k < oh; k++) {
            __m512 z[4], q[4];
            out_1d(s6[k], z);
            interleave4(z, q);
            float *dst = y + (size_t)(4 * ty + k) * ow + c0;
            for (int j = 0; j < 4 && 16 * j < cols; j++) _mm512_mask_storeu_ps(dst + 16 * j, lanes(cols - 16 * j), q[j]);
        }
    }
}

/* acc[8 × 16·NV] = Σ_k u[k·8 + i] · v[k·ldv + j]; stored to mo with row stride ldm. */
static inline __attribute__((always_inline)) void gemm8(int K, const float *u, const float *v, size_t ldv, float *mo,
                                                        size_t ldm, const int nv)
{
    __m512 acc[8][3];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < nv; j++) acc[i][j] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 b[3];
        for (int j = 0; j < nv; j++) b[j] = _mm512_load_ps(v + (size_t)k * ldv + 16 * j);
        const float *uk = u + 8 * k;
        /* U streams from L3 or DRAM (4× the conv's weights), and the hardware prefetcher
         * restarts at every page: 8 KiB ahead keeps a DRAM stream fed (2 KiB: 120 GFLOP/s with
         * nvec 1, 8 KiB: 180). */
        _mm_prefetch((const char *)(uk + 2048), _MM_HINT_T0);
        for (int i = 0; i < 8; i++) {
            __m512 a = _mm512_set1_ps(uk[i]);
            for (int j = 0; j < nv; j++) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
        }
    }
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < nv; j++) _mm512_store_ps(mo + (size_t)i * ldm + 16 * j, acc[i][j]);
}

void er_wino_gemm8_avx512(int K, const float *u, const float *v, size_t ldv, int nvec, float *mo, size_t ldm)
{
    int j = 0;
    for (; nvec - j >= 3 && nvec - j != 4; j += 3) gemm8(K, u, v + 16 * j, ldv, mo + 16 * j, ldm, 3);
    for (; nvec - j >= 2; j += 2) gemm8(K, u, v + 16 * j, ldv, mo + 16 * j, ldm, 2);
    if (j < nvec) gemm8(K, u, v + 16 * j, ldv, mo + 16 * j, ldm, 1);
}

static inline void in23(const __m512 d[4], __m512 v[4])
{
    v[0] = _mm512_sub_ps(d[0], d[2]);
    v[1] = _mm512_add_ps(d[1], d[2]);
    v[2] = _mm512_sub_ps(d[2], d[1]);
    v[3] = _mm512_sub_ps(d[1], d[3]);
}

static inline void out23(const __m512 m[4], __m512 y[2])
{
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
    y[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

void er_wino2_input_avx512(const float *x, int ih, int iw, int ph, int pw, int ty, int tx0, int tx1, float *rows,
                           size_t rs, float *v, int vlen, size_t vxi)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i sh0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    const __m512i sh1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
    int n = tx1 - tx0, width = 2 * n + 2;
    const float *r[4];
    for (int i = 0; i < 4; i++) {
        int iy = 2 * ty - ph + i;
        r[i] = iy >= 0 && iy < ih ? x + (size_t)iy * iw : NULL;
    }
    for (int xr = 0; xr < width; xr += 16) {
        __m512 d[4], w[4];
        for (int i = 0; i < 4; i++) d[i] = r[i] ? load_cols(r[i], iw, pw, 2 * tx0 + xr) : _mm512_setzero_ps();
        in23(d, w);
        for (int k = 0; k < 4; k++) _mm512_storeu_ps(rows + k * rs + xr, w[k]);
    }
    for (int t = 0; t < n; t += 16) {
        __mmask16 m = lanes(vlen - t);
        for (int k = 0; k < 4; k++) {
            const float *p = rows + k * rs + 2 * t;
            __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16), c = _mm512_loadu_ps(p + 32);
            __m512 d[4], o[4];
            d[0] = _mm512_permutex2var_ps(a, even, b);
            d[1] = _mm512_permutex2var_ps(a, odd, b);
            d[2] = _mm512_permutex2var_ps(d[0], sh0, c);
            d[3] = _mm512_permutex2var_ps(d[1], sh1, c);
            in23(d, o);
            for (int l = 0; l < 4; l++) _mm512_mask_storeu_ps(v + (size_t)(4 * k + l) * vxi + t, m, o[l]);
        }
    }
}

void er_wino2_output_avx512(const float *mo, size_t mxi, int ty, int tx0, int tx1, float *y, int oh, int ow)
{
    const __m512i p_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i p_hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    int n = tx1 - tx0;
    for (int t = 0; t < n; t += 16) {
        __mmask16 m = lanes(n - t);
        __m512 s4[2][4];
        for (int s = 0; s < 4; s++) {
            __m512 col[4], r[2];
            for (int k = 0; k < 4; k++) col[k] = _mm512_maskz_loadu_ps(m, mo + (size_t)(4 * k + s) * mxi + t);
            out23(col, r);
            s4[0][s] = r[0];
            s4[1][s] = r[1];
        }
        int c0 = 2 * (tx0 + t), cols = ER_MIN(2 * (n - t), ow - c0);
        for (int k = 0; k < 2 && 2 * ty + k < oh; k++) {
            __m512 z[2];
            out23(s4[k], z);
            float *dst = y + (size_t)(2 * ty + k) * ow + c0;
            _mm512_mask_storeu_ps(dst, lanes(cols), _mm512_permutex2var_ps(z[0], p_lo, z[1]));
            if (cols > 16) _mm512_mask_storeu_ps(dst + 16, lanes(cols - 16), _mm512_permutex2var_ps(z[0], p_hi, z[1]));
        }
    }
}

/* G of F(4×4, 3×3) and F(2×2, 3×3) (U = G g Gᵀ). */
static const double g43[6][3] = { { 1.0 / 4, 0, 0 },         { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
                                  { -1.0 / 6, 1.0 / 6, -1.0 / 6 }, { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
                                  { 1.0 / 24, -1.0 / 12, 1.0 / 6 }, { 0, 0, 1 } };
static const double g23[4][3] = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } };

/* U = G g Gᵀ (G has a rows) of the kernels g[o] of one input channel (row stride gs floats)
 * for the n ≤ 8 output channels of a panel, as u[ξ·8 + o] with zeros past n; in double, so the
 * weights add no rounding of their own (the loops over o vectorize). */
static void weights8(const double (*G)[3], int a, const float *g, size_t gs, int n, float *u)
{
    double k[9][8] = { { 0 } }, t[6][3][8];
    for (int o = 0; o < n; o++)
        for (int e = 0; e < 9; e++) k[e][o] = g[(size_t)o * gs + e];
    for (int r = 0; r < a; r++)
        for (int j = 0; j < 3; j++)
            for (int o = 0; o < 8; o++) t[r][j][o] = G[r][0] * k[j][o] + G[r][1] * k[3 + j][o] + G[r][2] * k[6 + j][o];
    for (int r = 0; r < a; r++)
        for (int s = 0; s < a; s++)
            for (int o = 0; o < 8; o++)
                u[(r * a + s) * 8 + o] = (float)(t[r][0][o] * G[s][0] + t[r][1][o] * G[s][1] + t[r][2][o] * G[s][2]);
}

void er_wino_pack_avx512(const float *weights, int c, int m, int tile, float *packed)
{
    int a = tile + 2, nxi = a * a;
    size_t gs = (size_t)c * 9, xs = (size_t)c * 8;
    for (int pn = 0; pn < (m + 7) / 8; pn++) {
        float *dst = packed + (size_t)pn * nxi * xs;
        for (int i = 0; i < c; i++) {
            float u[36 * 8];
            weights8(tile == 4 ? g43 : g23, a, weights + (size_t)pn * 8 * gs + (size_t)i * 9, gs, ER_MIN(8, m - 8 * pn),
                     u);
            for (int xi = 0; xi < nxi; xi++) memcpy(dst + xi * xs + (size_t)i * 8, u + xi * 8, sizeof(float) * 8);
        }
    }
}
