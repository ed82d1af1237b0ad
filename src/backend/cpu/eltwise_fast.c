/* Erf, Softmax (over the last axis) and Pow with a constant exponent of 2, vectorized and
 * threaded; shapes come from the reference ops' infer, and anything else (other dtypes,
 * other axes, other exponents, broadcasting) runs the reference kernel. */
#include "backend/cpu/eltwise_impl.h"
#include "backend/cpu/fast.h"

typedef void (*ew_unary_fn)(const float *x, float *y, int64_t n);
typedef void (*ew_rows_fn)(const float *x, float *y, int64_t rows, int64_t cols);

static void erf_ref(const float *x, float *y, int64_t n) { ew_erf_impl(x, y, n); }
static void softmax_ref(const float *x, float *y, int64_t rows, int64_t cols) { ew_softmax_impl(x, y, rows, cols); }

static ew_unary_fn erf_select(void)
{
    er_isa isa = er_cpu_isa();
    return isa == ER_ISA_AVX512 ? er_ew_erf_avx512 : isa == ER_ISA_AVX2 ? er_ew_erf_avx2 : erf_ref;
}

static ew_rows_fn softmax_select(void)
{
    er_isa isa = er_cpu_isa();
    return isa == ER_ISA_AVX512 ? er_ew_softmax_avx512 : isa == ER_ISA_AVX2 ? er_ew_softmax_avx2 : softmax_ref;
}

static er_status ref_infer(er_kctx *ctx, const char *op, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_op *r = er_op_find_ref("", op);
    return r ? r->infer(ctx, in, n_in, out, n_out) : er_op_fail(ctx, ER_ERR_INTERNAL, "no reference %s", op);
}

static er_status ref_run(er_kctx *ctx, const char *op, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_op *r = er_op_find_ref("", op);
    return r ? r->run(ctx, in, n_in, out, n_out) : er_op_fail(ctx, ER_ERR_INTERNAL, "no reference %s", op);
}

typedef struct ew_job {
    const float *x;
    float *y;
    int64_t cols;
    ew_unary_fn unary;
    ew_rows_fn rows;
} ew_job;

/* Chunks of 4096 elements (unary) or single rows (softmax) per task. */
#define EW_CHUNK 4096

static void ew_slice(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const ew_job *j = ctx;
    if (j->rows) {
        j->rows(j->x + begin * j->cols, j->y + begin * j->cols, end - begin, j->cols);
        return;
    }
    int64_t b = begin * EW_CHUNK, e = ER_MIN(end * EW_CHUNK, j->cols);
    j->unary(j->x + b, j->y + b, e - b);
}

er_status er_erf_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    return ref_infer(ctx, "Erf", in, n_in, out, n_out);
}

er_status er_erf_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    if (in[0]->dtype != ER_F32) return ref_run(ctx, "Erf", in, n_in, out, n_out);
    int64_t n = er_tensor_numel(in[0]);
    ew_job j = { in[0]->data, out[0]->data, n, erf_select(), NULL };
    er_parallel_for(er_pool_for(ctx->pool, n, ER_PAR_MIN_ELEMS), (n + EW_CHUNK - 1) / EW_CHUNK, 4, ew_slice, &j);
    return ER_OK;
}

er_status er_softmax_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    return ref_infer(ctx, "Softmax", in, n_in, out, n_out);
}

er_status er_softmax_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *x = in[0];
    int64_t axis = er_attr_int(ctx->node, "axis", ctx->opset >= 13 ? -1 : 1);
    if (axis < 0) axis += x->ndim;
    if (x->dtype != ER_F32 || x->ndim < 1 || axis != x->ndim - 1 || x->dims[axis] < 1)
        return ref_run(ctx, "Softmax", in, n_in, out, n_out);
    int64_t cols = x->dims[axis], rows = er_tensor_numel(x) / cols;
    ew_job j = { x->data, out[0]->data, cols, NULL, softmax_select() };
    er_parallel_for(er_pool_for(ctx->pool, rows * cols, ER_PAR_MIN_ELEMS), rows, ER_MAX(1, 4096 / cols), ew_slice, &j);
    return ER_OK;
}

er_status er_pow_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    return ref_infer(ctx, "Pow", in, n_in, out, n_out);
}

static void square(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const ew_job *j = ctx;
    int64_t b = begin * EW_CHUNK, e = ER_MIN(end * EW_CHUNK, j->cols);
    const float *restrict x = j->x;
    float *restrict y = j->y;
    for (int64_t i = b; i < e; i++) y[i] = x[i] * x[i];
}

er_status er_pow_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *x = in[0], *e = in[1];
    bool sq = x->dtype == ER_F32 && e->dtype == ER_F32 && er_tensor_numel(e) == 1 && e->ndim <= x->ndim &&
              *(const float *)e->data == 2.0f;
    if (!sq) return ref_run(ctx, "Pow", in, n_in, out, n_out);
    int64_t n = er_tensor_numel(x);
    ew_job j = { x->data, out[0]->data, n, NULL, NULL };
    er_parallel_for(er_pool_for(ctx->pool, n, ER_PAR_MIN_ELEMS), (n + EW_CHUNK - 1) / EW_CHUNK, 4, square, &j);
    return ER_OK;
}
