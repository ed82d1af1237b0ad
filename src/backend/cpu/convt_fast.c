/* ConvTranspose whose kernel equals its stride (no overlap between the output blocks of two
 * input pixels, as in segmentation heads' 2×2 / stride-2 upsampling), unpadded, group 1:
 * one GEMM T[M·KH·KW × H·W] = Wᵀ · X with the transposed weights packed once, then each
 * column of T scattered into its KH×KW output block with the bias. Everything else runs
 * the reference kernel. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"

typedef struct convt_state {
    const er_sgemm_kernel *k;
    int c, m, kh, kw;
    float *packed;
} convt_state;

/* The simple case: 4-D, group 1, strides == kernel, no pads, dilation 1, no output padding,
 * and an output of exactly input × stride. */
static bool convt_simple(er_kctx *ctx, const er_tensor *x, const er_tensor *w, const er_tensor *y)
{
    if (x->dtype != ER_F32 || x->ndim != 4 || w->ndim != 4 || y->ndim != 4) return false;
    if (er_attr_int(ctx->node, "group", 1) != 1) return false;
    const char *ap = er_attr_str(ctx->node, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0) return false;
    int n = 0;
    const int64_t *st = er_attr_ints(ctx->node, "strides", &n);
    if (!st || n != 2 || st[0] != w->dims[2] || st[1] != w->dims[3]) return false;
    const int64_t *v = er_attr_ints(ctx->node, "dilations", &n);
    for (int i = 0; v && i < n; i++)
        if (v[i] != 1) return false;
    v = er_attr_ints(ctx->node, "pads", &n);
    for (int i = 0; v && i < n; i++)
        if (v[i] != 0) return false;
    v = er_attr_ints(ctx->node, "output_padding", &n);
    for (int i = 0; v && i < n; i++)
        if (v[i] != 0) return false;
    return y->dims[1] == w->dims[1] && y->dims[2] == x->dims[2] * st[0] && y->dims[3] == x->dims[3] * st[1] &&
           x->dims[1] == w->dims[0];
}

er_status er_convt_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_nn_convt_infer(ctx, in, n_in, out, n_out);
    if (st != ER_OK || !convt_simple(ctx, in[0], in[1], out[0])) return st;
    const er_sgemm_kernel *k = er_sgemm_kernel_select();
    int64_t r = in[1]->dims[1] * in[1]->dims[2] * in[1]->dims[3], hw = in[0]->dims[2] * in[0]->dims[3];
    size_t t = ((size_t)(r * hw) + 15) & ~(size_t)15;
    ctx->workspace_bytes = sizeof(float) * (t + er_sgemm_workspace_floats(k, (int)hw, er_threadpool_size(ctx->pool)));
    return st;
}

void er_convt_fast_release(void *state)
{
    convt_state *s = state;
    if (!s) return;
    er_aligned_free(s->packed);
    free(s);
}

er_status er_convt_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, void **state)
{
    (void)n_in;
    (void)n_out;
    const er_tensor *w = in[1];
    if (!w->data || !convt_simple(ctx, in[0], w, out[0])) return ER_OK;
    convt_state *s = calloc(1, sizeof *s);
    if (!s) return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
    s->k = er_sgemm_kernel_select();
    s->c = (int)w->dims[0];
    s->m = (int)w->dims[1];
    s->kh = (int)w->dims[2];
    s->kw = (int)w->dims[3];
    int r = s->m * s->kh * s->kw;
    s->packed = er_aligned_alloc(sizeof(float) * er_sgemm_packed_a_floats(s->k, r, s->c));
    if (!s->packed) {
        free(s);
        return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing the weights");
    }
    er_sgemm_pack_a(s->k, w->data, r, true, r, s->c, s->packed);
    *state = s;
    return ER_OK;
}

typedef struct scatter_job {
    const convt_state *s;
    const float *t, *bias;
    float *y;
    int h, w;
} scatter_job;

static void scatter(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const scatter_job *j = ctx;
    const convt_state *s = j->s;
    size_t hw = (size_t)j->h * j->w, ow = (size_t)j->w * s->kw;
    for (int64_t m = begin; m < end; m++) {
        float b = j->bias ? j->bias[m] : 0.0f;
        float *ym = j->y + (size_t)m * hw * s->kh * s->kw;
        for (int kh = 0; kh < s->kh; kh++)
            for (int kw = 0; kw < s->kw; kw++) {
                const float *t = j->t + ((size_t)(m * s->kh + kh) * s->kw + kw) * hw;
                for (int ih = 0; ih < j->h; ih++) {
                    float *yr = ym + ((size_t)ih * s->kh + kh) * ow + kw;
                    const float *tr = t + (size_t)ih * j->w;
                    for (int iw = 0; iw < j->w; iw++) yr[(size_t)iw * s->kw] = tr[iw] + b;
                }
            }
    }
}

er_status er_convt_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const convt_state *s = ctx->state;
    if (!s || !ctx->workspace) return er_nn_convt_run(ctx, in, n_in, out, n_out);
    const er_tensor *x = in[0], *b = n_in > 2 ? in[2] : NULL;
    int h = (int)x->dims[2], w = (int)x->dims[3], r = s->m * s->kh * s->kw;
    size_t hw = (size_t)h * w, tsz = ((size_t)r * hw + 15) & ~(size_t)15;
    float *t = ctx->workspace;
    er_threadpool *pool = er_pool_for(ctx->pool, (int64_t)r * (int64_t)hw * s->c, ER_PAR_MIN_MACS);
    for (int64_t bi = 0; bi < x->dims[0]; bi++) {
        er_dense_b dense = { (const float *)x->data + (size_t)bi * s->c * hw, (int)hw, false };
        er_sgemm_b bp = { er_pack_dense_for(s->k), &dense };
        er_sgemm(pool, s->k, r, (int)hw, s->c, s->packed, &bp, t, (int)hw, NULL, t + tsz);
        scatter_job j = { s, t, b ? b->data : NULL, (float *)out[0]->data + (size_t)bi * r * hw, h, w };
        er_parallel_for(pool, s->m, 1, scatter, &j);
    }
    return ER_OK;
}
