/* Direct stride-1 convolution micro-kernel: the GEMM's 12×32 register tile with B read
 * straight from the (padded) input instead of packed panels. Row k of B is the 32 input
 * pixels at x + off[k], where off[k] locates kernel tap (c, kh, kw); output channels come
 * from the weights packed once for er_sgemm. Columns past nr are masked off. */
#include <immintrin.h>

#include "backend/cpu/fast.h"

#define MR 12

void er_conv_direct_ukernel_avx512(int kc, const float *a, const float *x, const int32_t *off, float *c,
                                   size_t ldc, int mr, int nr, bool accumulate)
{
    __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const float *xk = x + off[k];
        __m512 b0 = _mm512_maskz_loadu_ps(m0, xk);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, xk + 16);
        const float *ak = a + k * MR;
#define ER_ROW(i)                                                    \
    do {                                                             \
        __m512 ai = _mm512_set1_ps(ak[i]);                           \
        acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);              \
        acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);              \
    } while (0)
        ER_ROW(0); ER_ROW(1); ER_ROW(2); ER_ROW(3); ER_ROW(4); ER_ROW(5);
        ER_ROW(6); ER_ROW(7); ER_ROW(8); ER_ROW(9); ER_ROW(10); ER_ROW(11);
#undef ER_ROW
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 v0 = acc[i][0], v1 = acc[i][1];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, v0);
        _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
}
