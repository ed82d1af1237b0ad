/* Float32 Add, Sub, Mul, Div for the shapes that dominate CNNs: equal shapes, a scalar
 * operand, and a per-channel operand ([C,1,1] or [1,C,1,1] against [N,C,H,W], as in
 * squeeze-excitation scaling), plus GlobalAveragePool and Sigmoid over float32. Loops are
 * plain so they vectorize; anything else runs the reference kernel. */
#include <string.h>

#include "backend/cpu/epilogue_impl.h"
#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } bin_op;

static bin_op op_of(const er_node *n)
{
    switch (n->op_type[0]) {
    case 'A': return BIN_ADD;
    case 'S': return BIN_SUB;
    case 'M': return BIN_MUL;
    default: return BIN_DIV;
    }
}

/* y[i] = a[i] op b[i·bs] for i < n (bs 0 broadcasts b[0]); swap: b op a. */
static void bin_run(bin_op op, const float *restrict a, const float *restrict b, int bs, bool swap,
                    float *restrict y, int64_t n)
{
#define BIN_LOOP(EXPR)                                                                   \
    do {                                                                                 \
        if (bs)                                                                          \
            for (int64_t i = 0; i < n; i++) { float x = a[i], z = b[i]; y[i] = (EXPR); } \
        else {                                                                           \
            const float z = b[0];                                                        \
            for (int64_t i = 0; i < n; i++) { float x = a[i]; y[i] = (EXPR); }           \
        }                                                                                \
    } while (0)
    switch (op) {
    case BIN_ADD: BIN_LOOP(x + z); break;
    case BIN_MUL: BIN_LOOP(x * z); break;
    case BIN_SUB: if (swap) BIN_LOOP(z - x); else BIN_LOOP(x - z); break;
    case BIN_DIV: if (swap) BIN_LOOP(z / x); else BIN_LOOP(x / z); break;
    }
#undef BIN_LOOP
}

typedef struct bin_job {
    bin_op op;
    const float *a, *b;
    float *y;
    int64_t inner;          /* elements per task row */
    int b_mode;             /* 0 same shape, 1 scalar, 2 per channel */
    int64_t channels;
    bool swap;
} bin_job;

static void bin_rows(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const bin_job *j = ctx;
    for (int64_t r = begin; r < end; r++) {
        const float *a = j->a + r * j->inner;
        float *y = j->y + r * j->inner;
        if (j->b_mode == 0) bin_run(j->op, a, j->b + r * j->inner, 1, j->swap, y, j->inner);
        else if (j->b_mode == 1) bin_run(j->op, a, j->b, 0, j->swap, y, j->inner);
        else bin_run(j->op, a, j->b + r % j->channels, 0, j->swap, y, j->inner);
    }
}

static er_status ref_call(er_kctx *ctx, bool infer, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_op *r = er_op_find_ref("", ctx->node->op_type);
    if (!r) return er_op_fail(ctx, ER_ERR_INTERNAL, "no reference %s", ctx->node->op_type);
    return infer ? r->infer(ctx, in, n_in, out, n_out) : r->run(ctx, in, n_in, out, n_out);
}

er_status er_fast_ref_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    return ref_call(ctx, true, in, n_in, out, n_out);
}

/* How b broadcasts against a (whose shape is the output's): 0 equal, 1 scalar, 2 per
 * channel of a 4-D a; -1 otherwise. */
static int b_mode(const er_tensor *a, const er_tensor *b)
{
    if (er_shape_equal(a->dims, a->ndim, b->dims, b->ndim)) return 0;
    int64_t nb = er_tensor_numel(b);
    if (nb == 1 && b->ndim <= a->ndim) return 1;
    if (a->ndim != 4 || nb != a->dims[1]) return -1;
    if (b->ndim == 3 && b->dims[0] == a->dims[1]) return 2;
    if (b->ndim == 4 && b->dims[0] == 1 && b->dims[1] == a->dims[1]) return 2;
    return -1;
}

er_status er_binary_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *a = in[0], *b = in[1], *y = out[0];
    if (n_in != 2 || a->dtype != ER_F32 || b->dtype != ER_F32) return ref_call(ctx, false, in, n_in, out, n_out);
    bool swap = false;
    int mode = er_shape_equal(a->dims, a->ndim, y->dims, y->ndim) ? b_mode(a, b) : -1;
    if (mode < 0 && er_shape_equal(b->dims, b->ndim, y->dims, y->ndim)) {
        mode = b_mode(b, a);
        swap = true;
        const er_tensor *t = a;
        a = b;
        b = t;
    }
    if (mode < 0) return ref_call(ctx, false, in, n_in, out, n_out);
    int64_t n = er_tensor_numel(y);
    bin_job j = { op_of(ctx->node), a->data, b->data, y->data, n, mode, 1, swap };
    int64_t rows = 1;
    if (mode == 2) {
        j.channels = a->dims[1];
        rows = a->dims[0] * a->dims[1];
        j.inner = a->dims[2] * a->dims[3];
    } else if (n >= 65536) {
        for (rows = 16; n % rows; rows /= 2) {}
        j.inner = n / rows;
    }
    er_parallel_for(er_pool_for(ctx->pool, n, ER_PAR_MIN_ELEMS), rows, 1, bin_rows, &j);
    return ER_OK;
}

typedef struct gap_job {
    const float *x;
    float *y;
    int64_t plane;
} gap_job;

static void gap_planes(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const gap_job *j = ctx;
    for (int64_t p = begin; p < end; p++) {
        const float *restrict x = j->x + p * j->plane;
        float acc[16] = { 0 };
        int64_t i = 0;
        for (; i + 16 <= j->plane; i += 16)
            for (int l = 0; l < 16; l++) acc[l] += x[i + l];
        float s = 0;
        for (int l = 0; l < 16; l++) s += acc[l];
        for (; i < j->plane; i++) s += x[i];
        j->y[p] = s / (float)j->plane;
    }
}

er_status er_gap_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *x = in[0];
    if (x->dtype != ER_F32 || x->ndim < 3) return er_nn_global_avgpool_run(ctx, in, n_in, out, n_out);
    gap_job j = { x->data, out[0]->data, er_tensor_numel(x) / (x->dims[0] * x->dims[1]) };
    er_parallel_for(er_pool_for(ctx->pool, er_tensor_numel(x), ER_PAR_MIN_ELEMS), x->dims[0] * x->dims[1], 16,
                    gap_planes, &j);
    return ER_OK;
}

typedef struct sig_job {
    const float *x;
    float *y;
    int64_t n;
} sig_job;

static void sig_chunks(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const sig_job *j = ctx;
    er_gemm_epilogue ep = { NULL, NULL, NULL, 0, ER_ACT_SIGMOID, 0, 0 };
    int64_t b = begin * 4096, e = ER_MIN(end * 4096, j->n);
    if (j->x != j->y) memcpy(j->y + b, j->x + b, sizeof(float) * (size_t)(e - b));
    er_gemm_epilogue_for(er_cpu_isa())(&ep, j->y + b, 0, 0, 1, 0, (int)(e - b));
}

er_status er_sigmoid_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    if (in[0]->dtype != ER_F32) return ref_call(ctx, false, in, n_in, out, n_out);
    sig_job j = { in[0]->data, out[0]->data, er_tensor_numel(in[0]) };
    er_parallel_for(er_pool_for(ctx->pool, j.n, ER_PAR_MIN_ELEMS), (j.n + 4095) / 4096, 4, sig_chunks, &j);
    return ER_OK;
}
