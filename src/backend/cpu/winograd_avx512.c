/* Winograd F(2×2, 3×3) row transforms with AVX-512: 16 tiles per step. Tile t of a row reads
 * input columns 2t .. 2t+3, so each input row gives four vectors (even and odd columns from
 * 2t, and from 2t + 2) by permutes; the row buffers carry 64 floats of zero slack for the
 * last step's loads. The output transform uses the template (see winograd_impl.h). */
#include <immintrin.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/winograd_impl.h"

static inline void cols4(const float *r, __m512 *c0, __m512 *c1, __m512 *c2, __m512 *c3)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 a = _mm512_loadu_ps(r), b = _mm512_loadu_ps(r + 16), c = _mm512_loadu_ps(r + 2),
           d = _mm512_loadu_ps(r + 18);
    *c0 = _mm512_permutex2var_ps(a, even, b);
    *c1 = _mm512_permutex2var_ps(a, odd, b);
    *c2 = _mm512_permutex2var_ps(c, even, d);
    *c3 = _mm512_permutex2var_ps(c, odd, d);
}

void er_wino_input_row_avx512(const float *r0, const float *r1, const float *r2, const float *r3, int n, float *v,
                              size_t vstride)
{
    const float *rows[4] = { r0, r1, r2, r3 };
    for (int t = 0; t < n; t += 16) {
        __mmask16 m = n - t >= 16 ? 0xffff : (__mmask16)((1u << (n - t)) - 1);
        __m512 d[4][4];
        for (int i = 0; i < 4; i++) cols4(rows[i] + 2 * t, &d[i][0], &d[i][1], &d[i][2], &d[i][3]);
        __m512 s[4][4];
        for (int j = 0; j < 4; j++) {
            s[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
            s[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
            s[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
            s[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
        }
        for (int i = 0; i < 4; i++) {
            float *o = v + (size_t)(i * 4) * vstride + t;
            _mm512_mask_storeu_ps(o, m, _mm512_sub_ps(s[i][0], s[i][2]));
            _mm512_mask_storeu_ps(o + vstride, m, _mm512_add_ps(s[i][1], s[i][2]));
            _mm512_mask_storeu_ps(o + 2 * vstride, m, _mm512_sub_ps(s[i][2], s[i][1]));
            _mm512_mask_storeu_ps(o + 3 * vstride, m, _mm512_sub_ps(s[i][1], s[i][3]));
        }
    }
}

void er_wino_output_row_avx512(const float *m, size_t mstride, int n, float *y0, float *y1)
{
    wino_output_row_impl(m, mstride, n, y0, y1);
}
