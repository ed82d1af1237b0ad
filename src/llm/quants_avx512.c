/* AVX-512 (F/BW/VL/DQ + VNNI) dot products. Integer blocks go two at a time through one
 * 512-bit vpdpbusd (u8 x s8 → s32); Q4_0 keeps its nibbles unsigned and subtracts 8 * sum(a),
 * Q8_0 moves the activation's sign onto the weights so |a| is the unsigned operand. */
#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>

#include "core/cpu.h"
#include "llm/quants.h"

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Scales of two consecutive blocks, each spread over the 8 lanes of its block's sums. */
static inline __m512 scale2(float s0, float s1)
{
    return _mm512_insertf32x8(_mm512_set1_ps(s0), _mm256_set1_ps(s1), 1);
}

/* Two Q4_0 blocks as 64 unsigned bytes in element order: [b0 lo, b0 hi, b1 lo, b1 hi]. */
static inline __m512i unpack_q4_x2(const er_block_q4_0 *x)
{
    __m256i t = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)x[1].qs), _mm_loadu_si128((const __m128i *)x[0].qs));
    __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(t), _mm256_srli_epi16(t, 4), 1);
    v = _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
    return _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
}

static inline __m512i load_q8_x2(const er_block_q8_0 *y)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)y[0].qs)),
                              _mm256_loadu_si256((const __m256i *)y[1].qs), 1);
}

static inline __m256i unpack_q4(const uint8_t *qs)
{
    __m128i x = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0f));
}

static float dot_f32(int64_t n, const void *w, const void *a)
{
    const float *x = w, *y = a;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

/* Decoding streams each f16 weight once, bound by memory latency per core: fetching 4 KiB
 * ahead of the loads (measured best of 1-8 KiB) keeps more misses in flight than the
 * hardware prefetcher alone, most of all with several threads. Past a row's end it is harmless. */
#define F16_PREFETCH_BYTES 4096
static inline __m512 load_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }

static inline __m512 load_bf16(const uint16_t *p)
{
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
    const uint16_t *x = w;
    const float *y = a;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        _mm_prefetch((const char *)(x + i) + F16_PREFETCH_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char *)(x + i) + F16_PREFETCH_BYTES + 64, _MM_HINT_T0);
        for (int k = 0; k < 4; k++)
            acc[k] = _mm512_fmadd_ps(load_f16(x + i + 16 * k), _mm512_loadu_ps(y + i + 16 * k), acc[k]);
    }
    for (; i + 16 <= n; i += 16) acc[0] = _mm512_fmadd_ps(load_f16(x + i), _mm512_loadu_ps(y + i), acc[0]);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
    for (; i < n; i++) s += h2f(x[i]) * y[i];
    return s;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
    const uint16_t *x = w;
    const float *y = a;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(load_bf16(x + i), _mm512_loadu_ps(y + i), acc0);
        acc1 = _mm512_fmadd_ps(load_bf16(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    for (; i < n; i++) {
        uint32_t bits = (uint32_t)x[i] << 16;
        float f;
        __builtin_memcpy(&f, &bits, 4);
        s += f * y[i];
    }
    return s;
}

static void dot_f16_x4(int64_t n, const void *w, size_t stride, const void *a, float *out)
{
    const float *y = a;
    const uint16_t *x[4];
    __m512 acc[4];
    for (int r = 0; r < 4; r++) {
        x[r] = (const uint16_t *)((const uint8_t *)w + r * stride);
        acc[r] = _mm512_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 av = _mm512_loadu_ps(y + i);
        for (int r = 0; r < 4; r++) acc[r] = _mm512_fmadd_ps(load_f16(x[r] + i), av, acc[r]);
    }
    for (int r = 0; r < 4; r++) {
        out[r] = _mm512_reduce_add_ps(acc[r]);
        for (int64_t j = i; j < n; j++) out[r] += h2f(x[r][j]) * y[j];
    }
}

/* 4 rows x nt (1..4) tokens with 16 accumulators: each f16 load is converted once and used
 * by every token of the tile. */
static inline __attribute__((always_inline)) void tile_f16(int64_t n, const uint16_t *const *x, const float *y,
                                                           size_t ys, int nt, float *out, int64_t out_stride,
                                                           int accumulate)
{
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < 4; t++) acc[r][t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 wv[4];
        for (int r = 0; r < 4; r++) wv[r] = load_f16(x[r] + i);
        for (int t = 0; t < nt; t++) {
            __m512 av = _mm512_loadu_ps(y + t * ys + i);
            for (int r = 0; r < 4; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], av, acc[r][t]);
        }
    }
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < 4; r++) {
            float v = _mm512_reduce_add_ps(acc[r][t]);
            for (int64_t j = i; j < n; j++) v += h2f(x[r][j]) * y[t * ys + j];
            float *dst = out + t * out_stride + r;
            *dst = accumulate ? *dst + v : v;
        }
}

static void gemm_f16_x4(int64_t n, const void *w, size_t stride, const void *act, size_t act_stride, int n_tok,
                        float *y, int64_t y_stride, int accumulate)
{
    const uint16_t *x[4];
    for (int r = 0; r < 4; r++) x[r] = (const uint16_t *)((const uint8_t *)w + r * stride);
    size_t ys = act_stride / sizeof(float);
    const float *a = act;
    int t = 0;
    for (; t + 4 <= n_tok; t += 4) tile_f16(n, x, a + t * ys, ys, 4, y + t * y_stride, y_stride, accumulate);
    for (; t < n_tok; t++) tile_f16(n, x, a + t * ys, ys, 1, y + t * y_stride, y_stride, accumulate);
}

static inline __m512i dot_q8_x2(__m512i w, __m512i a)
{
    __mmask64 neg = _mm512_movepi8_mask(a);
    __m512i sw = _mm512_mask_sub_epi8(w, neg, _mm512_setzero_si512(), w);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(a), sw);
}

static inline __m256i dot_q8_x1(__m256i w, __m256i a)
{
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(a, a), _mm256_sign_epi8(w, a));
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
    const er_block_q8_0 *x = w, *y = a;
    int64_t nb = n / ER_QK, b = 0;
    __m512 acc = _mm512_setzero_ps();
    for (; b + 2 <= nb; b += 2) {
        __m512i p = dot_q8_x2(load_q8_x2(x + b), load_q8_x2(y + b));
        __m512 s = scale2(h2f(x[b].d) * h2f(y[b].d), h2f(x[b + 1].d) * h2f(y[b + 1].d));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), s, acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    for (; b < nb; b++) {
        __m256i p = dot_q8_x1(_mm256_loadu_si256((const __m256i *)x[b].qs), _mm256_loadu_si256((const __m256i *)y[b].qs));
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)));
        sum += hsum256(f);
    }
    return sum;
}

static void dot_q8_0_x4(int64_t n, const void *w, size_t stride, const void *a, float *out)
{
    const er_block_q8_0 *y = a;
    const er_block_q8_0 *x[4];
    __m512 acc[4];
    for (int r = 0; r < 4; r++) {
        x[r] = (const er_block_q8_0 *)((const uint8_t *)w + r * stride);
        acc[r] = _mm512_setzero_ps();
    }
    int64_t nb = n / ER_QK, b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m512i av = load_q8_x2(y + b);
        __mmask64 neg = _mm512_movepi8_mask(av);
        __m512i ua = _mm512_abs_epi8(av);
        float da0 = h2f(y[b].d), da1 = h2f(y[b + 1].d);
        for (int r = 0; r < 4; r++) {
            __m512i wv = load_q8_x2(x[r] + b);
            __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ua, _mm512_mask_sub_epi8(wv, neg, _mm512_setzero_si512(), wv));
            __m512 s = scale2(h2f(x[r][b].d) * da0, h2f(x[r][b + 1].d) * da1);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), s, acc[r]);
        }
    }
    for (int r = 0; r < 4; r++) {
        out[r] = _mm512_reduce_add_ps(acc[r]);
        if (b < nb) out[r] += dot_q8_0(ER_QK, &x[r][b], &y[b]);
    }
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
    const er_block_q4_0 *x = w;
    const er_block_q8_0 *y = a;
    const __m512i eight = _mm512_set1_epi8(8);
    int64_t nb = n / ER_QK, b = 0;
    __m512 acc = _mm512_setzero_ps();
    for (; b + 2 <= nb; b += 2) {
        __m512i av = load_q8_x2(y + b);
        __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_q4_x2(x + b), av);
        p = _mm512_sub_epi32(p, _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, av));
        __m512 s = scale2(h2f(x[b].d) * h2f(y[b].d), h2f(x[b + 1].d) * h2f(y[b + 1].d));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), s, acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    for (; b < nb; b++) {
        __m256i av = _mm256_loadu_si256((const __m256i *)y[b].qs);
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), unpack_q4(x[b].qs), av);
        p = _mm256_sub_epi32(p, _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), av));
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)));
        sum += hsum256(f);
    }
    return sum;
}

static void dot_q4_0_x4(int64_t n, const void *w, size_t stride, const void *a, float *out)
{
    const er_block_q8_0 *y = a;
    const er_block_q4_0 *x[4];
    __m512 acc[4];
    for (int r = 0; r < 4; r++) {
        x[r] = (const er_block_q4_0 *)((const uint8_t *)w + r * stride);
        acc[r] = _mm512_setzero_ps();
    }
    const __m512i eight = _mm512_set1_epi8(8);
    int64_t nb = n / ER_QK, b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m512i av = load_q8_x2(y + b);
        __m512i corr = _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, av);
        float da0 = h2f(y[b].d), da1 = h2f(y[b + 1].d);
        for (int r = 0; r < 4; r++) {
            __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_q4_x2(x[r] + b), av);
            __m512 s = scale2(h2f(x[r][b].d) * da0, h2f(x[r][b + 1].d) * da1);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(p, corr)), s, acc[r]);
        }
    }
    for (int r = 0; r < 4; r++) {
        out[r] = _mm512_reduce_add_ps(acc[r]);
        if (b < nb) out[r] += dot_q4_0(ER_QK, &x[r][b], &y[b]);
    }
}

/* ---- interleaved 8-row layouts --------------------------------------------------------
 * A group stores, per 32-column block, the 8 rows' scales together and their quants in
 * 4-byte column slices: one vpdpbusd of a slice vector with a broadcast 4-byte slice of the
 * activation adds to all 8 rows at once, each row in its own lane. */

typedef struct pk_q4_0 {
    uint16_t d[ER_PACK_ROWS];
    uint8_t qs[ER_PACK_ROWS * ER_QK / 2];   /* [j][row][4]: bytes 4j..4j+3 of each row */
} pk_q4_0;

typedef struct pk_q8_0 {
    uint16_t d[ER_PACK_ROWS];
    int16_t wsum[ER_PACK_ROWS];             /* sum of each row's quants: undoes the +128 of uq */
    int8_t qs[ER_PACK_ROWS * ER_QK];        /* [k][row][4]: elements 4k..4k+3 of each row */
} pk_q8_0;

_Static_assert(sizeof(pk_q4_0) == 8 * sizeof(er_block_q4_0), "q4_0 group block");

static size_t group_bytes_q4_0(int64_t cols) { return (size_t)(cols / ER_QK) * sizeof(pk_q4_0); }
static size_t group_bytes_q8_0(int64_t cols) { return (size_t)(cols / ER_QK) * sizeof(pk_q8_0); }

/* Byte 4j+m of a Q4_0 block holds elements 4j+m (low nibble) and 16+4j+m (high), so slice j
 * gives columns 4j.. from its low nibbles and 16+4j.. from its high ones. */
static void repack_q4_0(const void *rows, size_t row_bytes, int64_t cols, void *group)
{
    pk_q4_0 *g = group;
    for (int64_t b = 0; b < cols / ER_QK; b++)
        for (int r = 0; r < ER_PACK_ROWS; r++) {
            const er_block_q4_0 *x = (const er_block_q4_0 *)((const uint8_t *)rows + r * row_bytes) + b;
            g[b].d[r] = x->d;
            for (int j = 0; j < 4; j++)
                for (int m = 0; m < 4; m++) g[b].qs[32 * j + 4 * r + m] = x->qs[4 * j + m];
        }
}

static void repack_q8_0(const void *rows, size_t row_bytes, int64_t cols, void *group)
{
    pk_q8_0 *g = group;
    for (int64_t b = 0; b < cols / ER_QK; b++)
        for (int r = 0; r < ER_PACK_ROWS; r++) {
            const er_block_q8_0 *x = (const er_block_q8_0 *)((const uint8_t *)rows + r * row_bytes) + b;
            int sum = 0;
            g[b].d[r] = x->d;
            for (int k = 0; k < 8; k++)
                for (int m = 0; m < 4; m++) {
                    g[b].qs[32 * k + 4 * r + m] = x->qs[4 * k + m];
                    sum += x->qs[4 * k + m];
                }
            g[b].wsum[r] = (int16_t)sum;
        }
}

static inline __m256i bcast4(const void *p)
{
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* nt (1..4) tokens against one group; the unpacked weights of a block are reused by every
 * token of the tile. */
static inline __attribute__((always_inline)) void tile_q4_0(int64_t nb, const pk_q4_0 *g,
                                                            const er_packed_act *act, int nt, __m256 *f)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < nb; b++) {
        __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g[b].d));
        __m256i lo[4], hi[4];
        for (int j = 0; j < 4; j++) {
            __m256i p = _mm256_loadu_si256((const __m256i *)(g[b].qs + 32 * j));
            lo[j] = _mm256_and_si256(p, m4);
            hi[j] = _mm256_and_si256(_mm256_srli_epi16(p, 4), m4);
        }
        for (int t = 0; t < nt; t++) {
            const int8_t *a = act[t].q + b * ER_QK;
            __m256i acc = _mm256_set1_epi32(-8 * act[t].sum[b]);
            for (int j = 0; j < 4; j++) {
                acc = _mm256_dpbusd_epi32(acc, lo[j], bcast4(a + 4 * j));
                acc = _mm256_dpbusd_epi32(acc, hi[j], bcast4(a + 16 + 4 * j));
            }
            f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_mul_ps(dw, _mm256_set1_ps(act[t].d[b])), f[t]);
        }
    }
}

static inline __attribute__((always_inline)) void tile_q8_0(int64_t nb, const pk_q8_0 *g,
                                                            const er_packed_act *act, int nt, __m256 *f)
{
    for (int64_t b = 0; b < nb; b++) {
        __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g[b].d));
        __m256i bias = _mm256_slli_epi32(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)g[b].wsum)), 7);
        __m256i w[8];
        for (int k = 0; k < 8; k++) w[k] = _mm256_loadu_si256((const __m256i *)(g[b].qs + 32 * k));
        for (int t = 0; t < nt; t++) {
            const uint8_t *a = act[t].uq + b * ER_QK;
            __m256i acc = _mm256_sub_epi32(_mm256_setzero_si256(), bias);
            for (int k = 0; k < 8; k++) acc = _mm256_dpbusd_epi32(acc, bcast4(a + 4 * k), w[k]);
            f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_mul_ps(dw, _mm256_set1_ps(act[t].d[b])), f[t]);
        }
    }
}

static void store_tile(const __m256 *f, int nt, float *y, int64_t y_stride, int accumulate)
{
    for (int t = 0; t < nt; t++) {
        float *dst = y + t * y_stride;
        __m256 v = accumulate ? _mm256_add_ps(f[t], _mm256_loadu_ps(dst)) : f[t];
        _mm256_storeu_ps(dst, v);
    }
}

#define GEMM_PACKED(name, tile, block_t)                                                          \
    static void name(int64_t cols, const void *group, const er_packed_act *act, int n_tok, float *y, \
                     int64_t y_stride, int accumulate)                                            \
    {                                                                                             \
        const block_t *g = group;                                                                 \
        int64_t nb = cols / ER_QK;                                                                \
        int t = 0;                                                                                \
        for (; t + 4 <= n_tok; t += 4) {                                                          \
            __m256 f[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
            tile(nb, g, act + t, 4, f);                                                           \
            store_tile(f, 4, y + t * y_stride, y_stride, accumulate);                             \
        }                                                                                         \
        for (; t < n_tok; t++) {                                                                  \
            __m256 f[1] = {_mm256_setzero_ps()};                                                  \
            tile(nb, g, act + t, 1, f);                                                           \
            store_tile(f, 1, y + t * y_stride, y_stride, accumulate);                             \
        }                                                                                         \
    }

GEMM_PACKED(gemm_q4_0, tile_q4_0, pk_q4_0)
GEMM_PACKED(gemm_q8_0, tile_q8_0, pk_q8_0)

static er_qkernels kernels;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    kernels = *er_qkernels_ref();
    kernels.isa = "avx512";
    kernels.vec_dot[ER_Q_F32] = dot_f32;
    kernels.vec_dot[ER_Q_F16] = dot_f16;
    kernels.vec_dot[ER_Q_BF16] = dot_bf16;
    kernels.vec_dot[ER_Q_Q8_0] = dot_q8_0;
    kernels.vec_dot[ER_Q_Q4_0] = dot_q4_0;
    kernels.vec_dot_x4[ER_Q_F16] = dot_f16_x4;
    kernels.gemm_x4[ER_Q_F16] = gemm_f16_x4;
    kernels.vec_dot_x4[ER_Q_Q8_0] = dot_q8_0_x4;
    kernels.vec_dot_x4[ER_Q_Q4_0] = dot_q4_0_x4;
    kernels.packed_group_bytes[ER_Q_Q4_0] = group_bytes_q4_0;
    kernels.packed_group_bytes[ER_Q_Q8_0] = group_bytes_q8_0;
    kernels.repack[ER_Q_Q4_0] = repack_q4_0;
    kernels.repack[ER_Q_Q8_0] = repack_q8_0;
    kernels.gemm_packed[ER_Q_Q4_0] = gemm_q4_0;
    kernels.gemm_packed[ER_Q_Q8_0] = gemm_q8_0;
}

const er_qkernels *er_qkernels_avx512(void)
{
    er_cpu_features f;
    er_cpu_detect(&f);
    if (!f.avx512f || !f.avx512bw || !f.avx512vl || !f.avx512dq || !f.avx512vnni || !f.f16c) return NULL;
    pthread_once(&once, init);
    return &kernels;
}
