/* Portable int8 GEMM (the oracle of the SIMD kernels) and packing. */
#include <math.h>
#include <string.h>

#include "backend/cpu/qgemm.h"
#include "core/cpu.h"

/* Σ_j s8(word byte j) · u8 x[j]: one 4-deep step of vpdpbusd, in C. */
static inline int32_t dot4(int32_t word, const uint8_t *x)
{
    int32_t acc = 0;
    for (int j = 0; j < 4; j++) acc += (int32_t)(int8_t)(word >> (8 * j)) * x[j];
    return acc;
}

static inline void store_q(const er_qgemm_out *o, int64_t m, int64_t n, int32_t acc)
{
    float v = nearbyintf((float)(acc + o->bias[m]) * o->mult[m]) + (float)o->zp;
    float lo = o->is_signed ? -128.0f : 0.0f, hi = o->is_signed ? 127.0f : 255.0f;
    v = v < lo ? lo : v > hi ? hi : v;
    if (o->is_signed) ((int8_t *)o->y)[m * o->ldy + n] = (int8_t)v;
    else ((uint8_t *)o->y)[m * o->ldy + n] = (uint8_t)v;
}

void er_qgemm_u8s8_ref(const int32_t *w, const uint8_t *x, int64_t k4, int64_t np, int64_t m0, int64_t m1,
                       int64_t n0, int64_t n1, const er_qgemm_out *o)
{
    for (int64_t m = m0; m < m1; m++)
        for (int64_t n = n0; n < n1; n++) {
            int32_t acc = 0;
            for (int64_t g = 0; g < k4; g++) {
                int32_t word = w[m * k4 + g];
                acc += dot4(word, x + (g * np + n) * 4);
            }
            store_q(o, m, n, acc);
        }
}

void er_qgemm_gather_ref(const int32_t *w, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0, int64_t m1,
                         int64_t n0, int64_t n1, const er_qgemm_out *o)
{
    for (int64_t m = m0; m < m1; m++)
        for (int64_t n = n0; n < n1; n++) {
            int32_t acc = 0;
            for (int64_t g = 0; g < k4; g++) {
                int32_t word = w[m * k4 + g];
                acc += dot4(word, x + goff[g] + n * 4);
            }
            store_q(o, m, n, acc);
        }
}

er_qgemm_gather_fn er_qgemm_gather_select(void)
{
    if (er_cpu_vnni()) return er_qgemm_gather_avx512vnni;
    return er_qgemm_gather_ref;
}

void er_qgemm_pack_wt(const int32_t *w, int64_t m, int64_t k4, int32_t *wt)
{
    for (int64_t r = 0; r < m; r++)
        for (int64_t g = 0; g < k4; g++) wt[(r / 16 * k4 + g) * 16 + r % 16] = w[r * k4 + g];
}

void er_qgemm_t_u8s8_ref(const int32_t *wt, const uint8_t *x, int64_t k4, int64_t np, int64_t m0, int64_t m1,
                         int64_t n0, int64_t n1, const er_qgemm_out *o)
{
    for (int64_t m = m0; m < m1; m++)
        for (int64_t n = n0; n < n1; n++) {
            int32_t acc = 0;
            for (int64_t g = 0; g < k4; g++) {
                int32_t word = wt[(m / 16 * k4 + g) * 16 + m % 16];
                acc += dot4(word, x + (g * np + n) * 4);
            }
            store_q(o, m, n, acc);
        }
}

void er_qgemm_t_conv_ref(const int32_t *wt, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0, int64_t m1,
                         const er_qgemm_conv_geom *geo, const er_qgemm_out *o)
{
    for (int64_t m = m0; m < m1; m++)
        for (int64_t n = 0; n < geo->oh * geo->ow; n++) {
            int32_t acc = 0;
            const int64_t off = n / geo->ow * geo->rstep + n % geo->ow * geo->cstep;
            for (int64_t g = 0; g < k4; g++) {
                int32_t word = wt[(m / 16 * k4 + g) * 16 + m % 16];
                acc += dot4(word, x + goff[g] + off);
            }
            store_q(o, m, n, acc);
        }
}

er_qgemm_t_conv_fn er_qgemm_t_conv_select(void)
{
    if (er_cpu_vnni()) return er_qgemm_t_conv_avx512vnni;
    return er_qgemm_t_conv_ref;
}

er_qgemm_fn er_qgemm_t_select(void)
{
    if (er_cpu_vnni()) return er_qgemm_t_u8s8_avx512vnni;
    return er_qgemm_t_u8s8_ref;
}

void er_qgemm_pack_x(const uint8_t *x, int64_t ldx, int64_t k, int64_t n, uint8_t pad, uint8_t *dst)
{
    int64_t k4 = (k + 3) / 4, np = (n + 15) / 16 * 16;
    for (int64_t g = 0; g < k4; g++) {
        uint8_t *d = dst + g * np * 4;
        for (int j = 0; j < 4; j++) {
            int64_t kk = 4 * g + j;
            if (kk >= k) {
                for (int64_t c = 0; c < np; c++) d[c * 4 + j] = pad;
                continue;
            }
            const uint8_t *row = x + kk * ldx;
            for (int64_t c = 0; c < n; c++) d[c * 4 + j] = row[c];
            for (int64_t c = n; c < np; c++) d[c * 4 + j] = pad;
        }
    }
}

void er_qgemm_pack4(const uint8_t *const r[4], int64_t sw, int64_t n, int64_t rows, int64_t step, uint8_t *dst)
{
    for (int64_t t = 0; t < rows; t++)
        for (int64_t c = 0; c < n; c++)
            for (int j = 0; j < 4; j++) dst[(t * n + c) * 4 + j] = r[j][t * step + c * sw];
}

er_qgemm_fn er_qgemm_select(void)
{
    if (er_cpu_vnni()) return er_qgemm_u8s8_avx512vnni;
    return er_qgemm_u8s8_ref;
}

er_qgemm_pack_fn er_qgemm_pack_select(void)
{
    return er_cpu_isa() == ER_ISA_AVX512 ? er_qgemm_pack_x_avx512 : er_qgemm_pack_x;
}

er_qgemm_pack4_fn er_qgemm_pack4_select(void)
{
    return er_cpu_isa() == ER_ISA_AVX512 ? er_qgemm_pack4_avx512 : er_qgemm_pack4;
}
