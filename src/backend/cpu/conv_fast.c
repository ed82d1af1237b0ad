/* Conv and edgerun.FusedConv on the packed SGEMM.
 *
 * Per image and group, Y[M × OH·OW] = W[M × C·KH·KW] · im2col(X). W is packed into micro-kernel
 * panels once, at planning; the im2col matrix is never built: the B-panel callback gathers
 * input pixels straight into the panel layout. A 1×1 stride-1 unpadded conv reads X as a
 * plain [C × H·W] matrix. 3×3 stride-1 convs where it saves enough products use Winograd
 * (winograd.c: F(4×4, 3×3), or F(2×2, 3×3) for small planes). With AVX-512 the other gathered convs (strided, padded, small planes) and 1×1
 * convs with a long K and small weights run the direct kernel instead (conv_direct_avx512.c:
 * output channels in vector lanes, pixels broadcast from the input, no gathers). Depthwise
 * convs (one input and output channel per group) use the direct plane kernel, on a zero-padded copy of each plane unless the kernel pads in place (the
 * AVX-512 one for 3, 5 and 7 wide kernels, which also applies ReLU and Clip as it stores). Bias, residual and activation are applied
 * by the GEMM epilogue while the output is hot. 3-D convs and non-constant weights run the
 * reference kernel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/conv_direct.h"
#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"

typedef enum { CONV_GEMM, CONV_1X1, CONV_DEPTHWISE, CONV_WINOGRAD, CONV_DIRECT } conv_kind;

typedef struct conv_state {
    conv_kind kind;
    const er_sgemm_kernel *k;
    er_dw_plane_fn dw;
    bool dw_in_place;                   /* the depthwise kernel reads padding in place */
    er_dw_geom geom;
    int group, cg_in, cg_out, kdim;     /* kdim = cg_in·KH·KW, the GEMM's K */
    size_t a_floats;                    /* packed floats per group */
    float *packed;                      /* group × a_floats; NULL for depthwise */
    float *weights;                     /* depthwise: a copy of the constant W */
    float *bias;                        /* a copy of a constant B, or NULL */
    er_wino wino;                       /* Winograd: transformed, packed weights */
    er_cdir cdir;                       /* direct: weights packed channels-in-lanes */
} conv_state;

/* Reads a 1-D or 2-D window into the plane geometry; false for 3-D convs. */
static bool plane_geom(const er_nn_window *w, er_dw_geom *g)
{
    if (w->nsp > 2) return false;
    *g = (er_dw_geom){
        (int)w->in[1], (int)w->in[2], (int)w->out[1], (int)w->out[2], (int)w->k[1], (int)w->k[2],
        (int)w->stride[1], (int)w->stride[2], (int)w->pad0[1], (int)w->pad0[2], (int)w->dil[1],
        (int)w->dil[2],
    };
    return true;
}

/* Floats of one zero-padded input plane for the depthwise kernel (covers every tap of every
 * output, plus slack for masked vector loads). */
static size_t padded_plane_floats(const er_dw_geom *g)
{
    size_t ph = (size_t)ER_MAX(g->ih + g->ph, (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1);
    size_t pw = (size_t)ER_MAX(g->iw + g->pw, (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1);
    return ph * pw + 64;
}

/* The direct kernel is AVX-512 only; depthwise convs keep their plane kernel. */
static bool direct_applicable(const er_sgemm_kernel *k, const er_dw_geom *g, int cg_in, int cg_out)
{
    return k->isa == ER_ISA_AVX512 && !(cg_in == 1 && cg_out == 1) && er_cdir_applicable(g, cg_in, cg_out);
}

static size_t conv_ws_bytes(er_kctx *ctx, er_tensor **in, const er_tensor *y)
{
    const er_sgemm_kernel *k = er_sgemm_kernel_select();
    int threads = er_threadpool_size(ctx->pool);
    int64_t planes = y->dims[0] * y->dims[1], n = planes > 0 ? er_tensor_numel(y) / planes : 0;
    size_t gemm = er_sgemm_workspace_floats(k, (int)n, threads);
    er_nn_window win;
    er_dw_geom g;
    size_t dw = 0;
    if (er_nn_window_forward(ctx, in[0]->dims + 2, in[1]->dims + 2, in[0]->ndim - 2, false, &win) == ER_OK &&
        plane_geom(&win, &g)) {
        dw = padded_plane_floats(&g) * (size_t)threads;
        int group = (int)er_attr_int(ctx->node, "group", 1), c = (int)in[0]->dims[1], m = (int)y->dims[1];
        if (er_wino_applicable(&g, group, c, m)) dw = ER_MAX(dw, er_wino_ws_bytes(&g, c, m, threads) / sizeof(float));
        if (!er_wino_applicable(&g, group, c, m) && direct_applicable(k, &g, c / group, m / group))
            dw = ER_MAX(dw, er_cdir_ws_floats(&g, c / group, threads));
    }
    return sizeof(float) * ER_MAX(gemm, dw);
}

er_status er_conv_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_nn_conv_infer(ctx, in, n_in, out, n_out);
    if (st == ER_OK) ctx->workspace_bytes = conv_ws_bytes(ctx, in, out[0]);
    return st;
}

er_status er_fused_conv_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_tensor conv;
    er_status st = er_fused_conv_shapes(ctx, in, n_in, &conv, out[0]);
    if (st == ER_OK) ctx->workspace_bytes = er_fused_conv_temp_bytes(&conv, out[0]) + conv_ws_bytes(ctx, in, &conv);
    return st;
}

void er_conv_fast_release(void *state)
{
    conv_state *s = state;
    if (!s) return;
    er_aligned_free(s->packed);
    er_wino_free(&s->wino);
    er_cdir_free(&s->cdir);
    free(s->weights);
    free(s->bias);
    free(s);
}

/* The state keeps its own copy of the bias (and of depthwise weights) so that run reads no
 * constant input (ER_OP_STATE_HOLDS_CONSTANTS): the session then drops the raw weights, and
 * the packed or transformed copy is the only one resident. */
static float *copy_floats(const er_tensor *t)
{
    size_t n = (size_t)er_tensor_numel(t);
    float *c = malloc(sizeof(float) * (n ? n : 1));
    if (c && n) memcpy(c, t->data, sizeof(float) * n);
    return c;
}

er_status er_conv_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                               void **state)
{
    (void)n_in;
    (void)n_out;
    const er_tensor *x = in[0], *w = in[1];
    if (!w->data) return ER_OK;
    er_nn_window win;
    er_status st = er_nn_window_forward(ctx, x->dims + 2, w->dims + 2, x->ndim - 2, false, &win);
    if (st != ER_OK) return st;
    conv_state *s = calloc(1, sizeof *s);
    if (!s) return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
    /* A constant residual (never seen in practice) would be read at run time: reference path. */
    if (!plane_geom(&win, &s->geom) || (n_in > 3 && in[3] && in[3]->data)) {
        free(s);
        return ER_OK;
    }
    if (n_in > 2 && in[2] && in[2]->data && !(s->bias = copy_floats(in[2]))) {
        free(s);
        return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
    }
    s->group = (int)er_attr_int(ctx->node, "group", 1);
    s->cg_in = (int)(x->dims[1] / s->group);
    s->cg_out = (int)(out[0]->dims[1] / s->group);
    s->kdim = (int)(er_tensor_numel(w) / w->dims[0]);
    s->k = er_sgemm_kernel_select();
    const er_dw_geom *g = &s->geom;
    if (s->cg_in == 1 && s->cg_out == 1) {
        s->kind = CONV_DEPTHWISE;
        s->dw = er_dw_plane_select();
        s->dw_in_place = s->dw == er_dw_plane_avx512 && er_dw_plane_avx512_in_place(g);
        if (!(s->weights = copy_floats(w))) {
            er_conv_fast_release(s);
            return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
        }
        *state = s;
        return ER_OK;
    }
    s->kind = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
                      g->oh == g->ih && g->ow == g->iw
                  ? CONV_1X1
                  : CONV_GEMM;
    if (er_wino_applicable(g, s->group, s->cg_in, s->cg_out)) {
        if (er_wino_prepare(&s->wino, w->data, s->cg_in, s->cg_out, g) != ER_OK) {
            free(s->bias);
            free(s);
            return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory transforming the weights");
        }
        s->kind = CONV_WINOGRAD;
        *state = s;
        return ER_OK;
    }
    if (direct_applicable(s->k, g, s->cg_in, s->cg_out)) {
        if (er_cdir_prepare(&s->cdir, g, w->data, s->group, s->cg_in, s->cg_out) != ER_OK) {
            free(s->bias);
            free(s);
            return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing the weights");
        }
        s->kind = CONV_DIRECT;
        *state = s;
        return ER_OK;
    }
    s->a_floats = er_sgemm_packed_a_floats(s->k, s->cg_out, s->kdim);
    s->packed = er_aligned_alloc(sizeof(float) * s->a_floats * (size_t)s->group);
    if (!s->packed) {
        free(s->bias);
        free(s);
        return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing the weights");
    }
    const float *wd = w->data;
    for (int gi = 0; gi < s->group; gi++)
        er_sgemm_pack_a(s->k, wd + (size_t)gi * s->cg_out * s->kdim, s->kdim, false, s->cg_out,
                        s->kdim, s->packed + (size_t)gi * s->a_floats);
    *state = s;
    return ER_OK;
}

/* Generic build of the im2col panel gatherer (see im2col_impl.h). */
static inline void seg_copy(float *restrict dj, const float *restrict row, int iw0, int lo, int hi, int run)
{
    for (int t = 0; t < lo; t++) dj[t] = 0.0f;
    for (int t = lo; t < hi; t++) dj[t] = row[iw0 + t];
    for (int t = hi; t < run; t++) dj[t] = 0.0f;
}

static inline void seg_copy2(float *restrict dj, const float *restrict row, int iw0, int lo, int hi, int run)
{
    for (int t = 0; t < lo; t++) dj[t] = 0.0f;
    for (int t = lo; t < hi; t++) dj[t] = row[iw0 + 2 * t];
    for (int t = hi; t < run; t++) dj[t] = 0.0f;
}

#define ER_IM2COL_NAME er_pack_im2col_ref
#include "backend/cpu/im2col_impl.h"

typedef struct dw_job {
    const conv_state *s;
    const float *x, *bias, *res;
    float *y;
    float *scratch;
    size_t scratch_floats;          /* per thread */
    int channels;
    er_act act;
    float alpha, beta;
} dw_job;

/* Copies plane x into pad with zero borders; returns the geometry of the padded plane. */
static er_dw_geom pad_plane(const er_dw_geom *g, const float *x, float *pad, size_t pad_floats)
{
    er_dw_geom p = *g;
    p.ih = ER_MAX(g->ih + g->ph, (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1);
    p.iw = ER_MAX(g->iw + g->pw, (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1);
    p.ph = p.pw = 0;
    memset(pad, 0, sizeof(float) * pad_floats);
    for (int r = 0; r < g->ih; r++)
        memcpy(pad + (size_t)(r + g->ph) * p.iw + g->pw, x + (size_t)r * g->iw, sizeof(float) * (size_t)g->iw);
    return p;
}

/* ReLU and Clip without a residual are applied by the AVX-512 depthwise kernel as it stores
 * (bounds in lo, hi); false when the epilogue must run over the plane afterwards. */
static bool dw_clamp(const dw_job *j, float *lo, float *hi)
{
    if (!j->s->dw_in_place || j->res) return false;
    if (j->act == ER_ACT_RELU) {
        *lo = 0.0f;
        *hi = INFINITY;
        return true;
    }
    if (j->act == ER_ACT_CLIP) {
        *lo = j->alpha;
        *hi = j->beta;
        return true;
    }
    return false;
}

static void dw_planes(void *ctx, int64_t begin, int64_t end, int tid)
{
    const dw_job *j = ctx;
    const er_dw_geom *g = &j->s->geom;
    size_t in_plane = (size_t)g->ih * g->iw, out_plane = (size_t)g->oh * g->ow;
    int kvol = g->kh * g->kw;
    float *pad = j->scratch + (size_t)tid * j->scratch_floats;
    er_gemm_epilogue ep = { NULL, NULL, NULL, g->ow, j->act, j->alpha, j->beta };
    er_gemm_epilogue_fn epilogue = er_gemm_epilogue_for(j->s->k->isa);
    float lo = 0.0f, hi = 0.0f;
    if (dw_clamp(j, &lo, &hi)) {
        /* the kernel pads in place, and shares per-geometry setup across the planes */
        er_dw_planes_avx512_clamp(g, j->x, j->s->weights, j->bias, j->channels, begin, end, lo, hi, j->y);
        return;
    }
    for (int64_t p = begin; p < end; p++) {
        int c = (int)(p % j->channels);
        float *y = j->y + (size_t)p * out_plane;
        const float *x = j->x + (size_t)p * in_plane;
        er_dw_geom pg = *g;
        if ((g->ph || g->pw) && !j->s->dw_in_place) {
            pg = pad_plane(g, x, pad, j->scratch_floats);
            x = pad;
        }
        const float *k = j->s->weights + (size_t)c * kvol;
        float bias = j->bias ? j->bias[c] : 0.0f;
        j->s->dw(&pg, x, k, bias, y);
        if (j->act != ER_ACT_NONE || j->res) {
            ep.residual = j->res ? j->res + (size_t)p * out_plane : NULL;
            epilogue(&ep, y, g->ow, 0, g->oh, 0, g->ow);
        }
    }
}

static void conv_gemm(er_kctx *ctx, const conv_state *s, const er_tensor *x, float *y, const float *bias,
                      const float *res, er_act act, float alpha, float beta);

static er_status conv_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, bool fused)
{
    const conv_state *s = ctx->state;
    const er_tensor *x = in[0], *b = n_in > 2 ? in[2] : NULL, *z = fused && n_in > 3 ? in[3] : NULL;
    er_act act = ER_ACT_NONE;
    float alpha = 0, beta = 0;
    if (fused) {
        er_status st = er_fused_act(ctx, &act, &alpha, &beta);
        if (st != ER_OK) return st;
    }
    /* A residual of another shape (rare) is added after the conv, with the activation; when it
     * also enlarges the output, the conv result goes to the front of the workspace. */
    er_tensor conv;
    er_status st = er_fused_conv_shapes(ctx, in, n_in, &conv, out[0]);
    if (st != ER_OK) return st;
    size_t temp = er_fused_conv_temp_bytes(&conv, out[0]);
    bool bcast = z && !er_shape_equal(z->dims, z->ndim, conv.dims, conv.ndim);
    er_act final_act = act;
    if (bcast || temp) act = ER_ACT_NONE;
    conv.data = temp ? ctx->workspace : out[0]->data;
    er_kctx inner = *ctx;
    inner.workspace = (char *)ctx->workspace + temp;
    ctx = &inner;
    float *y = conv.data;
    const float *bias = s->bias ? s->bias : b ? b->data : NULL, *res = z && !bcast && !temp ? z->data : NULL;
    const er_dw_geom *g = &s->geom;
    int batch = (int)x->dims[0];
    if (s->kind == CONV_DEPTHWISE) {
        dw_job j = { s, x->data, bias, res, y, ctx->workspace, padded_plane_floats(g), (int)conv.dims[1],
                     act, alpha, beta };
        int64_t macs = er_tensor_numel(&conv) * g->kh * g->kw;
        er_parallel_for(er_pool_for(ctx->pool, macs, ER_PAR_MIN_MACS), (int64_t)batch * j.channels, 1, dw_planes, &j);
    } else {
        conv_gemm(ctx, s, x, y, bias, res, act, alpha, beta);
    }
    if (bcast || temp) er_add_act_broadcast(final_act, alpha, beta, &conv, z, out[0]);
    return ER_OK;
}

/* The GEMM-based kinds (im2col, 1×1, Winograd) over every image and group. */
static void conv_gemm(er_kctx *ctx, const conv_state *s, const er_tensor *x, float *y, const float *bias,
                      const float *res, er_act act, float alpha, float beta)
{
    const er_dw_geom *g = &s->geom;
    int batch = (int)x->dims[0];
    size_t in_plane = (size_t)g->ih * g->iw, n = (size_t)g->oh * g->ow;
    er_threadpool *pool = er_pool_for(ctx->pool, (int64_t)s->cg_out * (int64_t)n * s->kdim, ER_PAR_MIN_MACS);
    for (int bi = 0; bi < batch; bi++)
        for (int gi = 0; gi < s->group; gi++) {
            const float *xg = (const float *)x->data + ((size_t)bi * s->group + gi) * s->cg_in * in_plane;
            size_t yoff = ((size_t)bi * s->group + gi) * s->cg_out * n;
            er_dense_b dense = { xg, (int)in_plane, false };
            im2col_src src = { xg, g };
            er_sgemm_b bsrc = s->kind == CONV_1X1 ? (er_sgemm_b){ er_pack_dense_for(s->k), &dense, NULL, xg, (int)in_plane }
                                                  : (er_sgemm_b){ s->k->isa == ER_ISA_AVX512 ? er_pack_im2col_avx512
                                                                                             : er_pack_im2col_ref,
                                                                  &src };
            er_gemm_epilogue ep = { bias ? bias + (size_t)gi * s->cg_out : NULL, NULL,
                                    res ? res + yoff : NULL, (int)n, act, alpha, beta };
            if (s->kind == CONV_WINOGRAD) {
                er_wino_run(pool, &s->wino, g, xg, y + yoff, &ep, ctx->workspace);
                continue;
            }
            if (s->kind == CONV_DIRECT) {
                er_cdir_run(pool, &s->cdir, g, gi, xg, y + yoff, &ep, ctx->workspace);
                continue;
            }
            er_sgemm(pool, s->k, s->cg_out, (int)n, s->kdim, s->packed + (size_t)gi * s->a_floats,
                     &bsrc, y + yoff, (int)n, &ep, ctx->workspace);
        }
}

er_status er_conv_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    bool fused = strcmp(ctx->node->op_type, "Conv") != 0;
    if (!ctx->state)
        return fused ? er_fused_conv_run_ref(ctx, in, n_in, out, n_out) : er_nn_conv_run(ctx, in, n_in, out, n_out);
    return conv_run(ctx, in, n_in, out, fused);
}
