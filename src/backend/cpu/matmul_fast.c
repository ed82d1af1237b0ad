/* MatMul and Gemm on the packed SGEMM.
 *
 * A constant right operand (weights) is packed into micro-kernel B panels once, at planning;
 * each run packs the left operand's rows (all batch rows at once: X[..., M, K] · W[K, N] is
 * one GEMM with M·batch rows) and the micro-kernel reads the prepacked panels in place.
 * Without a constant B (attention scores, batched products of activations) each batch is
 * one GEMM with B packed per call.
 * Broadcast batch dimensions, 1-D operands and Gemm with transA / alpha ≠ 1 / a full C use
 * the reference kernels. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"
#include "backend/cpu/transformer.h"

void er_mm_state_free(void *state)
{
    er_mm_state *s = state;
    if (!s) return;
    er_aligned_free(s->packed_b);
    free(s->bias);
    free(s);
}

er_status er_mm_state_new(er_kctx *ctx, const float *w, int K, int N, bool trans, er_mm_state **out)
{
    er_mm_state *s = calloc(1, sizeof *s);
    if (!s) return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
    s->k = er_sgemm_kernel_select();
    s->K = K;
    s->N = N;
    int NR = s->k->nr;
    s->n_panels = (N + NR - 1) / NR;
    s->packed_b = er_aligned_alloc(sizeof(float) * (size_t)s->n_panels * NR * (size_t)(K ? K : 1));
    if (!s->packed_b) {
        free(s);
        return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory packing the weights");
    }
    er_dense_b dense = { w, trans ? K : N, trans };
    er_sgemm_pack_b(s->k, er_pack_b_dense, &dense, K, N, s->packed_b);
    *out = s;
    return ER_OK;
}

void er_mm_pack_a(const er_sgemm_kernel *k, const float *A, int lda, int M, int K, float *packed)
{
    if (k->isa == ER_ISA_AVX512 && k->mr == 12) er_pack_a12_avx512(A, lda, M, K, packed);
    else er_sgemm_pack_a(k, A, lda, false, M, K, packed);
}

void er_mm_state_gemm(er_threadpool *pool, const er_mm_state *s, int M, const float *packed_a, float *C,
                      const er_gemm_epilogue *ep)
{
    er_sgemm_b b = { NULL, NULL, s->packed_b };
    er_sgemm(pool, s->k, M, s->N, s->K, packed_a, &b, C, s->N, ep, NULL);
}

/* Rows and batches of a MatMul the fast path takes: B 2-D (constant or not), or both operands
 * with the same batch dims. *batch = 0 when it does not apply. */
static void mm_geometry(const er_tensor *a, const er_tensor *b, int64_t *batch, int64_t *m, int64_t *k,
                        int64_t *n)
{
    *batch = 0;
    if (a->dtype != ER_F32 || b->dtype != ER_F32 || a->ndim < 2 || b->ndim < 2) return;
    *k = a->dims[a->ndim - 1];
    *n = b->dims[b->ndim - 1];
    if (b->dims[b->ndim - 2] != *k) return;
    if (b->ndim == 2) {
        *batch = 1;
        *m = *k > 0 ? er_tensor_numel(a) / *k : 0;
        return;
    }
    if (a->ndim != b->ndim) return;
    for (int d = 0; d < a->ndim - 2; d++)
        if (a->dims[d] != b->dims[d]) return;
    *m = a->dims[a->ndim - 2];
    int64_t mk = *m * *k;
    *batch = mk > 0 ? er_tensor_numel(a) / mk : 0;
}

static size_t mm_ws_bytes(er_kctx *ctx, int64_t m, int64_t k, int64_t n)
{
    const er_sgemm_kernel *kr = er_sgemm_kernel_select();
    size_t a = er_sgemm_packed_a_floats(kr, (int)m, (int)k);
    size_t g = er_sgemm_workspace_floats(kr, (int)n, er_threadpool_size(ctx->pool));
    return sizeof(float) * (((a + 15) & ~(size_t)15) + g);
}

static bool dims_fit_int(int64_t m, int64_t k, int64_t n)
{
    return m > 0 && k > 0 && n > 0 && m < (1 << 30) && k < (1 << 30) && n < (1 << 30);
}

er_status er_matmul_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_nn_matmul_infer(ctx, in, n_in, out, n_out);
    if (st != ER_OK) return st;
    int64_t batch, m = 0, k = 0, n = 0;
    mm_geometry(in[0], in[1], &batch, &m, &k, &n);
    if (batch && dims_fit_int(m, k, n)) ctx->workspace_bytes = mm_ws_bytes(ctx, m, k, n);
    return ER_OK;
}

er_status er_matmul_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                                 void **state)
{
    (void)n_in;
    (void)out;
    (void)n_out;
    int64_t batch, m = 0, k = 0, n = 0;
    mm_geometry(in[0], in[1], &batch, &m, &k, &n);
    if (!batch || !in[1]->data || in[1]->ndim != 2 || !dims_fit_int(m, k, n)) return ER_OK;
    return er_mm_state_new(ctx, in[1]->data, (int)k, (int)n, false, (er_mm_state **)state);
}

/* C[m×n] = A[m×k] · prepacked B with A packed into the workspace first. */
static void gemm_rows_packed(er_kctx *ctx, const er_mm_state *s, const float *a, int m, float *c,
                             const er_gemm_epilogue *ep)
{
    float *pa = ctx->workspace;
    er_mm_pack_a(s->k, a, s->K, m, s->K, pa);
    er_mm_state_gemm(er_pool_for(ctx->pool, (int64_t)m * s->N * s->K, ER_PAR_MIN_MACS), s, m, pa, c, ep);
}

/* C[m×n] = A[m×k] · B with A packed into ws first. */
static void gemm_rows(er_kctx *ctx, const er_sgemm_kernel *kr, const float *a, int m, int k, int n,
                      const er_sgemm_b *b, float *c, const er_gemm_epilogue *ep)
{
    float *pa = ctx->workspace;
    size_t a_floats = (er_sgemm_packed_a_floats(kr, m, k) + 15) & ~(size_t)15;
    er_mm_pack_a(kr, a, k, m, k, pa);
    er_sgemm(er_pool_for(ctx->pool, (int64_t)m * n * k, ER_PAR_MIN_MACS), kr, m, n, k, pa, b, c, n, ep, pa + a_floats);
}

er_status er_matmul_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_tensor *a = in[0], *b = in[1];
    int64_t batch, m = 0, k = 0, n = 0;
    mm_geometry(a, b, &batch, &m, &k, &n);
    if (!batch || !dims_fit_int(m, k, n) || !ctx->workspace)
        return er_nn_matmul_run(ctx, in, n_in, out, n_out);
    const er_mm_state *s = ctx->state;
    if (s) {
        gemm_rows_packed(ctx, s, a->data, (int)m, out[0]->data, NULL);
        return ER_OK;
    }
    const er_sgemm_kernel *kr = er_sgemm_kernel_select();
    for (int64_t i = 0; i < batch; i++) {
        er_dense_b dense = { (const float *)b->data + (size_t)i * k * n, (int)n, false };
        er_sgemm_b bp = { er_pack_dense_for(kr), &dense };
        gemm_rows(ctx, kr, (const float *)a->data + (size_t)i * m * k, (int)m, (int)k, (int)n, &bp,
                  (float *)out[0]->data + (size_t)i * m * n, NULL);
    }
    return ER_OK;
}

/* Gemm: the fast path needs transA = 0, alpha = 1, a constant B and C absent or a constant
 * row vector of N values (added as a per-column bias, scaled by beta). */
static bool gemm_fast_ok(er_kctx *ctx, er_tensor **in, int n_in, const er_tensor *y)
{
    const er_tensor *c = n_in > 2 ? in[2] : NULL;
    if (er_attr_int(ctx->node, "transA", 0) || er_attr_float(ctx->node, "alpha", 1.0f) != 1.0f) return false;
    if (!dims_fit_int(y->dims[0], in[0]->dims[1], y->dims[1])) return false;
    if (c && (er_tensor_numel(c) != y->dims[1] || (c->ndim == 2 && c->dims[0] != 1) || c->ndim > 2)) return false;
    return true;
}

er_status er_gemm_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_nn_gemm_infer(ctx, in, n_in, out, n_out);
    if (st == ER_OK && gemm_fast_ok(ctx, in, n_in, out[0]))
        ctx->workspace_bytes = mm_ws_bytes(ctx, out[0]->dims[0], in[0]->dims[1], out[0]->dims[1]);
    return st;
}

er_status er_gemm_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                               void **state)
{
    (void)n_out;
    const er_tensor *c = n_in > 2 ? in[2] : NULL;
    if (!gemm_fast_ok(ctx, in, n_in, out[0]) || !in[1]->data || (c && !c->data)) return ER_OK;
    bool tb = er_attr_int(ctx->node, "transB", 0) != 0;
    int k = (int)in[0]->dims[1], n = (int)out[0]->dims[1];
    er_mm_state *s;
    er_status st = er_mm_state_new(ctx, in[1]->data, k, n, tb, &s);
    if (st != ER_OK) return st;
    if (c) {
        float beta = er_attr_float(ctx->node, "beta", 1.0f);
        s->bias = malloc(sizeof(float) * (size_t)n);
        if (!s->bias) {
            er_mm_state_free(s);
            return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
        }
        for (int j = 0; j < n; j++) s->bias[j] = beta * ((const float *)c->data)[j];
    }
    *state = s;
    return ER_OK;
}

er_status er_gemm_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_mm_state *s = ctx->state;
    if (!s || !ctx->workspace) return er_nn_gemm_run(ctx, in, n_in, out, n_out);
    er_gemm_epilogue ep = { NULL, s->bias, NULL, 0, ER_ACT_NONE, 0, 0 };
    gemm_rows_packed(ctx, s, in[0]->data, (int)out[0]->dims[0], out[0]->data, s->bias ? &ep : NULL);
    return ER_OK;
}

