/* Optimized op implementations. Each entry has the same semantics as the reference op of
 * the same name and is tested against it (tests/test_fast_ops.c). */
#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"

const er_op er_ops_fast[] = {
    { "Conv", NULL, er_conv_fast_infer, er_conv_fast_run, 0, er_conv_fast_prepare, er_conv_fast_release },
    { "FusedConv", ER_FUSED_DOMAIN, er_fused_conv_fast_infer, er_conv_fast_run, 0, er_conv_fast_prepare,
      er_conv_fast_release },
    { "MaxPool", NULL, er_nn_maxpool_infer, er_maxpool_fast_run, 0, NULL, NULL },
    { NULL, NULL, NULL, NULL, 0, NULL, NULL },
};
