/* Portable depthwise int8 row kernel (the oracle of the AVX-512 one). */
#include <math.h>

#include "backend/cpu/qdwconv.h"
#include "core/cpu.h"

void er_qdw_row_ref(const er_qdw_row *r)
{
    const float lo = r->is_signed ? -128.0f : 0.0f, hi = r->is_signed ? 127.0f : 255.0f;
    for (int64_t t = 0; t < r->rows; t++) {
        const uint8_t *x = r->x + t * r->sh * r->pw;
        for (int64_t o = 0; o < r->ow; o++) {
            int32_t acc = 0;
            for (int i = 0; i < r->kh; i++)
                for (int j = 0; j < r->kw; j++) acc += r->w[i * r->kw + j] * x[i * r->pw + o * r->stride + j];
            float v = nearbyintf((float)(acc + r->bias) * r->mult) + r->zp;
            v = v < lo ? lo : v > hi ? hi : v;
            if (r->is_signed) ((int8_t *)r->y)[t * r->ow + o] = (int8_t)v;
            else ((uint8_t *)r->y)[t * r->ow + o] = (uint8_t)v;
        }
    }
}

void er_qdw_plane_f32(const uint8_t *x, int64_t ph, int64_t pw, int stride, float *dst)
{
    const int64_t half = (pw + 1) / 2;
    for (int64_t i = 0; i < ph; i++) {
        const uint8_t *r = x + i * pw;
        float *d = dst + i * pw;
        if (stride != 2) {
            for (int64_t c = 0; c < pw; c++) d[c] = (float)r[c];
            continue;
        }
        for (int64_t c = 0; c < half; c++) d[c] = (float)r[2 * c];
        for (int64_t c = 0; c < pw / 2; c++) d[half + c] = (float)r[2 * c + 1];
    }
}

er_qdw_row_fn er_qdw_row_select(void)
{
    return er_cpu_isa() == ER_ISA_AVX512 ? er_qdw_row_avx512 : er_qdw_row_ref;
}

er_qdw_plane_fn er_qdw_plane_select(void)
{
    return er_cpu_isa() == ER_ISA_AVX512 ? er_qdw_plane_f32_avx512 : er_qdw_plane_f32;
}
