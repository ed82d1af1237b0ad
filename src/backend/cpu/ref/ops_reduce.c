/* Reductions and ops that work along an axis: Reduce*, ArgMax/ArgMin, CumSum, TopK,
 * Softmax/LogSoftmax/Hardmax, LpNormalization. Float data accumulates in double and
 * integer data in int64, through the chunked converters of ew_core. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/ref/ew_core.h"

/* ---- Reduce* -------------------------------------------------------------------------- */

typedef enum {
    R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ
} red_kind;

/* Which dims a reduction covers. noop: empty axes with noop_with_empty_axes set. */
typedef struct {
    bool mask[ER_MAX_DIMS];
    bool noop;
} red_axes;

static bool axes_from_input(er_kctx *ctx, red_kind k)
{
    return ctx->opset >= 18 || (k == R_SUM && ctx->opset >= 13);
}

static er_status red_get_axes(er_kctx *ctx, red_kind k, er_tensor **in, int n_in, red_axes *ra)
{
    int rank = in[0]->ndim, n = 0;
    int64_t axes[ER_MAX_DIMS];
    memset(ra, 0, sizeof *ra);
    if (axes_from_input(ctx, k)) {
        const er_tensor *a = n_in > 1 ? in[1] : NULL;
        if (a) {
            if (a->dtype != ER_I64) return er_op_fail(ctx, ER_ERR_DTYPE, "axes must be int64, got %s", er_dtype_name(a->dtype));
            int64_t cnt = er_tensor_numel(a);
            if (cnt > rank) return er_op_fail(ctx, ER_ERR_SHAPE, "%lld axes for rank %d", (long long)cnt, rank);
            if (cnt > 0 && !a->data) return ER_DYNAMIC;
            for (int i = 0; i < cnt; i++) axes[n++] = ((const int64_t *)a->data)[i];
        }
    } else {
        int cnt = 0;
        const int64_t *at = er_attr_ints(ctx->node, "axes", &cnt);
        if (cnt > rank) return er_op_fail(ctx, ER_ERR_SHAPE, "%d axes for rank %d", cnt, rank);
        for (int i = 0; i < cnt; i++) axes[n++] = at[i];
    }
    if (n == 0) {
        ra->noop = er_attr_int(ctx->node, "noop_with_empty_axes", 0) != 0;
        for (int d = 0; d < rank; d++) ra->mask[d] = !ra->noop;
        return ER_OK;
    }
    for (int i = 0; i < n; i++) {
        int ax;
        er_status st = er_op_axis(ctx, axes[i], rank, &ax);
        if (st != ER_OK) return st;
        ra->mask[ax] = true;
    }
    return ER_OK;
}

static er_status red_infer(er_kctx *ctx, red_kind k, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 2);
    if (st != ER_OK) return st;
    if (n_out < 1 || !in[0]) return er_op_fail(ctx, ER_ERR_FORMAT, "expects data input and one output");
    er_dtype dt = in[0]->dtype;
    if (!ew_has(EW_NUMS, dt))
        return er_op_fail(ctx, ER_ERR_DTYPE, "dtype %s is not supported", er_dtype_name(dt));
    red_axes ra;
    if ((st = red_get_axes(ctx, k, in, n_in, &ra)) != ER_OK) return st;
    bool keep = er_attr_int(ctx->node, "keepdims", 1) != 0;
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < in[0]->ndim; d++) {
        if (!ra.mask[d]) dims[nd++] = in[0]->dims[d];
        else if (keep) dims[nd++] = 1;
    }
    er_tensor_set_shape(out[0], dt, dims, nd);
    return ER_OK;
}

/* Dims split into kept and reduced groups, adjacent dims of a group merged. */
typedef struct {
    red_kind kind;
    bool int_acc;
    const void *x;
    er_dtype xt;
    void *y;
    er_dtype yt;
    int nk, nr;
    int64_t kd[ER_MAX_DIMS], ks[ER_MAX_DIMS];
    int64_t rd[ER_MAX_DIMS], rs[ER_MAX_DIMS];
    int64_t count;           /* elements reduced into each output */
} red_job;

static void red_plan(red_job *j, const er_tensor *x, const red_axes *ra)
{
    int64_t stride[ER_MAX_DIMS], s = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= x->dims[d];
    }
    j->nk = j->nr = 0;
    j->count = 1;
    int prev = -1;
    for (int d = 0; d < x->ndim; d++) {
        int g = ra->mask[d];
        int64_t *dd = g ? j->rd : j->kd, *ss = g ? j->rs : j->ks;
        int *n = g ? &j->nr : &j->nk;
        if (g) j->count *= x->dims[d];
        if (prev == g && *n > 0) {
            dd[*n - 1] *= x->dims[d];
            ss[*n - 1] = stride[d];
        } else {
            dd[*n] = x->dims[d];
            ss[*n] = stride[d];
            (*n)++;
        }
        prev = g;
    }
}

static double red_init_f64(red_kind k)
{
    switch (k) {
    case R_PROD: return 1.0;
    case R_MAX: case R_LOGSUMEXP: return -INFINITY;
    case R_MIN: return INFINITY;
    default: return 0.0;
    }
}

static void red_acc_f64(red_kind k, const double *v, int m, double *acc, double shift)
{
    double a = *acc;
    for (int i = 0; i < m; i++) {
        double x = v[i];
        switch (k) {
        case R_PROD: a *= x; break;
        case R_MAX: a = (x > a || x != x) ? x : a; break;
        case R_MIN: a = (x < a || x != x) ? x : a; break;
        case R_L1: a += fabs(x); break;
        case R_L2: case R_SUMSQ: a += x * x; break;
        case R_LOGSUMEXP: a += exp(x - shift); break;
        default: a += x; break;
        }
    }
    *acc = a;
}

static int64_t red_init_i64(red_kind k)
{
    return k == R_PROD ? 1 : k == R_MAX ? INT64_MIN : k == R_MIN ? INT64_MAX : 0;
}

static void red_acc_i64(red_kind k, const int64_t *v, int m, int64_t *acc)
{
    uint64_t a = (uint64_t)*acc;
    for (int i = 0; i < m; i++) {
        int64_t x = v[i];
        switch (k) {
        case R_PROD: a *= (uint64_t)x; break;
        case R_MAX: a = x > (int64_t)a ? (uint64_t)x : a; break;
        case R_MIN: a = x < (int64_t)a ? (uint64_t)x : a; break;
        case R_L1: a += (uint64_t)(x < 0 ? -x : x); break;
        case R_SUMSQ: a += (uint64_t)x * (uint64_t)x; break;
        default: a += (uint64_t)x; break;
        }
    }
    *acc = (int64_t)a;
}

/* Calls the accumulator on every chunk of the reduced elements of the output at base. */
static void red_visit(const red_job *j, int64_t base, double *facc, int64_t *iacc, red_kind k, double shift)
{
    int last = j->nr - 1;
    int64_t inner = j->nr ? j->rd[last] : 1, step = j->nr ? j->rs[last] : 0;
    int64_t outer = inner ? j->count / inner : 0;
    int64_t idx[ER_MAX_DIMS] = { 0 };
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = base;
        for (int d = 0; d < last; d++) off += idx[d] * j->rs[d];
        for (int64_t c = 0; c < inner; c += EW_CHUNK) {
            int m = (int)ER_MIN(EW_CHUNK, inner - c);
            if (iacc) {
                int64_t buf[EW_CHUNK];
                ew_load_i64(j->x, j->xt, off + c * step, step, m, buf);
                red_acc_i64(k, buf, m, iacc);
            } else {
                double buf[EW_CHUNK];
                ew_load_f64(j->x, j->xt, off + c * step, step, m, buf);
                red_acc_f64(k, buf, m, facc, shift);
            }
        }
        for (int d = last - 1; d >= 0 && ++idx[d] == j->rd[d]; d--) idx[d] = 0;
    }
}

static void red_one(const red_job *j, int64_t o, int64_t base)
{
    if (j->int_acc) {
        int64_t acc = red_init_i64(j->kind);
        red_visit(j, base, NULL, &acc, j->kind, 0);
        if (j->kind == R_MEAN) acc = j->count ? acc / j->count : 0;
        ew_store_i64(j->y, j->yt, o, 1, 1, &acc);
        return;
    }
    double acc = red_init_f64(j->kind), shift = 0;
    if (j->kind == R_LOGSUMEXP) {
        double mx = -INFINITY;
        red_visit(j, base, &mx, NULL, R_MAX, 0);
        shift = isinf(mx) ? 0 : mx;
        acc = 0;
    }
    red_visit(j, base, &acc, NULL, j->kind, shift);
    switch (j->kind) {
    case R_MEAN: acc /= (double)j->count; break;
    case R_L2: acc = sqrt(acc); break;
    case R_LOGSUM: acc = log(acc); break;
    case R_LOGSUMEXP: acc = shift + log(acc); break;
    default: break;
    }
    ew_store_f64(j->y, j->yt, o, 1, 1, &acc);
}

static void red_range(void *vjob, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const red_job *j = vjob;
    for (int64_t o = begin; o < end; o++) {
        int64_t rem = o, base = 0;
        for (int d = j->nk - 1; d >= 0; d--) {
            base += (rem % j->kd[d]) * j->ks[d];
            rem /= j->kd[d];
        }
        red_one(j, o, base);
    }
}

static er_status red_run(er_kctx *ctx, red_kind k, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_tensor *y = out[0];
    if (!y->data) return ER_OK;
    red_axes ra;
    er_status st = red_get_axes(ctx, k, in, n_in, &ra);
    if (st != ER_OK) return st;
    if (ra.noop) {
        size_t bytes = er_tensor_nbytes(y);
        if (bytes) memcpy(y->data, in[0]->data, bytes);
        return ER_OK;
    }
    bool is_int = !er_dtype_is_float(in[0]->dtype);
    red_job j = {
        .kind = k, .x = in[0]->data, .xt = in[0]->dtype, .y = y->data, .yt = y->dtype,
        .int_acc = is_int && k != R_L2 && k != R_LOGSUM && k != R_LOGSUMEXP,
    };
    red_plan(&j, in[0], &ra);
    int64_t n_out_el = er_tensor_numel(y);
    int64_t grain = ER_MAX(1, (1 << 14) / ER_MAX(1, j.count));
    er_parallel_for(ctx->pool, n_out_el, grain, red_range, &j);
    return ER_OK;
}

#define RED_OP(NAME, KIND)                                                                   \
    static er_status NAME##_infer(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no) \
    {                                                                                        \
        return red_infer(c, KIND, i, ni, o, no);                                             \
    }                                                                                        \
    static er_status NAME##_run(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no)   \
    {                                                                                        \
        return red_run(c, KIND, i, ni, o, no);                                               \
    }

RED_OP(ReduceSum, R_SUM)
RED_OP(ReduceMean, R_MEAN)
RED_OP(ReduceMax, R_MAX)
RED_OP(ReduceMin, R_MIN)
RED_OP(ReduceProd, R_PROD)
RED_OP(ReduceL1, R_L1)
RED_OP(ReduceL2, R_L2)
RED_OP(ReduceLogSum, R_LOGSUM)
RED_OP(ReduceLogSumExp, R_LOGSUMEXP)
RED_OP(ReduceSumSquare, R_SUMSQ)

/* ---- ArgMax / ArgMin ------------------------------------------------------------------ */

static er_status arg_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st != ER_OK) return st;
    if (n_out < 1 || !in[0]) return er_op_fail(ctx, ER_ERR_FORMAT, "expects data input and one output");
    if (!ew_has(EW_NUMS, in[0]->dtype))
        return er_op_fail(ctx, ER_ERR_DTYPE, "dtype %s is not supported", er_dtype_name(in[0]->dtype));
    int axis;
    if ((st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 0), in[0]->ndim, &axis)) != ER_OK) return st;
    if (in[0]->ndim > 0 && in[0]->dims[axis] == 0)
        return er_op_fail(ctx, ER_ERR_SHAPE, "axis %d is empty", axis);
    bool keep = er_attr_int(ctx->node, "keepdims", 1) != 0;
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < in[0]->ndim; d++) {
        if (d != axis) dims[nd++] = in[0]->dims[d];
        else if (keep) dims[nd++] = 1;
    }
    er_tensor_set_shape(out[0], ER_I64, dims, nd);
    return ER_OK;
}

/* Index of the max (sign 1) or min (sign -1) of the line; ties pick the first or last. */
static int64_t arg_line(const er_tensor *x, int64_t off, int64_t n, int64_t step, double sign, bool last)
{
    double best = 0;
    int64_t bi = 0;
    for (int64_t c = 0; c < n; c += EW_CHUNK) {
        int m = (int)ER_MIN(EW_CHUNK, n - c);
        double buf[EW_CHUNK];
        ew_load_f64(x->data, x->dtype, off + c * step, step, m, buf);
        for (int i = 0; i < m; i++) {
            double v = sign * buf[i];
            if (c + i == 0 || v > best || (last && v == best)) {
                best = v;
                bi = c + i;
            }
        }
    }
    return bi;
}

static er_status arg_run(er_kctx *ctx, er_tensor **in, er_tensor **out, double sign)
{
    er_tensor *y = out[0], *x = in[0];
    if (!y->data) return ER_OK;
    int axis;
    er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 0), x->ndim, &axis);
    if (st != ER_OK) return st;
    bool last = er_attr_int(ctx->node, "select_last_index", 0) != 0;
    int64_t outer, n, inner;
    ew_split_axis(x->dims, x->ndim, axis, &outer, &n, &inner);
    int64_t *o = y->data;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t b = 0; b < inner; b++)
            o[a * inner + b] = arg_line(x, a * n * inner + b, n, inner, sign, last);
    return ER_OK;
}

static er_status ArgMax_run(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no)
{
    (void)ni;
    (void)no;
    return arg_run(c, i, o, 1.0);
}

static er_status ArgMin_run(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no)
{
    (void)ni;
    (void)no;
    return arg_run(c, i, o, -1.0);
}

/* ---- CumSum --------------------------------------------------------------------------- */

static er_status cumsum_axis(er_kctx *ctx, er_tensor **in, int *axis)
{
    const er_tensor *a = in[1];
    if (a->dtype != ER_I32 && a->dtype != ER_I64)
        return er_op_fail(ctx, ER_ERR_DTYPE, "axis must be int32 or int64, got %s", er_dtype_name(a->dtype));
    if (er_tensor_numel(a) != 1) return er_op_fail(ctx, ER_ERR_SHAPE, "axis must be a scalar");
    if (!a->data) return ER_DYNAMIC;
    return er_op_axis(ctx, er_get_i64(a->data, a->dtype, 0), in[0]->ndim, axis);
}

static er_status CumSum_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 2, 2);
    if (st != ER_OK) return st;
    if (n_out < 1 || !in[0] || !in[1]) return er_op_fail(ctx, ER_ERR_FORMAT, "expects x, axis and one output");
    if (!ew_has(EW_NUMS, in[0]->dtype))
        return er_op_fail(ctx, ER_ERR_DTYPE, "dtype %s is not supported", er_dtype_name(in[0]->dtype));
    int axis;
    st = cumsum_axis(ctx, in, &axis);
    if (st != ER_OK && st != ER_DYNAMIC) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

/* One line of n elements with stride step; reverse walks it from the end. */
static void cumsum_line(const er_tensor *x, er_tensor *y, int64_t off, int64_t n, int64_t step, bool excl,
                        bool rev)
{
    bool is_int = !er_dtype_is_float(x->dtype);
    double fs = 0;
    int64_t is = 0;
    for (int64_t c = 0; c < n; c += EW_CHUNK) {
        int m = (int)ER_MIN(EW_CHUNK, n - c);
        int64_t first = rev ? n - c - m : c;
        int64_t o = off + first * step;
        if (is_int) {
            int64_t buf[EW_CHUNK];
            ew_load_i64(x->data, x->dtype, o, step, m, buf);
            for (int i = 0; i < m; i++) {
                int k = rev ? m - 1 - i : i;
                int64_t v = buf[k];
                is = (int64_t)((uint64_t)is + (uint64_t)v);
                buf[k] = excl ? (int64_t)((uint64_t)is - (uint64_t)v) : is;
            }
            ew_store_i64(y->data, y->dtype, o, step, m, buf);
        } else {
            double buf[EW_CHUNK];
            ew_load_f64(x->data, x->dtype, o, step, m, buf);
            for (int i = 0; i < m; i++) {
                int k = rev ? m - 1 - i : i;
                double v = buf[k];
                buf[k] = excl ? fs : fs + v;
                fs += v;
            }
            ew_store_f64(y->data, y->dtype, o, step, m, buf);
        }
    }
}

static er_status CumSum_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    (void)n_out;
    er_tensor *y = out[0], *x = in[0];
    if (!y->data) return ER_OK;
    int axis;
    er_status st = cumsum_axis(ctx, in, &axis);
    if (st != ER_OK) return st;
    bool excl = er_attr_int(ctx->node, "exclusive", 0) != 0;
    bool rev = er_attr_int(ctx->node, "reverse", 0) != 0;
    int64_t outer, n, inner;
    ew_split_axis(x->dims, x->ndim, axis, &outer, &n, &inner);
    for (int64_t a = 0; a < outer; a++)
        for (int64_t b = 0; b < inner; b++) cumsum_line(x, y, a * n * inner + b, n, inner, excl, rev);
    return ER_OK;
}

/* ---- TopK ----------------------------------------------------------------------------- */

typedef struct {
    double v;
    int64_t i;
} topk_item;

/* NaN orders above every number, so the comparators stay consistent. */
static int cmp_value(double a, double b)
{
    bool na = a != a, nb = b != b;
    if (na || nb) return na - nb;
    return (a > b) - (a < b);
}

static int topk_cmp_largest(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    int c = cmp_value(b->v, a->v);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

static int topk_cmp_smallest(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    int c = cmp_value(a->v, b->v);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

static er_status topk_params(er_kctx *ctx, er_tensor **in, int n_in, int *axis, int64_t *k)
{
    er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", -1), in[0]->ndim, axis);
    if (st != ER_OK) return st;
    if (ctx->opset < 10) {
        *k = er_attr_int(ctx->node, "k", -1);
    } else {
        const er_tensor *kt = n_in > 1 ? in[1] : NULL;
        if (!kt) return er_op_fail(ctx, ER_ERR_FORMAT, "input K is required");
        if (kt->dtype != ER_I64) return er_op_fail(ctx, ER_ERR_DTYPE, "K must be int64, got %s", er_dtype_name(kt->dtype));
        if (er_tensor_numel(kt) != 1) return er_op_fail(ctx, ER_ERR_SHAPE, "K must hold one value");
        if (!kt->data) return ER_DYNAMIC;
        *k = ((const int64_t *)kt->data)[0];
    }
    int64_t n = in[0]->ndim ? in[0]->dims[*axis] : 1;
    if (*k < 0 || *k > n)
        return er_op_fail(ctx, ER_ERR_INVALID_ARG, "k = %lld is outside [0, %lld]", (long long)*k, (long long)n);
    return ER_OK;
}

static er_status TopK_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 2);
    if (st != ER_OK) return st;
    if (n_out != 2 || !in[0]) return er_op_fail(ctx, ER_ERR_FORMAT, "expects X and two outputs");
    if (!ew_has(EW_NUMS, in[0]->dtype))
        return er_op_fail(ctx, ER_ERR_DTYPE, "dtype %s is not supported", er_dtype_name(in[0]->dtype));
    if (in[0]->ndim < 1) return er_op_fail(ctx, ER_ERR_SHAPE, "X must have at least one dimension");
    int axis;
    int64_t k;
    if ((st = topk_params(ctx, in, n_in, &axis, &k)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS];
    memcpy(dims, in[0]->dims, sizeof(int64_t) * (size_t)in[0]->ndim);
    dims[axis] = k;
    er_tensor_set_shape(out[0], in[0]->dtype, dims, in[0]->ndim);
    er_tensor_set_shape(out[1], ER_I64, dims, in[0]->ndim);
    ctx->workspace_bytes = (size_t)in[0]->dims[axis] * sizeof(topk_item);
    return ER_OK;
}

static er_status TopK_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_tensor *x = in[0];
    int axis;
    int64_t k;
    er_status st = topk_params(ctx, in, n_in, &axis, &k);
    if (st != ER_OK) return st;
    int64_t outer, n, inner;
    ew_split_axis(x->dims, x->ndim, axis, &outer, &n, &inner);
    if (ctx->workspace_bytes < (size_t)n * sizeof(topk_item) || (n && !ctx->workspace))
        return er_op_fail(ctx, ER_ERR_INTERNAL, "workspace of %zu bytes is too small", ctx->workspace_bytes);
    topk_item *it = ctx->workspace;
    bool largest = er_attr_int(ctx->node, "largest", 1) != 0;
    bool is_int = !er_dtype_is_float(x->dtype);
    for (int64_t a = 0; a < outer; a++)
        for (int64_t b = 0; b < inner; b++) {
            int64_t base = a * n * inner + b, obase = a * k * inner + b;
            for (int64_t i = 0; i < n; i++) {
                it[i].v = er_get_f64(x->data, x->dtype, base + i * inner);
                it[i].i = i;
            }
            qsort(it, (size_t)n, sizeof *it, largest ? topk_cmp_largest : topk_cmp_smallest);
            for (int64_t i = 0; i < k; i++) {
                int64_t src = base + it[i].i * inner, dst = obase + i * inner;
                if (out[0]->data) {
                    if (is_int) {
                        int64_t v = er_get_i64(x->data, x->dtype, src);
                        ew_store_i64(out[0]->data, out[0]->dtype, dst, 1, 1, &v);
                    } else {
                        er_set_f64(out[0]->data, out[0]->dtype, dst, it[i].v);
                    }
                }
                if (out[1]->data) ((int64_t *)out[1]->data)[dst] = it[i].i;
            }
        }
    return ER_OK;
}

/* ---- Softmax / LogSoftmax / Hardmax / LpNormalization ---------------------------------- */

typedef enum { AX_SOFTMAX, AX_LOGSOFTMAX, AX_HARDMAX, AX_LPNORM } axis_kind;

/* Before opset 13 the softmax family flattens to 2-D at axis; from 13 it works along one
 * axis. */
static er_status axis_split(er_kctx *ctx, axis_kind kind, const er_tensor *x, int64_t *outer, int64_t *n,
                            int64_t *inner)
{
    bool coerce = kind != AX_LPNORM && ctx->opset < 13;
    int64_t def = coerce ? 1 : -1;
    int axis;
    er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", def), x->ndim, &axis);
    if (st != ER_OK) return st;
    if (x->ndim == 0) {
        *outer = *n = *inner = 1;
        return ER_OK;
    }
    ew_split_axis(x->dims, x->ndim, axis, outer, n, inner);
    if (coerce) {
        *n *= *inner;
        *inner = 1;
    }
    return ER_OK;
}

static er_status axis_infer(er_kctx *ctx, axis_kind kind, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st != ER_OK) return st;
    if (n_out < 1 || !in[0]) return er_op_fail(ctx, ER_ERR_FORMAT, "expects one input and one output");
    if (!ew_has(EW_FLOATS, in[0]->dtype))
        return er_op_fail(ctx, ER_ERR_DTYPE, "dtype %s is not supported (floats only)", er_dtype_name(in[0]->dtype));
    if (kind == AX_LPNORM) {
        int64_t p = er_attr_int(ctx->node, "p", 2);
        if (p != 1 && p != 2) return er_op_fail(ctx, ER_ERR_INVALID_ARG, "p must be 1 or 2, got %lld", (long long)p);
    }
    int64_t outer, n, inner;
    if ((st = axis_split(ctx, kind, in[0], &outer, &n, &inner)) != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

typedef struct {
    axis_kind kind;
    const er_tensor *x;
    er_tensor *y;
    int64_t n, inner;
    int p;
} axis_job;

/* Contiguous f32 softmax, the transformer hot path: no conversion passes. */
static void softmax_f32_line(const float *x, float *y, int64_t n, bool log_out)
{
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        float e = expf(x[i] - mx);
        sum += e;
        if (!log_out) y[i] = e;
    }
    if (log_out) {
        float ls = (float)log(sum);
        for (int64_t i = 0; i < n; i++) y[i] = x[i] - mx - ls;
    } else {
        float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < n; i++) y[i] *= inv;
    }
}

/* First pass: the statistic of the line (max, or the p-norm). */
static double axis_stat(const axis_job *j, int64_t off)
{
    double s = j->kind == AX_LPNORM ? 0 : -INFINITY;
    for (int64_t c = 0; c < j->n; c += EW_CHUNK) {
        int m = (int)ER_MIN(EW_CHUNK, j->n - c);
        double buf[EW_CHUNK];
        ew_load_f64(j->x->data, j->x->dtype, off + c * j->inner, j->inner, m, buf);
        for (int i = 0; i < m; i++) {
            if (j->kind != AX_LPNORM) s = buf[i] > s ? buf[i] : s;
            else s += j->p == 1 ? fabs(buf[i]) : buf[i] * buf[i];
        }
    }
    return j->kind == AX_LPNORM && j->p == 2 ? sqrt(s) : s;
}

static double exp_sum(const axis_job *j, int64_t off, double mx)
{
    double sum = 0;
    for (int64_t c = 0; c < j->n; c += EW_CHUNK) {
        int m = (int)ER_MIN(EW_CHUNK, j->n - c);
        double buf[EW_CHUNK];
        ew_load_f64(j->x->data, j->x->dtype, off + c * j->inner, j->inner, m, buf);
        for (int i = 0; i < m; i++) sum += exp(buf[i] - mx);
    }
    return sum;
}

static void axis_line(const axis_job *j, int64_t off)
{
    double stat = axis_stat(j, off);
    double sum = j->kind == AX_SOFTMAX || j->kind == AX_LOGSOFTMAX ? exp_sum(j, off, stat) : 0;
    double lsum = log(sum);
    bool hard_done = false;
    for (int64_t c = 0; c < j->n; c += EW_CHUNK) {
        int m = (int)ER_MIN(EW_CHUNK, j->n - c);
        double buf[EW_CHUNK];
        ew_load_f64(j->x->data, j->x->dtype, off + c * j->inner, j->inner, m, buf);
        for (int i = 0; i < m; i++) {
            double v = buf[i];
            switch (j->kind) {
            case AX_SOFTMAX: buf[i] = exp(v - stat) / sum; break;
            case AX_LOGSOFTMAX: buf[i] = v - stat - lsum; break;
            case AX_HARDMAX:
                buf[i] = !hard_done && v == stat;
                hard_done |= v == stat;
                break;
            case AX_LPNORM: buf[i] = v / stat; break;
            }
        }
        ew_store_f64(j->y->data, j->y->dtype, off + c * j->inner, j->inner, m, buf);
    }
}

static void axis_range(void *vjob, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const axis_job *j = vjob;
    bool fast = j->inner == 1 && j->x->dtype == ER_F32 &&
                (j->kind == AX_SOFTMAX || j->kind == AX_LOGSOFTMAX);
    for (int64_t line = begin; line < end; line++) {
        int64_t a = line / j->inner, b = line % j->inner, off = a * j->n * j->inner + b;
        if (fast) softmax_f32_line((const float *)j->x->data + off, (float *)j->y->data + off, j->n,
                                   j->kind == AX_LOGSOFTMAX);
        else axis_line(j, off);
    }
}

static er_status axis_run(er_kctx *ctx, axis_kind kind, er_tensor **in, er_tensor **out)
{
    er_tensor *y = out[0];
    if (!y->data) return ER_OK;
    int64_t outer, n, inner;
    er_status st = axis_split(ctx, kind, in[0], &outer, &n, &inner);
    if (st != ER_OK) return st;
    axis_job j = { kind, in[0], y, n, inner, (int)er_attr_int(ctx->node, "p", 2) };
    er_parallel_for(ctx->pool, outer * inner, ER_MAX(1, (1 << 14) / ER_MAX(1, n)), axis_range, &j);
    return ER_OK;
}

#define AXIS_OP(NAME, KIND)                                                                  \
    static er_status NAME##_infer(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no) \
    {                                                                                        \
        return axis_infer(c, KIND, i, ni, o, no);                                            \
    }                                                                                        \
    static er_status NAME##_run(er_kctx *c, er_tensor **i, int ni, er_tensor **o, int no)   \
    {                                                                                        \
        (void)ni;                                                                            \
        (void)no;                                                                            \
        return axis_run(c, KIND, i, o);                                                      \
    }

AXIS_OP(Softmax, AX_SOFTMAX)
AXIS_OP(LogSoftmax, AX_LOGSOFTMAX)
AXIS_OP(Hardmax, AX_HARDMAX)
AXIS_OP(LpNormalization, AX_LPNORM)

#define ENTRY(NAME) { .name = #NAME, .infer = NAME##_infer, .run = NAME##_run }

const er_op er_ops_reduce[] = {
    ENTRY(ReduceSum), ENTRY(ReduceMean), ENTRY(ReduceMax), ENTRY(ReduceMin), ENTRY(ReduceProd),
    ENTRY(ReduceL1), ENTRY(ReduceL2), ENTRY(ReduceLogSum), ENTRY(ReduceLogSumExp),
    ENTRY(ReduceSumSquare),
    { .name = "ArgMax", .infer = arg_infer, .run = ArgMax_run },
    { .name = "ArgMin", .infer = arg_infer, .run = ArgMin_run },
    ENTRY(CumSum), ENTRY(TopK), ENTRY(Softmax), ENTRY(LogSoftmax), ENTRY(Hardmax),
    ENTRY(LpNormalization),
    { .name = NULL },
};
