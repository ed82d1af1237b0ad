#include "backend/cpu/ref/nn.h"

const er_op er_ops_nn[] = {
    { "Conv", NULL, er_nn_conv_infer, er_nn_conv_run, 0 },
    { "ConvTranspose", NULL, er_nn_convt_infer, er_nn_convt_run, 0 },
    { "MaxPool", NULL, er_nn_maxpool_infer, er_nn_maxpool_run, 0 },
    { "AveragePool", NULL, er_nn_avgpool_infer, er_nn_avgpool_run, 0 },
    { "LpPool", NULL, er_nn_lppool_infer, er_nn_lppool_run, 0 },
    { "GlobalAveragePool", NULL, er_nn_global_pool_infer, er_nn_global_avgpool_run, 0 },
    { "GlobalMaxPool", NULL, er_nn_global_pool_infer, er_nn_global_maxpool_run, 0 },
    { "GlobalLpPool", NULL, er_nn_global_pool_infer, er_nn_global_lppool_run, 0 },
    { "BatchNormalization", NULL, er_nn_batchnorm_infer, er_nn_batchnorm_run, 0 },
    { "InstanceNormalization", NULL, er_nn_instnorm_infer, er_nn_instnorm_run, 0 },
    { "LayerNormalization", NULL, er_nn_layernorm_infer, er_nn_layernorm_run, 0 },
    { "GroupNormalization", NULL, er_nn_groupnorm_infer, er_nn_groupnorm_run, 0 },
    { "Gemm", NULL, er_nn_gemm_infer, er_nn_gemm_run, 0 },
    { "MatMul", NULL, er_nn_matmul_infer, er_nn_matmul_run, 0 },
    { "Resize", NULL, er_nn_resize_infer, er_nn_resize_run, 0 },
    { "Upsample", NULL, er_nn_resize_infer, er_nn_resize_run, 0 },
    { "NonMaxSuppression", NULL, er_nn_nms_infer, er_nn_nms_run, 0 },
    { "DepthToSpace", NULL, er_nn_d2s_infer, er_nn_d2s_run, 0 },
    { "SpaceToDepth", NULL, er_nn_s2d_infer, er_nn_s2d_run, 0 },
    { NULL, NULL, NULL, NULL, 0 },
};
