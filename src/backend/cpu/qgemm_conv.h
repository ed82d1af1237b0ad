/* QLinearConv on the int8 GEMM: per group, im2col of the uint8 input into the packed
 * layout of qgemm.h, a chunk of output columns at a time, each followed by the GEMM with
 * fused requantization. Stride-1 convolutions skip the im2col (the GEMM reads a padded,
 * 4-channel-interleaved copy of the input through a table of offsets), small planes put
 * the output channels in the vector lanes (and read that interleaved copy in place too, no
 * im2col), depthwise ones run the direct kernel of
 * qdwconv.h. prepare packs the weights once (constant weights, zero weight zero points,
 * float32 scales); without a state the op runs its reference kernel. */
#ifndef ER_BACKEND_CPU_QGEMM_CONV_H
#define ER_BACKEND_CPU_QGEMM_CONV_H

#include "backend/cpu/op.h"

er_status er_qconv_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, void **state);
void er_qconv_release(void *state);
er_status er_qconv_run_packed(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
