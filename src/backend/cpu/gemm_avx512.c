/* 12×32 AVX-512 micro-kernel: 24 zmm accumulators, two B vectors per k, A broadcast from
 * memory inside the FMA, so each k step issues 24 FMAs against 2 loads + 12 broadcasts.
 * Edge tiles run narrower builds of the same loop (4 or 8 rows, one B vector): a 64-channel
 * conv is 5 full panels and one of 4 rows, and 14×14 outputs end in a panel of 4 columns,
 * which the full tile would compute as 12×32. */
#include <immintrin.h>

#include "backend/cpu/gemm.h"

#define MR 12
#define NR 32

#define ER_ALWAYS_INLINE inline __attribute__((always_inline))

static ER_ALWAYS_INLINE void store_row(const int vecs, bool full, __mmask16 m0, __mmask16 m1, __m512 v0,
                                       __m512 v1, float *ci, bool accumulate)
{
    if (full) {
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));
            v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));
        }
        _mm512_storeu_ps(ci, v0);
        _mm512_storeu_ps(ci + 16, v1);
        return;
    }
    if (accumulate) v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
    _mm512_mask_storeu_ps(ci, m0, v0);
    if (vecs > 1) {
        if (accumulate) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
        _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
}

/* rows ≤ MR and vecs ∈ {1, 2} are compile-time constants at every call, so the branches on
 * them fold away and acc stays in registers. */
static ER_ALWAYS_INLINE void tile(const int rows, const int vecs, int kc, const float *a, const float *b, int ldb,
                                  float *c, int ldc, int mr, int nr, bool accumulate)
{
    __m512 acc[MR][2];
#define ER_ZERO(i) acc[i][0] = acc[i][1] = _mm512_setzero_ps()
    ER_ZERO(0); ER_ZERO(1); ER_ZERO(2); ER_ZERO(3); ER_ZERO(4); ER_ZERO(5);
    ER_ZERO(6); ER_ZERO(7); ER_ZERO(8); ER_ZERO(9); ER_ZERO(10); ER_ZERO(11);
#undef ER_ZERO
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b + (size_t)k * ldb);
        __m512 b1 = vecs > 1 ? _mm512_loadu_ps(b + (size_t)k * ldb + 16) : b0;
        const float *ak = a + k * MR;
        /* Weights of late layers (9 MiB per ResNet conv) come from DRAM: the hardware
         * prefetcher does not run far enough ahead of 48-byte broadcast steps. */
        _mm_prefetch((const char *)(ak + 64 * MR), _MM_HINT_T0);
#define ER_ROW(i)                                                    \
    do {                                                             \
        if ((i) < rows) {                                            \
            __m512 ai = _mm512_set1_ps(ak[i]);                       \
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);          \
            if (vecs > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]); \
        }                                                            \
    } while (0)
        ER_ROW(0); ER_ROW(1); ER_ROW(2); ER_ROW(3); ER_ROW(4); ER_ROW(5);
        ER_ROW(6); ER_ROW(7); ER_ROW(8); ER_ROW(9); ER_ROW(10); ER_ROW(11);
#undef ER_ROW
    }
    /* Full tiles use plain stores: the epilogue reads the strip back soon, and loads cannot
     * take their data from masked stores still in flight. */
    bool full = nr == NR;
    __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
#define ER_STORE(i)                                                                  \
    do {                                                                             \
        if ((i) < rows && (i) < mr) store_row(vecs, full, m0, m1, acc[i][0], acc[i][1], \
                                              c + (size_t)(i) * ldc, accumulate);  \
    } while (0)
    ER_STORE(0); ER_STORE(1); ER_STORE(2); ER_STORE(3); ER_STORE(4); ER_STORE(5);
    ER_STORE(6); ER_STORE(7); ER_STORE(8); ER_STORE(9); ER_STORE(10); ER_STORE(11);
#undef ER_STORE
}

void er_sgemm_ukernel_avx512(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int mr,
                             int nr, bool accumulate)
{
    if (nr > 16) {
        if (mr > 8) tile(12, 2, kc, a, b, ldb, c, ldc, mr, nr, accumulate);
        else if (mr > 4) tile(8, 2, kc, a, b, ldb, c, ldc, mr, nr, accumulate);
        else tile(4, 2, kc, a, b, ldb, c, ldc, mr, nr, accumulate);
    } else {
        if (mr > 8) tile(12, 1, kc, a, b, ldb, c, ldc, mr, nr, accumulate);
        else if (mr > 4) tile(8, 1, kc, a, b, ldb, c, ldc, mr, nr, accumulate);
        else tile(4, 1, kc, a, b, ldb, c, ldc, mr, nr, accumulate);
    }
}
