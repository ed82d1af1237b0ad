/* MaxPool on float32 2-D (and 1-D) inputs without the Indices output, and AveragePool on
 * float32 2-D (and 1-D) inputs whose windows never reach into padding: planes in parallel,
 * each by the vectorized plane kernel. Other cases run the reference kernel. */
#include "backend/cpu/pool_impl.h"
#include "backend/cpu/ref/nn.h"

static void maxpool_plane_ref(const er_dw_geom *g, const float *x, float *y)
{
    maxpool_plane_impl(g, x, y);
}

static void avgpool_plane_ref(const er_dw_geom *g, const float *x, float *y)
{
    avgpool_plane_impl(g, x, y);
}

typedef struct pool_job {
    er_dw_geom g;
    const float *x;
    float *y;
    er_maxpool_plane_fn fn;
} pool_job;

static void pool_planes(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const pool_job *j = ctx;
    size_t in_plane = (size_t)j->g.ih * j->g.iw, out_plane = (size_t)j->g.oh * j->g.ow;
    for (int64_t p = begin; p < end; p++) j->fn(&j->g, j->x + (size_t)p * in_plane, j->y + (size_t)p * out_plane);
}

/* The 2-D window of a float32 pool with a kernel_shape for each spatial dimension; false
 * when the reference kernel must run instead. */
static bool pool_geom(er_kctx *ctx, const er_tensor *x, er_dw_geom *g, er_status *st)
{
    int nk = 0;
    const int64_t *k = er_attr_ints(ctx->node, "kernel_shape", &nk);
    *st = ER_OK;
    if (x->dtype != ER_F32 || x->ndim < 3 || x->ndim > 4 || !k || nk != x->ndim - 2) return false;
    er_nn_window w;
    *st = er_nn_window_forward(ctx, x->dims + 2, k, nk, er_attr_int(ctx->node, "ceil_mode", 0) != 0, &w);
    if (*st != ER_OK) return false;
    *g = (er_dw_geom){ (int)w.in[1], (int)w.in[2], (int)w.out[1], (int)w.out[2], (int)w.k[1], (int)w.k[2],
                       (int)w.stride[1], (int)w.stride[2], (int)w.pad0[1], (int)w.pad0[2], (int)w.dil[1],
                       (int)w.dil[2] };
    return true;
}

static er_status run_planes(er_kctx *ctx, const er_tensor *x, er_tensor *y, const er_dw_geom *g,
                            er_maxpool_plane_fn fn)
{
    pool_job j = { *g, x->data, y->data, fn };
    int64_t work = er_tensor_numel(y) * g->kh * g->kw;
    er_parallel_for(er_pool_for(ctx->pool, work, ER_PAR_MIN_ELEMS), x->dims[0] * x->dims[1], 1, pool_planes, &j);
    return ER_OK;
}

er_status er_maxpool_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    bool indices = n_out > 1 && out[1]->data;
    er_dw_geom g;
    er_status st = ER_OK;
    if (indices || !pool_geom(ctx, in[0], &g, &st))
        return st != ER_OK ? st : er_nn_maxpool_run(ctx, in, n_in, out, n_out);
    return run_planes(ctx, in[0], out[0], &g,
                      er_cpu_isa() == ER_ISA_AVX512 ? er_maxpool_plane_avx512 : maxpool_plane_ref);
}

/* Windows inside the plane: no leading padding and the last window ends within the input. */
static bool windows_inside(const er_dw_geom *g)
{
    return g->ph == 0 && g->pw == 0 && (g->oh - 1) * g->sh + (g->kh - 1) * g->dh < g->ih &&
           (g->ow - 1) * g->sw + (g->kw - 1) * g->dw < g->iw;
}

er_status er_avgpool_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_dw_geom g;
    er_status st = ER_OK;
    if (!pool_geom(ctx, in[0], &g, &st) || !windows_inside(&g))
        return st != ER_OK ? st : er_nn_avgpool_run(ctx, in, n_in, out, n_out);
    return run_planes(ctx, in[0], out[0], &g,
                      er_cpu_isa() == ER_ISA_AVX512 ? er_avgpool_plane_avx512 : avgpool_plane_ref);
}
