/* Reference kernels of the neural-network op family (the oracle for optimized kernels).
 * Each nn_*.c file implements a few ops; ops_nn.c lists them in er_ops_nn. */
#ifndef ER_BACKEND_CPU_REF_NN_H
#define ER_BACKEND_CPU_REF_NN_H

#include "backend/cpu/op.h"

/* Sliding-window geometry shared by Conv, ConvTranspose and the pools. Spatial ranks up to 3
 * are supported; kernels see every problem as 3-D with leading size-1 dimensions. */
#define ER_NN_MAX_SPATIAL 3

typedef struct er_nn_window {
    int nsp;                                  /* spatial rank as given (1..3) */
    int64_t in[ER_NN_MAX_SPATIAL];            /* the padded-to-3-D view: index 0 is depth */
    int64_t out[ER_NN_MAX_SPATIAL];
    int64_t k[ER_NN_MAX_SPATIAL];
    int64_t stride[ER_NN_MAX_SPATIAL];
    int64_t dil[ER_NN_MAX_SPATIAL];
    int64_t pad0[ER_NN_MAX_SPATIAL];          /* padding before */
    int64_t pad1[ER_NN_MAX_SPATIAL];          /* padding after */
} er_nn_window;

/* Reads strides/dilations/pads/auto_pad of ctx->node for a forward window op (Conv, pools)
 * with spatial input dims in_sp and kernel dims k, and computes the output dims. */
er_status er_nn_window_forward(er_kctx *ctx, const int64_t *in_sp, const int64_t *k, int nsp,
                               bool ceil_mode, er_nn_window *w);

typedef enum { ER_NN_PAD_NOTSET, ER_NN_PAD_SAME_UPPER, ER_NN_PAD_SAME_LOWER, ER_NN_PAD_VALID } er_nn_pad_mode;

er_status er_nn_auto_pad(er_kctx *ctx, er_nn_pad_mode *mode);
/* Reads the pads attribute (absent: zeros) into w->pad0/pad1. */
er_status er_nn_read_pads(er_kctx *ctx, int nsp, er_nn_window *w);
/* Reads an optional list attribute of nsp entries into the 3-D layout (absent: def). */
er_status er_nn_spatial_attr(er_kctx *ctx, const char *name, int nsp, int64_t def, int64_t min, int64_t *dst);

/* Stores v as element i of a float or integer tensor; integers are rounded and saturated. */
void er_nn_store(void *data, er_dtype dt, int64_t i, double v);

/* Reads the strides/dilations attributes (absent: all 1) into 3-D form. */
er_status er_nn_window_attrs(er_kctx *ctx, int nsp, er_nn_window *w);

/* Floor and ceiling of a / b for b > 0 and any sign of a. */
static inline int64_t er_nn_floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline int64_t er_nn_ceil_div(int64_t a, int64_t b) { return -er_nn_floor_div(-a, b); }

/* The source indices i in [0, n_src) whose destination i * s + off lies in [0, n_dst):
 * [*lo, *hi), empty when *lo == *hi. */
void er_nn_valid_range(int64_t n_src, int64_t n_dst, int64_t s, int64_t off, int64_t *lo, int64_t *hi);

/* Parallel loop over [0, n) on ctx->pool. */
void er_nn_parallel(er_kctx *ctx, int64_t n, er_range_fn fn, void *arg);

er_status er_nn_conv_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_conv_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_convt_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_convt_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

er_status er_nn_maxpool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_maxpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_avgpool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_avgpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_lppool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_lppool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_global_pool_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_global_avgpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_global_maxpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_global_lppool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

er_status er_nn_batchnorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_batchnorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_instnorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_instnorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_layernorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_layernorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_groupnorm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_groupnorm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

er_status er_nn_gemm_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_gemm_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_matmul_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_matmul_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

er_status er_nn_resize_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_resize_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

er_status er_nn_nms_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_nms_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

er_status er_nn_d2s_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_d2s_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_s2d_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_nn_s2d_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
