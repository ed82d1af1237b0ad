/* AVX-512 depthwise int8 row kernel: 16 outputs per step; each tap widens 16 input bytes
 * (stride 2: the even bytes of 32) to float and adds w * x with one FMA. Integer products
 * and their sums stay below 2^24 (see qdwconv.h), so the float sums are exact. */
#include <immintrin.h>

#include "backend/cpu/qdwconv.h"

static inline __m512 taps16(const uint8_t *p, int stride)
{
    if (stride == 1) return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
    /* 32 bytes as 16-bit lanes; the low byte of each 32-bit pair is an even input */
    __m512i w16 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_cvtepi32_ps(_mm512_and_si512(w16, _mm512_set1_epi32(0xffff)));
}

void er_qdw_row_avx512(const er_qdw_row *r)
{
    if (r->stride > 2) {
        er_qdw_row_ref(r);
        return;
    }
    const __m512 lo = _mm512_set1_ps(r->is_signed ? -128.0f : 0.0f), hi = _mm512_set1_ps(r->is_signed ? 127.0f : 255.0f);
    const __m512 mult = _mm512_set1_ps(r->mult), zp = _mm512_set1_ps(r->zp);
    const __m512i bias = _mm512_set1_epi32(r->bias);
    for (int64_t o = 0; o < r->ow; o += 16) {
        __mmask16 m = r->ow - o >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (r->ow - o)) - 1);
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < r->kh; i++) {
            const uint8_t *row = r->x + i * r->pw + o * r->stride;
            for (int j = 0; j < r->kw; j++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps((float)r->w[i * r->kw + j]), taps16(row + j, r->stride), acc);
        }
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_cvtps_epi32(acc), bias)), mult);
        v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        _mm_mask_storeu_epi8((uint8_t *)r->y + o, m, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
    }
}
