/* Operator interface. Every op has an entry {name, infer, run} in the registry:
 *   infer: checks inputs/attributes and sets each output's dtype and shape. An input's
 *          data is non-NULL when its value is known (constants at planning time, every
 *          input at run time); an op whose output shape depends on the value of an input
 *          whose data is NULL returns ER_DYNAMIC and is planned again at run time.
 *          infer may ask for scratch memory by setting ctx->workspace_bytes.
 *   run:   computes outputs into preallocated buffers; never allocates.
 * Omitted optional inputs arrive as NULL; omitted optional outputs arrive as a tensor whose
 * infer still runs but whose data is NULL at run time: kernels skip writing those. Messages go through er_op_fail, which prefixes
 * the node's name and type. */
#ifndef ER_BACKEND_CPU_OP_H
#define ER_BACKEND_CPU_OP_H

#include "core/common.h"
#include "core/threadpool.h"
#include "ir/graph.h"

/* Internal status (never returned from the public API): shape depends on data. */
#define ER_DYNAMIC ((er_status)100)

typedef struct er_kctx {
    er_threadpool *pool;      /* may be NULL: run single-threaded */
    const er_node *node;
    int64_t opset;            /* opset version of the node's domain */
    size_t workspace_bytes;   /* infer: requested scratch; run: size of ctx->workspace */
    void *workspace;
    void *state;              /* run: what prepare returned for this node (packed weights...) */
    char *err;
    size_t err_size;
} er_kctx;

typedef er_status (*er_infer_fn)(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
typedef er_status (*er_run_fn)(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
/* Optional, once per planned node after infer: builds per-node state such as weights packed
 * for the GEMM micro-kernel (constant inputs have data). Shapes are final. *state may stay
 * NULL. Runs again whenever the session re-plans. */
typedef er_status (*er_prepare_fn)(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                                   void **state);
typedef void (*er_release_fn)(void *state);

/* run reads only input shapes (Shape, Size): it folds at planning time. */
#define ER_OP_SHAPE_ONLY 1u
/* Once prepare has returned a state, run reads no constant input: the state holds what it
 * needs (packed weights, copied bias). The session may then free or page out those inputs. */
#define ER_OP_STATE_HOLDS_CONSTANTS 2u

typedef struct er_op {
    const char *name;
    const char *domain;       /* NULL or "" for ONNX */
    er_infer_fn infer;
    er_run_fn run;
    unsigned flags;
    er_prepare_fn prepare;    /* optional */
    er_release_fn release;    /* frees what prepare made; optional */
} er_op;

/* Finds the op for a node (by domain and op_type); NULL if unsupported. Optimized
 * implementations (er_ops_fast) win over the reference ones unless EDGERUN_ISA=ref. */
const er_op *er_op_find(const char *domain, const char *op_type);
/* The portable reference implementation only (the oracle in tests). */
const er_op *er_op_find_ref(const char *domain, const char *op_type);

/* Prefixes "OpType 'node_name': " to the message; returns st. */
er_status er_op_fail(er_kctx *ctx, er_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Common checks used by infer functions. */
er_status er_op_check_arity(er_kctx *ctx, int n_in, int min_in, int max_in);
/* Normalises a possibly negative axis against rank; fails with a message if out of range. */
er_status er_op_axis(er_kctx *ctx, int64_t axis, int rank, int *out_axis);

/* numpy broadcasting of two shapes into out (ndim in *out_ndim). */
er_status er_broadcast_shape(er_kctx *ctx, const int64_t *a, int na, const int64_t *b, int nb,
                             int64_t *out, int *out_ndim);
/* Element strides of `dims` (rank nd) as seen from an output of rank out_nd, with 0 for
 * broadcast dimensions. */
void er_broadcast_strides(const int64_t *dims, int nd, const int64_t *out_dims, int out_nd,
                          int64_t *strides);

/* Copies shape and dtype. */
void er_tensor_set_shape(er_tensor *t, er_dtype dt, const int64_t *dims, int ndim);

/* Registry tables, one per op family file, each ending with a {NULL} entry. */
extern const er_op er_ops_elementwise[];
extern const er_op er_ops_reduce[];
extern const er_op er_ops_nn[];
extern const er_op er_ops_tensor[];
extern const er_op er_ops_misc[];
extern const er_op er_ops_quant[];
/* Reference versions of the fused ops the passes create (domain "edgerun"), fused_ref.c. */
extern const er_op er_ops_fused_ref[];
/* Optimized (SIMD, threaded, prepacked) implementations, src/backend/cpu/ *.c. */
extern const er_op er_ops_fast[];

#endif
