/* Packed constant-weight integer matrix products (see qgemm_matmul.h). */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/qgemm_matmul.h"
#include "backend/cpu/qgemm_mm.h"

/* Input slots of the three ops; -1 where the op has none. */
typedef struct qmm_slots {
    int as, az, b, bs, bz, c, ys, yz;
} qmm_slots;

static const qmm_slots SLOTS_MATMULINT = { -1, 2, 1, -1, 3, -1, -1, -1 };
static const qmm_slots SLOTS_QLINEAR = { 1, 2, 3, 4, 5, -1, 6, 7 };
static const qmm_slots SLOTS_QGEMM = { 1, 2, 3, 4, 5, 6, 7, 8 };

typedef struct qmm_state {
    qmm_slots sl;
    int64_t k, n, np;
    float alpha;
    int8_t *wp;               /* packed B */
    int32_t *colsum;          /* [np] */
    int32_t *corr;            /* [np] run-time epilogue terms */
    float *mult, *add;        /* [np] */
    const char *op;
    er_qmm_fn fn;
} qmm_state;

void er_qmm_release(void *state)
{
    qmm_state *s = state;
    if (!s) return;
    er_aligned_free(s->wp);
    free(s->colsum);
    free(s->corr);
    free(s->mult);
    free(s->add);
    free(s);
}

static const er_tensor *slot(er_tensor **in, int n_in, int k) { return k >= 0 && k < n_in ? in[k] : NULL; }

static bool is_scalar(const er_tensor *t) { return !t || er_tensor_numel(t) == 1; }

static bool all_zero_i8(const er_tensor *t)
{
    if (!t) return true;
    if (!t->data || t->dtype != ER_I8) return false;
    for (int64_t i = 0; i < er_tensor_numel(t); i++)
        if (((const int8_t *)t->data)[i]) return false;
    return true;
}

/* Whether this node can run on the packed kernel; the reference kernel handles the rest. */
static bool fast_form(er_tensor **in, int n_in, const qmm_slots *sl, int64_t n, bool trans_a)
{
    const er_tensor *b = in[sl->b], *bs = slot(in, n_in, sl->bs), *c = slot(in, n_in, sl->c);
    const er_tensor *ys = slot(in, n_in, sl->ys), *yz = slot(in, n_in, sl->yz);
    if (trans_a || !b || !b->data || b->dtype != ER_I8 || b->ndim != 2 || !all_zero_i8(slot(in, n_in, sl->bz)))
        return false;
    if (!is_scalar(slot(in, n_in, sl->as)) || !is_scalar(slot(in, n_in, sl->az))) return false;
    if (bs && (!bs->data || (er_tensor_numel(bs) != 1 && er_tensor_numel(bs) != n))) return false;
    if (ys && (!ys->data || !is_scalar(ys) || (yz && (!yz->data || !is_scalar(yz))))) return false;
    return !c || (c->data && (er_tensor_numel(c) == 1 || er_tensor_numel(c) == n));
}

er_status er_qmm_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, void **state)
{
    (void)out, (void)n_out;
    *state = NULL;
    const char *op = ctx->node->op_type;
    qmm_slots sl = strcmp(op, "MatMulInteger") == 0 ? SLOTS_MATMULINT
                   : strcmp(op, "QLinearMatMul") == 0 ? SLOTS_QLINEAR : SLOTS_QGEMM;
    bool qgemm = strcmp(op, "QGemm") == 0 || strcmp(op, "QGemmDQ") == 0, trans_b = qgemm && er_attr_int(ctx->node, "transB", 0) != 0;
    if (sl.b >= n_in || !in[sl.b] || in[0]->ndim < 1) return ER_OK;
    const er_tensor *b = in[sl.b];
    int64_t k = in[0]->dims[in[0]->ndim - 1], n = b->ndim == 2 ? b->dims[trans_b ? 0 : 1] : 0;
    if (!fast_form(in, n_in, &sl, n, qgemm && er_attr_int(ctx->node, "transA", 0) != 0)) return ER_OK;
    qmm_state *s = calloc(1, sizeof *s);
    if (!s) return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
    s->sl = sl;
    s->k = k;
    s->n = n;
    s->np = er_qmm_np(n);
    s->alpha = qgemm ? er_attr_float(ctx->node, "alpha", 1.0f) : 1.0f;
    s->wp = er_aligned_alloc((size_t)((k + 3) / 4 * s->np * 4));
    s->colsum = malloc(sizeof(int32_t) * (size_t)s->np);
    s->corr = calloc((size_t)s->np, sizeof(int32_t));
    s->mult = calloc((size_t)s->np, sizeof(float));
    s->add = calloc((size_t)s->np, sizeof(float));
    s->op = op;
    if (!s->wp || !s->colsum || !s->corr || !s->mult || !s->add) {
        er_qmm_release(s);
        return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing B");
    }
    er_qmm_pack_w(b->data, k, n, trans_b, s->wp, s->colsum);
    s->fn = er_qmm_select();
    *state = s;
    return ER_OK;
}

static float scalar_f(const er_tensor *t, float dflt) { return t ? *(const float *)t->data : dflt; }

static int32_t scalar_q(const er_tensor *t)
{
    if (!t) return 0;
    return t->dtype == ER_I8 ? *(const int8_t *)t->data : *(const uint8_t *)t->data;
}

/* The per-column epilogue terms of this run (A's scale and zero point may change per run). */
static void epilogue_terms(const qmm_state *s, er_tensor **in, int n_in, const er_tensor *y, er_qmm_out *o)
{
    const er_tensor *a = in[0], *bs = slot(in, n_in, s->sl.bs), *c = slot(in, n_in, s->sl.c);
    const er_tensor *ys = slot(in, n_in, s->sl.ys);
    const int32_t za = scalar_q(slot(in, n_in, s->sl.az)) + (a->dtype == ER_I8 ? 128 : 0);
    const float sa = scalar_f(slot(in, n_in, s->sl.as), 1.0f), sy = scalar_f(ys, 1.0f);
    const bool c_int = c && c->dtype == ER_I32, c_one = c && er_tensor_numel(c) == 1;
    const int64_t nbs = bs ? er_tensor_numel(bs) : 1;
    for (int64_t n = 0; n < s->n; n++) {
        int64_t ci = c_one ? 0 : n;
        s->corr[n] = -za * s->colsum[n] + (c_int ? ((const int32_t *)c->data)[ci] : 0);
        float sb = bs ? ((const float *)bs->data)[nbs == 1 ? 0 : n] : 1.0f;
        s->mult[n] = s->alpha * sa * sb / sy;
        s->add[n] = c && !c_int ? ((const float *)c->data)[ci] / sy : 0.0f;
    }
    o->kind = y->dtype == ER_I32 ? ER_QMM_I32 : y->dtype == ER_F32 ? ER_QMM_F32 : y->dtype == ER_I8 ? ER_QMM_I8 : ER_QMM_U8;
    if (strcmp(s->op, "QGemmDQ") == 0) {
        const er_tensor *yz = slot(in, n_in, s->sl.yz), *post = slot(in, n_in, 9);
        o->kind = yz && yz->dtype == ER_I8 ? ER_QMM_I8_F32 : ER_QMM_U8_F32;
        o->ys = sy;
        o->post = post ? post->data : NULL;
    }
    o->corr = s->corr;
    o->mult = s->mult;
    o->add = s->add;
    o->zp = (float)scalar_q(slot(in, n_in, s->sl.yz));
    o->y = y->data;
    o->ldy = s->n;
}

typedef struct {
    const qmm_state *s;
    er_qmm_a a;
    er_qmm_out o;
    int64_t rows;
} qmm_task;

static void column_blocks(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const qmm_task *t = arg;
    const qmm_state *s = t->s;
    s->fn(&t->a, s->wp, s->np, 0, t->rows, begin * ER_QMM_NB, ER_MIN(end * ER_QMM_NB, s->n), &t->o);
}

er_status er_qmm_run_packed(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const qmm_state *s = ctx->state;
    const er_tensor *a = in[0];
    qmm_task t = { .s = s, .rows = er_shape_numel(a->dims, a->ndim - 1) };
    t.a = (er_qmm_a){ .a = a->data, .lda = s->k, .k = s->k, .flip = a->dtype == ER_I8 ? 0x80 : 0 };
    epilogue_terms(s, in, n_in, out[0], &t.o);
    er_parallel_for(ctx->pool, s->np / ER_QMM_NB, 1, column_blocks, &t);
    return ER_OK;
}

/* ---- QGemmDQ (domain edgerun): QGemm with y_scale and y_zp, its 8-bit result dequantized
 * again (DequantizeLinear with the same parameters) and an optional float row [N] added
 * (input 9): what the QDQ fusion makes of MatMul → QuantizeLinear → DequantizeLinear → Add,
 * the same float steps in one pass. Runs only on the packed kernel. ---- */

er_status er_qgemm_dq_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    if (n_in < 9 || n_in > 10 || !in[7] || !in[8])
        return er_op_fail(ctx, ER_ERR_FORMAT, "expects 9 or 10 inputs with y_scale and y_zero_point, got %d", n_in);
    const er_op *q = er_op_find("edgerun", "QGemm");
    er_status st = q ? q->infer(ctx, in, 9, out, n_out) : er_op_fail(ctx, ER_ERR_UNSUPPORTED, "no QGemm");
    if (st != ER_OK) return st;
    const er_tensor *post = n_in > 9 ? in[9] : NULL;
    const int64_t n = out[0]->dims[out[0]->ndim - 1];
    if (post && (post->dtype != ER_F32 || er_tensor_numel(post) != n))
        return er_op_fail(ctx, ER_ERR_SHAPE, "the row added after dequantization must be %lld float32 values",
                          (long long)n);
    out[0]->dtype = ER_F32;
    return ER_OK;
}

er_status er_qgemm_dq_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    if (!ctx->state)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "needs constant int8 weights with zero points 0 and one A scale");
    return er_qmm_run_packed(ctx, in, n_in, out, n_out);
}
