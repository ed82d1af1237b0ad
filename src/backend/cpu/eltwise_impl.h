/* Float32 Erf, Softmax rows and LayerNorm rows as plain loops the compiler vectorizes for the
 * ISA of the including file (eltwise.c, eltwise_avx2.c, eltwise_avx512.c). */
#ifndef ER_BACKEND_CPU_ELTWISE_IMPL_H
#define ER_BACKEND_CPU_ELTWISE_IMPL_H

#include "backend/cpu/epilogue_impl.h"

/* Abramowitz–Stegun 7.1.26: |error| < 1.5e-7. */
static inline float ew_erf(float x)
{
    float ax = x < 0.0f ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float p = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    float r = 1.0f - p * ep_exp(-ax * ax);
    return x < 0.0f ? -r : r;
}

static inline void ew_erf_impl(const float *restrict x, float *restrict y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = ew_erf(x[i]);
}

static inline void ew_softmax_impl(const float *restrict x, float *restrict y, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * cols;
        float *restrict yr = y + r * cols;
        float mx = xr[0];
        for (int64_t j = 1; j < cols; j++) mx = xr[j] > mx ? xr[j] : mx;
        float sum = 0.0f;
        for (int64_t j = 0; j < cols; j++) {
            yr[j] = ep_exp(xr[j] - mx);
            sum += yr[j];
        }
        float inv = 1.0f / sum;
        for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
    }
}

#endif
