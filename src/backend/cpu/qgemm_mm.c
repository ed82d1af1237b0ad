/* Portable constant-weight int8 matrix product (the oracle of the SIMD kernel) and packing. */
#include <math.h>
#include <string.h>

#include "backend/cpu/qgemm_mm.h"
#include "core/cpu.h"

int64_t er_qmm_np(int64_t n) { return (n + ER_QMM_NB - 1) / ER_QMM_NB * ER_QMM_NB; }

void er_qmm_pack_w(const int8_t *w, int64_t k, int64_t n, bool trans, int8_t *dst, int32_t *colsum)
{
    int64_t k4 = (k + 3) / 4, np = er_qmm_np(n);
    memset(dst, 0, (size_t)(k4 * np * 4));
    memset(colsum, 0, sizeof(int32_t) * (size_t)np);
    for (int64_t kk = 0; kk < k; kk++)
        for (int64_t c = 0; c < n; c++) {
            int8_t v = trans ? w[c * k + kk] : w[kk * n + c];
            dst[((c / ER_QMM_NB * k4 + kk / 4) * ER_QMM_NB + c % ER_QMM_NB) * 4 + kk % 4] = v;
            colsum[c] += v;
        }
}

/* The 4 activation bytes of group g of a row; bytes past K read as 0 (their weights are 0). */
static inline uint32_t a_word(const er_qmm_a *a, const uint8_t *row, int64_t g)
{
    uint32_t word = 0;
    int64_t left = a->k - 4 * g;
    memcpy(&word, row + 4 * g, (size_t)(left < 4 ? left : 4));
    return word;
}

static inline void store(const er_qmm_out *o, int64_t r, int64_t n, int32_t acc)
{
    int32_t v = acc + o->corr[n];
    if (o->kind == ER_QMM_I32) {
        ((int32_t *)o->y)[r * o->ldy + n] = v;
        return;
    }
    float f = fmaf((float)v, o->mult[n], o->add[n]);
    if (o->kind == ER_QMM_F32) {
        ((float *)o->y)[r * o->ldy + n] = f;
        return;
    }
    const bool is_signed = o->kind == ER_QMM_I8 || o->kind == ER_QMM_I8_F32;
    float lo = is_signed ? -128.0f : 0.0f, hi = is_signed ? 127.0f : 255.0f;
    f = nearbyintf(f) + o->zp;
    f = f < lo ? lo : f > hi ? hi : f;
    if (o->kind == ER_QMM_U8_F32 || o->kind == ER_QMM_I8_F32) {
        float d = (f - o->zp) * o->ys;
        ((float *)o->y)[r * o->ldy + n] = o->post ? d + o->post[n] : d;
        return;
    }
    if (o->kind == ER_QMM_I8) ((int8_t *)o->y)[r * o->ldy + n] = (int8_t)f;
    else ((uint8_t *)o->y)[r * o->ldy + n] = (uint8_t)f;
}

void er_qmm_u8s8_ref(const er_qmm_a *a, const int8_t *wp, int64_t np, int64_t r0, int64_t r1, int64_t n0,
                     int64_t n1, const er_qmm_out *o)
{
    (void)np;
    const int64_t k4 = (a->k + 3) / 4;
    const uint32_t flip = a->flip * 0x01010101u;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = a->a + r * a->lda;
        for (int64_t n = n0; n < n1; n++) {
            int32_t acc = 0;
            for (int64_t g = 0; g < k4; g++) {
                uint32_t word = a_word(a, row, g) ^ flip;
                const int8_t *w = wp + ((n / ER_QMM_NB * k4 + g) * ER_QMM_NB + n % ER_QMM_NB) * 4;
                for (int j = 0; j < 4; j++) acc += (int32_t)((word >> (8 * j)) & 0xff) * w[j];
            }
            store(o, r, n, acc);
        }
    }
}

er_qmm_fn er_qmm_select(void)
{
    if (er_cpu_vnni()) return er_qmm_u8s8_avx512vnni;
    return er_qmm_u8s8_ref;
}
