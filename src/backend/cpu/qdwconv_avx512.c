/* AVX-512 depthwise int8 row kernel: 16 outputs per step, one FMA per tap on the float
 * plane of er_qdw_plane_f32 (at stride 2 its column-parity halves make each tap's inputs
 * consecutive). Integer products and their sums stay below 2^24 (see qdwconv.h), so the
 * float sums are exact. */
#include <immintrin.h>

#include "backend/cpu/qdwconv.h"

void er_qdw_row_avx512(const er_qdw_row *r)
{
    if (r->stride > 2) {
        er_qdw_row_ref(r);
        return;
    }
    const int taps = r->kh * r->kw;
    float wf[ER_QDW_MAX_TAPS];
    int64_t off[ER_QDW_MAX_TAPS];
    const int64_t half = (r->pw + 1) / 2;
    for (int i = 0; i < r->kh; i++)
        for (int j = 0; j < r->kw; j++) {
            wf[i * r->kw + j] = (float)r->w[i * r->kw + j];
            off[i * r->kw + j] = i * r->pw + (r->stride == 1 ? j : (j & 1) * half + j / 2);
        }
    const __m512 lo = _mm512_set1_ps(r->is_signed ? -128.0f : 0.0f), hi = _mm512_set1_ps(r->is_signed ? 127.0f : 255.0f);
    const __m512 mult = _mm512_set1_ps(r->mult), zp = _mm512_set1_ps(r->zp);
    const __m512i bias = _mm512_set1_epi32(r->bias);
    for (int64_t o = 0; o < r->ow; o += 16) {
        __mmask16 m = r->ow - o >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (r->ow - o)) - 1);
        __m512 acc = _mm512_setzero_ps();
        const float *xo = r->xf + o;
        for (int t = 0; t < taps; t++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(wf[t]), _mm512_maskz_loadu_ps(m, xo + off[t]), acc);
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_cvtps_epi32(acc), bias)), mult);
        v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        _mm_mask_storeu_epi8((uint8_t *)r->y + o, m, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
    }
}
