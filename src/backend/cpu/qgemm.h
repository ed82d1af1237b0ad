/* Int8 GEMM with fused requantization: Y[m, n] = requant(sum_k W[m, k] * X[k, n]) for
 * signed 8-bit weights and unsigned 8-bit activations (the u8 x s8 form of vpdpbusd).
 *
 * Layouts: K is padded to a multiple of 4 (k4 = K / 4 groups), padding weights are 0.
 *   W packed [M][k4] as int32 words, each 4 consecutive int8 weights of one row;
 *   X packed [k4][np][4] bytes: for group g and column n, the 4 values X[4g..4g+3, n];
 *   np (columns in the packed X) is N rounded up to a multiple of 16.
 * Requantization per row m: y = sat(round_even((acc + bias[m]) * mult[m]) + zp), in float,
 * identical in every implementation so they agree bit for bit. bias[m] already holds the
 * activation zero-point correction -x_zp * sum_k W[m, k]. */
#ifndef ER_BACKEND_CPU_QGEMM_H
#define ER_BACKEND_CPU_QGEMM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct er_qgemm_out {
    const int32_t *bias;      /* [M] */
    const float *mult;        /* [M] */
    int32_t zp;
    bool is_signed;           /* int8 output (else uint8) */
    void *y;                  /* row m, column n at y[m * ldy + n] */
    int64_t ldy;
} er_qgemm_out;

/* Rows [m0, m1) and columns [n0, n1) (n0 a multiple of 16). */
void er_qgemm_u8s8_ref(const int32_t *w, const uint8_t *x, int64_t k4, int64_t np, int64_t m0, int64_t m1,
                       int64_t n0, int64_t n1, const er_qgemm_out *o);
void er_qgemm_u8s8_avx512vnni(const int32_t *w, const uint8_t *x, int64_t k4, int64_t np, int64_t m0,
                              int64_t m1, int64_t n0, int64_t n1, const er_qgemm_out *o);

typedef void (*er_qgemm_fn)(const int32_t *w, const uint8_t *x, int64_t k4, int64_t np, int64_t m0, int64_t m1,
                            int64_t n0, int64_t n1, const er_qgemm_out *o);
/* The fastest kernel the CPU (and EDGERUN_ISA) allows. */
er_qgemm_fn er_qgemm_select(void);

/* Packs X [K][N] (row stride ldx bytes) into the layout above; pad rows/columns get pad. */
void er_qgemm_pack_x(const uint8_t *x, int64_t ldx, int64_t k, int64_t n, uint8_t pad, uint8_t *dst);
void er_qgemm_pack_x_avx512(const uint8_t *x, int64_t ldx, int64_t k, int64_t n, uint8_t pad, uint8_t *dst);
typedef void (*er_qgemm_pack_fn)(const uint8_t *x, int64_t ldx, int64_t k, int64_t n, uint8_t pad, uint8_t *dst);
er_qgemm_pack_fn er_qgemm_pack_select(void);

/* Packs one K group from 4 source rows, for `rows` output rows of n columns each:
 * dst[(t * n + c) * 4 + j] = r[j][t * step + c * sw] (the implicit im2col of a convolution:
 * each r[j] points into a zero-point-padded input). The SIMD version may read up to 32
 * bytes past the last source byte and writes whole 16-column blocks: up to 60 bytes past
 * the end get unspecified values. */
void er_qgemm_pack4(const uint8_t *const r[4], int64_t sw, int64_t n, int64_t rows, int64_t step, uint8_t *dst);
void er_qgemm_pack4_avx512(const uint8_t *const r[4], int64_t sw, int64_t n, int64_t rows, int64_t step,
                           uint8_t *dst);
typedef void (*er_qgemm_pack4_fn)(const uint8_t *const r[4], int64_t sw, int64_t n, int64_t rows, int64_t step,
                                  uint8_t *dst);
er_qgemm_pack4_fn er_qgemm_pack4_select(void);

/* The same product with X words found through a table instead of the packed layout: the
 * word of K group g, column n is the 4 bytes at x + goff[g] + 4 * n (a stride-1 convolution
 * reads them straight from a 4-channel-interleaved padded input, no im2col). The kernel may
 * read the words of up to 31 columns past n1. */
void er_qgemm_gather_ref(const int32_t *w, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0, int64_t m1,
                         int64_t n0, int64_t n1, const er_qgemm_out *o);
void er_qgemm_gather_avx512vnni(const int32_t *w, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0,
                                int64_t m1, int64_t n0, int64_t n1, const er_qgemm_out *o);
typedef void (*er_qgemm_gather_fn)(const int32_t *w, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0,
                                   int64_t m1, int64_t n0, int64_t n1, const er_qgemm_out *o);
er_qgemm_gather_fn er_qgemm_gather_select(void);

/* The same product with output channels in the lanes, for small N (deep layers' 7x7 and
 * 14x14 planes, where 16-column vectors leave lanes idle): weights packed as
 * wt[M / 16][k4][16] int32 words (er_qgemm_pack_wt) and each packed X word broadcast. Tiles
 * of 32 rows x 8 columns, transposed to rows through byte unpacks before the store. M a
 * multiple of 16; rows [m0, m1) with m0, m1 multiples of 16, any columns [n0, n1). Same
 * requantization, so the results equal er_qgemm_u8s8_ref's bit for bit. */
void er_qgemm_pack_wt(const int32_t *w, int64_t m, int64_t k4, int32_t *wt);
void er_qgemm_t_u8s8_ref(const int32_t *wt, const uint8_t *x, int64_t k4, int64_t np, int64_t m0, int64_t m1,
                         int64_t n0, int64_t n1, const er_qgemm_out *o);
void er_qgemm_t_u8s8_avx512vnni(const int32_t *wt, const uint8_t *x, int64_t k4, int64_t np, int64_t m0, int64_t m1,
                                int64_t n0, int64_t n1, const er_qgemm_out *o);
er_qgemm_fn er_qgemm_t_select(void);

/* Output channels in the lanes, X read in place (no im2col): the output columns are the
 * oh x ow positions of a convolution, the word of K group g at output (t, c) the 4 bytes at
 * x + goff[g] + t * rstep + c * cstep (a 4-channel-interleaved padded input: cstep = 4 *
 * stride, 4 or 8). Weights as er_qgemm_t_*; rows [m0, m1) as there; output column t * ow + c.
 * Tiles are whole output rows or equal parts of them, so a tile's words sit at fixed
 * offsets from one base per k step. Same requantization, same bits as er_qgemm_u8s8_ref. */
typedef struct er_qgemm_conv_geom {
    int64_t oh, ow;
    int64_t rstep, cstep;     /* bytes */
} er_qgemm_conv_geom;

void er_qgemm_t_conv_ref(const int32_t *wt, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0, int64_t m1,
                         const er_qgemm_conv_geom *geo, const er_qgemm_out *o);
void er_qgemm_t_conv_avx512vnni(const int32_t *wt, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0,
                                int64_t m1, const er_qgemm_conv_geom *geo, const er_qgemm_out *o);
typedef void (*er_qgemm_t_conv_fn)(const int32_t *wt, const uint8_t *x, const int64_t *goff, int64_t k4, int64_t m0,
                                   int64_t m1, const er_qgemm_conv_geom *geo, const er_qgemm_out *o);
er_qgemm_t_conv_fn er_qgemm_t_conv_select(void);

#endif
