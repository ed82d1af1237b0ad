/* er_sgemm_pack_a for the AVX-512 kernel's 12-row panels of a row-major A: 12 rows × 16
 * columns loaded, transposed in registers, stored as 16 packed rows of 12, several times
 * faster than the portable element loop (6 % of an encoder's run) or AVX-512 gathers. */
#include "backend/cpu/fast.h"
#include "backend/cpu/transpose16_avx512.h"

static inline __mmask16 first(int n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1); }

/* One panel's kc columns starting at src (rows mr ≤ 12, row stride lda) into dst. */
static void pack_panel(const float *src, int lda, int mr, int kc, float *dst)
{
    __m512 r[16];
    for (int kk = 0; kk < kc; kk += 16) {
        int n = kc - kk < 16 ? kc - kk : 16;
        __mmask16 k = first(n);
        for (int i = 0; i < 16; i++)
            r[i] = i < mr ? _mm512_maskz_loadu_ps(k, src + (size_t)i * lda + kk) : _mm512_setzero_ps();
        er_transpose16(r);
        for (int c = 0; c < n; c++) _mm512_mask_storeu_ps(dst + (size_t)(kk + c) * 12, 0x0fff, r[c]);
    }
}

void er_pack_a12_avx512(const float *A, int lda, int M, int K, float *packed)
{
    const int MR = 12, mp_count = (M + MR - 1) / MR;
    for (int k0 = 0; k0 < K; k0 += ER_GEMM_KC) {
        int kc = ER_MIN(ER_GEMM_KC, K - k0);
        float *blk = packed + (size_t)mp_count * MR * k0;
        for (int mp = 0; mp < mp_count; mp++)
            pack_panel(A + (size_t)mp * MR * lda + k0, lda, ER_MIN(MR, M - mp * MR), kc, blk + (size_t)mp * MR * kc);
    }
}
