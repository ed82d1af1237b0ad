/* Kernels of transformer encoders: GELU (erf form), and the ops the transformer fusion passes
 * create. Each AVX-512 kernel has a portable reference of the same algorithm beside it
 * (gelu.c) that tests compare it with. */
#ifndef ER_BACKEND_CPU_TRANSFORMER_H
#define ER_BACKEND_CPU_TRANSFORMER_H

#include "backend/cpu/op.h"

/* erf by Abramowitz–Stegun 7.1.26 with a polynomial exp: |error| ≤ 7e-7 (the formula's 1.5e-7
 * plus float rounding; tests/test_transformer_kernels.c measures it against erf and erff). */
float er_erf_ref(float x);
void er_erf_avx512(const float *x, float *y, int64_t n);

/* y = x · ½ · (1 + erf(x/√2)) over n floats; y may equal x. */
typedef void (*er_gelu_fn)(const float *x, float *y, int64_t n);
void er_gelu_ref(const float *x, float *y, int64_t n);
void er_gelu_avx512(const float *x, float *y, int64_t n);
/* The fastest GELU this CPU runs (honours EDGERUN_ISA). */
er_gelu_fn er_gelu_select(void);

/* ONNX Gelu (opset 20): approximate = "none" (erf) or "tanh". */
er_status er_gelu_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gelu_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gelu_run_fast(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* One softmax row in place: x = softmax(x·scale + mask), mask (n floats) may be NULL. */
typedef void (*er_softmax_row_fn)(float *x, const float *mask, float scale, int n);
void er_softmax_row_ref(float *x, const float *mask, float scale, int n);
void er_softmax_row_avx512(float *x, const float *mask, float scale, int n);

/* One LayerNormalization row: y = (x − mean)/√(var + eps)·γ + β, β may be NULL. */
typedef void (*er_layernorm_row_fn)(const float *x, const float *gamma, const float *beta, float eps, int n, float *y);
void er_layernorm_row_ref(const float *x, const float *gamma, const float *beta, float eps, int n, float *y);
void er_layernorm_row_avx512(const float *x, const float *gamma, const float *beta, float eps, int n, float *y);
/* LayerNormalization (infer: the reference's); see layernorm.c for the shapes it speeds up. */
er_status er_layernorm_run_fast(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

/* dst[i·cols + j] = src[i·rs + j·cs] with AVX-512 (register transposes when rs = 1, else
 * gathers); cs·15 must fit in int32. */
void er_gather_cols_avx512(const float *src, int64_t rows, int64_t cols, int64_t rs, int64_t cs, float *dst);

/* edgerun.Attention(Q, K, V [, mask]) = Transpose(softmax(Q'·K'·scale + mask)·V', out_perm)
 * with Q' = Transpose(Q, q_perm) [..., Sq, D], K' = Transpose(K, k_perm) [..., D, Sk] (the
 * MatMul's right operand, keys already transposed), V' = Transpose(V, v_perm) [..., Sk, Dv].
 * Q, K and V have one rank (3 or 4); leading (batch, head) dims and the mask broadcast. The
 * kernels read Q, K and V through strides, so the transposes are never materialised. */
er_status er_attention_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_attention_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_attention_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_attention_run_fast(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
