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
/* x·0.5·(1 + Erf(x/√2)) into Gelu (fuse_gelu.c), before the MatMul fusion absorbs it. */
int er_pass_fuse_gelu(er_graph *g);
/* ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add into LayerNormalization (fuse_layernorm.c). */
int er_pass_fuse_layernorm(er_graph *g);
/* Transpose∘Transpose composed (dropped when the identity), Reshape∘Reshape into one
 * Reshape (eliminate_layout.c). */
int er_pass_eliminate_layout(er_graph *g);
/* Transpose → MatMul → [scale] → [+ mask] → Softmax → MatMul [→ Transpose] into
 * edgerun.Attention (fuse_attention.c). */
int er_pass_fuse_attention(er_graph *g);
/* MatMul by constant W + bias Add + activation into edgerun.FusedMatMul (fuse_matmul.c). */
int er_pass_fuse_matmul(er_graph *g);

/* Helpers shared by passes. */
/* Number of nodes reading value v, plus one if v is a graph output. */
int er_value_use_count(const er_graph *g, int v);
bool er_value_is_graph_output(const er_graph *g, int v);
/* The only live node reading v, or -1 when v has several readers, none, or is a graph output. */
int er_only_reader(const er_graph *g, int v);
/* The live node writing v, or -1. */
int er_producer(const er_graph *g, int v);
/* n is the default-domain op `op` (and still live). */
bool er_node_is(const er_node *n, const char *op);
/* v is a float32 one-element initializer; its value in *f. */
bool er_const_scalar(const er_graph *g, int v, float *f);
/* ... and it equals want within relative tolerance rel. */
bool er_const_scalar_near(const er_graph *g, int v, float want, float rel);
/* Drops nodes whose op_type was set to NULL by a pass. */
void er_graph_compact(er_graph *g);

#endif
