/* Reference implementations of the fused ops the fusion passes create (domain "edgerun"):
 * the unfused reference kernel followed by the plain epilogue, so graphs rewritten by the
 * passes still run with EDGERUN_ISA=ref and tests have an oracle for the fast versions. */
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"

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

static er_status check_residual(er_kctx *ctx, const er_tensor *z, const er_tensor *y)
{
    if (!z) return ER_OK;
    if (z->dtype != ER_F32 || !er_shape_equal(z->dims, z->ndim, y->dims, y->ndim)) {
        char a[128], b[128];
        return er_op_fail(ctx, ER_ERR_SHAPE, "residual input is %s %s; expected float32 %s",
                          er_dtype_name(z->dtype), er_shape_str(z->dims, z->ndim, a, sizeof a),
                          er_shape_str(y->dims, y->ndim, b, sizeof b));
    }
    return ER_OK;
}

er_status er_fused_conv_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 4);
    if (st != ER_OK) return st;
    if ((st = er_nn_conv_infer(ctx, in, ER_MIN(n_in, 3), out, n_out)) != ER_OK) return st;
    er_act act;
    float alpha, beta;
    if ((st = er_fused_act(ctx, &act, &alpha, &beta)) != ER_OK) return st;
    return check_residual(ctx, n_in > 3 ? in[3] : NULL, out[0]);
}

er_status er_fused_conv_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_nn_conv_run(ctx, in, ER_MIN(n_in, 3), out, n_out);
    if (st != ER_OK) return st;
    er_act act;
    float alpha, beta;
    if ((st = er_fused_act(ctx, &act, &alpha, &beta)) != ER_OK) return st;
    const er_tensor *z = n_in > 3 ? in[3] : NULL;
    er_act_residual_apply(act, alpha, beta, out[0]->data, z ? z->data : NULL, er_tensor_numel(out[0]));
    return ER_OK;
}

const er_op er_ops_fused_ref[] = {
    { "FusedConv", ER_FUSED_DOMAIN, er_fused_conv_infer, er_fused_conv_run_ref, 0, NULL, NULL },
    { NULL, NULL, NULL, NULL, 0, NULL, NULL },
};
