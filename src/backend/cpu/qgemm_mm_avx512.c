/* AVX-512 VNNI constant-weight int8 matrix product (layout in qgemm_mm.h). Tile: 4 rows x
 * 64 columns in 16 zmm accumulators; per 4-deep k step it loads 4 zmm of packed weights and
 * broadcasts one 4-byte activation word per row, so each weight load feeds 4 vpdpbusd. */
#include <immintrin.h>
#include <string.h>

#include "backend/cpu/qgemm_mm.h"

#define MR 4

static inline __m512i bcast_word(const uint8_t *p, uint32_t flip)
{
    uint32_t word;
    memcpy(&word, p, 4);
    return _mm512_set1_epi32((int)(word ^ flip));
}

/* The last group when K is not a multiple of 4: bytes past K read as 0. */
static inline __m512i bcast_tail(const uint8_t *p, int64_t left, uint32_t flip)
{
    uint32_t word = 0;
    memcpy(&word, p, (size_t)left);
    return _mm512_set1_epi32((int)(word ^ flip));
}

static inline __mmask16 cols_mask(int64_t left) { return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1); }

static inline void store16(const er_qmm_out *o, int64_t r, int64_t n, __m512i acc, __mmask16 m)
{
    if (!m) return;
    __m512i v = _mm512_add_epi32(acc, _mm512_maskz_loadu_epi32(m, o->corr + n));
    if (o->kind == ER_QMM_I32) {
        _mm512_mask_storeu_epi32((int32_t *)o->y + r * o->ldy + n, m, v);
        return;
    }
    __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_maskz_loadu_ps(m, o->mult + n),
                               _mm512_maskz_loadu_ps(m, o->add + n));
    if (o->kind == ER_QMM_F32) {
        _mm512_mask_storeu_ps((float *)o->y + r * o->ldy + n, m, f);
        return;
    }
    const bool s = o->kind == ER_QMM_I8;
    f = _mm512_add_ps(_mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), _mm512_set1_ps(o->zp));
    f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(s ? -128.0f : 0.0f)), _mm512_set1_ps(s ? 127.0f : 255.0f));
    _mm_mask_storeu_epi8((uint8_t *)o->y + r * o->ldy + n, m, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(f)));
}

static void tile(const er_qmm_a *a, const int8_t *wp, int64_t np, int64_t r, int mr, int64_t n, int64_t n1,
                 const er_qmm_out *o)
{
    __m512i acc[MR][4];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_si512();
    const int64_t k4 = (a->k + 3) / 4, kfull = a->k / 4;
    const uint32_t flip = a->flip * 0x01010101u;
    const uint8_t *row[MR];
    for (int i = 0; i < MR; i++) row[i] = a->a + (r + (i < mr ? i : 0)) * a->lda;
    for (int64_t g = 0; g < k4; g++) {
        const int8_t *w = wp + (g * np + n) * 4;
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
        __m512i w2 = _mm512_loadu_si512(w + 128), w3 = _mm512_loadu_si512(w + 192);
        const bool full = g < kfull;
        for (int i = 0; i < MR; i++) {
            __m512i x = full ? bcast_word(row[i] + 4 * g, flip) : bcast_tail(row[i] + 4 * g, a->k - 4 * g, flip);
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], x, w0);
            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], x, w1);
            acc[i][2] = _mm512_dpbusd_epi32(acc[i][2], x, w2);
            acc[i][3] = _mm512_dpbusd_epi32(acc[i][3], x, w3);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < 4; j++) store16(o, r + i, n + 16 * j, acc[i][j], cols_mask(n1 - n - 16 * j));
}

void er_qmm_u8s8_avx512vnni(const er_qmm_a *a, const int8_t *wp, int64_t np, int64_t r0, int64_t r1, int64_t n0,
                            int64_t n1, const er_qmm_out *o)
{
    for (int64_t n = n0; n < n1; n += ER_QMM_NB)
        for (int64_t r = r0; r < r1; r += MR)
            tile(a, wp, np, r, (int)(r1 - r < MR ? r1 - r : MR), n, n1, o);
}
