/* AVX-512 per-tensor float32 → 8-bit QuantizeLinear, 16 values per step, with the
 * portable kernel's exact semantics: x / scale, NaN → 0, clamp to the range less the zero
 * point, round half to even, add the zero point; 64 values packed to one store per step. */
#include <immintrin.h>

#include "backend/cpu/qpack_avx512.h"
#include "backend/cpu/qquant.h"

static inline __m512i quant16(const float *x, __mmask16 m, __m512 s, __m512 lo, __m512 hi, __m512i z)
{
    __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x), s);
    v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), z);
}

void er_quantize_f32_q8_avx512(const float *x, int64_t n, float scale, int32_t zp, bool is_signed, void *y)
{
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 lo = _mm512_set1_ps((is_signed ? -128.0f : 0.0f) - (float)zp);
    const __m512 hi = _mm512_set1_ps((is_signed ? 127.0f : 255.0f) - (float)zp);
    const __m512i z = _mm512_set1_epi32(zp);
    const __mmask16 all = 0xffff;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i q0 = quant16(x + i, all, s, lo, hi, z), q1 = quant16(x + i + 16, all, s, lo, hi, z);
        __m512i q2 = quant16(x + i + 32, all, s, lo, hi, z), q3 = quant16(x + i + 48, all, s, lo, hi, z);
        _mm512_storeu_si512((uint8_t *)y + i, er_q8_pack64(q0, q1, q2, q3, is_signed));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? all : (__mmask16)((1u << (n - i)) - 1);
        _mm_mask_storeu_epi8((uint8_t *)y + i, m, _mm512_cvtepi32_epi8(quant16(x + i, m, s, lo, hi, z)));
    }
}
