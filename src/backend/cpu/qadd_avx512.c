/* AVX-512 QAdd, 16 elements per step, the portable kernel's float steps in the same order
 * (so the same roundings): dequantize both, add, divide by the output scale, NaN to 0,
 * clamp less the zero point, round half to even, add the zero point. */
#include <immintrin.h>

#include "backend/cpu/qadd.h"
#include "backend/cpu/qpack_avx512.h"

static inline __m512 deq16(const void *x, int64_t i, __mmask16 m, bool is_signed, __m512i z, __m512 s)
{
    __m128i v = _mm_maskz_loadu_epi8(m, (const uint8_t *)x + i);
    __m512i w = is_signed ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(w, z)), s);
}

static inline __m512i qadd16(const er_qadd_params *p, const void *a, const void *b, int64_t i, __mmask16 m)
{
    const __m512i za = _mm512_set1_epi32(p->za), zb = _mm512_set1_epi32(p->zb);
    const __m512 lo = _mm512_set1_ps((p->y_signed ? -128.0f : 0.0f) - (float)p->zy);
    const __m512 hi = _mm512_set1_ps((p->y_signed ? 127.0f : 255.0f) - (float)p->zy);
    __m512 v = _mm512_add_ps(deq16(a, i, m, p->x_signed, za, _mm512_set1_ps(p->sa)),
                             deq16(b, i, m, p->x_signed, zb, _mm512_set1_ps(p->sb)));
    v = _mm512_div_ps(v, _mm512_set1_ps(p->sy));
    v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)),
                            _mm512_set1_epi32(p->zy));
}

void er_qadd_avx512(const er_qadd_params *p, const void *a, const void *b, int64_t n, void *y)
{
    const __mmask16 all = 0xffff;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i q0 = qadd16(p, a, b, i, all), q1 = qadd16(p, a, b, i + 16, all);
        __m512i q2 = qadd16(p, a, b, i + 32, all), q3 = qadd16(p, a, b, i + 48, all);
        _mm512_storeu_si512((uint8_t *)y + i, er_q8_pack64(q0, q1, q2, q3, p->y_signed));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? all : (__mmask16)((1u << (n - i)) - 1);
        _mm_mask_storeu_epi8((uint8_t *)y + i, m, _mm512_cvtepi32_epi8(qadd16(p, a, b, i, m)));
    }
}
