/* Reference implementations of the fused ops the fusion passes create (domain "edgerun"):
 * the unfused reference kernel followed by the plain epilogue, so graphs rewritten by the
 * passes still run with EDGERUN_ISA=ref and tests have an oracle for the fast versions. */
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"
#include "backend/cpu/transformer.h"

static const struct {
    er_act act;
    const char *name;
} act_names[] = {
    { ER_ACT_RELU, "Relu" },       { ER_ACT_CLIP, "Clip" },       { ER_ACT_LEAKY_RELU, "LeakyRelu" },
    { ER_ACT_SIGMOID, "Sigmoid" }, { ER_ACT_SILU, "Silu" },       { ER_ACT_HARDSWISH, "HardSwish" },
    { ER_ACT_GELU, "Gelu" },
};

const char *er_act_name(er_act act)
{
    for (size_t i = 0; i < ER_ARRAY_LEN(act_names); i++)
        if (act_names[i].act == act) return act_names[i].name;
    return NULL;
}

er_act er_act_from_name(const char *name)
{
    for (size_t i = 0; name && i < ER_ARRAY_LEN(act_names); i++)
        if (strcmp(act_names[i].name, name) == 0) return act_names[i].act;
    return ER_ACT_NONE;
}

er_status er_fused_act(er_kctx *ctx, er_act *act, float *alpha, float *beta)
{
    const char *name = er_attr_str(ctx->node, "activation", "");
    *act = er_act_from_name(name);
    if (name[0] && *act == ER_ACT_NONE)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "unknown fused activation '%s'", name);
    *alpha = er_attr_float(ctx->node, "alpha", 0.0f);
    *beta = er_attr_float(ctx->node, "beta", 0.0f);
    return ER_OK;
}

void er_act_residual_apply(er_act act, float alpha, float beta, float *y, const float *r, int64_t n)
{
    if (r)
        for (int64_t i = 0; i < n; i++) y[i] += r[i];
    switch (act) {
    case ER_ACT_NONE: return;
    case ER_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] > 0 ? y[i] : 0;
        return;
    case ER_ACT_CLIP:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < alpha ? alpha : y[i] > beta ? beta : y[i];
        return;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = er_act_apply(act, y[i], alpha, beta);
        return;
    }
}

void er_add_act_broadcast(er_act act, float alpha, float beta, const er_tensor *c, const er_tensor *z, er_tensor *y)
{
    int64_t cs[ER_MAX_DIMS], zs[ER_MAX_DIMS], idx[ER_MAX_DIMS] = { 0 };
    er_broadcast_strides(c->dims, c->ndim, y->dims, y->ndim, cs);
    er_broadcast_strides(z->dims, z->ndim, y->dims, y->ndim, zs);
    float *yd = y->data;
    const float *cd = c->data, *zd = z->data;
    int64_t n = er_tensor_numel(y), oc = 0, oz = 0;
    for (int64_t i = 0; i < n; i++) {
        yd[i] = er_act_apply(act, cd[oc] + zd[oz], alpha, beta);
        for (int d = y->ndim - 1; d >= 0; d--) {
            oc += cs[d];
            oz += zs[d];
            if (++idx[d] < y->dims[d]) break;
            oc -= cs[d] * y->dims[d];
            oz -= zs[d] * y->dims[d];
            idx[d] = 0;
        }
    }
}

size_t er_fused_conv_temp_bytes(const er_tensor *conv, const er_tensor *y)
{
    if (er_shape_equal(conv->dims, conv->ndim, y->dims, y->ndim)) return 0;
    return (er_tensor_nbytes(conv) + ER_ALIGN - 1) & ~(size_t)(ER_ALIGN - 1);
}

er_status er_fused_conv_shapes(er_kctx *ctx, er_tensor **in, int n_in, er_tensor *conv, er_tensor *y)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 4);
    if (st != ER_OK) return st;
    memset(conv, 0, sizeof *conv);
    er_tensor *outs[1] = { conv };
    if ((st = er_nn_conv_infer(ctx, in, ER_MIN(n_in, 3), outs, 1)) != ER_OK) return st;
    er_act act;
    float alpha, beta;
    if ((st = er_fused_act(ctx, &act, &alpha, &beta)) != ER_OK) return st;
    const er_tensor *z = n_in > 3 ? in[3] : NULL;
    if (!z) {
        er_tensor_set_shape(y, ER_F32, conv->dims, conv->ndim);
        return ER_OK;
    }
    if (z->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "residual input is %s; expected float32", er_dtype_name(z->dtype));
    int64_t dims[ER_MAX_DIMS];
    int nd;
    if ((st = er_broadcast_shape(ctx, conv->dims, conv->ndim, z->dims, z->ndim, dims, &nd)) != ER_OK) return st;
    er_tensor_set_shape(y, ER_F32, dims, nd);
    return ER_OK;
}

er_status er_fused_conv_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_tensor conv;
    er_status st = er_fused_conv_shapes(ctx, in, n_in, &conv, out[0]);
    if (st == ER_OK) ctx->workspace_bytes += er_fused_conv_temp_bytes(&conv, out[0]);
    return st;
}

er_status er_fused_conv_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_act act;
    float alpha, beta;
    er_tensor conv;
    er_status st = er_fused_act(ctx, &act, &alpha, &beta);
    if (st == ER_OK) st = er_fused_conv_shapes(ctx, in, n_in, &conv, out[0]);
    if (st != ER_OK) return st;
    const er_tensor *z = n_in > 3 ? in[3] : NULL;
    size_t temp = er_fused_conv_temp_bytes(&conv, out[0]);
    er_kctx inner = *ctx;
    conv.data = temp ? ctx->workspace : out[0]->data;
    inner.workspace = temp ? (char *)ctx->workspace + temp : ctx->workspace;
    inner.workspace_bytes = ctx->workspace_bytes - temp;
    er_tensor *co[1] = { &conv };
    if ((st = er_nn_conv_run(&inner, in, ER_MIN(n_in, 3), co, 1)) != ER_OK) return st;
    if (z && (temp || !er_shape_equal(z->dims, z->ndim, out[0]->dims, out[0]->ndim)))
        er_add_act_broadcast(act, alpha, beta, &conv, z, out[0]);
    else
        er_act_residual_apply(act, alpha, beta, out[0]->data, z ? z->data : NULL, er_tensor_numel(out[0]));
    return ER_OK;
}

/* The MatMul's own result shape (mm) and the fused output's (y: mm broadcast with Z). */
er_status er_fused_matmul_shapes(er_kctx *ctx, er_tensor **in, int n_in, er_tensor *mm, er_tensor *y)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 4);
    memset(mm, 0, sizeof *mm);
    er_tensor *outs[1] = { mm };
    if (st == ER_OK) st = er_nn_matmul_infer(ctx, in, 2, outs, 1);
    if (st != ER_OK) return st;
    er_act act;
    float alpha, beta;
    if ((st = er_fused_act(ctx, &act, &alpha, &beta)) != ER_OK) return st;
    const er_tensor *b = n_in > 2 ? in[2] : NULL, *z = n_in > 3 ? in[3] : NULL;
    if (mm->dtype != ER_F32) return er_op_fail(ctx, ER_ERR_DTYPE, "only float32 is supported");
    int64_t n = mm->ndim ? mm->dims[mm->ndim - 1] : 1;
    if (b && (b->dtype != ER_F32 || b->ndim != 1 || b->dims[0] != n))
        return er_op_fail(ctx, ER_ERR_SHAPE, "bias must be a float32 vector of %lld values", (long long)n);
    if (!z) {
        er_tensor_set_shape(y, ER_F32, mm->dims, mm->ndim);
        return ER_OK;
    }
    if (z->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "residual input is %s; expected float32", er_dtype_name(z->dtype));
    int64_t dims[ER_MAX_DIMS];
    int nd;
    if ((st = er_broadcast_shape(ctx, mm->dims, mm->ndim, z->dims, z->ndim, dims, &nd)) != ER_OK) return st;
    er_tensor_set_shape(y, ER_F32, dims, nd);
    return ER_OK;
}

er_status er_fused_matmul_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_tensor mm;
    er_status st = er_fused_matmul_shapes(ctx, in, n_in, &mm, out[0]);
    if (st == ER_OK) ctx->workspace_bytes = er_fused_conv_temp_bytes(&mm, out[0]);
    return st;
}

er_status er_fused_matmul_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_act act;
    float alpha, beta;
    er_tensor mm;
    er_status st = er_fused_act(ctx, &act, &alpha, &beta);
    if (st == ER_OK) st = er_fused_matmul_shapes(ctx, in, n_in, &mm, out[0]);
    if (st != ER_OK) return st;
    size_t temp = er_fused_conv_temp_bytes(&mm, out[0]);
    mm.data = temp ? ctx->workspace : out[0]->data;
    er_tensor *mo[1] = { &mm };
    if ((st = er_nn_matmul_run(ctx, in, 2, mo, 1)) != ER_OK) return st;
    const er_tensor *b = n_in > 2 ? in[2] : NULL, *z = n_in > 3 ? in[3] : NULL;
    float *y = mm.data;
    int64_t n = mm.ndim ? mm.dims[mm.ndim - 1] : 1, total = er_tensor_numel(&mm);
    for (int64_t r = 0; b && n > 0 && r < total; r += n)
        for (int64_t j = 0; j < n; j++) y[r + j] += ((const float *)b->data)[j];
    if (z) er_add_act_broadcast(act, alpha, beta, &mm, z, out[0]);
    else er_act_residual_apply(act, alpha, beta, y, NULL, total);
    return ER_OK;
}

const er_op er_ops_fused_ref[] = {
    { "FusedConv", ER_FUSED_DOMAIN, er_fused_conv_infer, er_fused_conv_run_ref, 0, NULL, NULL },
    { "FusedMatMul", ER_FUSED_DOMAIN, er_fused_matmul_infer, er_fused_matmul_run_ref, 0, NULL, NULL },
    /* ONNX since opset 20; the GELU fusion creates it from the erf pattern at any opset. */
    { "Gelu", NULL, er_gelu_infer, er_gelu_run_ref, 0, NULL, NULL },
    { "Attention", ER_FUSED_DOMAIN, er_attention_infer, er_attention_run_ref, 0, NULL, NULL },
    { NULL, NULL, NULL, NULL, 0, NULL, NULL },
};
