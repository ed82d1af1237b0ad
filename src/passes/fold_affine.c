/* Conv → Mul(per-channel constant) → Add(per-channel constant), as exporters write an
 * inference BatchNorm or a scale-and-shift (paddle2onnx does), folds into the Conv's weights
 * and bias: W'[o] = W[o]·s[o], B'[o] = B[o]·s[o] + t[o]. The constant must be a scalar or hold
 * one value per output channel laid out along axis 1 of the 4-D output ([M,1,1] or [1,M,1,1]),
 * and the Conv output must feed the Mul or Add alone. */
#include <stdio.h>
#include <string.h>

#include "passes/passes.h"

static bool is_op(const er_node *n, const char *op)
{
    return n->op_type && strcmp(n->op_type, op) == 0 && (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static const er_const *f32_const(const er_graph *g, int v)
{
    const er_const *c = v >= 0 ? g->values[v].init : NULL;
    return c && c->dtype == ER_F32 ? c : NULL;
}

/* Per-channel values of c for m channels (scalar broadcast); NULL if c is not such a constant. */
static bool channel_values(const er_const *c, int64_t m, const float **v, bool *scalar)
{
    int64_t n = er_shape_numel(c->dims, c->ndim);
    *v = c->data;
    *scalar = n == 1;
    if (n == 1) return true;
    if (n != m) return false;
    if (c->ndim == 3) return c->dims[0] == m;
    if (c->ndim == 4) return c->dims[0] == 1 && c->dims[1] == m;
    return false;
}

static int new_f32(er_graph *g, const char *base, const char *suffix, const int64_t *dims, int nd, float **data)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    while (er_graph_find_value(g, name) >= 0 && strlen(name) + 2 < sizeof name) strcat(name, "_");
    int v = er_graph_add_value(g, name);
    er_const *c = er_pool_alloc(&g->pool, sizeof *c);
    int64_t n = er_shape_numel(dims, nd);
    *data = er_pool_alloc(&g->pool, sizeof(float) * (size_t)(n ? n : 1));
    if (v < 0 || !c || !*data) return -1;
    c->dtype = ER_F32;
    c->ndim = nd;
    memcpy(c->dims, dims, sizeof(int64_t) * (size_t)nd);
    c->data = *data;
    c->nbytes = sizeof(float) * (size_t)n;
    er_value *val = &g->values[v];
    val->init = c;
    val->dtype = ER_F32;
    val->ndim = nd;
    memcpy(val->dims, dims, sizeof(int64_t) * (size_t)nd);
    return v;
}

/* The node reading v, if exactly one node does and v is not a graph output; else -1. */
static int sole_reader(const er_graph *g, int v)
{
    if (er_value_is_graph_output(g, v)) return -1;
    int found = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op_type) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) {
                if (found >= 0 && found != i) return -1;
                found = i;
            }
    }
    return found;
}

/* Folds the Mul or Add node r (reading conv's output) into conv; 1 on success, 0 when it
 * does not apply, -1 on OOM. */
static int fold_one(er_graph *g, er_node *conv, er_node *r)
{
    bool mul = is_op(r, "Mul");
    if ((!mul && !is_op(r, "Add")) || r->n_in != 2 || r->n_out != 1) return 0;
    int y = conv->out[0], other = r->in[0] == y ? r->in[1] : r->in[0];
    const er_const *c = f32_const(g, other), *w = f32_const(g, conv->in[1]);
    const er_const *b = conv->n_in > 2 && conv->in[2] >= 0 ? f32_const(g, conv->in[2]) : NULL;
    if (!c || !w || w->ndim != 4 || (conv->n_in > 2 && conv->in[2] >= 0 && !b) || r->in[0] == r->in[1]) return 0;
    int64_t m = w->dims[0], per = er_shape_numel(w->dims, w->ndim) / m;
    const float *cv;
    bool scalar;
    if (!channel_values(c, m, &cv, &scalar)) return 0;
    const char *base = g->values[conv->in[1]].name;
    int64_t bd[1] = { m };
    float *nb, *nw = NULL;
    int bv = new_f32(g, base, "_affine_bias", bd, 1, &nb);
    int wv = mul ? new_f32(g, base, "_affine", w->dims, w->ndim, &nw) : conv->in[1];
    if (bv < 0 || wv < 0) return -1;
    const float *W = w->data, *B = b ? b->data : NULL;
    for (int64_t o = 0; o < m; o++) {
        float s = cv[scalar ? 0 : o], b0 = B ? B[o] : 0.0f;
        nb[o] = mul ? b0 * s : b0 + s;
        for (int64_t j = 0; mul && j < per; j++) nw[o * per + j] = W[o * per + j] * s;
    }
    if (conv->n_in < 3) {
        int *in = er_pool_alloc(&g->pool, sizeof(int) * 3);
        if (!in) return -1;
        in[0] = conv->in[0];
        conv->in = in;
        conv->n_in = 3;
    }
    conv->in[1] = wv;
    conv->in[2] = bv;
    conv->out[0] = r->out[0];
    r->op_type = NULL;
    return 1;
}

int er_pass_fold_conv_affine(er_graph *g)
{
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!is_op(&g->nodes[i], "Conv") || g->nodes[i].n_out != 1 || g->nodes[i].out[0] < 0) continue;
        int r;
        while ((r = sole_reader(g, g->nodes[i].out[0])) >= 0) {
            int st = fold_one(g, &g->nodes[i], &g->nodes[r]);
            if (st < 0) return -1;
            if (st == 0) break;
            folded++;
        }
    }
    er_graph_compact(g);
    return folded;
}
