/* Scaled dot-product attention as exporters write it,
 *   MatMul(Q', K') [· or / scalar] [+ mask] → Softmax(last axis) → MatMul(·, V') [→ Transpose]
 * with Q', K', V' each a Transpose (optionally then scaled by a scalar) of a rank-3 or rank-4
 * tensor, becomes one edgerun.Attention(Q, K, V [, mask]) that keeps the permutations as
 * attributes and reads its inputs through strides (no transposed copies), and writes the
 * final Transpose's layout directly. Every absorbed value must have no other reader. */
#include <string.h>

#include "backend/cpu/fast.h"
#include "passes/passes.h"

typedef struct att_match {
    int dead[12], n_dead;      /* at most 10: Add, scale, 2 MatMuls, a Transpose and a scale per input */
    int q, k, v, mask;
    const int64_t *perm[4];    /* q, k, v, out (out NULL: none) */
    int rank;
    float scale;
} att_match;

static void kill(att_match *m, int node) { m->dead[m->n_dead++] = node; }

/* v = Mul/Div(x, c) with c a float scalar and v read only by `reader`: x, and the factor
 * folded into *scale. -1 when v is not such a product. */
static int peel_scalar(const er_graph *g, int v, int reader, att_match *m)
{
    int p = er_producer(g, v);
    if (p < 0 || er_only_reader(g, v) != reader || g->nodes[p].n_in != 2) return -1;
    const er_node *n = &g->nodes[p];
    float c;
    if (er_node_is(n, "Div") && er_const_scalar(g, n->in[1], &c) && c != 0.0f) {
        m->scale /= c;
    } else if (er_node_is(n, "Mul") && er_const_scalar(g, n->in[1], &c)) {
        m->scale *= c;
    } else if (er_node_is(n, "Mul") && er_const_scalar(g, n->in[0], &c)) {
        m->scale *= c;
        kill(m, p);
        return n->in[1];
    } else {
        return -1;
    }
    kill(m, p);
    return n->in[0];
}

/* The input of the Transpose writing v (read only by `reader`), after an optional scalar
 * factor between them; its perm in *perm. -1 when v is not that. */
static int transposed_input(const er_graph *g, int v, int reader, att_match *m, const int64_t **perm)
{
    int p = er_producer(g, v);
    if (p >= 0 && !er_node_is(&g->nodes[p], "Transpose")) {
        int x = peel_scalar(g, v, reader, m);
        if (x < 0) return -1;
        reader = m->dead[m->n_dead - 1];
        v = x;
        p = er_producer(g, v);
    }
    if (p < 0 || !er_node_is(&g->nodes[p], "Transpose") || er_only_reader(g, v) != reader) return -1;
    int n = 0;
    *perm = er_attr_ints(&g->nodes[p], "perm", &n);
    if (!*perm || (n != 3 && n != 4) || (m->rank && n != m->rank)) return -1;
    m->rank = n;
    kill(m, p);
    return g->nodes[p].in[0];
}

/* Walks back from the Softmax's input: [Add mask] ← [scalar factor] ← MatMul(Q', K'). */
static bool match_scores(const er_graph *g, int si, att_match *m)
{
    int v = g->nodes[si].in[0], reader = si;
    int p = er_producer(g, v);
    if (p >= 0 && er_node_is(&g->nodes[p], "Add") && g->nodes[p].n_in == 2 && er_only_reader(g, v) == si) {
        const er_node *a = &g->nodes[p];
        for (int side = 0; side < 2; side++) {
            int q = er_producer(g, a->in[side]);
            if (q >= 0 && (er_node_is(&g->nodes[q], "MatMul") || er_node_is(&g->nodes[q], "Mul") ||
                           er_node_is(&g->nodes[q], "Div"))) {
                m->mask = a->in[1 - side];
                v = a->in[side];
                break;
            }
        }
        if (m->mask < 0) return false;
        kill(m, p);
        reader = p;
    }
    p = er_producer(g, v);
    if (p >= 0 && !er_node_is(&g->nodes[p], "MatMul")) {
        if ((v = peel_scalar(g, v, reader, m)) < 0) return false;
        reader = m->dead[m->n_dead - 1];
        p = er_producer(g, v);
    }
    if (p < 0 || !er_node_is(&g->nodes[p], "MatMul") || g->nodes[p].n_in != 2 || er_only_reader(g, v) != reader)
        return false;
    kill(m, p);
    const er_node *mm = &g->nodes[p];
    m->q = transposed_input(g, mm->in[0], p, m, &m->perm[0]);
    m->k = m->q < 0 ? -1 : transposed_input(g, mm->in[1], p, m, &m->perm[1]);
    return m->k >= 0;
}

static bool softmax_last_axis(const er_graph *g, const er_node *sm, int rank)
{
    int64_t axis = er_attr_int(sm, "axis", er_graph_opset(g, "") >= 13 ? -1 : 1);
    return sm->n_in == 1 && (axis == -1 || axis == rank - 1);
}

static er_attr ints_attr(er_graph *g, const char *name, const int64_t *v, int n, bool *ok)
{
    int64_t *copy = er_pool_alloc(&g->pool, sizeof(int64_t) * (size_t)n);
    if (!copy) *ok = false;
    else memcpy(copy, v, sizeof(int64_t) * (size_t)n);
    return (er_attr){ .name = name, .type = ER_ATTR_INTS, .n = n, .ints = copy };
}

/* Turns node `at` into the Attention node; -1 on allocation failure. */
static int rewrite(er_graph *g, int at, const att_match *m, int out)
{
    static const char *names[4] = { "q_perm", "k_perm", "v_perm", "out_perm" };
    int n_in = m->mask >= 0 ? 4 : 3, n_attrs = 0;
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 4);
    er_attr *a = er_pool_alloc(&g->pool, sizeof(er_attr) * 5);
    bool ok = in && a;
    for (int i = 0; ok && i < 4; i++)
        if (m->perm[i]) a[n_attrs++] = ints_attr(g, names[i], m->perm[i], m->rank, &ok);
    if (!ok) return -1;
    a[n_attrs++] = (er_attr){ .name = "scale", .type = ER_ATTR_FLOAT, .f = m->scale };
    in[0] = m->q;
    in[1] = m->k;
    in[2] = m->v;
    in[3] = m->mask;
    er_node *n = &g->nodes[at];
    n->op_type = "Attention";
    n->domain = ER_FUSED_DOMAIN;
    n->in = in;
    n->n_in = n_in;
    n->attrs = a;
    n->n_attrs = n_attrs;
    n->out[0] = out;
    n->n_out = 1;
    return 0;
}

/* 1 when the Softmax node si is the middle of an attention, rewritten; 0 if not; -1 on OOM. */
static int fuse_at(er_graph *g, int si)
{
    att_match m;
    memset(&m, 0, sizeof m);
    m.mask = -1;
    m.scale = 1.0f;
    const er_node *sm = &g->nodes[si];
    if (sm->n_out != 1 || !match_scores(g, si, &m) || !softmax_last_axis(g, sm, m.rank)) return 0;
    int m2 = er_only_reader(g, sm->out[0]);
    if (m2 < 0 || !er_node_is(&g->nodes[m2], "MatMul") || g->nodes[m2].n_in != 2 || g->nodes[m2].in[0] != sm->out[0])
        return 0;
    if ((m.v = transposed_input(g, g->nodes[m2].in[1], m2, &m, &m.perm[2])) < 0) return 0;
    int out = g->nodes[m2].out[0], at = m2;
    int t = er_only_reader(g, out);
    if (t >= 0 && er_node_is(&g->nodes[t], "Transpose")) {
        int n = 0;
        const int64_t *perm = er_attr_ints(&g->nodes[t], "perm", &n);
        if (perm && n == m.rank) {
            m.perm[3] = perm;
            out = g->nodes[t].out[0];
            kill(&m, m2);
            at = t;
        }
    }
    for (int i = 0; i < m.n_dead; i++) g->nodes[m.dead[i]].op_type = NULL;
    g->nodes[si].op_type = NULL;
    return rewrite(g, at, &m, out) < 0 ? -1 : 1;
}

int er_pass_fuse_attention(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!er_node_is(&g->nodes[i], "Softmax")) continue;
        int r = fuse_at(g, i);
        if (r < 0) return -1;
        fused += r;
    }
    er_graph_compact(g);
    return fused;
}
