#include "backend/cpu/ref/nn.h"

#define NN_OP(op, fn) { .name = op, .infer = er_nn_##fn##_infer, .run = er_nn_##fn##_run }

const er_op er_ops_nn[] = {
    NN_OP("Conv", conv),
    NN_OP("ConvTranspose", convt),
    NN_OP("MaxPool", maxpool),
    NN_OP("AveragePool", avgpool),
    NN_OP("LpPool", lppool),
    { .name = "GlobalAveragePool", .infer = er_nn_global_pool_infer, .run = er_nn_global_avgpool_run },
    { .name = "GlobalMaxPool", .infer = er_nn_global_pool_infer, .run = er_nn_global_maxpool_run },
    { .name = "GlobalLpPool", .infer = er_nn_global_pool_infer, .run = er_nn_global_lppool_run },
    NN_OP("BatchNormalization", batchnorm),
    NN_OP("InstanceNormalization", instnorm),
    NN_OP("LayerNormalization", layernorm),
    NN_OP("GroupNormalization", groupnorm),
    NN_OP("Gemm", gemm),
    NN_OP("MatMul", matmul),
    NN_OP("Resize", resize),
    { .name = "Upsample", .infer = er_nn_resize_infer, .run = er_nn_resize_run },
    NN_OP("NonMaxSuppression", nms),
    NN_OP("DepthToSpace", d2s),
    NN_OP("SpaceToDepth", s2d),
    { .name = NULL },
};
