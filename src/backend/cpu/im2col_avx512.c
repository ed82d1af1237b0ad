/* The im2col gatherer built with AVX-512: each stride-1 or stride-2 run is masked loads and
 * stores, the mask zeroing the columns that fall in the padding (no per-element branches, no
 * memcpy call). */
#include <immintrin.h>

#include "backend/cpu/fast.h"

static inline void seg_copy(float *dj, const float *row, int iw0, int lo, int hi, int run)
{
    for (int t = 0; t < run; t += 16) {
        int n = ER_MIN(16, run - t), a = ER_MAX(lo - t, 0), b = ER_MIN(hi - t, n);
        uint32_t all = (1u << n) - 1, valid = b > a ? ((1u << b) - 1) & ~((1u << a) - 1) : 0;
        __m512 v = _mm512_maskz_loadu_ps((__mmask16)valid, row + iw0 + t);
        _mm512_mask_storeu_ps(dj + t, (__mmask16)all, v);
    }
}

/* Stride 2: 32 consecutive input floats per 16 outputs, the even ones picked by a permute.
 * Only source positions up to the last valid even one are loaded. */
static inline void seg_copy2(float *dj, const float *row, int iw0, int lo, int hi, int run)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int t = 0; t < run; t += 16) {
        int n = ER_MIN(16, run - t), a = ER_MAX(lo - t, 0), b = ER_MIN(hi - t, n);
        uint64_t src = b > a ? ((1ull << (2 * b - 1)) - 1) & ~((1ull << (2 * a)) - 1) : 0;
        const float *p = row + iw0 + 2 * t;
        __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)(src & 0xffff), p);
        __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)(src >> 16), p + 16);
        _mm512_mask_storeu_ps(dj + t, (__mmask16)((1u << n) - 1), _mm512_permutex2var_ps(v0, even, v1));
    }
}

#define ER_IM2COL_NAME er_pack_im2col_avx512
#include "backend/cpu/im2col_impl.h"

/* er_pack_b_dense for a row-major B (ctx: er_dense_b with trans false): masked vector copies
 * instead of a memcpy call per panel row. */
void er_pack_b_dense_avx512(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst)
{
    const er_dense_b *b = ctx;
    for (int kk = 0; kk < kc; kk++) {
        const float *src = b->data + (size_t)(k0 + kk) * b->ld + n0;
        float *d = dst + (size_t)kk * NR;
        /* Zen 5 runs masked loads at about half the rate of plain ones: full panels
         * (nearly all of them) take plain loads. */
        if (nr == NR) {
            for (int j = 0; j < NR; j += 16) _mm512_storeu_ps(d + j, _mm512_loadu_ps(src + j));
            continue;
        }
        for (int j = 0; j < NR; j += 16) {
            int n = ER_MAX(0, ER_MIN(16, nr - j));
            __mmask16 m = (__mmask16)((1u << n) - 1);
            _mm512_storeu_ps(d + j, _mm512_maskz_loadu_ps(m, src + j));
        }
    }
}
