/* The GEMM epilogue (bias, residual, activation) over a block of C, written as one simple
 * loop per step so the compiler vectorizes it for the ISA of the including file
 * (epilogue.c, epilogue_avx2.c, epilogue_avx512.c). exp uses a polynomial instead of libm
 * so sigmoid-family activations vectorize too (relative error ~2e-7). GELU stays scalar. */
#ifndef ER_BACKEND_CPU_EPILOGUE_IMPL_H
#define ER_BACKEND_CPU_EPILOGUE_IMPL_H

#include <stdint.h>
#include <string.h>

#include "backend/cpu/gemm.h"

static inline float ep_exp(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    /* Adding 1.5·2^23 rounds to the nearest integer without a libm call. */
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* One pass per row: v = y + bias_m [+ bias_n] [+ residual], then the activation; one loop
 * per activation and per combination of terms, so each is a straight vector loop. */
#define EP_ROW_LOOP(EXPR)                                                                          \
    do {                                                                                           \
        if (!bn && !r)                                                                             \
            for (int j = 0; j < n; j++) {                                                          \
                float v = y[j] + bm;                                                               \
                y[j] = (EXPR);                                                                     \
            }                                                                                      \
        else if (!bn)                                                                              \
            for (int j = 0; j < n; j++) {                                                          \
                float v = y[j] + bm + r[j];                                                        \
                y[j] = (EXPR);                                                                     \
            }                                                                                      \
        else if (!r)                                                                               \
            for (int j = 0; j < n; j++) {                                                          \
                float v = y[j] + bm + bn[j];                                                       \
                y[j] = (EXPR);                                                                     \
            }                                                                                      \
        else                                                                                       \
            for (int j = 0; j < n; j++) {                                                          \
                float v = y[j] + bm + bn[j] + r[j];                                                \
                y[j] = (EXPR);                                                                     \
            }                                                                                      \
    } while (0);

static inline float ep_hardswish(float v)
{
    float t = v + 3.0f;
    t = t < 0.0f ? 0.0f : t > 6.0f ? 6.0f : t;
    return v * t * (1.0f / 6.0f);
}

static inline void ep_row(const er_gemm_epilogue *ep, float *restrict y, float bm, const float *restrict bn,
                          const float *restrict r, int n)
{
    const float alpha = ep->alpha, beta = ep->beta;
    switch (ep->act) {
    case ER_ACT_NONE: EP_ROW_LOOP(v) return;
    case ER_ACT_RELU: EP_ROW_LOOP(v > 0.0f ? v : 0.0f) return;
    case ER_ACT_CLIP: EP_ROW_LOOP(v < alpha ? alpha : v > beta ? beta : v) return;
    case ER_ACT_LEAKY_RELU: EP_ROW_LOOP(v >= 0.0f ? v : v * alpha) return;
    case ER_ACT_SIGMOID: EP_ROW_LOOP(1.0f / (1.0f + ep_exp(-v))) return;
    case ER_ACT_SILU: EP_ROW_LOOP(v / (1.0f + ep_exp(-v))) return;
    case ER_ACT_HARDSWISH: EP_ROW_LOOP(ep_hardswish(v)) return;
    case ER_ACT_GELU: EP_ROW_LOOP(er_act_apply(ER_ACT_GELU, v, alpha, beta)) return;
    }
}

#undef EP_ROW_LOOP

static inline void ep_rows_impl(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0,
                                int n1)
{
    for (int m = m0; m < m1; m++)
        ep_row(ep, C + (size_t)m * ldc + n0, ep->bias_m ? ep->bias_m[m] : 0.0f, ep->bias_n ? ep->bias_n + n0 : NULL,
               ep->residual ? ep->residual + (size_t)m * ep->ld_residual + n0 : NULL, n1 - n0);
}

#endif
