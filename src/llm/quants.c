#include "llm/quants.h"

#include <math.h>
#include <string.h>

#include "core/common.h"
#include "core/cpu.h"

/* ---- conversions -------------------------------------------------------------------- */

static void f32_to_float(const void *x, float *y, int64_t n) { memcpy(y, x, (size_t)n * 4); }
static void f32_from_float(const float *x, void *y, int64_t n) { memcpy(y, x, (size_t)n * 4); }

static void f16_to_float(const void *x, float *y, int64_t n)
{
    const uint16_t *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = er_f16_to_f32(h[i]);
}

static void f16_from_float(const float *x, void *y, int64_t n)
{
    uint16_t *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = er_f32_to_f16(x[i]);
}

static void bf16_to_float(const void *x, float *y, int64_t n)
{
    const uint16_t *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = er_bf16_to_f32(h[i]);
}

static void bf16_from_float(const float *x, void *y, int64_t n)
{
    uint16_t *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = er_f32_to_bf16(x[i]);
}

static float absmax(const float *x, int n)
{
    float m = 0;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

void er_quantize_row_q8_0(const float *x, void *vy, int64_t n)
{
    er_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / ER_QK; b++, x += ER_QK) {
        float d = absmax(x, ER_QK) / 127.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = er_f32_to_f16(d);
        for (int i = 0; i < ER_QK; i++) y[b].qs[i] = (int8_t)roundf(x[i] * id);
    }
}

void er_dequantize_row_q8_0(const void *vx, float *y, int64_t n)
{
    const er_block_q8_0 *x = vx;
    for (int64_t b = 0; b < n / ER_QK; b++) {
        float d = er_f16_to_f32(x[b].d);
        for (int i = 0; i < ER_QK; i++) y[b * ER_QK + i] = d * x[b].qs[i];
    }
}

/* The scale is signed so that the element of largest magnitude maps exactly to -8, the end
 * of the range with one more step. */
void er_quantize_row_q4_0(const float *x, void *vy, int64_t n)
{
    er_block_q4_0 *y = vy;
    for (int64_t b = 0; b < n / ER_QK; b++, x += ER_QK) {
        float mx = 0;
        for (int i = 0; i < ER_QK; i++)
            if (fabsf(x[i]) > fabsf(mx)) mx = x[i];
        float d = mx / -8.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = er_f32_to_f16(d);
        for (int i = 0; i < ER_QK / 2; i++) {
            int lo = (int)roundf(x[i] * id) + 8;
            int hi = (int)roundf(x[i + ER_QK / 2] * id) + 8;
            lo = ER_MAX(0, ER_MIN(15, lo));
            hi = ER_MAX(0, ER_MIN(15, hi));
            y[b].qs[i] = (uint8_t)(lo | hi << 4);
        }
    }
}

void er_dequantize_row_q4_0(const void *vx, float *y, int64_t n)
{
    const er_block_q4_0 *x = vx;
    for (int64_t b = 0; b < n / ER_QK; b++, y += ER_QK) {
        float d = er_f16_to_f32(x[b].d);
        for (int i = 0; i < ER_QK / 2; i++) {
            y[i] = d * ((x[b].qs[i] & 0xf) - 8);
            y[i + ER_QK / 2] = d * ((x[b].qs[i] >> 4) - 8);
        }
    }
}

void er_quantize_row_q8_k(const float *x, void *vy, int64_t n)
{
    er_block_q8_k *y = vy;
    for (int64_t b = 0; b < n / ER_QK_K; b++, x += ER_QK_K) {
        float d = absmax(x, ER_QK_K) / 127.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = d;
        for (int j = 0; j < ER_QK_K / 16; j++) {
            int s = 0;
            for (int i = 0; i < 16; i++) {
                int q = (int)roundf(x[j * 16 + i] * id);
                y[b].qs[j * 16 + i] = (int8_t)q;
                s += q;
            }
            y[b].bsums[j] = (int16_t)s;
        }
    }
}

static void dequantize_row_q8_k(const void *vx, float *y, int64_t n)
{
    const er_block_q8_k *x = vx;
    for (int64_t b = 0; b < n / ER_QK_K; b++)
        for (int i = 0; i < ER_QK_K; i++) *y++ = x[b].d * x[b].qs[i];
}

void er_q4_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void q4_k_pack_scales(const uint8_t *sc, const uint8_t *m, uint8_t *q)
{
    for (int j = 0; j < 4; j++) {
        q[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        q[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        q[j + 8] = (uint8_t)((sc[j + 4] & 0xf) | (m[j + 4] & 0xf) << 4);
    }
}

/* Each sub-block of 32 gets an affine range [lo, hi] with lo <= 0; the eight scales and
 * offsets are then themselves quantized to 6 bits against the super-block's largest. */
void er_quantize_row_q4_k(const float *x, void *vy, int64_t n)
{
    er_block_q4_k *y = vy;
    for (int64_t b = 0; b < n / ER_QK_K; b++, x += ER_QK_K) {
        float scale[8], off[8], max_scale = 0, max_off = 0;
        for (int j = 0; j < 8; j++) {
            float lo = 0, hi = 0;
            for (int i = 0; i < 32; i++) {
                lo = fminf(lo, x[j * 32 + i]);
                hi = fmaxf(hi, x[j * 32 + i]);
            }
            scale[j] = (hi - lo) / 15.0f;
            off[j] = -lo;
            max_scale = fmaxf(max_scale, scale[j]);
            max_off = fmaxf(max_off, off[j]);
        }
        float d = max_scale / 63.0f, dmin = max_off / 63.0f;
        y[b].d = er_f32_to_f16(d);
        y[b].dmin = er_f32_to_f16(dmin);
        d = er_f16_to_f32(y[b].d);
        dmin = er_f16_to_f32(y[b].dmin);
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = (uint8_t)ER_MIN(63, (int)roundf(d > 0 ? scale[j] / d : 0));
            m[j] = (uint8_t)ER_MIN(63, (int)roundf(dmin > 0 ? off[j] / dmin : 0));
        }
        q4_k_pack_scales(sc, m, y[b].scales);
        for (int c = 0; c < 4; c++) {
            for (int h = 0; h < 2; h++) {
                int j = 2 * c + h;
                float ds = d * sc[j], dm = dmin * m[j];
                float ids = ds > 0 ? 1.0f / ds : 0.0f;
                for (int i = 0; i < 32; i++) {
                    int q = (int)roundf((x[j * 32 + i] + dm) * ids);
                    q = ER_MAX(0, ER_MIN(15, q));
                    if (h == 0) y[b].qs[c * 32 + i] = (uint8_t)q;
                    else y[b].qs[c * 32 + i] |= (uint8_t)(q << 4);
                }
            }
        }
    }
}

void er_dequantize_row_q4_k(const void *vx, float *y, int64_t n)
{
    const er_block_q4_k *x = vx;
    for (int64_t b = 0; b < n / ER_QK_K; b++) {
        float d = er_f16_to_f32(x[b].d), dmin = er_f16_to_f32(x[b].dmin);
        const uint8_t *q = x[b].qs;
        for (int c = 0; c < 4; c++, q += 32) {
            uint8_t sc0, m0, sc1, m1;
            er_q4_k_scale_min(2 * c, x[b].scales, &sc0, &m0);
            er_q4_k_scale_min(2 * c + 1, x[b].scales, &sc1, &m1);
            for (int i = 0; i < 32; i++) {
                *y++ = d * sc0 * (q[i] & 0xf) - dmin * m0;
            }
            for (int i = 0; i < 32; i++) {
                *y++ = d * sc1 * (q[i] >> 4) - dmin * m1;
            }
        }
    }
}

/* Element i of a Q6_K block: position inside the 128-element half, then the nibble/2-bit
 * lanes ggml uses (four 32-element quarters share ql bytes and qh bytes). */
static int q6_k_get(const er_block_q6_k *x, int i)
{
    int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
    const uint8_t *ql = x->ql + half * 64, *qh = x->qh + half * 32;
    int lo = quarter & 1 ? ql[l + 32] : ql[l];
    lo = quarter < 2 ? lo & 0xf : lo >> 4;
    int hi = (qh[l] >> (2 * quarter)) & 3;
    return (lo | hi << 4) - 32;
}

static void q6_k_set(er_block_q6_k *x, int i, int q)
{
    int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
    uint8_t *ql = x->ql + half * 64 + (quarter & 1 ? l + 32 : l);
    uint8_t *qh = x->qh + half * 32 + l;
    q += 32;
    *ql |= (uint8_t)((q & 0xf) << (quarter < 2 ? 0 : 4));
    *qh |= (uint8_t)(((q >> 4) & 3) << (2 * quarter));
}

void er_quantize_row_q6_k(const float *x, void *vy, int64_t n)
{
    er_block_q6_k *y = vy;
    for (int64_t b = 0; b < n / ER_QK_K; b++, x += ER_QK_K) {
        float scale[16], max_scale = 0;
        for (int j = 0; j < 16; j++) {
            scale[j] = absmax(x + j * 16, 16) / 31.0f;
            max_scale = fmaxf(max_scale, scale[j]);
        }
        memset(&y[b], 0, sizeof y[b]);
        float d = max_scale / 127.0f;
        y[b].d = er_f32_to_f16(d);
        d = er_f16_to_f32(y[b].d);
        for (int j = 0; j < 16; j++) {
            int s = (int)roundf(d > 0 ? scale[j] / d : 0);
            y[b].scales[j] = (int8_t)ER_MIN(127, s);
            float ds = d * y[b].scales[j];
            float ids = ds > 0 ? 1.0f / ds : 0.0f;
            for (int i = 0; i < 16; i++) {
                int q = (int)roundf(x[j * 16 + i] * ids);
                q6_k_set(&y[b], j * 16 + i, ER_MAX(-32, ER_MIN(31, q)));
            }
        }
    }
}

void er_dequantize_row_q6_k(const void *vx, float *y, int64_t n)
{
    const er_block_q6_k *x = vx;
    for (int64_t b = 0; b < n / ER_QK_K; b++) {
        float d = er_f16_to_f32(x[b].d);
        for (int i = 0; i < ER_QK_K; i++) *y++ = d * x[b].scales[i / 16] * q6_k_get(&x[b], i);
    }
}

/* ---- reference dot products ---------------------------------------------------------- */

static float dot_f32(int64_t n, const void *w, const void *a)
{
    const float *x = w, *y = a;
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
    const uint16_t *x = w;
    const float *y = a;
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += er_f16_to_f32(x[i]) * y[i];
    return s;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
    const uint16_t *x = w;
    const float *y = a;
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += er_bf16_to_f32(x[i]) * y[i];
    return s;
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
    const er_block_q8_0 *x = w, *y = a;
    float s = 0;
    for (int64_t b = 0; b < n / ER_QK; b++) {
        int acc = 0;
        for (int i = 0; i < ER_QK; i++) acc += x[b].qs[i] * y[b].qs[i];
        s += er_f16_to_f32(x[b].d) * er_f16_to_f32(y[b].d) * (float)acc;
    }
    return s;
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
    const er_block_q4_0 *x = w;
    const er_block_q8_0 *y = a;
    float s = 0;
    for (int64_t b = 0; b < n / ER_QK; b++) {
        int acc = 0;
        for (int i = 0; i < ER_QK / 2; i++) {
            acc += ((x[b].qs[i] & 0xf) - 8) * y[b].qs[i];
            acc += ((x[b].qs[i] >> 4) - 8) * y[b].qs[i + ER_QK / 2];
        }
        s += er_f16_to_f32(x[b].d) * er_f16_to_f32(y[b].d) * (float)acc;
    }
    return s;
}

static float dot_q4_k(int64_t n, const void *w, const void *a)
{
    const er_block_q4_k *x = w;
    const er_block_q8_k *y = a;
    float s = 0;
    for (int64_t b = 0; b < n / ER_QK_K; b++) {
        const uint8_t *q = x[b].qs;
        const int8_t *p = y[b].qs;
        int sum_q = 0, sum_m = 0;
        for (int c = 0; c < 4; c++, q += 32, p += 64) {
            uint8_t sc0, m0, sc1, m1;
            er_q4_k_scale_min(2 * c, x[b].scales, &sc0, &m0);
            er_q4_k_scale_min(2 * c + 1, x[b].scales, &sc1, &m1);
            int a0 = 0, a1 = 0;
            for (int i = 0; i < 32; i++) {
                a0 += (q[i] & 0xf) * p[i];
                a1 += (q[i] >> 4) * p[i + 32];
            }
            sum_q += sc0 * a0 + sc1 * a1;
            sum_m += m0 * (y[b].bsums[4 * c] + y[b].bsums[4 * c + 1]) +
                     m1 * (y[b].bsums[4 * c + 2] + y[b].bsums[4 * c + 3]);
        }
        s += y[b].d * (er_f16_to_f32(x[b].d) * (float)sum_q - er_f16_to_f32(x[b].dmin) * (float)sum_m);
    }
    return s;
}

static float dot_q6_k(int64_t n, const void *w, const void *a)
{
    const er_block_q6_k *x = w;
    const er_block_q8_k *y = a;
    float s = 0;
    for (int64_t b = 0; b < n / ER_QK_K; b++) {
        int acc = 0;
        for (int j = 0; j < 16; j++) {
            int sj = 0;
            for (int i = 0; i < 16; i++) sj += q6_k_get(&x[b], j * 16 + i) * y[b].qs[j * 16 + i];
            acc += x[b].scales[j] * sj;
        }
        s += er_f16_to_f32(x[b].d) * y[b].d * (float)acc;
    }
    return s;
}

/* ---- tables -------------------------------------------------------------------------- */

static const er_qtraits traits[ER_Q_COUNT] = {
    [ER_Q_F32] = {"f32", 1, 4, ER_Q_F32, f32_to_float, f32_from_float},
    [ER_Q_F16] = {"f16", 1, 2, ER_Q_F32, f16_to_float, f16_from_float},
    [ER_Q_BF16] = {"bf16", 1, 2, ER_Q_F32, bf16_to_float, bf16_from_float},
    [ER_Q_Q8_0] = {"q8_0", ER_QK, sizeof(er_block_q8_0), ER_Q_Q8_0, er_dequantize_row_q8_0,
                   er_quantize_row_q8_0},
    [ER_Q_Q4_0] = {"q4_0", ER_QK, sizeof(er_block_q4_0), ER_Q_Q8_0, er_dequantize_row_q4_0,
                   er_quantize_row_q4_0},
    [ER_Q_Q4_K] = {"q4_k", ER_QK_K, sizeof(er_block_q4_k), ER_Q_Q8_K, er_dequantize_row_q4_k,
                   er_quantize_row_q4_k},
    [ER_Q_Q6_K] = {"q6_k", ER_QK_K, sizeof(er_block_q6_k), ER_Q_Q8_K, er_dequantize_row_q6_k,
                   er_quantize_row_q6_k},
    [ER_Q_Q8_K] = {"q8_k", ER_QK_K, sizeof(er_block_q8_k), ER_Q_Q8_K, dequantize_row_q8_k,
                   er_quantize_row_q8_k},
};

const er_qtraits *er_qtype_traits(uint32_t type)
{
    if (type >= ER_Q_COUNT || traits[type].block == 0) return NULL;
    return &traits[type];
}

const char *er_qtype_name(uint32_t type)
{
    static const char *names[] = {
        "f32", "f16", "q4_0", "q4_1", "q4_2", "q4_3", "q5_0", "q5_1", "q8_0", "q8_1",
        "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q8_k", "iq2_xxs", "iq2_xs", "iq3_xxs",
        "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64",
        "iq1_m", "bf16", "q4_0_4_4", "q4_0_4_8", "q4_0_8_8", "tq1_0", "tq2_0"};
    return type < ER_ARRAY_LEN(names) ? names[type] : NULL;
}

size_t er_qtype_row_size(uint32_t type, int64_t n)
{
    const er_qtraits *t = er_qtype_traits(type);
    if (!t || n <= 0 || n % t->block) return 0;
    return (size_t)(n / t->block) * t->type_size;
}

static const er_qkernels ref_kernels = {
    .vec_dot = {[ER_Q_F32] = dot_f32, [ER_Q_F16] = dot_f16, [ER_Q_BF16] = dot_bf16,
                [ER_Q_Q8_0] = dot_q8_0, [ER_Q_Q4_0] = dot_q4_0, [ER_Q_Q4_K] = dot_q4_k,
                [ER_Q_Q6_K] = dot_q6_k},
    .quantize_act = {[ER_Q_F32] = f32_from_float, [ER_Q_Q8_0] = er_quantize_row_q8_0,
                     [ER_Q_Q8_K] = er_quantize_row_q8_k},
    .isa = "ref",
};

const er_qkernels *er_qkernels_ref(void) { return &ref_kernels; }

const er_qkernels *er_qkernels_get(void)
{
    er_isa isa = er_cpu_isa();
    const er_qkernels *k = NULL;
    if (isa >= ER_ISA_AVX512) k = er_qkernels_avx512();
    if (!k && isa >= ER_ISA_AVX2) k = er_qkernels_avx2();
    return k ? k : &ref_kernels;
}
