/* The GEMM epilogue with AVX-512 intrinsics: 16 columns per step with a masked tail, bias,
 * residual and activation in one pass while the tile is in L1. exp, erf and GELU are the
 * vector forms of gelu_avx512.h. */
#include <immintrin.h>

#include "backend/cpu/epilogue_impl.h"
#include "backend/cpu/gelu_avx512.h"

static inline __m512 act16(er_act act, __m512 v, __m512 alpha, __m512 beta)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case ER_ACT_NONE: return v;
    case ER_ACT_RELU: return _mm512_max_ps(v, zero);
    case ER_ACT_CLIP: return _mm512_min_ps(_mm512_max_ps(v, alpha), beta);
    case ER_ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, alpha);
    case ER_ACT_SIGMOID: return _mm512_div_ps(one, _mm512_add_ps(one, er_exp16(_mm512_sub_ps(zero, v))));
    case ER_ACT_SILU: return _mm512_div_ps(v, _mm512_add_ps(one, er_exp16(_mm512_sub_ps(zero, v))));
    case ER_ACT_HARDSWISH: {
        __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(3.0f)), zero), _mm512_set1_ps(6.0f));
        return _mm512_mul_ps(_mm512_mul_ps(v, t), _mm512_set1_ps(1.0f / 6.0f));
    }
    case ER_ACT_GELU: return er_gelu16(v);
    }
    return v;
}

/* One row: full 16-column steps, then a masked tail. Inlined with act a constant, so each
 * activation gets its own loop without a switch per vector. */
static inline void ep_row16(er_act act, float *y, __m512 bm, const float *bn, const float *r, int n, __m512 alpha,
                            __m512 beta)
{
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 v = _mm512_add_ps(_mm512_loadu_ps(y + j), bm);
        if (bn) v = _mm512_add_ps(v, _mm512_loadu_ps(bn + j));
        if (r) v = _mm512_add_ps(v, _mm512_loadu_ps(r + j));
        _mm512_storeu_ps(y + j, act16(act, v, alpha, beta));
    }
    if (j < n) {
        __mmask16 k = (__mmask16)((1u << (n - j)) - 1);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, y + j), bm);
        if (bn) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, bn + j));
        if (r) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, r + j));
        _mm512_mask_storeu_ps(y + j, k, act16(act, v, alpha, beta));
    }
}

static inline void ep_rows16(er_act act, const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0,
                             int n1)
{
    const __m512 alpha = _mm512_set1_ps(ep->alpha), beta = _mm512_set1_ps(ep->beta);
    for (int m = m0; m < m1; m++) {
        const __m512 bm = _mm512_set1_ps(ep->bias_m ? ep->bias_m[m] : 0.0f);
        const float *r = ep->residual ? ep->residual + (size_t)m * ep->ld_residual + n0 : NULL;
        ep_row16(act, C + (size_t)m * ldc + n0, bm, ep->bias_n ? ep->bias_n + n0 : NULL, r, n1 - n0, alpha, beta);
    }
}

void er_gemm_epilogue_avx512(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0, int n1)
{
    switch (ep->act) {
    case ER_ACT_NONE: ep_rows16(ER_ACT_NONE, ep, C, ldc, m0, m1, n0, n1); return;
    case ER_ACT_RELU: ep_rows16(ER_ACT_RELU, ep, C, ldc, m0, m1, n0, n1); return;
    case ER_ACT_CLIP: ep_rows16(ER_ACT_CLIP, ep, C, ldc, m0, m1, n0, n1); return;
    case ER_ACT_LEAKY_RELU: ep_rows16(ER_ACT_LEAKY_RELU, ep, C, ldc, m0, m1, n0, n1); return;
    case ER_ACT_SIGMOID: ep_rows16(ER_ACT_SIGMOID, ep, C, ldc, m0, m1, n0, n1); return;
    case ER_ACT_SILU: ep_rows16(ER_ACT_SILU, ep, C, ldc, m0, m1, n0, n1); return;
    case ER_ACT_HARDSWISH: ep_rows16(ER_ACT_HARDSWISH, ep, C, ldc, m0, m1, n0, n1); return;
    case ER_ACT_GELU: ep_rows16(ER_ACT_GELU, ep, C, ldc, m0, m1, n0, n1); return;
    }
    ep_rows_impl(ep, C, ldc, m0, m1, n0, n1);
}
