/* AVX-512 pieces of the attention kernel: the softmax row (scale and mask applied in the max
 * pass, exp by the polynomial of gelu_avx512.h, vector max and sum, which the scalar loop's
 * reductions do not get without reassociation) and the strided copy that lays keys out as
 * the GEMM's B. */
#include <math.h>

#include "backend/cpu/gelu_avx512.h"
#include "backend/cpu/transpose16_avx512.h"
#include "backend/cpu/transformer.h"

static inline __mmask16 tail_mask(int left) { return (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1); }

void er_softmax_row_avx512(float *x, const float *mask, float scale, int n)
{
    const __m512 vs = _mm512_set1_ps(scale);
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = tail_mask(n - j);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + j), vs);
        if (mask) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, mask + j));
        _mm512_mask_storeu_ps(x + j, k, v);
        mx = _mm512_mask_max_ps(mx, k, mx, v);
    }
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = tail_mask(n - j);
        __m512 e = er_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), m));
        _mm512_mask_storeu_ps(x + j, k, e);
        sum = _mm512_mask_add_ps(sum, k, sum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = tail_mask(n - j);
        _mm512_mask_storeu_ps(x + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + j), inv));
    }
}

/* dst = transpose of the rows × cols block read with row stride rs (contiguous within a row)
 * of src as cols × rows: 16×16 tiles through registers. */
static void transpose_block(const float *src, int64_t rows, int64_t cols, int64_t rs, float *dst)
{
    __m512 r[16];
    for (int64_t j0 = 0; j0 < cols; j0 += 16)
        for (int64_t i0 = 0; i0 < rows; i0 += 16) {
            int nj = (int)ER_MIN(cols - j0, 16), ni = (int)ER_MIN(rows - i0, 16);
            for (int j = 0; j < 16; j++)
                r[j] = j < nj ? _mm512_maskz_loadu_ps(tail_mask(ni), src + (j0 + j) * rs + i0) : _mm512_setzero_ps();
            er_transpose16(r);
            for (int i = 0; i < ni; i++) _mm512_mask_storeu_ps(dst + (i0 + i) * cols + j0, tail_mask(nj), r[i]);
        }
}

void er_gather_cols_avx512(const float *src, int64_t rows, int64_t cols, int64_t rs, int64_t cs, float *dst)
{
    if (rs == 1) {
        transpose_block(src, rows, cols, cs, dst);
        return;
    }
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)cs));
    for (int64_t i = 0; i < rows; i++) {
        const float *s = src + i * rs;
        float *d = dst + i * cols;
        for (int64_t j = 0; j < cols; j += 16) {
            __mmask16 k = tail_mask((int)ER_MIN(cols - j, 16));
            _mm512_mask_storeu_ps(d + j, k, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, idx, s + j * cs, 4));
        }
    }
}
