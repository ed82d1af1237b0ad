/* One LayerNormalization row with AVX-512: mean, then the variance of x − mean (two passes
 * over a row that stays in L1), then y = (x − mean)·inv·γ + β. */
#include <immintrin.h>
#include <math.h>

#include "backend/cpu/transformer.h"

static inline __mmask16 tail_mask(int left) { return (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1); }

void er_layernorm_row_avx512(const float *x, const float *gamma, const float *beta, float eps, int n, float *y)
{
    __m512 s = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(tail_mask(n - j), x + j));
    const __m512 mean = _mm512_set1_ps(_mm512_reduce_add_ps(s) / (float)n);
    __m512 q = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = tail_mask(n - j);
        __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + j), mean);
        q = _mm512_fmadd_ps(d, d, q);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(q) / (float)n + eps));
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = tail_mask(n - j);
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), mean), inv);
        __m512 b = beta ? _mm512_maskz_loadu_ps(k, beta + j) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(y + j, k, _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(k, gamma + j), b));
    }
}
