/* Layout ops that cancel or chain: Transpose after Transpose becomes one Transpose with the
 * composed permutation, or nothing when that is the identity (as is a lone identity
 * Transpose); Reshape after Reshape becomes the second Reshape of the first's input, since a
 * reshape's result depends only on its input's element count and the target shape. The
 * first node of a pair must have no other reader; a removed node's output must not be a
 * graph output (its name must survive). */
#include <string.h>

#include "passes/passes.h"

/* Points every reader of `from` at `to`. */
static void forward(er_graph *g, int from, int to)
{
    for (int j = 0; j < g->n_nodes; j++) {
        if (!g->nodes[j].op_type) continue;
        for (int k = 0; k < g->nodes[j].n_in; k++)
            if (g->nodes[j].in[k] == from) g->nodes[j].in[k] = to;
    }
}

static bool identity_perm(const int64_t *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] != i) return false;
    return true;
}

/* 1 when Transpose node ti merged into its producer or vanished; 0 if not; -1 on OOM. */
static int transpose_at(er_graph *g, int ti)
{
    er_node *t = &g->nodes[ti];
    int n = 0, n1 = 0;
    const int64_t *perm = er_attr_ints(t, "perm", &n);
    if (t->n_in != 1 || t->n_out != 1 || !perm) return 0;
    int pi = er_producer(g, t->in[0]);
    const er_node *p = pi >= 0 ? &g->nodes[pi] : NULL;
    const int64_t *p1 = p && er_node_is(p, "Transpose") ? er_attr_ints(p, "perm", &n1) : NULL;
    int merged = 0;
    if (p1 && n1 == n && er_only_reader(g, t->in[0]) == ti) {
        int64_t *c = er_pool_alloc(&g->pool, sizeof(int64_t) * (size_t)n);
        er_attr *a = er_pool_alloc(&g->pool, sizeof(er_attr));
        if (!c || !a) return -1;
        for (int j = 0; j < n; j++) {
            if (perm[j] < 0 || perm[j] >= n) return 0;
            c[j] = p1[perm[j]];
        }
        *a = (er_attr){ .name = "perm", .type = ER_ATTR_INTS, .n = n, .ints = c };
        t->in[0] = p->in[0];
        t->attrs = a;
        t->n_attrs = 1;
        g->nodes[pi].op_type = NULL;
        perm = c;
        merged = 1;
    }
    if (identity_perm(perm, n) && !er_value_is_graph_output(g, t->out[0])) {
        forward(g, t->out[0], t->in[0]);
        t->op_type = NULL;
        return 1;
    }
    return merged;
}

/* A Reshape whose shape is a constant without 0 entries (0 copies the input's dim, which a
 * merge would change) unless allowzero is set. */
static bool fixed_reshape(const er_graph *g, const er_node *r)
{
    if (r->n_in != 2 || r->in[1] < 0) return false;
    const er_const *c = g->values[r->in[1]].init;
    if (!c || c->dtype != ER_I64) return false;
    if (er_attr_int(r, "allowzero", 0)) return true;
    const int64_t *d = c->data;
    for (size_t i = 0; i < c->nbytes / sizeof(int64_t); i++)
        if (d[i] == 0) return false;
    return true;
}

static int reshape_at(er_graph *g, int ri)
{
    er_node *r = &g->nodes[ri];
    if (!fixed_reshape(g, r)) return 0;
    int pi = er_producer(g, r->in[0]);
    if (pi < 0 || !er_node_is(&g->nodes[pi], "Reshape") || er_only_reader(g, r->in[0]) != ri) return 0;
    r->in[0] = g->nodes[pi].in[0];
    g->nodes[pi].op_type = NULL;
    return 1;
}

int er_pass_eliminate_layout(er_graph *g)
{
    int removed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        int r = 0;
        if (er_node_is(&g->nodes[i], "Transpose")) r = transpose_at(g, i);
        else if (er_node_is(&g->nodes[i], "Reshape")) r = reshape_at(g, i);
        if (r < 0) return -1;
        removed += r;
    }
    er_graph_compact(g);
    return removed;
}
