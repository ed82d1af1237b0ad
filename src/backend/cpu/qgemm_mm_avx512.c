/* AVX-512 VNNI constant-weight int8 matrix product (layout in qgemm_mm.h). Tile: 4 rows x
 * 64 columns in 16 zmm accumulators; per 4-deep k step it loads 4 zmm of packed weights and
 * broadcasts one 4-byte activation word per row, so each weight load feeds 4 vpdpbusd. */
#include <immintrin.h>
#include <string.h>

#include "backend/cpu/qgemm_mm.h"
#include "backend/cpu/qpack_avx512.h"

#define MR 4

/* Broadcast straight from memory (one load uop); the sign flip, when there is one, is a
 * vector xor after it rather than a trip through a general register. */
static inline __m512i bcast_word(const uint8_t *p)
{
    int32_t word;
    memcpy(&word, p, 4);
    return _mm512_set1_epi32(word);
}

/* The last group when K is not a multiple of 4: bytes past K read as 0. */
static inline __m512i bcast_tail(const uint8_t *p, int64_t left, uint32_t flip)
{
    uint32_t word = 0;
    memcpy(&word, p, (size_t)left);
    return _mm512_set1_epi32((int)(word ^ flip));
}

static inline __mmask16 cols_mask(int64_t left) { return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1); }

/* I32 and F32, 16 columns (the others go through store_q8 and store_dq). */
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
    _mm512_mask_storeu_ps((float *)o->y + r * o->ldy + n, m, f);
}

/* The 8-bit kinds, mr rows of 64 columns: the portable kernel's float steps per column
 * (each column's terms loaded once for all rows), then er_q8_pack64 and one store a row. */
static inline void store_q8(const er_qmm_out *o, int64_t r, int mr, int64_t n, const __m512i acc[][4], int64_t n1)
{
    const bool s = o->kind == ER_QMM_I8;
    const __m512 lo = _mm512_set1_ps(s ? -128.0f : 0.0f), hi = _mm512_set1_ps(s ? 127.0f : 255.0f), zp = _mm512_set1_ps(o->zp);
    __m512i q[MR][4];
    for (int j = 0; j < 4; j++) {
        const int64_t c = n + 16 * j;
        const __m512i corr = _mm512_loadu_si512(o->corr + c);
        const __m512 mult = _mm512_loadu_ps(o->mult + c), add = _mm512_loadu_ps(o->add + c);
        for (int i = 0; i < mr; i++) {
            __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[i][j], corr)), mult, add);
            f = _mm512_add_ps(_mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
            q[i][j] = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(f, lo), hi));
        }
    }
    const int64_t left = n1 - n;
    const __mmask64 k = left >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
    for (int i = 0; i < mr; i++)
        _mm512_mask_storeu_epi8((uint8_t *)o->y + (r + i) * o->ldy + n, k, er_q8_pack64(q[i][0], q[i][1], q[i][2], q[i][3], s));
}

/* The dequantizing kinds, mr rows of 64 columns: the 8-bit result's float steps, then
 * (q - zp) * ys and the optional post row, as DequantizeLinear and Add would do them. */
static inline void store_dq(const er_qmm_out *o, int64_t r, int mr, int64_t n, const __m512i acc[][4], int64_t n1)
{
    const bool s = o->kind == ER_QMM_I8_F32;
    const __m512 lo = _mm512_set1_ps(s ? -128.0f : 0.0f), hi = _mm512_set1_ps(s ? 127.0f : 255.0f);
    const __m512 zp = _mm512_set1_ps(o->zp), ys = _mm512_set1_ps(o->ys);
    for (int j = 0; j < 4; j++) {
        const int64_t c = n + 16 * j;
        const __mmask16 m = cols_mask(n1 - c);
        if (!m) return;
        const __m512i corr = _mm512_loadu_si512(o->corr + c);
        const __m512 mult = _mm512_loadu_ps(o->mult + c), add = _mm512_loadu_ps(o->add + c);
        const __m512 post = o->post ? _mm512_maskz_loadu_ps(m, o->post + c) : _mm512_setzero_ps();
        for (int i = 0; i < mr; i++) {
            __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[i][j], corr)), mult, add);
            f = _mm512_add_ps(_mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
            f = _mm512_mul_ps(_mm512_sub_ps(_mm512_min_ps(_mm512_max_ps(f, lo), hi), zp), ys);
            if (o->post) f = _mm512_add_ps(f, post);
            _mm512_mask_storeu_ps((float *)o->y + (r + i) * o->ldy + c, m, f);
        }
    }
}

#define DP_ROW(I, X)                                                                                         \
    do {                                                                                                     \
        __m512i x_ = (X);                                                                                    \
        a##I##0 = _mm512_dpbusd_epi32(a##I##0, x_, w0);                                                      \
        a##I##1 = _mm512_dpbusd_epi32(a##I##1, x_, w1);                                                      \
        a##I##2 = _mm512_dpbusd_epi32(a##I##2, x_, w2);                                                      \
        a##I##3 = _mm512_dpbusd_epi32(a##I##3, x_, w3);                                                      \
    } while (0)

#define DP_STEP(BCAST)                                                                                       \
    do {                                                                                                     \
        const int8_t *w = panel + g * ER_QMM_NB * 4;                                                         \
        __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);                                 \
        __m512i w2 = _mm512_loadu_si512(w + 128), w3 = _mm512_loadu_si512(w + 192);                          \
        DP_ROW(0, BCAST(row0));                                                                              \
        DP_ROW(1, BCAST(row1));                                                                              \
        DP_ROW(2, BCAST(row2));                                                                              \
        DP_ROW(3, BCAST(row3));                                                                              \
    } while (0)

/* Named accumulators: gcc keeps these in registers, where an array of them makes it copy
 * every accumulator once per k step. Rows past mr repeat row r and are not stored. Inlined
 * with a constant `flipped`, so each copy has a single k loop. */
static inline __attribute__((always_inline)) void tile_k(const er_qmm_a *a, const int8_t *wp, int64_t r,
                                                         int mr, int64_t n, int64_t n1, const er_qmm_out *o,
                                                         const bool flipped)
{
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    const int64_t k4 = (a->k + 3) / 4, kfull = a->k / 4;
    const int8_t *panel = wp + n * k4 * 4;
    const uint32_t flip = a->flip * 0x01010101u;
    const __m512i flipv = _mm512_set1_epi32((int)flip);
    const uint8_t *row0 = a->a + r * a->lda, *row1 = a->a + (r + (1 < mr ? 1 : 0)) * a->lda;
    const uint8_t *row2 = a->a + (r + (2 < mr ? 2 : 0)) * a->lda, *row3 = a->a + (r + (3 < mr ? 3 : 0)) * a->lda;
    /* the last group first and unconditionally (all zero activations when K is a multiple
     * of 4, so it adds nothing): a branch around it costs gcc its register allocation */
    int64_t g = k4 - 1;
#define TAIL(P) bcast_tail((P) + 4 * g, kfull < k4 ? a->k - 4 * g : 0, kfull < k4 ? flip : 0)
    DP_STEP(TAIL);
#undef TAIL
#define FULL(P) (flipped ? _mm512_xor_si512(bcast_word((P) + 4 * g), flipv) : bcast_word((P) + 4 * g))
    for (g = 0; g < kfull; g++) DP_STEP(FULL);
#undef FULL
    const __m512i acc[MR][4] = { { a00, a01, a02, a03 }, { a10, a11, a12, a13 }, { a20, a21, a22, a23 },
                                 { a30, a31, a32, a33 } };
    if (o->kind == ER_QMM_U8 || o->kind == ER_QMM_I8) store_q8(o, r, mr, n, acc, n1);
    else if (o->kind == ER_QMM_U8_F32 || o->kind == ER_QMM_I8_F32) store_dq(o, r, mr, n, acc, n1);
    else
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < 4; j++) store16(o, r + i, n + 16 * j, acc[i][j], cols_mask(n1 - n - 16 * j));
}

static void tile(const er_qmm_a *a, const int8_t *wp, int64_t r, int mr, int64_t n, int64_t n1,
                 const er_qmm_out *o)
{
    if (a->flip) tile_k(a, wp, r, mr, n, n1, o, true);
    else tile_k(a, wp, r, mr, n, n1, o, false);
}

void er_qmm_u8s8_avx512vnni(const er_qmm_a *a, const int8_t *wp, int64_t np, int64_t r0, int64_t r1, int64_t n0,
                            int64_t n1, const er_qmm_out *o)
{
    (void)np;
    for (int64_t n = n0; n < n1; n += ER_QMM_NB)
        for (int64_t r = r0; r < r1; r += MR)
            tile(a, wp, r, (int)(r1 - r < MR ? r1 - r : MR), n, n1, o);
}
