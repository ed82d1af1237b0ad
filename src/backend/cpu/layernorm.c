/* LayerNormalization over the last axis with full-length γ and β (what transformer encoders
 * use): rows in parallel, each by the row kernel of this CPU. Other axes, broadcast
 * parameters and the optional mean / inverse-deviation outputs run the reference op. */
#include <math.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"
#include "backend/cpu/transformer.h"

void er_layernorm_row_ref(const float *x, const float *gamma, const float *beta, float eps, int n, float *y)
{
    float s = 0.0f, q = 0.0f;
    for (int j = 0; j < n; j++) s += x[j];
    float mean = s / (float)n;
    for (int j = 0; j < n; j++) q += (x[j] - mean) * (x[j] - mean);
    float inv = 1.0f / sqrtf(q / (float)n + eps);
    for (int j = 0; j < n; j++) y[j] = (x[j] - mean) * inv * gamma[j] + (beta ? beta[j] : 0.0f);
}

typedef struct ln_job {
    const float *x, *gamma, *beta;
    float *y;
    float eps;
    int n;
    er_layernorm_row_fn row;
} ln_job;

static void ln_rows(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const ln_job *j = ctx;
    for (int64_t r = begin; r < end; r++) j->row(j->x + r * j->n, j->gamma, j->beta, j->eps, j->n, j->y + r * j->n);
}

er_status er_layernorm_run_fast(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *x = in[0], *g = in[1], *b = n_in > 2 ? in[2] : NULL;
    int64_t axis = er_attr_int(ctx->node, "axis", -1);
    int64_t n = x->ndim ? x->dims[x->ndim - 1] : 0;
    bool stats = (n_out > 1 && out[1]->data) || (n_out > 2 && out[2]->data);
    bool last = axis == -1 || axis == x->ndim - 1;
    if (!last || stats || n <= 0 || n >= (1 << 30) || er_tensor_numel(g) != n || (b && er_tensor_numel(b) != n))
        return er_nn_layernorm_run(ctx, in, n_in, out, n_out);
    ln_job j = { x->data, g->data, b ? b->data : NULL, out[0]->data, er_attr_float(ctx->node, "epsilon", 1e-5f), (int)n,
                 er_cpu_isa() == ER_ISA_AVX512 ? er_layernorm_row_avx512 : er_layernorm_row_ref };
    int64_t rows = er_tensor_numel(x) / n;
    er_parallel_for(er_pool_for(ctx->pool, rows * n, ER_PAR_MIN_ELEMS), rows, ER_MAX(1, 4096 / n), ln_rows, &j);
    return ER_OK;
}
