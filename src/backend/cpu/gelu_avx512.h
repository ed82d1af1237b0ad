/* 16-lane exp, erf and GELU for files built with the AVX-512 flags; the same algorithms as
 * the scalar references in gelu.c, so both give the same results within float rounding. */
#ifndef ER_BACKEND_CPU_GELU_AVX512_H
#define ER_BACKEND_CPU_GELU_AVX512_H

#include <immintrin.h>

/* e^x for x in [−87, 88] (clamped outside): 2^n by vscalefps times a degree-6 polynomial of
 * the remainder, relative error ~2e-7. */
static inline __m512 er_exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* Abramowitz–Stegun 7.1.26: erf|x| = 1 − t·P(t)·e^(−x²), t = 1/(1 + 0.3275911|x|). The
 * reciprocal is rcp14 refined by one Newton step (relative error ~1e-8, below float's). */
static inline __m512 er_erf16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 ax = _mm512_abs_ps(x);
    __m512 d = _mm512_fmadd_ps(ax, _mm512_set1_ps(0.3275911f), one);
    __m512 t = _mm512_rcp14_ps(d);
    t = _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    __m512 r = _mm512_fnmadd_ps(p, er_exp16(_mm512_mul_ps(ax, _mm512_sub_ps(_mm512_setzero_ps(), ax))), one);
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_sub_ps(r, neg, _mm512_setzero_ps(), r);
}

static inline __m512 er_gelu16(__m512 x)
{
    __m512 h = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(h, er_erf16(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f))), h);
}

#endif
