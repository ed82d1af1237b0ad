/* Constant nodes holding a tensor become initializers of their output value, so the passes
 * that look for constant weights (BatchNorm folding, fusion) see them as such. Exporters
 * like paddle2onnx emit every weight as a Constant node. */
#include <string.h>

#include "passes/passes.h"

int er_pass_constants_to_init(er_graph *g)
{
    int moved = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        er_node *n = &g->nodes[i];
        if (!n->op_type || strcmp(n->op_type, "Constant") != 0 || (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0))
            continue;
        const er_attr *a = er_node_attr(n, "value");
        if (!a || a->type != ER_ATTR_TENSOR || !a->t || n->n_out != 1 || n->out[0] < 0) continue;
        er_value *v = &g->values[n->out[0]];
        if (er_value_is_graph_output(g, n->out[0]) || v->init) continue;
        v->init = a->t;
        v->dtype = a->t->dtype;
        v->ndim = a->t->ndim;
        for (int d = 0; d < a->t->ndim; d++) v->dims[d] = a->t->dims[d];
        n->op_type = NULL;
        moved++;
    }
    er_graph_compact(g);
    return moved;
}
