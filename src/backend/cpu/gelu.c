/* GELU: the portable reference of the vectorized kernels (same algorithm, scalar), the
 * dispatch, and the ONNX Gelu op. erf follows Abramowitz–Stegun 7.1.26 rather than libm's
 * erff so the AVX-512 build can evaluate the same formula 16 lanes at a time. */
#include <math.h>
#include <string.h>

#include "backend/cpu/epilogue_impl.h"
#include "backend/cpu/fast.h"
#include "backend/cpu/transformer.h"

float er_erf_ref(float x)
{
    float ax = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float p = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    float r = 1.0f - p * ep_exp(-ax * ax);
    return x < 0.0f ? -r : r;
}

void er_gelu_ref(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float h = 0.5f * x[i];
        y[i] = h + h * er_erf_ref(x[i] * 0.70710678118654752f);
    }
}

er_gelu_fn er_gelu_select(void) { return er_cpu_isa() == ER_ISA_AVX512 ? er_gelu_avx512 : er_gelu_ref; }

typedef struct gelu_job {
    const float *x;
    float *y;
    int64_t n;
    er_gelu_fn fn;
} gelu_job;

#define GELU_CHUNK 4096

static void gelu_slice(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const gelu_job *j = ctx;
    int64_t b = begin * GELU_CHUNK, e = ER_MIN(end * GELU_CHUNK, j->n);
    j->fn(j->x + b, j->y + b, e - b);
}

static void gelu_parallel(er_threadpool *pool, const float *x, float *y, int64_t n)
{
    gelu_job j = { x, y, n, er_gelu_select() };
    er_parallel_for(er_pool_for(pool, n, ER_PAR_MIN_ELEMS), (n + GELU_CHUNK - 1) / GELU_CHUNK, 1, gelu_slice, &j);
}

static er_status gelu_mode(er_kctx *ctx, bool *tanh_form)
{
    const char *a = er_attr_str(ctx->node, "approximate", "none");
    *tanh_form = strcmp(a, "tanh") == 0;
    if (!*tanh_form && strcmp(a, "none") != 0)
        return er_op_fail(ctx, ER_ERR_FORMAT, "approximate is '%s'; expected 'none' or 'tanh'", a);
    return ER_OK;
}

er_status er_gelu_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    bool tanh_form;
    er_status st = er_op_check_arity(ctx, n_in, 1, 1);
    if (st == ER_OK) st = gelu_mode(ctx, &tanh_form);
    if (st != ER_OK) return st;
    if (in[0]->dtype != ER_F32)
        return er_op_fail(ctx, ER_ERR_DTYPE, "X is %s; only float32 is supported", er_dtype_name(in[0]->dtype));
    er_tensor_set_shape(out[0], ER_F32, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

er_status er_gelu_run_ref(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    (void)n_out;
    bool tanh_form;
    er_status st = gelu_mode(ctx, &tanh_form);
    if (st != ER_OK) return st;
    const float *x = in[0]->data;
    float *y = out[0]->data;
    int64_t n = er_tensor_numel(in[0]);
    if (!tanh_form) {
        for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        return ER_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = (float)(0.5 * v * (1.0 + tanh(0.79788456080286536 * (v + 0.044715 * v * v * v))));
    }
    return ER_OK;
}

er_status er_gelu_run_fast(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    bool tanh_form;
    er_status st = gelu_mode(ctx, &tanh_form);
    if (st != ER_OK || tanh_form) return st != ER_OK ? st : er_gelu_run_ref(ctx, in, n_in, out, n_out);
    gelu_parallel(ctx->pool, in[0]->data, out[0]->data, er_tensor_numel(in[0]));
    return ER_OK;
}
