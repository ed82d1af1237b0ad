/* QDQ → integer op fusion. A QDQ model spells an int8 convolution as
 *   DequantizeLinear(x_q) ─┐
 *   DequantizeLinear(w_q) ─┼─ Conv ─ [Relu] ─ QuantizeLinear → y_q
 *   DequantizeLinear(b_q) ─┘
 * which runs exactly as QLinearConv(x_q, ..., w_q, ..., y_scale, y_zp, b_q): the float
 * detour only re-expresses the same integers. A Relu in between folds into the output
 * clamp when the output zero point is the bottom of the uint8 range (0). Dequantize nodes
 * left without readers are removed. */
#include <math.h>
#include <string.h>

#include "quant/qdq_fuse.h"

static int producer(const er_graph *g, int v)
{
    if (v < 0) return -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op_type)
            for (int k = 0; k < g->nodes[i].n_out; k++)
                if (g->nodes[i].out[k] == v) return i;
    return -1;
}

/* Nodes reading v (plus one when v is a graph output); *reader gets the last one. */
static int readers(const er_graph *g, int v, int *reader)
{
    int n = 0;
    for (int i = 0; i < g->n_outputs; i++) n += g->outputs[i] == v;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op_type) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) {
                n++;
                *reader = i;
            }
    }
    return n;
}

static bool is_op(const er_node *n, const char *op) { return n->op_type && strcmp(n->op_type, op) == 0 && !n->domain[0]; }

static const er_const *init_of(const er_graph *g, int v) { return v >= 0 ? g->values[v].init : NULL; }

/* A DequantizeLinear with constant scale and zero point (per tensor, or per axis `axis`). */
static int const_dq(const er_graph *g, int v, bool want_const_input, int axis)
{
    int p = producer(g, v);
    if (p < 0 || !is_op(&g->nodes[p], "DequantizeLinear") || g->nodes[p].n_in < 3) return -1;
    const er_node *n = &g->nodes[p];
    const er_const *s = init_of(g, n->in[1]), *z = init_of(g, n->in[2]);
    if (!s || !z || s->dtype != ER_F32) return -1;
    if (want_const_input != (init_of(g, n->in[0]) != NULL)) return -1;
    int64_t ns = (int64_t)(s->nbytes / 4);
    if (ns != 1 && er_attr_int(n, "axis", 1) != axis) return -1;
    return p;
}

static bool scalar_init(const er_graph *g, int v) { const er_const *c = init_of(g, v); return c && c->nbytes <= 4 && c->ndim <= 1; }

/* Bias DQ whose int32 values already use scale x_scale * w_scale and zero point 0. */
static bool bias_matches(const er_graph *g, int dq, float xs, const er_const *ws)
{
    const er_node *n = &g->nodes[dq];
    const er_const *b = init_of(g, n->in[0]), *s = init_of(g, n->in[1]), *z = init_of(g, n->in[2]);
    if (!b || b->dtype != ER_I32 || z->dtype != ER_I32) return false;
    int64_t nb = (int64_t)(s->nbytes / 4), nw = (int64_t)(ws->nbytes / 4);
    for (int64_t i = 0; i < (int64_t)(z->nbytes / 4); i++)
        if (((const int32_t *)z->data)[i] != 0) return false;
    for (int64_t i = 0; i < nb; i++) {
        float want = xs * ((const float *)ws->data)[nw == 1 ? 0 : i];
        if (fabsf(((const float *)s->data)[i] - want) > 1e-6f * want) return false;
    }
    return nb == 1 || nb == nw;
}

static bool fuse_conv(er_graph *g, int ci)
{
    er_node *c = &g->nodes[ci];
    if (!is_op(c, "Conv") || c->n_in < 2 || c->n_out != 1) return false;
    int dx = const_dq(g, c->in[0], false, 1), dw = const_dq(g, c->in[1], true, 0);
    if (dx < 0 || dw < 0 || !scalar_init(g, g->nodes[dx].in[1])) return false;
    const er_const *wq = init_of(g, g->nodes[dw].in[0]);
    if (wq->dtype != ER_I8 || init_of(g, g->nodes[dw].in[2])->dtype != ER_I8) return false;
    int db = -1;
    if (c->n_in > 2 && c->in[2] >= 0) {
        db = const_dq(g, c->in[2], true, 0);
        float xs = *(const float *)init_of(g, g->nodes[dx].in[1])->data;
        if (db < 0 || !bias_matches(g, db, xs, init_of(g, g->nodes[dw].in[1]))) return false;
    }
    int r = -1, relu = -1, v = c->out[0];
    if (readers(g, v, &r) != 1) return false;
    if (is_op(&g->nodes[r], "Relu")) {
        relu = r;
        v = g->nodes[relu].out[0];
        if (readers(g, v, &r) != 1) return false;
    }
    er_node *qn = &g->nodes[r];
    if (!is_op(qn, "QuantizeLinear") || qn->n_in < 3 || !scalar_init(g, qn->in[1]) || !scalar_init(g, qn->in[2]))
        return false;
    const er_const *yz = init_of(g, qn->in[2]);
    if (relu >= 0 && !(yz->dtype == ER_U8 && *(const uint8_t *)yz->data == 0)) return false;
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 9);
    if (!in) return false;
    const er_node *x = &g->nodes[dx], *w = &g->nodes[dw];
    int vals[9] = { x->in[0], x->in[1], x->in[2], w->in[0], w->in[1], w->in[2], qn->in[1], qn->in[2],
                    db >= 0 ? g->nodes[db].in[0] : -1 };
    memcpy(in, vals, sizeof vals);
    c->op_type = "QLinearConv";
    c->in = in;
    c->n_in = db >= 0 ? 9 : 8;
    c->out[0] = qn->out[0];
    qn->op_type = NULL;
    if (relu >= 0) g->nodes[relu].op_type = NULL;
    return true;
}

/* Removes DequantizeLinear nodes nothing reads any more. */
static void drop_unread_dq(er_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        int r;
        if (is_op(&g->nodes[i], "DequantizeLinear") && readers(g, g->nodes[i].out[0], &r) == 0)
            g->nodes[i].op_type = NULL;
    }
}

int er_pass_fuse_qdq(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (fuse_conv(g, i)) fused++;
    if (fused) {
        drop_unread_dq(g);
        int j = 0;
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].op_type) g->nodes[j++] = g->nodes[i];
        g->n_nodes = j;
    }
    return fused;
}
