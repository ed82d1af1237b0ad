/* edgerun.Attention (transformer.h): shapes, the reference kernel and the packed-GEMM one.
 *
 * Each input is seen through a strided view: logical dim i of Q' is dim q_perm[i] of Q, so
 * the transposes the fusion absorbed cost nothing; batch/head dims of size 1 get stride 0
 * (broadcast). The fast kernel runs one head per task: Q'·K' on the packed SGEMM into a
 * per-thread score block, the softmax row kernel, then P·V' written straight into the
 * output's (transposed) layout. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/cpu/epilogue_impl.h"
#include "backend/cpu/fast.h"
#include "backend/cpu/transformer.h"

/* A rank-r logical tensor over some buffer: dims and element strides. */
typedef struct att_view {
    int rank;
    int64_t dims[4];
    int64_t strides[4];
} att_view;

/* Everything a run needs, computed from the input shapes and attributes. */
typedef struct att_geom {
    att_view q, k, v, mask, out;  /* q [.., Sq, D], k [.., D, Sk], v [.., Sk, Dv], out [.., Sq, Dv] */
    bool has_mask;
    int64_t batch;                /* product of the leading dims of out */
    int64_t sq, sk, d, dv;
    float scale;
} att_geom;

static void contiguous_strides(const int64_t *dims, int rank, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* The view of t after Transpose(perm) (perm NULL: identity). */
static er_status permuted_view(er_kctx *ctx, const er_tensor *t, const char *attr, att_view *v)
{
    int n = 0;
    const int64_t *perm = er_attr_ints(ctx->node, attr, &n);
    if (t->ndim != 3 && t->ndim != 4)
        return er_op_fail(ctx, ER_ERR_SHAPE, "inputs must have rank 3 or 4, got %d", t->ndim);
    if (perm && n != t->ndim)
        return er_op_fail(ctx, ER_ERR_FORMAT, "%s has %d values for rank %d", attr, n, t->ndim);
    int64_t raw[4];
    contiguous_strides(t->dims, t->ndim, raw);
    unsigned seen = 0;
    v->rank = t->ndim;
    for (int i = 0; i < t->ndim; i++) {
        int64_t p = perm ? perm[i] : i;
        if (p < 0 || p >= t->ndim || (seen >> p) & 1)
            return er_op_fail(ctx, ER_ERR_FORMAT, "%s is not a permutation of 0..%d", attr, t->ndim - 1);
        seen |= 1u << p;
        v->dims[i] = t->dims[p];
        v->strides[i] = raw[p];
    }
    return ER_OK;
}

/* Broadcasts the leading (batch) dims of v into out_dims; fails when they do not agree. */
static er_status broadcast_batch(er_kctx *ctx, const att_view *v, int64_t *out_dims, int nb)
{
    for (int i = 0; i < nb; i++) {
        if (v->dims[i] == out_dims[i] || v->dims[i] == 1) continue;
        if (out_dims[i] != 1)
            return er_op_fail(ctx, ER_ERR_SHAPE, "batch dim %d: %lld does not broadcast with %lld", i,
                              (long long)v->dims[i], (long long)out_dims[i]);
        out_dims[i] = v->dims[i];
    }
    return ER_OK;
}

static void zero_broadcast_strides(att_view *v, int nb)
{
    for (int i = 0; i < nb; i++)
        if (v->dims[i] == 1) v->strides[i] = 0;
}

static er_status geometry(er_kctx *ctx, er_tensor **in, int n_in, att_geom *g)
{
    er_status st = er_op_check_arity(ctx, n_in, 3, 4);
    if (st != ER_OK) return st;
    for (int i = 0; i < n_in; i++)
        if (in[i] && in[i]->dtype != ER_F32)
            return er_op_fail(ctx, ER_ERR_DTYPE, "input %d is %s; only float32 is supported", i,
                              er_dtype_name(in[i]->dtype));
    memset(g, 0, sizeof *g);
    if ((st = permuted_view(ctx, in[0], "q_perm", &g->q)) != ER_OK ||
        (st = permuted_view(ctx, in[1], "k_perm", &g->k)) != ER_OK ||
        (st = permuted_view(ctx, in[2], "v_perm", &g->v)) != ER_OK)
        return st;
    int r = g->q.rank, nb = r - 2;
    if (g->k.rank != r || g->v.rank != r) return er_op_fail(ctx, ER_ERR_SHAPE, "Q, K and V ranks differ");
    g->sq = g->q.dims[r - 2];
    g->d = g->q.dims[r - 1];
    g->sk = g->k.dims[r - 1];
    g->dv = g->v.dims[r - 1];
    if (g->k.dims[r - 2] != g->d || g->v.dims[r - 2] != g->sk)
        return er_op_fail(ctx, ER_ERR_SHAPE,
                          "Q' [.., %lld, %lld], K' [.., %lld, %lld], V' [.., %lld, %lld] do not chain",
                          (long long)g->sq, (long long)g->d, (long long)g->k.dims[r - 2], (long long)g->sk,
                          (long long)g->v.dims[r - 2], (long long)g->dv);
    int64_t od[4] = { 1, 1, 1, 1 };
    memcpy(od, g->q.dims, sizeof(int64_t) * (size_t)nb);
    if ((st = broadcast_batch(ctx, &g->k, od, nb)) != ER_OK || (st = broadcast_batch(ctx, &g->v, od, nb)) != ER_OK ||
        (st = broadcast_batch(ctx, &g->q, od, nb)) != ER_OK)
        return st;
    od[nb] = g->sq;
    od[nb + 1] = g->dv;
    g->out.rank = r;
    memcpy(g->out.dims, od, sizeof od);
    zero_broadcast_strides(&g->q, nb);
    zero_broadcast_strides(&g->k, nb);
    zero_broadcast_strides(&g->v, nb);
    g->batch = er_shape_numel(od, nb);
    g->scale = er_attr_float(ctx->node, "scale", 1.0f);
    const er_tensor *m = n_in > 3 ? in[3] : NULL;
    if (m) {
        int64_t sd[4], ms[4];
        memcpy(sd, od, sizeof(int64_t) * (size_t)nb);
        sd[nb] = g->sq;
        sd[nb + 1] = g->sk;
        int64_t bd[ER_MAX_DIMS];
        int bn;
        if ((st = er_broadcast_shape(ctx, m->dims, m->ndim, sd, r, bd, &bn)) != ER_OK) return st;
        if (!er_shape_equal(bd, bn, sd, r))
            return er_op_fail(ctx, ER_ERR_SHAPE, "mask does not broadcast to the scores");
        er_broadcast_strides(m->dims, m->ndim, sd, r, ms);
        g->has_mask = true;
        g->mask.rank = r;
        memcpy(g->mask.dims, sd, sizeof sd);
        memcpy(g->mask.strides, ms, sizeof ms);
    }
    if (g->sq >= (1 << 30) || g->sk >= (1 << 30) || g->d >= (1 << 30) || g->dv >= (1 << 30))
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "dimensions beyond 2^30");
    return ER_OK;
}

/* The output's shape: out (logical) after Transpose(out_perm); strides of out in it. */
static er_status output_layout(er_kctx *ctx, att_geom *g, int64_t *ydims)
{
    int n = 0, r = g->out.rank;
    const int64_t *perm = er_attr_ints(ctx->node, "out_perm", &n);
    if (perm && n != r) return er_op_fail(ctx, ER_ERR_FORMAT, "out_perm has %d values for rank %d", n, r);
    int64_t ys[4];
    unsigned seen = 0;
    for (int j = 0; j < r; j++) {
        int64_t p = perm ? perm[j] : j;
        if (p < 0 || p >= r || (seen >> p) & 1) return er_op_fail(ctx, ER_ERR_FORMAT, "out_perm is not a permutation");
        seen |= 1u << p;
        ydims[j] = g->out.dims[p];
    }
    contiguous_strides(ydims, r, ys);
    for (int j = 0; j < r; j++) g->out.strides[perm ? perm[j] : j] = ys[j];
    return ER_OK;
}

/* The reference's scratch: one score row and one mask row. */
static size_t ref_ws_floats(const att_geom *g) { return (size_t)(2 * g->sk); }

er_status er_attention_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    att_geom g;
    int64_t yd[4];
    er_status st = geometry(ctx, in, n_in, &g);
    if (st == ER_OK) st = output_layout(ctx, &g, yd);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], ER_F32, yd, g.out.rank);
    ctx->workspace_bytes = sizeof(float) * ref_ws_floats(&g);
    return ER_OK;
}

/* Offset of batch index b (row-major over the leading dims of out) in view v. */
static int64_t batch_offset(const att_view *v, const int64_t *out_dims, int nb, int64_t b)
{
    int64_t off = 0;
    for (int i = nb - 1; i >= 0; i--) {
        off += (b % out_dims[i]) * v->strides[i];
        b /= out_dims[i];
    }
    return off;
}

void er_softmax_row_ref(float *x, const float *mask, float scale, int n)
{
    float mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j < n; j++) {
        x[j] = x[j] * scale + (mask ? mask[j] : 0.0f);
        mx = x[j] > mx ? x[j] : mx;
    }
    for (int j = 0; j < n; j++) {
        x[j] = ep_exp(x[j] - mx);
        sum += x[j];
    }
    for (int j = 0; j < n; j++) x[j] /= sum;
}

/* The mask row of (batch b, query i) into dst (sk floats). */
static void mask_row(const att_geom *g, const float *m, int64_t b, int64_t i, float *dst)
{
    int nb = g->out.rank - 2;
    const float *row = m + batch_offset(&g->mask, g->out.dims, nb, b) + i * g->mask.strides[nb];
    int64_t s = g->mask.strides[nb + 1];
    for (int64_t j = 0; j < g->sk; j++) dst[j] = row[j * s];
}

er_status er_attention_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    att_geom g;
    int64_t yd[4];
    er_status st = geometry(ctx, in, n_in, &g);
    if (st == ER_OK) st = output_layout(ctx, &g, yd);
    if (st != ER_OK) return st;
    if (g.sk > 0 && (!ctx->workspace || ctx->workspace_bytes < sizeof(float) * ref_ws_floats(&g)))
        return er_op_fail(ctx, ER_ERR_INTERNAL, "workspace missing");
    int nb = g.out.rank - 2;
    const float *qd = in[0]->data, *kd = in[1]->data, *vd = in[2]->data;
    const float *md = g.has_mask ? in[3]->data : NULL;
    float *y = out[0]->data, *p = ctx->workspace, *mrow = p + g.sk;
    for (int64_t b = 0; b < g.batch; b++) {
        const float *q = qd + batch_offset(&g.q, g.out.dims, nb, b), *k = kd + batch_offset(&g.k, g.out.dims, nb, b);
        const float *v = vd + batch_offset(&g.v, g.out.dims, nb, b);
        float *o = y + batch_offset(&g.out, g.out.dims, nb, b);
        for (int64_t i = 0; i < g.sq; i++) {
            const float *qi = q + i * g.q.strides[nb];
            for (int64_t j = 0; j < g.sk; j++) {
                const float *kj = k + j * g.k.strides[nb + 1];
                float acc = 0.0f;
                for (int64_t c = 0; c < g.d; c++) acc += qi[c * g.q.strides[nb + 1]] * kj[c * g.k.strides[nb]];
                p[j] = acc;
            }
            if (md) mask_row(&g, md, b, i, mrow);
            er_softmax_row_ref(p, md ? mrow : NULL, g.scale, (int)g.sk);
            for (int64_t c = 0; c < g.dv; c++) {
                float acc = 0.0f;
                for (int64_t j = 0; j < g.sk; j++) acc += p[j] * v[j * g.v.strides[nb] + c * g.v.strides[nb + 1]];
                o[i * g.out.strides[nb] + c * g.out.strides[nb + 1]] = acc;
            }
        }
    }
    return ER_OK;
}

/* ---- packed-GEMM kernel ---- */

/* Per-thread scratch, in floats: packed Q' (or P), K' as [D×Sk], V' as [Sk×Dv] when it is
 * not row-contiguous, scores [Sq×Sk], output [Sq×Dv] when the output is not (Q' [Sq×D] before
 * that when Q' is not row-contiguous), the mask row,
 * and the SGEMM's own scratch. */
typedef struct att_ws {
    size_t pack, kt, v, s, o, m, gemm, total;
} att_ws;

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static att_ws ws_layout(const er_sgemm_kernel *kr, const att_geom *g)
{
    att_ws w;
    w.pack = round16(ER_MAX(er_sgemm_packed_a_floats(kr, (int)g->sq, (int)g->d),
                            er_sgemm_packed_a_floats(kr, (int)g->sq, (int)g->sk)));
    w.kt = round16((size_t)(g->d * g->sk));
    w.v = round16((size_t)(g->sk * g->dv));
    w.s = round16((size_t)(g->sq * g->sk));
    w.o = round16((size_t)(g->sq * ER_MAX(g->dv, g->d)));
    w.m = round16((size_t)g->sk);
    w.gemm = round16(er_sgemm_workspace_floats(kr, (int)ER_MAX(g->sk, g->dv), 1));
    w.total = w.pack + w.kt + w.v + w.s + w.o + w.m + w.gemm;
    return w;
}

er_status er_attention_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    att_geom g;
    er_status st = er_attention_infer(ctx, in, n_in, out, n_out);
    if (st == ER_OK) st = geometry(ctx, in, n_in, &g);
    if (st != ER_OK) return st;
    att_ws w = ws_layout(er_sgemm_kernel_select(), &g);
    size_t per = ER_MAX(w.total, ref_ws_floats(&g));
    ctx->workspace_bytes = sizeof(float) * per * (size_t)er_threadpool_size(ctx->pool);
    return ER_OK;
}

typedef struct att_job {
    const att_geom *g;
    const er_sgemm_kernel *kr;
    att_ws w;
    er_softmax_row_fn softmax;
    const float *q, *k, *v, *mask;
    float *y, *ws;
} att_job;

/* src viewed as rows × cols with strides (rs, cs) into dst, row-major. */
static void gather(const float *src, int64_t rows, int64_t cols, int64_t rs, int64_t cs, float *dst)
{
    if (cs > 1 && cs * 15 < INT32_MAX && er_cpu_isa() == ER_ISA_AVX512) {
        er_gather_cols_avx512(src, rows, cols, rs, cs, dst);
        return;
    }
    for (int64_t i = 0; i < rows; i++) {
        const float *s = src + i * rs;
        float *d = dst + i * cols;
        if (cs == 1) {
            memcpy(d, s, sizeof(float) * (size_t)cols);
            continue;
        }
        for (int64_t j = 0; j < cols; j++) d[j] = s[j * cs];
    }
}

static void head(const att_job *j, int64_t b, float *ws)
{
    const att_geom *g = j->g;
    const er_sgemm_kernel *kr = j->kr;
    int nb = g->out.rank - 2, sq = (int)g->sq, sk = (int)g->sk, d = (int)g->d, dv = (int)g->dv;
    float *pack = ws, *kt = pack + j->w.pack, *vb = kt + j->w.kt, *s = vb + j->w.v, *ob = s + j->w.s;
    float *mrow = ob + j->w.o, *gws = mrow + j->w.m;
    const att_view *qv = &g->q, *kv = &g->k, *vv = &g->v, *ov = &g->out;
    const float *q = j->q + batch_offset(qv, g->out.dims, nb, b), *k = j->k + batch_offset(kv, g->out.dims, nb, b);
    const float *v = j->v + batch_offset(vv, g->out.dims, nb, b);
    float *o = j->y + batch_offset(ov, g->out.dims, nb, b);

    if (qv->strides[nb + 1] == 1) {
        er_mm_pack_a(kr, q, (int)qv->strides[nb], sq, d, pack);
    } else {
        gather(q, sq, d, qv->strides[nb], qv->strides[nb + 1], ob);
        er_mm_pack_a(kr, ob, d, sq, d, pack);
    }
    er_dense_b kb = { kt, sk, false };
    if (kv->strides[nb + 1] == 1) kb = (er_dense_b){ k, (int)kv->strides[nb], false };
    else gather(k, d, sk, kv->strides[nb], kv->strides[nb + 1], kt);
    er_sgemm_b bk = { er_pack_dense_for(kr), &kb };
    er_sgemm(NULL, kr, sq, sk, d, pack, &bk, s, sk, NULL, gws);

    for (int i = 0; i < sq; i++) {
        if (j->mask) mask_row(g, j->mask, b, i, mrow);
        j->softmax(s + (size_t)i * sk, j->mask ? mrow : NULL, g->scale, sk);
    }

    er_mm_pack_a(kr, s, sk, sq, sk, pack);
    er_dense_b vbd = { vb, dv, false };
    if (vv->strides[nb + 1] == 1) vbd = (er_dense_b){ v, (int)vv->strides[nb], false };
    else gather(v, sk, dv, vv->strides[nb], vv->strides[nb + 1], vb);
    er_sgemm_b bv = { er_pack_dense_for(kr), &vbd };
    bool direct = ov->strides[nb + 1] == 1;
    er_sgemm(NULL, kr, sq, dv, sk, pack, &bv, direct ? o : ob, direct ? (int)ov->strides[nb] : dv, NULL, gws);
    if (!direct)
        for (int i = 0; i < sq; i++)
            for (int c = 0; c < dv; c++) o[i * ov->strides[nb] + c * ov->strides[nb + 1]] = ob[(size_t)i * dv + c];
}

static void heads(void *ctx, int64_t begin, int64_t end, int tid)
{
    const att_job *j = ctx;
    for (int64_t b = begin; b < end; b++) head(j, b, j->ws + (size_t)tid * j->w.total);
}

/* The GEMM takes row strides as int. */
static bool strides_fit_int(const att_geom *g)
{
    const att_view *v[4] = { &g->q, &g->k, &g->v, &g->out };
    for (int i = 0; i < 4; i++)
        for (int d = 0; d < v[i]->rank; d++)
            if (v[i]->strides[d] >= INT32_MAX / 16) return false;
    return true;
}

er_status er_attention_run_fast(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    att_geom g;
    int64_t yd[4];
    er_status st = geometry(ctx, in, n_in, &g);
    if (st == ER_OK) st = output_layout(ctx, &g, yd);
    if (st != ER_OK) return st;
    att_job j = { &g, er_sgemm_kernel_select(), { 0 }, NULL, in[0]->data, in[1]->data, in[2]->data,
                  g.has_mask ? in[3]->data : NULL, out[0]->data, ctx->workspace };
    j.w = ws_layout(j.kr, &g);
    j.softmax = j.kr->isa == ER_ISA_AVX512 ? er_softmax_row_avx512 : er_softmax_row_ref;
    if (!ctx->workspace || ctx->workspace_bytes < sizeof(float) * j.w.total * (size_t)er_threadpool_size(ctx->pool))
        return er_attention_run_ref(ctx, in, n_in, out, n_out);
    if (g.sq == 0 || g.sk == 0 || g.d == 0 || g.dv == 0 || g.batch == 0 || !strides_fit_int(&g))
        return er_attention_run_ref(ctx, in, n_in, out, n_out);
    int64_t work = g.batch * g.sq * g.sk * (g.d + g.dv);
    er_parallel_for(er_pool_for(ctx->pool, work, ER_PAR_MIN_MACS), g.batch, 1, heads, &j);
    return ER_OK;
}
