/* Removes nodes none of whose outputs reach a graph output. */
#include <stdlib.h>

#include "passes/passes.h"

int er_pass_dead_code(er_graph *g)
{
    bool *live = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *live);
    if (!live) return -1;
    for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i]] = true;
    int removed = 0;
    bool changed = true;
    /* Walk backwards repeatedly: nodes may not be sorted, so iterate to a fixed point. */
    bool *keep = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *keep);
    if (!keep) { free(live); return -1; }
    while (changed) {
        changed = false;
        for (int i = g->n_nodes - 1; i >= 0; i--) {
            const er_node *n = &g->nodes[i];
            if (keep[i]) continue;
            bool used = false;
            for (int k = 0; k < n->n_out && !used; k++) used = n->out[k] >= 0 && live[n->out[k]];
            if (!used) continue;
            keep[i] = true;
            changed = true;
            for (int k = 0; k < n->n_in; k++)
                if (n->in[k] >= 0) live[n->in[k]] = true;
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!keep[i]) {
            g->nodes[i].op_type = NULL;
            removed++;
        }
    er_graph_compact(g);
    free(keep);
    free(live);
    return removed;
}
