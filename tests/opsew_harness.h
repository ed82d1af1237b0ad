/* Helpers for the op unit tests: build a node with attributes, run infer + run of a
 * registered op on hand-made tensors, and compare results. Header-only so each test stays
 * one executable. */
#ifndef OPSEW_HARNESS_H
#define OPSEW_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/op.h"

static int g_fail;
static char g_err[1024];

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            g_fail++;                                                            \
        }                                                                        \
    } while (0)

typedef struct {
    er_node node;
    er_attr attrs[8];
} t_node;

static inline void t_node_init(t_node *n, const char *op)
{
    memset(n, 0, sizeof *n);
    n->node.name = "t";
    n->node.op_type = op;
    n->node.domain = "";
    n->node.attrs = n->attrs;
}

static inline void t_attr_int(t_node *n, const char *name, int64_t v)
{
    er_attr *a = &n->attrs[n->node.n_attrs++];
    a->name = name;
    a->type = ER_ATTR_INT;
    a->i = v;
}

static inline void t_attr_float(t_node *n, const char *name, float v)
{
    er_attr *a = &n->attrs[n->node.n_attrs++];
    a->name = name;
    a->type = ER_ATTR_FLOAT;
    a->f = v;
}

static inline void t_attr_str(t_node *n, const char *name, const char *s)
{
    er_attr *a = &n->attrs[n->node.n_attrs++];
    a->name = name;
    a->type = ER_ATTR_STRING;
    a->s = s;
    a->s_len = strlen(s);
}

static inline void t_attr_ints(t_node *n, const char *name, const int64_t *v, int cnt)
{
    er_attr *a = &n->attrs[n->node.n_attrs++];
    a->name = name;
    a->type = ER_ATTR_INTS;
    a->ints = v;
    a->n = cnt;
}

static inline er_tensor t_tensor(er_dtype dt, int nd, const int64_t *dims, const void *data)
{
    er_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = nd;
    for (int i = 0; i < nd; i++) t.dims[i] = dims[i];
    t.data = (void *)data;
    return t;
}

/* Infers, allocates outputs (and workspace) and runs. Outputs must be freed with t_free.
 * Returns the first non-OK status; a failing infer leaves outputs unallocated. */
static inline er_status t_run_op(t_node *n, int64_t opset, er_threadpool *pool, er_tensor **in, int n_in,
                          er_tensor *out, int n_out)
{
    const er_op *op = er_op_find_ref("", n->node.op_type);
    if (!op) {
        fprintf(stderr, "op %s is not registered\n", n->node.op_type);
        return ER_ERR_UNSUPPORTED;
    }
    n->node.n_in = n_in;
    n->node.n_out = n_out;
    er_tensor *outs[4];
    for (int k = 0; k < n_out; k++) {
        memset(&out[k], 0, sizeof out[k]);
        outs[k] = &out[k];
    }
    g_err[0] = 0;
    er_kctx ctx = { .pool = pool, .node = &n->node, .opset = opset, .err = g_err, .err_size = sizeof g_err };
    er_status st = op->infer(&ctx, in, n_in, outs, n_out);
    if (st != ER_OK) return st;
    for (int k = 0; k < n_out; k++) {
        size_t b = er_tensor_nbytes(&out[k]);
        out[k].data = malloc(b ? b : 1);
    }
    void *ws = ctx.workspace_bytes ? malloc(ctx.workspace_bytes) : NULL;
    ctx.workspace = ws;
    st = op->run(&ctx, in, n_in, outs, n_out);
    free(ws);
    if (st != ER_OK) fprintf(stderr, "%s run failed: %s\n", n->node.op_type, g_err);
    return st;
}

static inline void t_free(er_tensor *out, int n_out)
{
    for (int k = 0; k < n_out; k++) {
        free(out[k].data);
        out[k].data = NULL;
    }
}

static inline bool t_shape_is(const er_tensor *t, int nd, const int64_t *dims)
{
    return er_shape_equal(t->dims, t->ndim, dims, nd);
}

/* Every element of t (any numeric dtype) within atol + rtol*|want| of want. */
static inline bool t_close(const er_tensor *t, const double *want, int64_t n, double atol, double rtol)
{
    if (er_tensor_numel(t) != n) {
        fprintf(stderr, "  numel %lld, expected %lld\n", (long long)er_tensor_numel(t), (long long)n);
        return false;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = er_get_f64(t->data, t->dtype, i);
        bool both_nan = isnan(v) && isnan(want[i]);
        bool same_inf = isinf(v) && isinf(want[i]) && (v > 0) == (want[i] > 0);
        if (both_nan || same_inf) continue;
        if (!(fabs(v - want[i]) <= atol + rtol * fabs(want[i]))) {
            fprintf(stderr, "  element %lld: got %.9g, expected %.9g\n", (long long)i, v, want[i]);
            return false;
        }
    }
    return true;
}

static inline bool t_equal_i64(const er_tensor *t, const int64_t *want, int64_t n)
{
    if (er_tensor_numel(t) != n) return false;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = er_get_i64(t->data, t->dtype, i);
        if (v != want[i]) {
            fprintf(stderr, "  element %lld: got %lld, expected %lld\n", (long long)i, (long long)v,
                    (long long)want[i]);
            return false;
        }
    }
    return true;
}

#endif
