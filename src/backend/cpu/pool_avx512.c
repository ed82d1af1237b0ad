/* Max-pool plane kernel built with the AVX-512 flags. Windows 2 or 3 wide, undilated, with
 * column stride 1 or 2 (the ResNet stem's 3×3 s2, the 2×2 s2 of small nets) read the plane in
 * place: padding and row ends are masked loads that fill -inf, so no lane ever touches memory
 * outside the plane. Stride 2 takes the maximum down the kernel rows on 32 input columns first,
 * then across the columns with even/odd permutes: three permutes per 16 outputs whatever the
 * kernel height. Other windows, and average pooling, use the auto-vectorized templates
 * (pool_impl.h). */
#include <stdint.h>

#include <immintrin.h>

#include "backend/cpu/pool_impl.h"

/* Lanes j with lo <= j < hi (branch-free: clamped bounds give an empty mask when hi <= lo). */
static inline __mmask16 lanes(int lo, int hi)
{
    unsigned l = (unsigned)ER_MIN(ER_MAX(lo, 0), 16), h = (unsigned)ER_MIN(ER_MAX(hi, 0), 16);
    return (__mmask16)(((1u << h) - 1u) & ~((1u << l) - 1u));
}

/* Lanes of m from x + off (off may be negative), -inf elsewhere. */
static inline __m512 load_or_ninf(__mmask16 m, const float *x, ptrdiff_t off)
{
    return _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m,
                                (const void *)((uintptr_t)x + (uintptr_t)(off * (ptrdiff_t)sizeof(float))));
}

static inline __m512 even_odd(__m512 a, __m512 b, bool odd)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i oddi = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, odd ? oddi : even, b);
}

static bool in_place(const er_dw_geom *g)
{
    return (g->kw == 2 || g->kw == 3) && g->dh == 1 && g->dw == 1 && (g->sw == 1 || g->sw == 2) && g->kh >= 1;
}

/* Output columns [o, o + 16) of output row oh: kernel rows [t0, t1) from input row row0. */
static inline __m512 chunk_s1(const er_dw_geom *g, const float *x, int row0, int t0, int t1, int o)
{
    const int c0 = o - g->pw, n = ER_MIN(16, g->ow - o);
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int t = t0; t < t1; t++) {
        const float *r = x + (size_t)(row0 + t) * g->iw;
        for (int k = 0; k < g->kw; k++)
            m = _mm512_max_ps(m, load_or_ninf(lanes(-c0 - k, ER_MIN(n, g->iw - c0 - k)), r, c0 + k));
    }
    return m;
}

static inline __m512 chunk_s2(const er_dw_geom *g, const float *x, int row0, int t0, int t1, int o)
{
    const int c0 = 2 * o - g->pw, n = ER_MIN(16, g->ow - o), iw = g->iw;
    const int end0 = ER_MIN(2 * n, iw - c0), end2 = ER_MIN(2 * n, iw - c0 - 2);
    const __mmask16 m0 = lanes(-c0, end0), m1 = lanes(-c0 - 16, end0 - 16);
    const __mmask16 m2 = lanes(-c0 - 2, end2), m3 = lanes(-c0 - 18, end2 - 16);
    __m512 a = _mm512_set1_ps(-INFINITY), b = a, a2 = a, b2 = a;
    for (int t = t0; t < t1; t++) {
        const float *r = x + (size_t)(row0 + t) * iw;
        a = _mm512_max_ps(a, load_or_ninf(m0, r, c0));
        b = _mm512_max_ps(b, load_or_ninf(m1, r, c0 + 16));
        if (g->kw == 3) {
            a2 = _mm512_max_ps(a2, load_or_ninf(m2, r, c0 + 2));
            b2 = _mm512_max_ps(b2, load_or_ninf(m3, r, c0 + 18));
        }
    }
    __m512 m = _mm512_max_ps(even_odd(a, b, false), even_odd(a, b, true));
    return g->kw == 3 ? _mm512_max_ps(m, even_odd(a2, b2, false)) : m;
}

void er_maxpool_plane_avx512(const er_dw_geom *g, const float *x, float *y)
{
    if (!in_place(g)) {
        maxpool_plane_impl(g, x, y);
        return;
    }
    for (int oh = 0; oh < g->oh; oh++) {
        const int row0 = oh * g->sh - g->ph, t0 = ER_MAX(0, -row0), t1 = ER_MIN(g->kh, g->ih - row0);
        float *yr = y + (size_t)oh * g->ow;
        for (int o = 0; o < g->ow; o += 16) {
            __m512 m = g->sw == 1 ? chunk_s1(g, x, row0, t0, t1, o) : chunk_s2(g, x, row0, t0, t1, o);
            _mm512_mask_storeu_ps(yr + o, lanes(0, g->ow - o), m);
        }
    }
}

void er_avgpool_plane_avx512(const er_dw_geom *g, const float *x, float *y)
{
    avgpool_plane_impl(g, x, y);
}
