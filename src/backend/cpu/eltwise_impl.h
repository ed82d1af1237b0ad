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

/* Max and sum run in EW_LANES partial results: a single float accumulator would be one
 * serial chain (the compiler may not reorder float additions), 4 cycles an element. */
#define EW_LANES 16

static inline float ew_row_max(const float *restrict x, int64_t n)
{
    float m[EW_LANES];
    for (int l = 0; l < EW_LANES; l++) m[l] = x[0];
    int64_t nb = n / EW_LANES * EW_LANES;
    for (int64_t j = 0; j < nb; j += EW_LANES)
        for (int l = 0; l < EW_LANES; l++) m[l] = x[j + l] > m[l] ? x[j + l] : m[l];
    float mx = m[0];
    for (int l = 1; l < EW_LANES; l++) mx = m[l] > mx ? m[l] : mx;
    for (int64_t j = nb; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

/* y = exp(x - mx); returns the sum of y. */
static inline float ew_exp_sum(const float *restrict x, float *restrict y, int64_t n, float mx)
{
    float s[EW_LANES] = { 0 };
    int64_t nb = n / EW_LANES * EW_LANES;
    for (int64_t j = 0; j < nb; j += EW_LANES)
        for (int l = 0; l < EW_LANES; l++) {
            y[j + l] = ep_exp(x[j + l] - mx);
            s[l] += y[j + l];
        }
    float sum = 0.0f;
    for (int l = 0; l < EW_LANES; l++) sum += s[l];
    for (int64_t j = nb; j < n; j++) {
        y[j] = ep_exp(x[j] - mx);
        sum += y[j];
    }
    return sum;
}

static inline void ew_softmax_impl(const float *restrict x, float *restrict y, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * cols;
        float *restrict yr = y + r * cols;
        float inv = 1.0f / ew_exp_sum(xr, yr, cols, ew_row_max(xr, cols));
        for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
    }
}

#endif
