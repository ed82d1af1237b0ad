/* LayerNormalization over the last axis as torch exports it below opset 17:
 *   m = ReduceMean(x, [-1]); d = x - m; v = ReduceMean(d^2, [-1]);
 *   y = d / Sqrt(v + eps) · γ + β
 * (d^2 as Pow(d, 2) or Mul(d, d)) becomes one LayerNormalization(x, γ, β). γ and β must be
 * constant vectors (β may be absent) and every intermediate value read only inside the
 * pattern. */
#include <string.h>

#include "passes/passes.h"

/* The node writing v when it is op with n_in inputs (any count if n_in < 0), else -1. */
static int producer_of(const er_graph *g, int v, const char *op, int n_in)
{
    int p = er_producer(g, v);
    return p >= 0 && er_node_is(&g->nodes[p], op) && (n_in < 0 || g->nodes[p].n_in == n_in) ? p : -1;
}

/* A ReduceMean over the last axis only, keeping dims. */
static bool mean_last_axis(const er_graph *g, const er_node *n)
{
    if (er_attr_int(n, "keepdims", 1) != 1) return false;
    int na = 0;
    const int64_t *axes = er_attr_ints(n, "axes", &na);
    if (n->n_in > 1 && n->in[1] >= 0) {
        const er_const *c = g->values[n->in[1]].init;
        if (!c || c->dtype != ER_I64 || c->nbytes != sizeof(int64_t)) return false;
        axes = c->data;
        na = 1;
    }
    if (na != 1 || !axes) return false;
    const er_value *x = &g->values[n->in[0]];
    return axes[0] == -1 || (x->ndim > 0 && axes[0] == x->ndim - 1);
}

/* The other operand of binary node n, which reads v. */
static int other(const er_node *n, int v) { return n->in[0] == v ? n->in[1] : n->in[0]; }

/* A constant f32 vector (rank 1) of n values, n unknown (0) allowed. */
static bool const_vector(const er_graph *g, int v, int64_t n)
{
    const er_const *c = v >= 0 ? g->values[v].init : NULL;
    return c && c->dtype == ER_F32 && c->ndim == 1 && (n <= 0 || c->dims[0] == n);
}

/* Whether v is d² of the pattern: Pow(d, 2) or Mul(d, d); the node in *sq. */
static bool square_of(const er_graph *g, int v, int d, int *sq)
{
    int p = er_producer(g, v);
    if (p < 0) return false;
    const er_node *n = &g->nodes[p];
    *sq = p;
    if (er_node_is(n, "Pow") && n->n_in == 2) return n->in[0] == d && er_const_scalar_near(g, n->in[1], 2.0f, 0);
    return er_node_is(n, "Mul") && n->n_in == 2 && n->in[0] == d && n->in[1] == d;
}

/* d's readers are exactly the square node and the Div. */
static bool d_read_only_by(const er_graph *g, int d, int sq, int div)
{
    if (er_value_is_graph_output(g, d)) return false;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op_type || i == sq || i == div) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == d) return false;
    }
    return true;
}

static int add_attrs(er_graph *g, er_node *n, float eps)
{
    er_attr *a = er_pool_alloc(&g->pool, sizeof(er_attr) * 2);
    if (!a) return -1;
    a[0] = (er_attr){ .name = "axis", .type = ER_ATTR_INT, .i = -1 };
    a[1] = (er_attr){ .name = "epsilon", .type = ER_ATTR_FLOAT, .f = eps };
    n->attrs = a;
    n->n_attrs = 2;
    return 0;
}

/* The node reading v (its only reader) when it is op with a constant vector as its other
 * operand; the vector in *c. */
static int affine_reader(const er_graph *g, int v, const char *op, int *c)
{
    int r = er_only_reader(g, v);
    if (r < 0 || !er_node_is(&g->nodes[r], op) || g->nodes[r].n_in != 2) return -1;
    *c = other(&g->nodes[r], v);
    return const_vector(g, *c, 0) ? r : -1;
}

/* Matches the pattern around Div node di; the nodes it spans in nodes[0..8] (β's Add may be
 * -1), x, γ, β and eps in the out arguments. */
static bool match(const er_graph *g, int di, int nodes[9], int *x, int *gamma, int *beta, float *eps)
{
    const er_node *div = &g->nodes[di];
    int d = div->in[0];
    int si = producer_of(g, div->in[1], "Sqrt", 1);
    if (si < 0 || er_only_reader(g, div->in[1]) != di) return false;
    int ei = producer_of(g, g->nodes[si].in[0], "Add", 2);
    if (ei < 0 || er_only_reader(g, g->nodes[si].in[0]) != si) return false;
    const er_node *ea = &g->nodes[ei];
    int k = er_const_scalar(g, ea->in[1], eps) ? 0 : er_const_scalar(g, ea->in[0], eps) ? 1 : -1;
    if (k < 0) return false;
    int vi = producer_of(g, ea->in[k], "ReduceMean", -1), sq;
    if (vi < 0 || er_only_reader(g, ea->in[k]) != ei || !mean_last_axis(g, &g->nodes[vi])) return false;
    int p = g->nodes[vi].in[0];
    if (!square_of(g, p, d, &sq) || er_only_reader(g, p) != vi) return false;
    int sub = producer_of(g, d, "Sub", 2);
    if (sub < 0 || !d_read_only_by(g, d, sq, di)) return false;
    *x = g->nodes[sub].in[0];
    int mean = g->nodes[sub].in[1];
    int mi = producer_of(g, mean, "ReduceMean", -1);
    if (mi < 0 || g->nodes[mi].in[0] != *x || !mean_last_axis(g, &g->nodes[mi]) || er_only_reader(g, mean) != sub)
        return false;
    int gi = affine_reader(g, div->out[0], "Mul", gamma);
    if (gi < 0) return false;
    const er_value *xv = &g->values[*x];
    /* γ broadcasting to more columns than x has would widen the output */
    if (xv->ndim > 0 && xv->dims[xv->ndim - 1] != g->values[*gamma].init->dims[0]) return false;
    int bi = affine_reader(g, g->nodes[gi].out[0], "Add", beta);
    if (bi >= 0 && g->values[*beta].init->dims[0] != g->values[*gamma].init->dims[0]) bi = -1;
    if (bi < 0) *beta = -1;
    int all[9] = { mi, sub, sq, vi, ei, si, di, gi, bi };
    memcpy(nodes, all, sizeof all);
    return true;
}

/* Rewrites the pattern around Div node di; 1 if it matched, 0 if not, -1 on OOM. */
static int fuse_at(er_graph *g, int di)
{
    int nodes[9], x, gamma, beta;
    float eps;
    if (!match(g, di, nodes, &x, &gamma, &beta, &eps)) return 0;
    int last = nodes[8] >= 0 ? nodes[8] : nodes[7];
    er_node *n = &g->nodes[last];
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 3);
    if (!in || add_attrs(g, n, eps) < 0) return -1;
    in[0] = x;
    in[1] = gamma;
    in[2] = beta;
    n->in = in;
    n->n_in = beta >= 0 ? 3 : 2;
    n->op_type = "LayerNormalization";
    n->domain = "";
    for (int k = 0; k < 9; k++)
        if (nodes[k] >= 0 && nodes[k] != last) g->nodes[nodes[k]].op_type = NULL;
    return 1;
}

int er_pass_fuse_layernorm(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!er_node_is(&g->nodes[i], "Div") || g->nodes[i].n_in != 2) continue;
        int r = fuse_at(g, i);
        if (r < 0) return -1;
        fused += r;
    }
    er_graph_compact(g);
    return fused;
}
