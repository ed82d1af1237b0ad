/* 6×16 AVX2 micro-kernel: 12 ymm accumulators, two B vectors and one broadcast per row. */
#include <immintrin.h>

#include "backend/cpu/gemm.h"

#define MR 6
#define NR 16

void er_sgemm_ukernel_avx2(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int mr,
                           int nr, bool accumulate)
{
    __m256 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b + (size_t)k * ldb);
        __m256 b1 = _mm256_loadu_ps(b + (size_t)k * ldb + 8);
        const float *ak = a + k * MR;
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(ak + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    if (nr == NR) {
        for (int i = 0; i < mr; i++) {
            float *ci = c + (size_t)i * ldc;
            __m256 v0 = acc[i][0], v1 = acc[i][1];
            if (accumulate) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(ci));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(ci + 8));
            }
            _mm256_storeu_ps(ci, v0);
            _mm256_storeu_ps(ci + 8, v1);
        }
        return;
    }
    float tile[NR];
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        _mm256_storeu_ps(tile, acc[i][0]);
        _mm256_storeu_ps(tile + 8, acc[i][1]);
        for (int j = 0; j < nr; j++) ci[j] = accumulate ? ci[j] + tile[j] : tile[j];
    }
}
