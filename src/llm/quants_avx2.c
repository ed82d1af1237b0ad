/* AVX2 + FMA + F16C dot products. Integer blocks multiply with maddubs: the unsigned operand
 * is |x| and the signed one y * sign(x), so products keep their sign without widening first. */
#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>

#include "core/cpu.h"
#include "llm/quants.h"

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

/* 32 nibbles of a Q4_0 block in element order, as unsigned bytes 0..15. */
static inline __m256i unpack_q4(const uint8_t *qs)
{
    __m128i x = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

static inline __m256i dot_i8(__m256i x, __m256i y)
{
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static float dot_f32(int64_t n, const void *w, const void *a)
{
    const float *x = w, *y = a;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
    }
    float s = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
    const uint16_t *x = w;
    const float *y = a;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8 * k))),
                                     _mm256_loadu_ps(y + i + 8 * k), acc[k]);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) s += h2f(x[i]) * y[i];
    return s;
}

static void dot_f16_x4(int64_t n, const void *w, size_t stride, const void *a, float *out)
{
    const float *y = a;
    const uint16_t *x[4];
    __m256 acc[4];
    for (int r = 0; r < 4; r++) {
        x[r] = (const uint16_t *)((const uint8_t *)w + r * stride);
        acc[r] = _mm256_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 av = _mm256_loadu_ps(y + i);
        for (int r = 0; r < 4; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x[r] + i))), av, acc[r]);
    }
    for (int r = 0; r < 4; r++) {
        out[r] = hsum(acc[r]);
        for (int64_t j = i; j < n; j++) out[r] += h2f(x[r][j]) * y[j];
    }
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
    const er_block_q8_0 *x = w, *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / ER_QK; b++) {
        __m256i p = dot_i8(_mm256_loadu_si256((const __m256i *)x[b].qs), _mm256_loadu_si256((const __m256i *)y[b].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)), acc);
    }
    return hsum(acc);
}

/* Four rows against one activation row: |a| is computed once and each row's sign moves onto
 * its own copy of the weights. */
static void dot_q8_0_x4(int64_t n, const void *w, size_t stride, const void *a, float *out)
{
    const er_block_q8_0 *y = a;
    const er_block_q8_0 *x[4];
    __m256 acc[4];
    for (int r = 0; r < 4; r++) {
        x[r] = (const er_block_q8_0 *)((const uint8_t *)w + r * stride);
        acc[r] = _mm256_setzero_ps();
    }
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < n / ER_QK; b++) {
        __m256i av = _mm256_loadu_si256((const __m256i *)y[b].qs);
        __m256i ua = _mm256_sign_epi8(av, av);
        float da = h2f(y[b].d);
        for (int r = 0; r < 4; r++) {
            __m256i sw = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x[r][b].qs), av);
            __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ua, sw), ones);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(x[r][b].d) * da), acc[r]);
        }
    }
    for (int r = 0; r < 4; r++) out[r] = hsum(acc[r]);
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
    const er_block_q4_0 *x = w;
    const er_block_q8_0 *y = a;
    const __m256i eight = _mm256_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / ER_QK; b++) {
        __m256i q = _mm256_sub_epi8(unpack_q4(x[b].qs), eight);
        __m256i p = dot_i8(q, _mm256_loadu_si256((const __m256i *)y[b].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)), acc);
    }
    return hsum(acc);
}

/* Weights stay unsigned (0..15) for maddubs; the -8 offset is 8 * sum(a), computed once per
 * activation block for all four rows. */
static void dot_q4_0_x4(int64_t n, const void *w, size_t stride, const void *a, float *out)
{
    const er_block_q8_0 *y = a;
    const er_block_q4_0 *x[4];
    __m256 acc[4];
    for (int r = 0; r < 4; r++) {
        x[r] = (const er_block_q4_0 *)((const uint8_t *)w + r * stride);
        acc[r] = _mm256_setzero_ps();
    }
    const __m256i ones = _mm256_set1_epi16(1), eight = _mm256_set1_epi8(8);
    for (int64_t b = 0; b < n / ER_QK; b++) {
        __m256i av = _mm256_loadu_si256((const __m256i *)y[b].qs);
        __m256i corr = _mm256_madd_epi16(_mm256_maddubs_epi16(eight, av), ones);
        float da = h2f(y[b].d);
        for (int r = 0; r < 4; r++) {
            __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(unpack_q4(x[r][b].qs), av), ones);
            p = _mm256_sub_epi32(p, corr);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(x[r][b].d) * da), acc[r]);
        }
    }
    for (int r = 0; r < 4; r++) out[r] = hsum(acc[r]);
}

static er_qkernels kernels;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    kernels = *er_qkernels_ref();
    kernels.isa = "avx2";
    kernels.vec_dot[ER_Q_F32] = dot_f32;
    kernels.vec_dot[ER_Q_F16] = dot_f16;
    kernels.vec_dot[ER_Q_Q8_0] = dot_q8_0;
    kernels.vec_dot[ER_Q_Q4_0] = dot_q4_0;
    kernels.vec_dot_x4[ER_Q_F16] = dot_f16_x4;
    kernels.vec_dot_x4[ER_Q_Q8_0] = dot_q8_0_x4;
    kernels.vec_dot_x4[ER_Q_Q4_0] = dot_q4_0_x4;
}

const er_qkernels *er_qkernels_avx2(void)
{
    er_cpu_features f;
    er_cpu_detect(&f);
    if (!f.avx2 || !f.fma || !f.f16c) return NULL;
    pthread_once(&once, init);
    return &kernels;
}
