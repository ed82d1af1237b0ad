#include <stdio.h>
#include <string.h>

#include "backend/cpu/op.h"
#include "core/cpu.h"

static const er_op *const families[] = {
    er_ops_elementwise, er_ops_reduce, er_ops_nn, er_ops_tensor, er_ops_misc, er_ops_fused_ref, er_ops_quant,
};

static bool domain_match(const char *a, const char *b)
{
    bool da = a[0] == 0 || strcmp(a, "ai.onnx") == 0;
    bool db = b[0] == 0 || strcmp(b, "ai.onnx") == 0;
    return da ? db : strcmp(a, b) == 0;
}

static const er_op *find_in(const er_op *table, const char *domain, const char *op_type)
{
    for (const er_op *op = table; op->name; op++)
        if (strcmp(op->name, op_type) == 0 && domain_match(op->domain ? op->domain : "", domain))
            return op;
    return NULL;
}

const er_op *er_op_find_ref(const char *domain, const char *op_type)
{
    for (size_t f = 0; f < ER_ARRAY_LEN(families); f++) {
        const er_op *op = find_in(families[f], domain, op_type);
        if (op) return op;
    }
    return NULL;
}

const er_op *er_op_find(const char *domain, const char *op_type)
{
    if (er_cpu_isa() != ER_ISA_REF) {
        const er_op *op = find_in(er_ops_fast, domain, op_type);
        if (op) return op;
    }
    return er_op_find_ref(domain, op_type);
}

er_status er_op_fail(er_kctx *ctx, er_status st, const char *fmt, ...)
{
    if (!ctx->err || !ctx->err_size) return st;
    const er_node *n = ctx->node;
    int k = 0;
    if (n) k = snprintf(ctx->err, ctx->err_size, "%s '%s': ", n->op_type, n->name);
    if (k < 0) k = 0;
    if ((size_t)k < ctx->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err + k, ctx->err_size - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return st;
}

er_status er_op_check_arity(er_kctx *ctx, int n_in, int min_in, int max_in)
{
    if (n_in < min_in || n_in > max_in)
        return er_op_fail(ctx, ER_ERR_FORMAT, "expects %d to %d inputs, got %d", min_in, max_in, n_in);
    return ER_OK;
}

er_status er_op_axis(er_kctx *ctx, int64_t axis, int rank, int *out_axis)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank > 0 ? rank : 1))
        return er_op_fail(ctx, ER_ERR_SHAPE, "axis %lld is out of range for rank %d",
                          (long long)axis, rank);
    *out_axis = (int)a;
    return ER_OK;
}

er_status er_broadcast_shape(er_kctx *ctx, const int64_t *a, int na, const int64_t *b, int nb,
                             int64_t *out, int *out_ndim)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da != db && da != 1 && db != 1) {
            char sa[128], sb[128];
            return er_op_fail(ctx, ER_ERR_SHAPE, "shapes %s and %s do not broadcast",
                              er_shape_str(a, na, sa, sizeof sa), er_shape_str(b, nb, sb, sizeof sb));
        }
        out[i] = da == 1 ? db : da;
    }
    *out_ndim = n;
    return ER_OK;
}

void er_broadcast_strides(const int64_t *dims, int nd, const int64_t *out_dims, int out_nd,
                          int64_t *strides)
{
    int64_t s = 1;
    for (int i = out_nd - 1; i >= 0; i--) {
        int k = i - (out_nd - nd);
        if (k < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = (dims[k] == 1 && out_dims[i] != 1) ? 0 : s;
        s *= dims[k];
    }
}

void er_tensor_set_shape(er_tensor *t, er_dtype dt, const int64_t *dims, int ndim)
{
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
}
