/* 12×32 AVX-512 micro-kernel: 24 zmm accumulators, two B vectors per k, A broadcast from
 * memory inside the FMA, so each k step issues 24 FMAs against 2 loads + 12 broadcasts. */
#include <immintrin.h>

#include "backend/cpu/gemm.h"

#define MR 12
#define NR 32

void er_sgemm_ukernel_avx512(int kc, const float *a, const float *b, float *c, int ldc, int mr,
                             int nr, bool accumulate)
{
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b + k * NR);
        __m512 b1 = _mm512_load_ps(b + k * NR + 16);
        const float *ak = a + k * MR;
        /* Weights of late layers (9 MiB per ResNet conv) come from DRAM: the hardware
         * prefetcher does not run far enough ahead of 48-byte broadcast steps. */
        _mm_prefetch((const char *)(ak + 64 * MR), _MM_HINT_T0);
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
    /* Full tiles use plain stores: the epilogue reads the strip back soon, and loads cannot
     * take their data from masked stores still in flight. */
    if (nr == NR) {
        for (int i = 0; i < mr; i++) {
            float *ci = c + (size_t)i * ldc;
            __m512 v0 = acc[i][0], v1 = acc[i][1];
            if (accumulate) {
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));
                v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));
            }
            _mm512_storeu_ps(ci, v0);
            _mm512_storeu_ps(ci + 16, v1);
        }
        return;
    }
    __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
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
