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

static inline void ep_act_row(er_act act, float alpha, float beta, float *restrict y, int n)
{
    switch (act) {
    case ER_ACT_NONE: return;
    case ER_ACT_RELU:
        for (int j = 0; j < n; j++) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
        return;
    case ER_ACT_CLIP:
        for (int j = 0; j < n; j++) y[j] = y[j] < alpha ? alpha : y[j] > beta ? beta : y[j];
        return;
    case ER_ACT_LEAKY_RELU:
        for (int j = 0; j < n; j++) y[j] = y[j] >= 0.0f ? y[j] : y[j] * alpha;
        return;
    case ER_ACT_SIGMOID:
        for (int j = 0; j < n; j++) y[j] = 1.0f / (1.0f + ep_exp(-y[j]));
        return;
    case ER_ACT_SILU:
        for (int j = 0; j < n; j++) y[j] = y[j] / (1.0f + ep_exp(-y[j]));
        return;
    case ER_ACT_HARDSWISH:
        for (int j = 0; j < n; j++) {
            float t = y[j] + 3.0f;
            t = t < 0.0f ? 0.0f : t > 6.0f ? 6.0f : t;
            y[j] = y[j] * t * (1.0f / 6.0f);
        }
        return;
    case ER_ACT_GELU:
        for (int j = 0; j < n; j++) y[j] = er_act_apply(act, y[j], alpha, beta);
        return;
    }
}

static inline void ep_rows_impl(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0,
                                int n1)
{
    int n = n1 - n0;
    for (int m = m0; m < m1; m++) {
        float *restrict y = C + (size_t)m * ldc + n0;
        if (ep->bias_m) {
            const float b = ep->bias_m[m];
            for (int j = 0; j < n; j++) y[j] += b;
        }
        if (ep->bias_n) {
            const float *restrict b = ep->bias_n + n0;
            for (int j = 0; j < n; j++) y[j] += b[j];
        }
        if (ep->residual) {
            const float *restrict r = ep->residual + (size_t)m * ep->ld_residual + n0;
            for (int j = 0; j < n; j++) y[j] += r[j];
        }
        ep_act_row(ep->act, ep->alpha, ep->beta, y, n);
    }
}

#endif
