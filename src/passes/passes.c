#include <math.h>
#include <string.h>

#include "passes/passes.h"
#include "quant/qdq_fuse.h"

bool er_value_is_graph_output(const er_graph *g, int v)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return true;
    return false;
}

int er_value_use_count(const er_graph *g, int v)
{
    int uses = er_value_is_graph_output(g, v) ? 1 : 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op_type) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++) uses += g->nodes[i].in[k] == v;
    }
    return uses;
}

int er_only_reader(const er_graph *g, int v)
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

int er_producer(const er_graph *g, int v)
{
    for (int i = 0; v >= 0 && i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        if (!n->op_type) continue;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] == v) return i;
    }
    return -1;
}

bool er_node_is(const er_node *n, const char *op)
{
    return n->op_type && strcmp(n->op_type, op) == 0 && (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

bool er_const_scalar(const er_graph *g, int v, float *f)
{
    const er_const *c = v >= 0 ? g->values[v].init : NULL;
    if (!c || c->dtype != ER_F32 || c->nbytes != sizeof(float)) return false;
    memcpy(f, c->data, sizeof *f);
    return true;
}

bool er_const_scalar_near(const er_graph *g, int v, float want, float rel)
{
    float f;
    return er_const_scalar(g, v, &f) && fabsf(f - want) <= rel * fabsf(want);
}

void er_graph_compact(er_graph *g)
{
    int j = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op_type) g->nodes[j++] = g->nodes[i];
    g->n_nodes = j;
}

er_status er_optimize(er_graph *g, int level, er_pass_stats *stats, char *err, size_t err_size)
{
    er_pass_stats st;
    memset(&st, 0, sizeof st);
    st.nodes_before = g->n_nodes;
    if (level > 0) {
        int r;
        if ((r = er_pass_constants_to_init(g)) < 0) goto nomem;
        st.constants_moved = r;
        if ((r = er_pass_eliminate_identity(g)) < 0) goto nomem;
        st.identities_removed = r;
        er_pass_fuse_qdq(g);
        if ((r = er_pass_fold_batchnorm(g)) < 0) goto nomem;
        st.bn_folded = r;
        if ((r = er_pass_fold_conv_affine(g)) < 0) goto nomem;
        st.fused = r;
        if ((r = er_pass_fuse_hardswish(g)) < 0) goto nomem;
        st.fused += 3 * r;
        if ((r = er_pass_fuse_conv(g)) < 0) goto nomem;
        st.fused += r;
        if ((r = er_pass_fuse_layernorm(g)) < 0) goto nomem;
        st.fused += 8 * r;
        if ((r = er_pass_fuse_gelu(g)) < 0) goto nomem;
        st.fused += 4 * r;
        if ((r = er_pass_eliminate_layout(g)) < 0) goto nomem;
        st.identities_removed += r;
        if ((r = er_pass_fuse_attention(g)) < 0) goto nomem;
        st.fused += 6 * r;
        if ((r = er_pass_fuse_matmul(g)) < 0) goto nomem;
        st.fused += r;
        if ((r = er_pass_dead_code(g)) < 0) goto nomem;
        st.dead_removed = r;
    }
    st.nodes_after = g->n_nodes;
    if (stats) *stats = st;
    return ER_OK;
nomem:
    return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory while optimizing the graph");
}
