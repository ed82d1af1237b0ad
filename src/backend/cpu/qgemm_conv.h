/* QLinearConv on the int8 GEMM: per group, im2col of the uint8 input into the packed
 * layout of qgemm.h, then one GEMM with fused requantization. prepare packs the weights
 * once (constant weights, zero weight zero points, float32 scales); without a state the op
 * runs its reference kernel. */
#ifndef ER_BACKEND_CPU_QGEMM_CONV_H
#define ER_BACKEND_CPU_QGEMM_CONV_H

#include "backend/cpu/op.h"

er_status er_qconv_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, void **state);
void er_qconv_release(void *state);
er_status er_qconv_run_packed(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
