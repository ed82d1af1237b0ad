/* Conv → BatchNormalization (inference) becomes one Conv with rescaled weights and bias:
 *   s = scale / sqrt(var + eps);  W'[o] = W[o] * s[o];  B'[o] = (B[o] - mean[o]) * s[o] + bias[o]
 * Only when every parameter is an f32 initializer and the Conv output feeds the BN alone. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "passes/passes.h"

static const er_const *f32_init(const er_graph *g, const er_node *n, int k)
{
    if (k >= n->n_in || n->in[k] < 0) return NULL;
    const er_const *c = g->values[n->in[k]].init;
    return c && c->dtype == ER_F32 ? c : NULL;
}

static int new_const(er_graph *g, const char *base, const char *suffix, const int64_t *dims, int ndim, float **data)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    while (er_graph_find_value(g, name) >= 0 && strlen(name) + 2 < sizeof name) strcat(name, "_");
    int v = er_graph_add_value(g, name);
    if (v < 0) return -1;
    er_const *c = er_pool_alloc(&g->pool, sizeof *c);
    int64_t n = er_shape_numel(dims, ndim);
    *data = er_pool_alloc(&g->pool, (size_t)n * sizeof(float));
    if (!c || !*data) return -1;
    c->dtype = ER_F32;
    c->ndim = ndim;
    for (int i = 0; i < ndim; i++) c->dims[i] = dims[i];
    c->data = *data;
    c->nbytes = (size_t)n * sizeof(float);
    er_value *val = &g->values[v];
    val->init = c;
    val->dtype = ER_F32;
    val->ndim = ndim;
    for (int i = 0; i < ndim; i++) val->dims[i] = dims[i];
    return v;
}

static int producer_of(const er_graph *g, int v)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; g->nodes[i].op_type && k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] == v) return i;
    return -1;
}

int er_pass_fold_batchnorm(er_graph *g)
{
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        er_node *bn = &g->nodes[i];
        if (!bn->op_type || strcmp(bn->op_type, "BatchNormalization") != 0 || bn->domain[0]) continue;
        if (bn->n_in != 5 || bn->in[0] < 0 || er_attr_int(bn, "training_mode", 0)) continue;
        bool extra_out = false;
        for (int k = 1; k < bn->n_out; k++) extra_out |= bn->out[k] >= 0;
        if (extra_out) continue;
        int ci = producer_of(g, bn->in[0]);
        if (ci < 0) continue;
        /* Re-fetch after possible reallocation below. */
        er_node *conv = &g->nodes[ci];
        if (strcmp(conv->op_type, "Conv") != 0 || conv->domain[0]) continue;
        if (er_value_use_count(g, bn->in[0]) != 1) continue;
        const er_const *w = f32_init(g, conv, 1), *b = f32_init(g, conv, 2);
        const er_const *scale = f32_init(g, bn, 1), *bias = f32_init(g, bn, 2);
        const er_const *mean = f32_init(g, bn, 3), *var = f32_init(g, bn, 4);
        if (!w || !scale || !bias || !mean || !var || (conv->n_in > 2 && conv->in[2] >= 0 && !b)) continue;
        if (w->ndim < 3) continue;
        int64_t oc = w->dims[0];
        if (scale->nbytes != (size_t)oc * 4 || bias->nbytes != (size_t)oc * 4 ||
            mean->nbytes != (size_t)oc * 4 || var->nbytes != (size_t)oc * 4 || (b && b->nbytes != (size_t)oc * 4))
            continue;
        float eps = er_attr_float(bn, "epsilon", 1e-5f);
        const char *base = g->values[conv->in[1]].name;
        float *nw, *nb;
        int wv = new_const(g, base, "_bnfold", w->dims, w->ndim, &nw);
        int64_t bd[1] = { oc };
        int bv = wv < 0 ? -1 : new_const(g, base, "_bnfold_bias", bd, 1, &nb);
        if (wv < 0 || bv < 0) return -1;
        int64_t per = er_shape_numel(w->dims, w->ndim) / oc;
        const float *W = w->data, *S = scale->data, *Bi = bias->data, *M = mean->data, *V = var->data;
        const float *B0 = b ? b->data : NULL;
        for (int64_t o = 0; o < oc; o++) {
            float s = S[o] / sqrtf(V[o] + eps);
            for (int64_t j = 0; j < per; j++) nw[o * per + j] = W[o * per + j] * s;
            nb[o] = ((B0 ? B0[o] : 0.0f) - M[o]) * s + Bi[o];
        }
        if (conv->n_in < 3) {
            int *in = er_pool_alloc(&g->pool, sizeof(int) * 3);
            if (!in) return -1;
            in[0] = conv->in[0];
            in[2] = -1;
            conv->in = in;
            conv->n_in = 3;
        }
        conv->in[1] = wv;
        conv->in[2] = bv;
        conv->out[0] = bn->out[0];
        bn->op_type = NULL;
        folded++;
    }
    er_graph_compact(g);
    return folded;
}
