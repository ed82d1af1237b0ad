/* Conv → [Add residual] → [activation] becomes one edgerun.FusedConv, so the GEMM epilogue
 * adds the residual and applies the activation while the output tile is still in cache.
 *   Add:        Add(conv, Z) or Add(Z, conv) with Z computed by the graph (not a constant,
 *               which could broadcast); FusedConv checks at planning that Z has the
 *               output's shape.
 *   activation: Relu, Clip (constant bounds), LeakyRelu, Sigmoid, HardSwish, and SiLU as
 *               Mul(conv, Sigmoid(conv)).
 * The conv's output must feed only the fused nodes (and not be a graph output). */
#include <float.h>
#include <string.h>

#include "backend/cpu/gemm.h"
#include "passes/passes.h"

#define FUSED_DOMAIN "edgerun"

static bool is_onnx(const er_node *n, const char *op)
{
    return n->op_type && strcmp(n->op_type, op) == 0 && (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static bool is_conv(const er_node *n)
{
    return is_onnx(n, "Conv") || (n->op_type && strcmp(n->op_type, "FusedConv") == 0 &&
                                  strcmp(n->domain, FUSED_DOMAIN) == 0);
}

/* A scalar float constant input, or def when the input is omitted; false if not constant. */
static bool const_scalar(const er_graph *g, const er_node *n, int k, float def, float *v)
{
    *v = def;
    if (k >= n->n_in || n->in[k] < 0) return true;
    const er_const *c = g->values[n->in[k]].init;
    if (!c || c->dtype != ER_F32 || c->nbytes != sizeof(float)) return false;
    memcpy(v, c->data, sizeof *v);
    return true;
}

/* The activation node c applies to its single input, as an er_act. */
static bool activation_of(const er_graph *g, const er_node *c, er_act *act, float *alpha, float *beta)
{
    *alpha = *beta = 0;
    if (is_onnx(c, "Relu")) *act = ER_ACT_RELU;
    else if (is_onnx(c, "Sigmoid")) *act = ER_ACT_SIGMOID;
    else if (is_onnx(c, "HardSwish")) *act = ER_ACT_HARDSWISH;
    else if (is_onnx(c, "LeakyRelu")) {
        *act = ER_ACT_LEAKY_RELU;
        *alpha = er_attr_float(c, "alpha", 0.01f);
    } else if (is_onnx(c, "Clip")) {
        *act = ER_ACT_CLIP;
        if (c->n_in > 1) {
            if (!const_scalar(g, c, 1, -FLT_MAX, alpha) || !const_scalar(g, c, 2, FLT_MAX, beta)) return false;
        } else {
            *alpha = er_attr_float(c, "min", -FLT_MAX);
            *beta = er_attr_float(c, "max", FLT_MAX);
        }
    } else {
        return false;
    }
    return c->n_in >= 1 && c->n_out >= 1 && c->out[0] >= 0;
}

/* Readers of v among live nodes, up to max; returns the count (graph outputs count as one
 * reader with index -1). */
static int readers(const er_graph *g, int v, int *idx, int max)
{
    int n = 0;
    if (er_value_is_graph_output(g, v)) {
        if (n < max) idx[n] = -1;
        n++;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op_type) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) {
                if (n < max) idx[n] = i;
                n++;
                break;
            }
    }
    return n;
}

/* Turns conv into a FusedConv (if it is not one yet) with room for the residual input and,
 * while it has no activation, for the activation attributes. */
static int make_fused(er_graph *g, er_node *conv)
{
    if (conv->n_in < 4) {
        int *in = er_pool_alloc(&g->pool, sizeof(int) * 4);
        if (!in) return -1;
        for (int k = 0; k < 4; k++) in[k] = k < conv->n_in ? conv->in[k] : -1;
        conv->in = in;
        conv->n_in = 4;
    }
    if (!er_node_attr(conv, "activation")) {
        er_attr *attrs = er_pool_alloc(&g->pool, sizeof(er_attr) * (size_t)(conv->n_attrs + 3));
        if (!attrs) return -1;
        if (conv->n_attrs) memcpy(attrs, conv->attrs, sizeof(er_attr) * (size_t)conv->n_attrs);
        conv->attrs = attrs;
    }
    conv->op_type = "FusedConv";
    conv->domain = FUSED_DOMAIN;
    return 0;
}

/* Call only right after make_fused on a node without an activation (the array has room). */
static void set_activation(er_node *conv, er_act act, float alpha, float beta)
{
    er_attr *a = conv->attrs + conv->n_attrs;
    a[0] = (er_attr){ .name = "activation", .type = ER_ATTR_STRING };
    switch (act) {
    case ER_ACT_RELU: a[0].s = "Relu"; break;
    case ER_ACT_CLIP: a[0].s = "Clip"; break;
    case ER_ACT_LEAKY_RELU: a[0].s = "LeakyRelu"; break;
    case ER_ACT_SIGMOID: a[0].s = "Sigmoid"; break;
    case ER_ACT_SILU: a[0].s = "Silu"; break;
    case ER_ACT_HARDSWISH: a[0].s = "HardSwish"; break;
    case ER_ACT_GELU: a[0].s = "Gelu"; break;
    case ER_ACT_NONE: a[0].s = ""; break;
    }
    a[0].s_len = strlen(a[0].s);
    a[1] = (er_attr){ .name = "alpha", .type = ER_ATTR_FLOAT, .f = alpha };
    a[2] = (er_attr){ .name = "beta", .type = ER_ATTR_FLOAT, .f = beta };
    conv->n_attrs += 3;
}

static bool has_activation(const er_node *conv) { return er_node_attr(conv, "activation") != NULL; }

/* Mul(y, Sigmoid(y)) reading y: the Mul's index, with the Sigmoid's in *sig; -1 if not. */
static int silu_mul(const er_graph *g, int y, const int *r, int nr, int *sig)
{
    if (nr != 2 || r[0] < 0 || r[1] < 0) return -1;
    for (int t = 0; t < 2; t++) {
        const er_node *s = &g->nodes[r[t]], *m = &g->nodes[r[1 - t]];
        if (!is_onnx(s, "Sigmoid") || !is_onnx(m, "Mul") || m->n_in != 2 || s->out[0] < 0) continue;
        bool ok = (m->in[0] == y && m->in[1] == s->out[0]) || (m->in[1] == y && m->in[0] == s->out[0]);
        int rs[2];
        if (ok && readers(g, s->out[0], rs, 2) == 1) {
            *sig = r[t];
            return r[1 - t];
        }
    }
    return -1;
}

/* Tries to absorb the reader(s) of conv's output; 1 on a rewrite, 0 if none, -1 on OOM. */
static int fuse_step(er_graph *g, int ci)
{
    er_node *conv = &g->nodes[ci];
    int y = conv->out[0], r[2];
    if (y < 0) return 0;
    int nr = readers(g, y, r, 2);
    bool act_done = has_activation(conv);
    int sig = -1, mul = act_done ? -1 : silu_mul(g, y, r, nr, &sig);
    if (mul >= 0) {
        if (make_fused(g, conv) < 0) return -1;
        set_activation(conv, ER_ACT_SILU, 0, 0);
        conv->out[0] = g->nodes[mul].out[0];
        g->nodes[mul].op_type = g->nodes[sig].op_type = NULL;
        return 1;
    }
    if (nr != 1 || r[0] < 0) return 0;
    er_node *c = &g->nodes[r[0]];
    er_act act;
    float alpha, beta;
    if (!act_done && activation_of(g, c, &act, &alpha, &beta)) {
        if (make_fused(g, conv) < 0) return -1;
        set_activation(conv, act, alpha, beta);
    } else if (!act_done && is_onnx(c, "Add") && c->n_in == 2 && c->in[0] != c->in[1]) {
        int z = c->in[0] == y ? c->in[1] : c->in[0];
        if (z < 0 || g->values[z].init) return 0;
        if (conv->n_in > 3 && conv->in[3] >= 0) return 0;
        if (make_fused(g, conv) < 0) return -1;
        conv->in[3] = z;
    } else {
        return 0;
    }
    conv->out[0] = c->out[0];
    c->op_type = NULL;
    return 1;
}

int er_pass_fuse_conv(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!is_conv(&g->nodes[i])) continue;
        int r;
        while ((r = fuse_step(g, i)) > 0) fused++;
        if (r < 0) return -1;
    }
    er_graph_compact(g);
    return fused;
}
