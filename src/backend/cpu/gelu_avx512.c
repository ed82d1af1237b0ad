/* Vectorized erf and GELU (gelu_avx512.h): 16 floats per step, a masked step for the tail. */
#include "backend/cpu/gelu_avx512.h"
#include "backend/cpu/transformer.h"

static inline void map16(__m512 (*f)(__m512), const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, f(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

void er_erf_avx512(const float *x, float *y, int64_t n) { map16(er_erf16, x, y, n); }

void er_gelu_avx512(const float *x, float *y, int64_t n) { map16(er_gelu16, x, y, n); }
