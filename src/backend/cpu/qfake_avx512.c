/* AVX-512 QuantDequant, 16 values per step in the portable kernel's order. */
#include <immintrin.h>

#include "backend/cpu/qfake.h"

void er_qfake_avx512(const float *x, int64_t n, float scale, int32_t zp, bool is_signed, float *y)
{
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 lo = _mm512_set1_ps((is_signed ? -128.0f : 0.0f) - (float)zp);
    const __m512 hi = _mm512_set1_ps((is_signed ? 127.0f : 255.0f) - (float)zp);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), s);
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        /* q - zp is the rounded value; through int32 as the 8-bit value goes, so a zero is +0 */
        __m512 q = _mm512_cvtepi32_ps(_mm512_cvtps_epi32(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(q, s));
    }
}
