/* Depthwise plane kernel built with the AVX-512 flags. Unpadded 3×3 planes (the caller pads
 * into scratch) with stride 1 or 2 take an intrinsics path: 16 outputs per step, nine FMAs
 * from registers, masked loads and stores for the row tail, stride 2 split into even and odd
 * columns by permutes. Everything else uses the auto-vectorized template. */
#include <immintrin.h>

#include "backend/cpu/depthwise_impl.h"

/* Even (odd = false) or odd elements of the 32 floats starting at p, masked to n of them. */
static inline __m512 load_strided2(const float *p, int n, bool odd)
{
    __mmask16 m0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    __mmask16 m1 = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    __m512 a = _mm512_maskz_loadu_ps(m0, p), b = _mm512_maskz_loadu_ps(m1, p + 16);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i oddi = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, odd ? oddi : even, b);
}

static void dw3x3_avx512(const er_dw_geom *g, const float *x, const float *k, float bias, float *y)
{
    __m512 w[9];
    for (int i = 0; i < 9; i++) w[i] = _mm512_set1_ps(k[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    for (int oh = 0; oh < g->oh; oh++) {
        const float *r[3];
        for (int i = 0; i < 3; i++) r[i] = x + (size_t)(oh * g->sh + i) * g->iw;
        float *yr = y + (size_t)oh * g->ow;
        for (int o = 0; o < g->ow; o += 16) {
            int n = ER_MIN(16, g->ow - o);
            __mmask16 m = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
            __m512 acc = vb;
            for (int i = 0; i < 3; i++) {
                __m512 t0, t1, t2;
                if (g->sw == 1) {
                    t0 = _mm512_maskz_loadu_ps(m, r[i] + o);
                    t1 = _mm512_maskz_loadu_ps(m, r[i] + o + 1);
                    t2 = _mm512_maskz_loadu_ps(m, r[i] + o + 2);
                } else {
                    /* input columns 2o .. 2o + 2n: n evens, n odds, n evens shifted by 2 */
                    int avail = g->iw - 2 * o;
                    t0 = load_strided2(r[i] + 2 * o, ER_MIN(2 * n, avail), false);
                    t1 = load_strided2(r[i] + 2 * o, ER_MIN(2 * n, avail), true);
                    t2 = load_strided2(r[i] + 2 * o + 2, ER_MIN(2 * n, avail - 2), false);
                }
                acc = _mm512_fmadd_ps(w[3 * i], t0, acc);
                acc = _mm512_fmadd_ps(w[3 * i + 1], t1, acc);
                acc = _mm512_fmadd_ps(w[3 * i + 2], t2, acc);
            }
            _mm512_mask_storeu_ps(yr + o, m, acc);
        }
    }
}

void er_dw_plane_avx512(const er_dw_geom *g, const float *x, const float *k, float bias, float *y)
{
    bool unpadded = g->ph == 0 && g->pw == 0 && (g->oh - 1) * g->sh + 3 <= g->ih && (g->ow - 1) * g->sw + 3 <= g->iw;
    if (g->kh == 3 && g->kw == 3 && g->dh == 1 && g->dw == 1 && (g->sw == 1 || g->sw == 2) && unpadded)
        dw3x3_avx512(g, x, k, bias, y);
    else
        dw_plane_impl(g, x, k, bias, y);
}
