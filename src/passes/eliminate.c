/* Identity and inference-mode Dropout forward their input: readers are pointed at the
 * input instead, unless the output is a graph output (its name must survive). */
#include <string.h>

#include "passes/passes.h"

static bool is_forwarding(const er_graph *g, const er_node *n)
{
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) return false;
    if (strcmp(n->op_type, "Identity") == 0) return n->n_in == 1 && n->in[0] >= 0;
    if (strcmp(n->op_type, "Dropout") == 0) {
        /* training_mode given as a non-constant input could switch dropout on */
        if (n->n_in >= 3 && n->in[2] >= 0) {
            const er_const *c = g->values[n->in[2]].init;
            if (!c || c->nbytes < 1 || ((const uint8_t *)c->data)[0]) return false;
        }
        if (n->n_out > 1 && n->out[1] >= 0) return false;  /* mask is used */
        return n->n_in >= 1 && n->in[0] >= 0;
    }
    return false;
}

int er_pass_eliminate_identity(er_graph *g)
{
    int removed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        er_node *n = &g->nodes[i];
        if (!n->op_type || !is_forwarding(g, n)) continue;
        int from = n->out[0], to = n->in[0];
        if (from < 0 || er_value_is_graph_output(g, from)) continue;
        for (int j = 0; j < g->n_nodes; j++) {
            if (!g->nodes[j].op_type) continue;
            for (int k = 0; k < g->nodes[j].n_in; k++)
                if (g->nodes[j].in[k] == from) g->nodes[j].in[k] = to;
        }
        n->op_type = NULL;
        removed++;
    }
    er_graph_compact(g);
    return removed;
}
