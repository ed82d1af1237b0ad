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

/* The VNNI form (AVX-512 VNNI + VBMI): vpdpbusd sums 4 u8 x s8 products into an int32 lane,
 * so one instruction covers 4 taps of a kernel row for 16 outputs, the integer sum exact.
 * Outputs of a plane are walked in blocks of up to 16 consecutive (row-major) positions
 * whose inputs lie in one 64-byte span of the padded plane: a 64-byte load and a vpermb
 * with the block's index table give each lane its 4 taps. Small planes thereby fill the
 * lanes across output rows. The plan (blocks and their distinct tables) depends on the
 * geometry only and is built once. */
typedef struct er_qdw_block {
    int32_t off;              /* padded-plane offset of the first lane's first tap */
    uint16_t tab;             /* index table */
    uint8_t n;                /* lanes used */
} er_qdw_block;

typedef struct er_qdw_plan {
    int64_t pw;
    int kh, kq;               /* kernel rows; 4-tap words per kernel row */
    int64_t n_blocks;
    er_qdw_block *blocks;
    int n_tabs;
    uint8_t (*tabs)[64];
} er_qdw_plan;

#define ER_QDW_VNNI_MAX_WORDS 32  /* kh * kq */

/* False when out of memory or the geometry does not fit the VNNI form (kernel rows wider
 * than 8 taps, or more than ER_QDW_VNNI_MAX_WORDS words). */
bool er_qdw_plan_init(er_qdw_plan *p, int64_t oh, int64_t ow, int sh, int sw, int kh, int kw, int64_t pw);
void er_qdw_plan_free(er_qdw_plan *p);
/* Weights [kh][kw] as kh x kq int32 words of 4 taps, zero past kw. */
void er_qdw_pack_w(const int8_t *w, int kh, int kw, int32_t *dst);

typedef struct er_qdw_req {
    int32_t bias;             /* includes -x_zp * sum(w) */
    float mult;
    int32_t zp;
    bool is_signed;
} er_qdw_req;

/* One channel: x the padded plane (with ER_QDW_SLACK bytes after it), w from
 * er_qdw_pack_w, y the [oh][ow] output plane. */
void er_qdw_plane_avx512vnni(const er_qdw_plan *p, const uint8_t *x, const int32_t *w, const er_qdw_req *q, void *y);
/* Whether the CPU (and EDGERUN_ISA) allow er_qdw_plane_avx512vnni. */
bool er_qdw_vnni_usable(void);

/* Channel plane x [ih][iw] into dst [ph][pw] at row pt, column pl, the border filled with
 * zp; every byte XORed with flip inside (0x80 reads int8 as uint8 + 128). Writes all of
 * [0, ph * pw) and, the SIMD version, up to 63 bytes past it (unspecified values). */
void er_qdw_pad(const uint8_t *x, int64_t ih, int64_t iw, int64_t pt, int64_t pl, int64_t ph, int64_t pw, uint8_t zp,
                uint8_t flip, uint8_t *dst);
void er_qdw_pad_avx512(const uint8_t *x, int64_t ih, int64_t iw, int64_t pt, int64_t pl, int64_t ph, int64_t pw,
                       uint8_t zp, uint8_t flip, uint8_t *dst);
typedef void (*er_qdw_pad_fn)(const uint8_t *x, int64_t ih, int64_t iw, int64_t pt, int64_t pl, int64_t ph, int64_t pw,
                              uint8_t zp, uint8_t flip, uint8_t *dst);
er_qdw_pad_fn er_qdw_pad_select(void);

#endif
