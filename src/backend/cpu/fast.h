/* Shared pieces of the optimized ops (ops_fast.c) and the fused ops that the fusion passes
 * create in the "edgerun" domain. */
#ifndef ER_BACKEND_CPU_FAST_H
#define ER_BACKEND_CPU_FAST_H

#include "backend/cpu/gemm.h"
#include "backend/cpu/op.h"

#define ER_FUSED_DOMAIN "edgerun"

/* Fused ops carry their activation as attributes: activation (string, see er_act_name),
 * alpha and beta (Clip bounds, LeakyRelu slope). */
er_status er_fused_act(er_kctx *ctx, er_act *act, float *alpha, float *beta);
/* ONNX op type of an activation ("Relu", "Clip", ...); NULL for ER_ACT_NONE. */
const char *er_act_name(er_act act);
er_act er_act_from_name(const char *name);

/* Applies residual (may be NULL) and activation in place to n floats: y = act(y + r). */
void er_act_residual_apply(er_act act, float alpha, float beta, float *y, const float *r, int64_t n);

/* edgerun.FusedConv: Conv(X, W, B) + Z (optional residual of the output's shape), then the
 * activation. Inputs X, W, [B], [Z]. */
er_status er_fused_conv_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_fused_conv_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* Fast Conv / FusedConv (conv_fast.c). */
er_status er_conv_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_fused_conv_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_conv_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                               void **state);
void er_conv_fast_release(void *state);
er_status er_conv_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* im2col B-panel gatherers for er_sgemm, AVX-512 and portable builds (im2col_impl.h). */
void er_pack_im2col_avx512(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst);
void er_pack_im2col_ref(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst);

/* Direct stride-1 conv tile (conv_direct_avx512.c): 12 output channels × nr ≤ 32 pixels, B row k
 * read at x + off[k]. */
void er_conv_direct_ukernel_avx512(int kc, const float *a, const float *x, const int32_t *off, float *c,
                                   size_t ldc, int mr, int nr, bool accumulate);

/* Depthwise 2-D convolution of one channel plane (depthwise*.c): y = x * k + bias. */
typedef struct er_dw_geom {
    int ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
} er_dw_geom;
typedef void (*er_dw_plane_fn)(const er_dw_geom *g, const float *x, const float *k, float bias,
                               float *y);
void er_dw_plane_ref(const er_dw_geom *g, const float *x, const float *k, float bias, float *y);
void er_dw_plane_avx2(const er_dw_geom *g, const float *x, const float *k, float bias, float *y);
void er_dw_plane_avx512(const er_dw_geom *g, const float *x, const float *k, float bias, float *y);
er_dw_plane_fn er_dw_plane_select(void);

/* MatMul and Gemm (matmul_fast.c). */
er_status er_matmul_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_matmul_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                                 void **state);
er_status er_matmul_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gemm_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gemm_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                               void **state);
er_status er_gemm_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
void er_matmul_fast_release(void *state);

/* Erf, Softmax, Pow (eltwise_fast.c) and their per-ISA kernels. */
void er_ew_erf_avx2(const float *x, float *y, int64_t n);
void er_ew_erf_avx512(const float *x, float *y, int64_t n);
void er_ew_softmax_avx2(const float *x, float *y, int64_t rows, int64_t cols);
void er_ew_softmax_avx512(const float *x, float *y, int64_t rows, int64_t cols);
er_status er_erf_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_erf_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_softmax_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_softmax_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_pow_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_pow_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* Nearest-neighbour Resize by integer factors (resize_fast.c). */
er_status er_resize_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* MaxPool (pool_fast.c); planes share the depthwise geometry struct. */
typedef void (*er_maxpool_plane_fn)(const er_dw_geom *g, const float *x, float *y);
void er_maxpool_plane_avx512(const er_dw_geom *g, const float *x, float *y);
er_status er_maxpool_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
