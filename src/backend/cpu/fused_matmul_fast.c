/* edgerun.FusedMatMul on the packed SGEMM: the constant weight is packed into micro-kernel B
 * panels once at planning, and the bias and activation run in the GEMM epilogue while each
 * output tile is in cache. All leading dimensions of A fold into the GEMM's rows. Shapes the
 * packed path does not take (1-D A, a weight known only at run time) use the reference. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/ref/nn.h"

/* GEMM rows M, depth K, columns N when the packed path applies; false otherwise. */
static bool geometry(const er_tensor *a, const er_tensor *w, int *m, int *k, int *n)
{
    if (a->dtype != ER_F32 || w->dtype != ER_F32 || a->ndim < 2 || w->ndim != 2) return false;
    int64_t K = a->dims[a->ndim - 1], N = w->dims[1], M = K > 0 ? er_tensor_numel(a) / K : 0;
    if (w->dims[0] != K || M <= 0 || K <= 0 || N <= 0 || M >= (1 << 30) || K >= (1 << 30) || N >= (1 << 30))
        return false;
    *m = (int)M;
    *k = (int)K;
    *n = (int)N;
    return true;
}

static size_t a_floats(const er_sgemm_kernel *kr, int m, int k)
{
    return (er_sgemm_packed_a_floats(kr, m, k) + 15) & ~(size_t)15;
}

er_status er_fused_matmul_fast_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = er_fused_matmul_infer(ctx, in, n_in, out, n_out);
    int m, k, n;
    if (st != ER_OK || !geometry(in[0], in[1], &m, &k, &n)) return st;
    ctx->workspace_bytes = ER_MAX(ctx->workspace_bytes, sizeof(float) * a_floats(er_sgemm_kernel_select(), m, k));
    return ER_OK;
}

er_status er_fused_matmul_fast_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out,
                                       void **state)
{
    (void)out;
    (void)n_out;
    const er_tensor *b = n_in > 2 ? in[2] : NULL;
    int m, k, n;
    if (!geometry(in[0], in[1], &m, &k, &n) || !in[1]->data || (b && !b->data)) return ER_OK;
    er_act act;
    float alpha, beta;
    er_status st = er_fused_act(ctx, &act, &alpha, &beta);
    er_mm_state *s = NULL;
    if (st == ER_OK) st = er_mm_state_new(ctx, in[1]->data, k, n, false, &s);
    if (st != ER_OK) return st;
    if (b) {
        if (!(s->bias = malloc(sizeof(float) * (size_t)n))) {
            er_mm_state_free(s);
            return er_op_fail(ctx, ER_ERR_NOMEM, "out of memory");
        }
        memcpy(s->bias, b->data, sizeof(float) * (size_t)n);
    }
    s->ep = (er_gemm_epilogue){ NULL, s->bias, NULL, 0, act, alpha, beta };
    *state = s;
    return ER_OK;
}

/* The epilogue adds Z row by row when it has the output's shape and the output is the
 * GEMM's m × n result (Z did not broadcast it larger). */
static bool residual_in_place(const er_tensor *z, const er_tensor *y, int m, int n)
{
    return !z || (er_shape_equal(z->dims, z->ndim, y->dims, y->ndim) && er_tensor_numel(y) == (int64_t)m * n);
}

er_status er_fused_matmul_fast_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const er_mm_state *s = ctx->state;
    int m, k, n;
    const er_tensor *z = n_in > 3 ? in[3] : NULL;
    if (!s || !ctx->workspace || !geometry(in[0], in[1], &m, &k, &n) || !residual_in_place(z, out[0], m, n))
        return er_fused_matmul_run_ref(ctx, in, n_in, out, n_out);
    float *pa = ctx->workspace;
    er_mm_pack_a(s->k, in[0]->data, k, m, k, pa);
    er_gemm_epilogue ep = s->ep;
    ep.residual = z ? z->data : NULL;
    ep.ld_residual = n;
    bool any = s->bias || z || ep.act != ER_ACT_NONE;
    er_mm_state_gemm(er_pool_for(ctx->pool, (int64_t)m * n * k, ER_PAR_MIN_MACS), s, m, pa, out[0]->data,
                     any ? &ep : NULL);
    return ER_OK;
}
