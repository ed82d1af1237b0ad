/* Int8 depthwise 2-D convolution (QLinearConv with group = C_in = C_out), direct: each
 * channel plane is copied once into a buffer padded with the input zero point, then every
 * output row sums kh x kw taps of that buffer. Products of uint8 inputs and int8 weights
 * summed over at most ER_QDW_MAX_TAPS taps stay below 2^24, so the AVX-512 kernel
 * accumulates them exactly in float FMA lanes. Requantization matches qgemm.h:
 *   y = clamp(round_even((float)(acc + bias) * mult) + zp). */
#ifndef ER_BACKEND_CPU_QDWCONV_H
#define ER_BACKEND_CPU_QDWCONV_H

#include <stdbool.h>
#include <stdint.h>

#define ER_QDW_MAX_TAPS 512

typedef struct er_qdw_row {
    const uint8_t *x;         /* padded plane at the first input row of this output row */
    const float *xf;          /* the same rows from er_qdw_plane_f32 (SIMD kernel, stride <= 2) */
    int64_t pw;               /* padded row width in elements */
    const int8_t *w;          /* [kh][kw] */
    int kh, kw, stride;       /* stride: along the row */
    int sh;                   /* stride between output rows, in input rows */
    int64_t ow;               /* outputs in the row */
    int32_t bias;             /* includes -x_zp * sum(w) */
    float mult, zp;
    bool is_signed;           /* int8 output (else uint8) */
    void *y;
    int64_t rows;             /* output rows: row t reads from t * sh * pw on, writes y + t * ow */
} er_qdw_row;

/* Reads up to ER_QDW_SLACK bytes past the last tap of a row: pad the plane buffer. */
#define ER_QDW_SLACK 128

/* The padded plane [ph][pw] as float, converted once instead of once per tap. At stride 2
 * each row holds its even columns, then from (pw + 1) / 2 its odd ones, so every tap of
 * an output row reads consecutive floats. */
void er_qdw_plane_f32(const uint8_t *x, int64_t ph, int64_t pw, int stride, float *dst);
void er_qdw_plane_f32_avx512(const uint8_t *x, int64_t ph, int64_t pw, int stride, float *dst);
typedef void (*er_qdw_plane_fn)(const uint8_t *x, int64_t ph, int64_t pw, int stride, float *dst);
er_qdw_plane_fn er_qdw_plane_select(void);

void er_qdw_row_ref(const er_qdw_row *r);
void er_qdw_row_avx512(const er_qdw_row *r);
typedef void (*er_qdw_row_fn)(const er_qdw_row *r);
er_qdw_row_fn er_qdw_row_select(void);

#endif
