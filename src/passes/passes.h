/* Graph rewrites run on a session's copy of the graph before planning. Each pass keeps the
 * graph's outputs bit-for-bit or within float rounding of the unoptimized graph. */
#ifndef ER_PASSES_PASSES_H
#define ER_PASSES_PASSES_H

#include "ir/graph.h"

typedef struct er_pass_stats {
    int nodes_before, nodes_after;
    int bn_folded;
    int identities_removed;
    int dead_removed;
    int constants_moved;  /* Constant nodes turned into initializers */
    int fused;            /* nodes absorbed into fused ops */
} er_pass_stats;

er_status er_optimize(er_graph *g, int level, er_pass_stats *stats, char *err, size_t err_size);

/* Individual passes (exposed for tests). Each returns how many rewrites it made, or -1 on
 * allocation failure. */
int er_pass_eliminate_identity(er_graph *g);
int er_pass_fold_batchnorm(er_graph *g);
int er_pass_dead_code(er_graph *g);
/* Constant nodes with a tensor value into initializers (const_to_init.c). */
int er_pass_constants_to_init(er_graph *g);
/* Conv → Mul/Add by per-channel constants folded into the Conv (fold_affine.c). */
int er_pass_fold_conv_affine(er_graph *g);
/* x·Clip(x+3, 0, 6)/6 into HardSwish (fuse_hardswish.c). */
int er_pass_fuse_hardswish(er_graph *g);
/* Conv + residual Add + activation into edgerun.FusedConv (fuse_conv.c). */
int er_pass_fuse_conv(er_graph *g);

/* Helpers shared by passes. */
/* Number of nodes reading value v, plus one if v is a graph output. */
int er_value_use_count(const er_graph *g, int v);
bool er_value_is_graph_output(const er_graph *g, int v);
/* Drops nodes whose op_type was set to NULL by a pass. */
void er_graph_compact(er_graph *g);

#endif
