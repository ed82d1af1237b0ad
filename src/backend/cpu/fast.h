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

/* MaxPool (pool_fast.c); planes share the depthwise geometry struct. */
typedef void (*er_maxpool_plane_fn)(const er_dw_geom *g, const float *x, float *y);
void er_maxpool_plane_avx512(const er_dw_geom *g, const float *x, float *y);
er_status er_maxpool_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
