/* Int8 matrix product for constant weights, in the orientation of MatMul/Gemm:
 *   Y[r, n] = epilogue(sum_k A[r, k] * W[k, n])
 * with A uint8 activations read in place (row stride lda; an int8 A is read with its sign
 * bit flipped, i.e. as A + 128, and the caller folds the 128 into corr) and W int8 packed
 * once into column panels [np / ER_QMM_NB][k4][ER_QMM_NB][4]: for group g and column n the 4
 * weights W[4g..4g+3, n], zero past K; np is N rounded up to ER_QMM_NB. A panel is one
 * contiguous stream for the kernel's k loop (a [k4][np] layout strides it by np * 4 bytes,
 * which at 1024 columns aliases in L1 and defeats the prefetcher). The AVX-512 VNNI kernel broadcasts 4 activation bytes of
 * a row against 16 columns' packed words per vpdpbusd, so A needs no packing.
 * Epilogue per column n with v = acc + corr[n] (int32), identical in every implementation:
 *   ER_QMM_I32: y = v
 *   ER_QMM_F32: y = fmaf(v, mult[n], add[n])
 *   ER_QMM_U8 / ER_QMM_I8: y = clamp(round_even(fmaf(v, mult[n], add[n])) + zp)
 *   ER_QMM_U8_F32 / ER_QMM_I8_F32: that 8-bit q dequantized again, in float:
 *     y = (q - zp) * ys, then + post[n] when post is set (DequantizeLinear, then Add) */
#ifndef ER_BACKEND_CPU_QGEMM_MM_H
#define ER_BACKEND_CPU_QGEMM_MM_H

#include <stdbool.h>
#include <stdint.h>

#define ER_QMM_NB 64   /* columns per block: the kernel's tile width */

typedef enum { ER_QMM_I32, ER_QMM_F32, ER_QMM_U8, ER_QMM_I8, ER_QMM_U8_F32, ER_QMM_I8_F32 } er_qmm_kind;

typedef struct er_qmm_out {
    er_qmm_kind kind;
    const int32_t *corr;      /* [np] */
    const float *mult, *add;  /* [np]; unused for ER_QMM_I32 */
    float zp;
    float ys;                 /* the *_F32 dequantizing kinds: scale */
    const float *post;        /* the *_F32 dequantizing kinds: [N] added after, or NULL */
    void *y;                  /* row r, column n at y[r * ldy + n] */
    int64_t ldy;
} er_qmm_out;

typedef struct er_qmm_a {
    const uint8_t *a;
    int64_t lda, k;
    uint8_t flip;             /* 0x80 for int8 activations, else 0 */
} er_qmm_a;

int64_t er_qmm_np(int64_t n);
/* W [K][N] (trans: [N][K]) into the packed layout; dst holds (K+3)/4 * np * 4 bytes.
 * *colsum gets sum_k W[k, n] per column (0 past N). */
void er_qmm_pack_w(const int8_t *w, int64_t k, int64_t n, bool trans, int8_t *dst, int32_t *colsum);

typedef void (*er_qmm_fn)(const er_qmm_a *a, const int8_t *wp, int64_t np, int64_t r0, int64_t r1, int64_t n0,
                          int64_t n1, const er_qmm_out *o);
/* Rows [r0, r1), columns [n0, n1) with n0 a multiple of ER_QMM_NB. */
void er_qmm_u8s8_ref(const er_qmm_a *a, const int8_t *wp, int64_t np, int64_t r0, int64_t r1, int64_t n0,
                     int64_t n1, const er_qmm_out *o);
void er_qmm_u8s8_avx512vnni(const er_qmm_a *a, const int8_t *wp, int64_t np, int64_t r0, int64_t r1, int64_t n0,
                            int64_t n1, const er_qmm_out *o);
/* The fastest kernel the CPU (and EDGERUN_ISA) allows. */
er_qmm_fn er_qmm_select(void);

#endif
