/* Optimized op implementations. Each entry has the same semantics as the reference op of
 * the same name and is tested against it (tests/test_fast_ops.c). */
#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"
#include "backend/cpu/transformer.h"

const er_op er_ops_fast[] = {
    { "Conv", NULL, er_conv_fast_infer, er_conv_fast_run, ER_OP_STATE_HOLDS_CONSTANTS, er_conv_fast_prepare, er_conv_fast_release },
    { "FusedConv", ER_FUSED_DOMAIN, er_fused_conv_fast_infer, er_conv_fast_run, ER_OP_STATE_HOLDS_CONSTANTS, er_conv_fast_prepare,
      er_conv_fast_release },
    { "FusedMatMul", ER_FUSED_DOMAIN, er_fused_matmul_fast_infer, er_fused_matmul_fast_run, ER_OP_STATE_HOLDS_CONSTANTS,
      er_fused_matmul_fast_prepare, er_mm_state_free },
    { "MaxPool", NULL, er_nn_maxpool_infer, er_maxpool_fast_run, 0, NULL, NULL },
    { "AveragePool", NULL, er_nn_avgpool_infer, er_avgpool_fast_run, 0, NULL, NULL },
    { "MatMul", NULL, er_matmul_fast_infer, er_matmul_fast_run, ER_OP_STATE_HOLDS_CONSTANTS, er_matmul_fast_prepare, er_mm_state_free },
    { "Gemm", NULL, er_gemm_fast_infer, er_gemm_fast_run, ER_OP_STATE_HOLDS_CONSTANTS, er_gemm_fast_prepare, er_mm_state_free },
    { "Gelu", NULL, er_gelu_infer, er_gelu_run_fast, 0, NULL, NULL },
    { "LayerNormalization", NULL, er_nn_layernorm_infer, er_layernorm_run_fast, 0, NULL, NULL },
    { "Attention", ER_FUSED_DOMAIN, er_attention_fast_infer, er_attention_run_fast, 0, NULL, NULL },
    { "Erf", NULL, er_erf_fast_infer, er_erf_fast_run, 0, NULL, NULL },
    { "Softmax", NULL, er_softmax_fast_infer, er_softmax_fast_run, 0, NULL, NULL },
    { "Pow", NULL, er_pow_fast_infer, er_pow_fast_run, 0, NULL, NULL },
    { "Resize", NULL, er_nn_resize_infer, er_resize_fast_run, 0, NULL, NULL },
    { "ConvTranspose", NULL, er_convt_fast_infer, er_convt_fast_run, 0, er_convt_fast_prepare, er_convt_fast_release },
    { "Add", NULL, er_fast_ref_infer, er_binary_fast_run, 0, NULL, NULL },
    { "Sub", NULL, er_fast_ref_infer, er_binary_fast_run, 0, NULL, NULL },
    { "Mul", NULL, er_fast_ref_infer, er_binary_fast_run, 0, NULL, NULL },
    { "Div", NULL, er_fast_ref_infer, er_binary_fast_run, 0, NULL, NULL },
    { "GlobalAveragePool", NULL, er_nn_global_pool_infer, er_gap_fast_run, 0, NULL, NULL },
    { "Sigmoid", NULL, er_fast_ref_infer, er_sigmoid_fast_run, 0, NULL, NULL },
    { NULL, NULL, NULL, NULL, 0, NULL, NULL },
};
