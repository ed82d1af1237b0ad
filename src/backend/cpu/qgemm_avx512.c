/* AVX-512 VNNI int8 GEMM: vpdpbusd multiplies 4 u8 activations by 4 s8 weights and adds the
 * sum into an int32 lane. Tile: 8 rows x 32 columns in 16 zmm accumulators; each step
 * loads 2 zmm of packed X and broadcasts one 4-weight word per row. */
#include <immintrin.h>

#include "backend/cpu/qgemm.h"

#define MR 8

static inline void store_row(const er_qgemm_out *o, int64_t m, int64_t n, __m512i acc, __mmask16 mask)
{
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, _mm512_set1_epi32(o->bias[m]))),
                             _mm512_set1_ps(o->mult[m]));
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(o->zp));
    if (o->is_signed) _mm_mask_storeu_epi8((int8_t *)o->y + m * o->ldy + n, mask, _mm512_cvtsepi32_epi8(q));
    else {
        q = _mm512_max_epi32(q, _mm512_setzero_si512());
        _mm_mask_storeu_epi8((uint8_t *)o->y + m * o->ldy + n, mask, _mm512_cvtusepi32_epi8(q));
    }
}

static inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

/* rows [m, m + mr), columns [n, n + 32) clipped at n1 */
static void tile(const int32_t *w, const uint8_t *x, int64_t k4, int64_t np, int64_t m, int mr, int64_t n,
                 int64_t n1, const er_qgemm_out *o)
{
    __m512i acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    bool two = n + 16 < n1;
    const int32_t *wr = w + m * k4;
    for (int64_t g = 0; g < k4; g++) {
        const uint8_t *xp = x + (g * np + n) * 4;
        __m512i x0 = _mm512_loadu_si512(xp);
        __m512i x1 = two ? _mm512_loadu_si512(xp + 64) : _mm512_setzero_si512();
        for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            __m512i wv = _mm512_set1_epi32(wr[r * k4 + g]);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x0, wv);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x1, wv);
        }
    }
    for (int r = 0; r < mr; r++) {
        store_row(o, m + r, n, acc[r][0], tail_mask(n1 - n));
        if (two) store_row(o, m + r, n + 16, acc[r][1], tail_mask(n1 - n - 16));
    }
}

void er_qgemm_u8s8_avx512vnni(const int32_t *w, const uint8_t *x, int64_t k4, int64_t np, int64_t m0,
                              int64_t m1, int64_t n0, int64_t n1, const er_qgemm_out *o)
{
    for (int64_t n = n0; n < n1; n += 32)
        for (int64_t m = m0; m < m1; m += MR) {
            int mr = (int)(m1 - m < MR ? m1 - m : MR);
            tile(w, x, k4, np, m, mr, n, n1, o);
        }
}

/* Interleaves 4 rows 16 columns at a time: bytes (r0, r1) then (r01, r23) pairs give the
 * 4-byte groups of consecutive k per column. Full 4-row groups only; the rest goes through
 * the portable packer. */
void er_qgemm_pack_x_avx512(const uint8_t *x, int64_t ldx, int64_t k, int64_t n, uint8_t pad, uint8_t *dst)
{
    int64_t np = (n + 15) / 16 * 16, kfull = k / 4 * 4, nfull = n / 16 * 16;
    for (int64_t g = 0; g < kfull / 4; g++) {
        const uint8_t *r0 = x + 4 * g * ldx, *r1 = r0 + ldx, *r2 = r1 + ldx, *r3 = r2 + ldx;
        uint8_t *d = dst + g * np * 4;
        for (int64_t c = 0; c < nfull; c += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(r0 + c)), b = _mm_loadu_si128((const __m128i *)(r1 + c));
            __m128i e = _mm_loadu_si128((const __m128i *)(r2 + c)), f = _mm_loadu_si128((const __m128i *)(r3 + c));
            __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
            __m128i ef0 = _mm_unpacklo_epi8(e, f), ef1 = _mm_unpackhi_epi8(e, f);
            _mm_storeu_si128((__m128i *)(d + c * 4), _mm_unpacklo_epi16(ab0, ef0));
            _mm_storeu_si128((__m128i *)(d + c * 4 + 16), _mm_unpackhi_epi16(ab0, ef0));
            _mm_storeu_si128((__m128i *)(d + c * 4 + 32), _mm_unpacklo_epi16(ab1, ef1));
            _mm_storeu_si128((__m128i *)(d + c * 4 + 48), _mm_unpackhi_epi16(ab1, ef1));
        }
        for (int64_t c = nfull; c < np; c++)
            for (int j = 0; j < 4; j++) d[c * 4 + j] = c < n ? x[(4 * g + j) * ldx + c] : pad;
    }
    if (kfull < k) {
        /* the last partial group: pack it alone with the portable code */
        er_qgemm_pack_x(x + kfull * ldx, ldx, k - kfull, n, pad, dst + kfull / 4 * np * 4);
    }
}
