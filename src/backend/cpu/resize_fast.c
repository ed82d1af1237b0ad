/* Resize by integer factors in nearest mode with asymmetric coordinates (what torch exports
 * for nn.Upsample(mode="nearest")): every input pixel becomes an s×t block, built one output
 * row at a time and copied to the block's other rows. Other modes run the reference kernel. */
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"

typedef struct up_job {
    const float *x;
    float *y;
    int ih, iw, s, t;
} up_job;

static void up_planes(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const up_job *j = ctx;
    size_t ow = (size_t)j->iw * j->t;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + (size_t)p * j->ih * j->iw;
        float *y = j->y + (size_t)p * j->ih * j->s * ow;
        for (int r = 0; r < j->ih; r++) {
            float *yr = y + (size_t)r * j->s * ow;
            const float *xr = x + (size_t)r * j->iw;
            for (int c = 0; c < j->iw; c++)
                for (int k = 0; k < j->t; k++) yr[c * j->t + k] = xr[c];
            for (int k = 1; k < j->s; k++) memcpy(yr + k * ow, yr, sizeof(float) * ow);
        }
    }
}

/* Whether x_in = floor-or-nearest(x_out / f) picks x_out / f for every integer factor f given. */
static bool nearest_asymmetric(er_kctx *ctx, int max_factor)
{
    if (ctx->opset < 11 || strcmp(ctx->node->op_type, "Resize") != 0) return false;
    if (strcmp(er_attr_str(ctx->node, "mode", "nearest"), "nearest") != 0) return false;
    if (strcmp(er_attr_str(ctx->node, "coordinate_transformation_mode", "half_pixel"), "asymmetric") != 0)
        return false;
    const char *nm = er_attr_str(ctx->node, "nearest_mode", "round_prefer_floor");
    /* a fraction below 1/2 rounds down in round_prefer_floor only when the factor is <= 2 */
    return strcmp(nm, "floor") == 0 || (strcmp(nm, "round_prefer_floor") == 0 && max_factor <= 2);
}

er_status er_resize_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *x = in[0], *y = out[0];
    bool ok = x->dtype == ER_F32 && x->ndim == 4 && y->dims[0] == x->dims[0] && y->dims[1] == x->dims[1] &&
              x->dims[2] > 0 && x->dims[3] > 0 && y->dims[2] % x->dims[2] == 0 && y->dims[3] % x->dims[3] == 0;
    int s = ok ? (int)(y->dims[2] / x->dims[2]) : 0, t = ok ? (int)(y->dims[3] / x->dims[3]) : 0;
    if (!ok || !nearest_asymmetric(ctx, ER_MAX(s, t))) return er_nn_resize_run(ctx, in, n_in, out, n_out);
    /* the scales must be exactly the integer factors (sizes given, or scales of s and t) */
    const er_tensor *sc = n_in > 2 ? in[2] : NULL;
    if (sc && er_tensor_numel(sc) == 4 && sc->dtype == ER_F32) {
        const float *f = sc->data;
        if (f[2] != (float)s || f[3] != (float)t) return er_nn_resize_run(ctx, in, n_in, out, n_out);
    }
    up_job j = { x->data, out[0]->data, (int)x->dims[2], (int)x->dims[3], s, t };
    er_parallel_for(er_pool_for(ctx->pool, er_tensor_numel(y), ER_PAR_MIN_ELEMS), x->dims[0] * x->dims[1], 1,
                    up_planes, &j);
    return ER_OK;
}
