/* Single-precision GEMM with packed panels: C[M×N] = A[M×K] · B[K×N] (+ epilogue).
 *
 * A is packed once (for conv and Gemm/MatMul with constant weights, at session creation)
 * into K-blocks of MR-row panels; B is packed per call, block by block, into per-thread
 * scratch through a callback, so convolution can gather its im2col columns straight into
 * the panel layout without materialising the im2col matrix. MR×NR register tiles come from
 * the micro-kernel chosen at run time (AVX-512 12×32, AVX2 6×16, portable C 4×8). */
#ifndef ER_BACKEND_CPU_GEMM_H
#define ER_BACKEND_CPU_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/common.h"
#include "core/cpu.h"
#include "core/threadpool.h"

#define ER_GEMM_KC 256

typedef enum er_act {
    ER_ACT_NONE = 0,
    ER_ACT_RELU,
    ER_ACT_CLIP,        /* min(max(x, alpha), beta) */
    ER_ACT_LEAKY_RELU,  /* alpha */
    ER_ACT_SIGMOID,
    ER_ACT_SILU,        /* x * sigmoid(x) */
    ER_ACT_HARDSWISH,
    ER_ACT_GELU         /* exact erf form */
} er_act;

typedef struct er_gemm_epilogue {
    const float *bias_m;     /* per row of C, or NULL */
    const float *bias_n;     /* per column of C, or NULL */
    const float *residual;   /* added after bias, before activation; NULL if none */
    int ld_residual;
    er_act act;
    float alpha, beta;
} er_gemm_epilogue;

/* Computes acc[MR×NR] = sum_k a[k*MR + i] * b[k*ldb + j] and stores (accumulate: adds)
 * the top-left mr×nr corner into c with row stride ldc. ldb is NR for packed panels; a
 * full panel may also be read straight from a row-major B (any ldb, no alignment). */
typedef void (*er_sgemm_ukernel_fn)(int kc, const float *a, const float *b, int ldb, float *c, int ldc,
                                    int mr, int nr, bool accumulate);

typedef struct er_sgemm_kernel {
    int mr, nr;
    er_sgemm_ukernel_fn ukernel;
    er_isa isa;
} er_sgemm_kernel;

/* The best kernel for this CPU (honours EDGERUN_ISA). */
const er_sgemm_kernel *er_sgemm_kernel_select(void);
const er_sgemm_kernel *er_sgemm_kernel_for(er_isa isa);

/* Packed A: floats needed, and packing from row-major A (or A transposed: A[k*lda + m]). */
size_t er_sgemm_packed_a_floats(const er_sgemm_kernel *k, int M, int K);
void er_sgemm_pack_a(const er_sgemm_kernel *k, const float *A, int lda, bool trans_a, int M,
                     int K, float *packed);

/* Writes rows [k0, k0+kc) and columns [n0, n0+nr) of B into dst as kc rows of NR floats
 * (columns past nr must be zero). */
typedef void (*er_pack_b_fn)(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst);

/* B through a packing callback, or already packed (packed != NULL, pack unused): for each
 * K-block k0 of ER_GEMM_KC rows, every NR-column panel as kc rows of NR floats, at
 * packed + k0·n_panels·NR + panel·kc·NR (er_sgemm_pack_b writes this layout). */
typedef struct er_sgemm_b {
    er_pack_b_fn pack;
    void *ctx;
    const float *packed;
    /* Optional: B is also row-major at rows (row stride ldb). With few rows of A, full panels
     * are then read in place: the micro-kernel reuses each panel only M/MR times, too few
     * to pay for copying it (a 16-channel 1×1 conv spent as long packing as multiplying). */
    const float *rows;
    int ldb;
} er_sgemm_b;

/* Packs all of B (pack and ctx as in er_sgemm_b) into the prepacked layout above;
 * er_sgemm_packed_b_floats(k, K, N) floats. */
size_t er_sgemm_packed_b_floats(const er_sgemm_kernel *k, int K, int N);
void er_sgemm_pack_b(const er_sgemm_kernel *k, er_pack_b_fn pack, void *ctx, int K, int N, float *packed);

/* B as a plain matrix: row-major [K×N] with row stride ld, or transposed (B[n*ld + k]). */
typedef struct er_dense_b {
    const float *data;
    int ld;
    bool trans;
} er_dense_b;
void er_pack_b_dense(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst);

/* Scratch floats er_sgemm needs per call for n_threads threads (none with B prepacked). */
size_t er_sgemm_workspace_floats(const er_sgemm_kernel *k, int N, int n_threads);

/* C = packedA · B (+ epilogue). ws: er_sgemm_workspace_floats() floats, 64-byte aligned; may
 * be NULL when B is prepacked. */
void er_sgemm(er_threadpool *pool, const er_sgemm_kernel *k, int M, int N, int K,
              const float *packed_a, const er_sgemm_b *b, float *C, int ldc,
              const er_gemm_epilogue *ep, float *ws);

/* Applies the epilogue to rows [m0, m1) × columns [n0, n1) of C. */
void er_gemm_epilogue_apply(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1,
                            int n0, int n1);

float er_act_apply(er_act act, float x, float alpha, float beta);

/* Vectorized epilogue builds (epilogue*.c); er_sgemm uses the one matching its kernel. */
typedef void (*er_gemm_epilogue_fn)(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1,
                                    int n0, int n1);
er_gemm_epilogue_fn er_gemm_epilogue_for(er_isa isa);
void er_gemm_epilogue_ref(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0, int n1);
void er_gemm_epilogue_avx2(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0, int n1);
void er_gemm_epilogue_avx512(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0, int n1);

/* Portable reference micro-kernel and per-ISA ones (only call those the CPU supports). */
void er_sgemm_ukernel_ref(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int mr,
                          int nr, bool accumulate);
void er_sgemm_ukernel_avx2(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int mr,
                           int nr, bool accumulate);
void er_sgemm_ukernel_avx512(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int mr,
                             int nr, bool accumulate);

#endif
