/* The exact GELU as exporters without the Gelu op write it, x · 0.5 · (1 + Erf(x / √2)),
 * becomes one Gelu node (approximate = "none"), which the MatMul fusion can then absorb.
 * The argument of Erf may be Div(x, √2) or Mul(x, 1/√2); the three factors x, 0.5 and
 * (1 + Erf) may be multiplied in any order: (x·e)·0.5, (0.5·e)·x or (x·0.5)·e. Every
 * intermediate value must have no other reader. */
#include "passes/passes.h"

#define SQRT2 1.41421356237309505f

/* x when v is Div(x, √2) or Mul(x, 1/√2) (either operand order for Mul); else -1. */
static int erf_argument(const er_graph *g, int v)
{
    int p = er_producer(g, v);
    if (p < 0 || g->nodes[p].n_in != 2) return -1;
    const er_node *n = &g->nodes[p];
    if (er_node_is(n, "Div")) return er_const_scalar_near(g, n->in[1], SQRT2, 1e-5f) ? n->in[0] : -1;
    if (!er_node_is(n, "Mul")) return -1;
    for (int k = 0; k < 2; k++)
        if (er_const_scalar_near(g, n->in[k], 1.0f / SQRT2, 1e-5f)) return n->in[1 - k];
    return -1;
}

/* The Mul node reading v (its only reader); its other operand in *other. */
static int mul_reader(const er_graph *g, int v, int *other)
{
    int r = er_only_reader(g, v);
    if (r < 0 || !er_node_is(&g->nodes[r], "Mul") || g->nodes[r].n_in != 2) return -1;
    const er_node *m = &g->nodes[r];
    if (m->in[0] == m->in[1]) return -1;
    *other = m->in[0] == v ? m->in[1] : m->in[0];
    return r;
}

static bool is_half(const er_graph *g, int v) { return er_const_scalar_near(g, v, 0.5f, 1e-6f); }

/* The last Mul of the product x · 0.5 · e (e = 1 + Erf(...)); the Mul nodes it replaces
 * besides the last in dead[0..1] (-1 where absent). */
static int product_end(const er_graph *g, int x, int e, int dead[2])
{
    int o1, o2;
    int m1 = mul_reader(g, e, &o1);
    dead[0] = dead[1] = -1;
    if (m1 < 0) return -1;
    if (o1 == x || is_half(g, o1)) {
        int m2 = mul_reader(g, g->nodes[m1].out[0], &o2);
        if (m2 < 0 || !(o1 == x ? is_half(g, o2) : o2 == x)) return -1;
        dead[0] = m1;
        return m2;
    }
    int h = er_producer(g, o1);
    if (h < 0 || !er_node_is(&g->nodes[h], "Mul") || g->nodes[h].n_in != 2 || er_only_reader(g, o1) != m1) return -1;
    const er_node *hn = &g->nodes[h];
    if (!((hn->in[0] == x && is_half(g, hn->in[1])) || (hn->in[1] == x && is_half(g, hn->in[0])))) return -1;
    dead[0] = h;
    return m1;
}

/* 1 when the Erf node ei starts a GELU, rewritten; else 0. */
static int fuse_at(er_graph *g, int ei)
{
    er_node *erf = &g->nodes[ei];
    if (erf->n_in != 1 || erf->n_out != 1) return 0;
    int x = erf_argument(g, erf->in[0]);
    int scaled = er_producer(g, erf->in[0]);
    if (x < 0 || er_only_reader(g, erf->in[0]) != ei) return 0;
    int ai = er_only_reader(g, erf->out[0]);
    if (ai < 0 || !er_node_is(&g->nodes[ai], "Add") || g->nodes[ai].n_in != 2) return 0;
    const er_node *add = &g->nodes[ai];
    int one = add->in[0] == erf->out[0] ? add->in[1] : add->in[0];
    if (!er_const_scalar_near(g, one, 1.0f, 1e-6f)) return 0;
    int dead[2];
    int last = product_end(g, x, add->out[0], dead);
    if (last < 0) return 0;
    er_node *n = &g->nodes[last];
    n->op_type = "Gelu";
    n->domain = "";
    n->in[0] = x;
    n->n_in = 1;
    n->n_attrs = 0;
    g->nodes[scaled].op_type = erf->op_type = g->nodes[ai].op_type = NULL;
    for (int k = 0; k < 2; k++)
        if (dead[k] >= 0) g->nodes[dead[k]].op_type = NULL;
    return 1;
}

int er_pass_fuse_gelu(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (er_node_is(&g->nodes[i], "Erf")) fused += fuse_at(g, i);
    er_graph_compact(g);
    return fused;
}
