/* MatMul by a constant 2-D weight W[K×N] → [Add of a constant bias of N values] → [Add of
 * any other value Z (a residual)] → [activation] becomes one edgerun.FusedMatMul(A, W, bias,
 * Z) with the activation as an attribute, so the packed GEMM adds the bias and the residual
 * and applies the activation in its epilogue. Activations: Relu, Sigmoid, LeakyRelu,
 * HardSwish and the exact Gelu. Each absorbed value must be read only by the next node of the
 * chain (and not be a graph output); Z must not be a constant. */
#include <string.h>

#include "backend/cpu/fast.h"
#include "passes/passes.h"

static const er_const *f32_const(const er_graph *g, int v)
{
    const er_const *c = v >= 0 ? g->values[v].init : NULL;
    return c && c->dtype == ER_F32 ? c : NULL;
}

/* The activation applied by node c, if it is one this fusion takes. */
static bool activation_of(const er_node *c, er_act *act, float *alpha)
{
    *alpha = 0;
    if (c->n_in != 1 || c->n_out != 1) return false;
    if (er_node_is(c, "Relu")) *act = ER_ACT_RELU;
    else if (er_node_is(c, "Sigmoid")) *act = ER_ACT_SIGMOID;
    else if (er_node_is(c, "HardSwish")) *act = ER_ACT_HARDSWISH;
    else if (er_node_is(c, "Gelu") && strcmp(er_attr_str(c, "approximate", "none"), "none") == 0) *act = ER_ACT_GELU;
    else if (er_node_is(c, "LeakyRelu")) {
        *act = ER_ACT_LEAKY_RELU;
        *alpha = er_attr_float(c, "alpha", 0.01f);
    } else {
        return false;
    }
    return true;
}

/* The Add reading v (only reader) with a constant bias vector of n values; bias in *b. */
static int bias_add(const er_graph *g, int v, int64_t n, int *b)
{
    int r = er_only_reader(g, v);
    if (r < 0 || !er_node_is(&g->nodes[r], "Add") || g->nodes[r].n_in != 2) return -1;
    const er_node *a = &g->nodes[r];
    *b = a->in[0] == v ? a->in[1] : a->in[0];
    const er_const *c = f32_const(g, *b);
    return c && c->ndim == 1 && c->dims[0] == n ? r : -1;
}

/* The Add reading v (only reader) with a non-constant other operand Z (in *z), or -1. Z
 * cannot be computed from the chain: every value of the chain has one reader, the next
 * node. A constant Z would have to live in the packed state, since FusedMatMul lets the
 * session drop its constant inputs once packed. */
static int residual_add(const er_graph *g, int v, int *z)
{
    int r = er_only_reader(g, v);
    if (r < 0 || !er_node_is(&g->nodes[r], "Add") || g->nodes[r].n_in != 2) return -1;
    const er_node *a = &g->nodes[r];
    *z = a->in[0] == v ? a->in[1] : a->in[0];
    return *z < 0 || *z == v || g->values[*z].init ? -1 : r;
}

static int make_fused(er_graph *g, er_node *mm, int bias, int z, er_act act, float alpha)
{
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 4);
    er_attr *a = er_pool_alloc(&g->pool, sizeof(er_attr) * 2);
    if (!in || !a) return -1;
    in[0] = mm->in[0];
    in[1] = mm->in[1];
    in[2] = bias;
    in[3] = z;
    a[0] = (er_attr){ .name = "activation", .type = ER_ATTR_STRING, .s = act == ER_ACT_NONE ? "" : er_act_name(act) };
    a[0].s_len = strlen(a[0].s);
    a[1] = (er_attr){ .name = "alpha", .type = ER_ATTR_FLOAT, .f = alpha };
    mm->in = in;
    mm->n_in = z >= 0 ? 4 : 3;
    mm->attrs = a;
    mm->n_attrs = 2;
    mm->op_type = "FusedMatMul";
    mm->domain = ER_FUSED_DOMAIN;
    return 0;
}

/* 1 when MatMul node mi absorbed a bias and/or activation, 0 if not, -1 on OOM. */
static int fuse_at(er_graph *g, int mi)
{
    er_node *mm = &g->nodes[mi];
    const er_const *w = mm->n_in == 2 && mm->n_out == 1 ? f32_const(g, mm->in[1]) : NULL;
    if (!w || w->ndim != 2 || mm->in[0] < 0) return 0;
    int y = mm->out[0], bias = -1, z = -1;
    int ai = bias_add(g, y, w->dims[1], &bias), ci;
    if (ai >= 0) y = g->nodes[ai].out[0];
    else bias = -1;
    int ri = residual_add(g, y, &z);
    if (ri >= 0) y = g->nodes[ri].out[0];
    else z = -1;
    er_act act = ER_ACT_NONE;
    float alpha = 0;
    ci = er_only_reader(g, y);
    if (ci >= 0 && !activation_of(&g->nodes[ci], &act, &alpha)) ci = -1;
    if (ai < 0 && ri < 0 && ci < 0) return 0;
    int out = ci >= 0 ? g->nodes[ci].out[0] : y;
    if (make_fused(g, mm, bias, z, act, alpha) < 0) return -1;
    mm->out[0] = out;
    if (ai >= 0) g->nodes[ai].op_type = NULL;
    if (ri >= 0) g->nodes[ri].op_type = NULL;
    if (ci >= 0) g->nodes[ci].op_type = NULL;
    return (ai >= 0) + (ri >= 0) + (ci >= 0);
}

int er_pass_fuse_matmul(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!er_node_is(&g->nodes[i], "MatMul")) continue;
        int r = fuse_at(g, i);
        if (r < 0) return -1;
        fused += r;
    }
    er_graph_compact(g);
    return fused;
}
