/* x · Clip(x + 3, 0, 6) / 6 (how exporters without the HardSwish op write it; the last step
 * may also be · (1/6)) becomes one HardSwish node, which the conv fusion can then absorb.
 * The intermediate values must have no other readers. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "passes/passes.h"

static bool is_op(const er_node *n, const char *op)
{
    return n->op_type && strcmp(n->op_type, op) == 0 && (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static bool scalar_is(const er_graph *g, int v, float want)
{
    const er_const *c = v >= 0 ? g->values[v].init : NULL;
    if (!c || c->dtype != ER_F32 || c->nbytes != sizeof(float)) return false;
    float f;
    memcpy(&f, c->data, sizeof f);
    return fabsf(f - want) <= 1e-6f * fabsf(want);
}

/* The only node reading v (not a graph output), or -1. */
static int only_reader(const er_graph *g, int v)
{
    if (v < 0 || er_value_is_graph_output(g, v)) return -1;
    int found = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op_type) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) {
                if (found >= 0) return -1;
                found = i;
            }
    }
    return found;
}

static bool clip_0_6(const er_graph *g, const er_node *c)
{
    if (c->n_in > 1)
        return c->n_in == 3 && scalar_is(g, c->in[1], 0.0f) && scalar_is(g, c->in[2], 6.0f);
    return er_attr_float(c, "min", -FLT_MAX) == 0.0f && er_attr_float(c, "max", FLT_MAX) == 6.0f;
}

static int other_input(const er_node *n, int v) { return n->in[0] == v ? n->in[1] : n->in[0]; }

int er_pass_fuse_hardswish(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        er_node *clip = &g->nodes[i];
        if (!is_op(clip, "Clip") || !clip_0_6(g, clip) || clip->in[0] < 0) continue;
        int ai = -1;
        for (int j = 0; j < g->n_nodes && ai < 0; j++)
            if (g->nodes[j].op_type && g->nodes[j].n_out == 1 && g->nodes[j].out[0] == clip->in[0]) ai = j;
        if (ai < 0 || !is_op(&g->nodes[ai], "Add") || g->nodes[ai].n_in != 2) continue;
        er_node *add = &g->nodes[ai];
        int x = scalar_is(g, add->in[1], 3.0f) ? add->in[0] : scalar_is(g, add->in[0], 3.0f) ? add->in[1] : -1;
        if (x < 0 || only_reader(g, add->out[0]) != i) continue;
        int mi = only_reader(g, clip->out[0]);
        if (mi < 0 || !is_op(&g->nodes[mi], "Mul") || g->nodes[mi].n_in != 2 ||
            other_input(&g->nodes[mi], clip->out[0]) != x)
            continue;
        int di = only_reader(g, g->nodes[mi].out[0]);
        if (di < 0) continue;
        er_node *last = &g->nodes[di];
        int k = other_input(last, g->nodes[mi].out[0]);
        bool div6 = is_op(last, "Div") && last->n_in == 2 && last->in[0] == g->nodes[mi].out[0] && scalar_is(g, k, 6.0f);
        bool mul6 = is_op(last, "Mul") && last->n_in == 2 && scalar_is(g, k, 1.0f / 6.0f);
        if (!div6 && !mul6) continue;
        last->op_type = "HardSwish";
        last->domain = "";
        last->in[0] = x;
        last->n_in = 1;
        last->n_attrs = 0;
        g->nodes[ai].op_type = clip->op_type = g->nodes[mi].op_type = NULL;
        fused++;
    }
    er_graph_compact(g);
    return fused;
}
