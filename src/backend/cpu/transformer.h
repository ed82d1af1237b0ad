/* Kernels of transformer encoders: GELU (erf form), and the ops the transformer fusion passes
 * create. Each AVX-512 kernel has a portable reference of the same algorithm beside it
 * (gelu.c) that tests compare it with. */
#ifndef ER_BACKEND_CPU_TRANSFORMER_H
#define ER_BACKEND_CPU_TRANSFORMER_H

#include "backend/cpu/op.h"

/* erf by Abramowitz–Stegun 7.1.26 with a polynomial exp: |erf_ref(x) − erf(x)| ≤ 5e-7 for
 * every float x (tests/test_passes.c measures it against erff). */
float er_erf_ref(float x);
void er_erf_avx512(const float *x, float *y, int64_t n);

/* y = x · ½ · (1 + erf(x/√2)) over n floats; y may equal x. */
typedef void (*er_gelu_fn)(const float *x, float *y, int64_t n);
void er_gelu_ref(const float *x, float *y, int64_t n);
void er_gelu_avx512(const float *x, float *y, int64_t n);
/* The fastest GELU this CPU runs (honours EDGERUN_ISA). */
er_gelu_fn er_gelu_select(void);
/* er_gelu_select()'s kernel over n floats in place, split over the pool when large. */
void er_gelu_parallel(er_threadpool *pool, float *y, int64_t n);

/* ONNX Gelu (opset 20): approximate = "none" (erf) or "tanh". */
er_status er_gelu_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gelu_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_gelu_run_fast(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
