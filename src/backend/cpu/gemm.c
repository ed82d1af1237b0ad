#include "backend/cpu/gemm.h"

#include <math.h>
#include <string.h>

/* B panels handled per chunk: 8 panels × KC rows stay in L2 beside the A block. */
#define ER_GEMM_NC_PANELS 8

static const er_sgemm_kernel k_ref = { 4, 8, er_sgemm_ukernel_ref, ER_ISA_REF };
static const er_sgemm_kernel k_avx2 = { 6, 16, er_sgemm_ukernel_avx2, ER_ISA_AVX2 };
static const er_sgemm_kernel k_avx512 = { 12, 32, er_sgemm_ukernel_avx512, ER_ISA_AVX512 };

const er_sgemm_kernel *er_sgemm_kernel_for(er_isa isa)
{
    switch (isa) {
    case ER_ISA_AVX512: return &k_avx512;
    case ER_ISA_AVX2: return &k_avx2;
    case ER_ISA_REF: break;
    }
    return &k_ref;
}

const er_sgemm_kernel *er_sgemm_kernel_select(void) { return er_sgemm_kernel_for(er_cpu_isa()); }

void er_sgemm_ukernel_ref(int kc, const float *a, const float *b, int ldb, float *c, int ldc, int mr,
                          int nr, bool accumulate)
{
    float acc[4 * 8] = { 0 };
    for (int k = 0; k < kc; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < nr; j++) acc[i * 8 + j] += a[k * 4 + i] * b[(size_t)k * ldb + j];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i * 8 + j] : acc[i * 8 + j];
}

size_t er_sgemm_packed_a_floats(const er_sgemm_kernel *k, int M, int K)
{
    size_t panels = (size_t)(M + k->mr - 1) / (size_t)k->mr;
    return panels * (size_t)k->mr * (size_t)K;
}

void er_sgemm_pack_a(const er_sgemm_kernel *k, const float *A, int lda, bool trans_a, int M,
                     int K, float *packed)
{
    int MR = k->mr, mp_count = (M + MR - 1) / MR;
    for (int k0 = 0; k0 < K; k0 += ER_GEMM_KC) {
        int kc = ER_MIN(ER_GEMM_KC, K - k0);
        float *blk = packed + (size_t)mp_count * MR * k0;
        for (int mp = 0; mp < mp_count; mp++) {
            float *dst = blk + (size_t)mp * MR * kc;
            for (int kk = 0; kk < kc; kk++)
                for (int i = 0; i < MR; i++) {
                    int m = mp * MR + i;
                    float v = 0;
                    if (m < M) v = trans_a ? A[(size_t)(k0 + kk) * lda + m] : A[(size_t)m * lda + k0 + kk];
                    dst[kk * MR + i] = v;
                }
        }
    }
}

void er_pack_b_dense(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst)
{
    const er_dense_b *b = ctx;
    if (!b->trans) {
        for (int kk = 0; kk < kc; kk++) {
            const float *src = b->data + (size_t)(k0 + kk) * b->ld + n0;
            float *d = dst + (size_t)kk * NR;
            memcpy(d, src, sizeof(float) * (size_t)nr);
            for (int j = nr; j < NR; j++) d[j] = 0;
        }
    } else {
        for (int kk = 0; kk < kc; kk++) {
            float *d = dst + (size_t)kk * NR;
            for (int j = 0; j < nr; j++) d[j] = b->data[(size_t)(n0 + j) * b->ld + k0 + kk];
            for (int j = nr; j < NR; j++) d[j] = 0;
        }
    }
}

size_t er_sgemm_packed_b_floats(const er_sgemm_kernel *k, int K, int N)
{
    return (size_t)((N + k->nr - 1) / k->nr) * (size_t)k->nr * (size_t)(K > 0 ? K : 1);
}

void er_sgemm_pack_b(const er_sgemm_kernel *k, er_pack_b_fn pack, void *ctx, int K, int N, float *packed)
{
    int NR = k->nr, n_panels = (N + NR - 1) / NR;
    for (int k0 = 0; k0 < K; k0 += ER_GEMM_KC) {
        int kc = ER_MIN(ER_GEMM_KC, K - k0);
        for (int np = 0; np < n_panels; np++)
            pack(ctx, k0, kc, np * NR, ER_MIN(NR, N - np * NR), NR,
                 packed + (size_t)k0 * n_panels * NR + (size_t)np * kc * NR);
    }
}

size_t er_sgemm_workspace_floats(const er_sgemm_kernel *k, int N, int n_threads)
{
    (void)N;
    return (size_t)n_threads * ER_GEMM_KC * ER_GEMM_NC_PANELS * (size_t)k->nr + 16;
}

float er_act_apply(er_act act, float x, float alpha, float beta)
{
    switch (act) {
    case ER_ACT_NONE: return x;
    case ER_ACT_RELU: return x > 0 ? x : 0;
    case ER_ACT_CLIP: return x < alpha ? alpha : x > beta ? beta : x;
    case ER_ACT_LEAKY_RELU: return x >= 0 ? x : x * alpha;
    case ER_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ER_ACT_SILU: return x / (1.0f + expf(-x));
    case ER_ACT_HARDSWISH: {
        float t = x + 3.0f;
        t = t < 0 ? 0 : t > 6 ? 6 : t;
        return x * t / 6.0f;
    }
    case ER_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    }
    return x;
}

void er_gemm_epilogue_apply(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1,
                            int n0, int n1)
{
    if (!ep) return;
    for (int m = m0; m < m1; m++) {
        float *row = C + (size_t)m * ldc;
        float bm = ep->bias_m ? ep->bias_m[m] : 0.0f;
        const float *res = ep->residual ? ep->residual + (size_t)m * ep->ld_residual : NULL;
        for (int n = n0; n < n1; n++) {
            float v = row[n] + bm;
            if (ep->bias_n) v += ep->bias_n[n];
            if (res) v += res[n];
            row[n] = er_act_apply(ep->act, v, ep->alpha, ep->beta);
        }
    }
}

typedef struct {
    const er_sgemm_kernel *k;
    int M, N, K;
    const float *packed_a;
    const er_sgemm_b *b;
    float *C;
    int ldc;
    const er_gemm_epilogue *ep;
    float *ws;
    bool split_n;
    bool direct_b;            /* full B panels read from b->rows in place */
    int m_panels, n_panels;
} gemm_job;

/* The epilogue runs on each row panel's strip right after its last K block, while the strip
 * is in L1 (not per tile: reading a tile just written by masked stores stalls forwarding). */
static void gemm_range(const gemm_job *j, int mp0, int mp1, int np0, int np1, float *buf)
{
    const er_sgemm_kernel *k = j->k;
    int MR = k->mr, NR = k->nr;
    er_gemm_epilogue_fn epilogue = j->ep ? er_gemm_epilogue_for(k->isa) : NULL;
    for (int nc0 = np0; nc0 < np1; nc0 += ER_GEMM_NC_PANELS) {
        int nc1 = ER_MIN(np1, nc0 + ER_GEMM_NC_PANELS);
        for (int k0 = 0; k0 < j->K; k0 += ER_GEMM_KC) {
            int kc = ER_MIN(ER_GEMM_KC, j->K - k0);
            bool last = k0 + kc == j->K;
            /* Panel np of this K block is at bblk + (np - nc0)·kc·NR. */
            const float *bblk;
            if (j->b->packed) {
                bblk = j->b->packed + (size_t)k0 * j->n_panels * NR + (size_t)nc0 * kc * NR;
            } else {
                for (int np = nc0; np < nc1; np++) {
                    int n0 = np * NR;
                    if (j->direct_b && j->N - n0 >= NR) continue;
                    j->b->pack(j->b->ctx, k0, kc, n0, ER_MIN(NR, j->N - n0), NR,
                               buf + (size_t)(np - nc0) * kc * NR);
                }
                bblk = buf;
            }
            const float *ablk = j->packed_a + (size_t)j->m_panels * MR * k0;
            for (int mp = mp0; mp < mp1; mp++) {
                const float *a = ablk + (size_t)mp * MR * kc;
                int m0 = mp * MR, mr = ER_MIN(MR, j->M - m0);
                for (int np = nc0; np < nc1; np++) {
                    int n0 = np * NR, nr = ER_MIN(NR, j->N - n0);
                    float *c = j->C + (size_t)m0 * j->ldc + n0;
                    if (j->direct_b && nr == NR)
                        k->ukernel(kc, a, j->b->rows + (size_t)k0 * j->b->ldb + n0, j->b->ldb, c, j->ldc, mr, nr, k0 > 0);
                    else
                        k->ukernel(kc, a, bblk + (size_t)(np - nc0) * kc * NR, NR, c, j->ldc, mr, nr, k0 > 0);
                }
                if (last && epilogue) epilogue(j->ep, j->C, j->ldc, m0, m0 + mr, nc0 * NR, ER_MIN(j->N, nc1 * NR));
            }
        }
    }
}

static void gemm_slice(void *ctx, int64_t begin, int64_t end, int tid)
{
    const gemm_job *j = ctx;
    float *buf = j->ws ? j->ws + (size_t)tid * ER_GEMM_KC * ER_GEMM_NC_PANELS * j->k->nr : NULL;
    if (j->split_n)
        gemm_range(j, 0, j->m_panels, (int)begin, (int)end, buf);
    else
        gemm_range(j, (int)begin, (int)end, 0, j->n_panels, buf);
}

void er_sgemm(er_threadpool *pool, const er_sgemm_kernel *k, int M, int N, int K,
              const float *packed_a, const er_sgemm_b *b, float *C, int ldc,
              const er_gemm_epilogue *ep, float *ws)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int m = 0; m < M; m++) memset(C + (size_t)m * ldc, 0, sizeof(float) * (size_t)N);
        er_gemm_epilogue_apply(ep, C, ldc, 0, M, 0, N);
        return;
    }
    gemm_job j = { k, M, N, K, packed_a, b, C, ldc, ep, ws, true, false,
                   (M + k->mr - 1) / k->mr, (N + k->nr - 1) / k->nr };
    j.direct_b = b->rows && !b->packed && j.m_panels <= 3;
    int T = er_threadpool_size(pool);
    /* Split the dimension whose panels divide more evenly among the threads (7 column panels
     * over 2 threads leave one idle an eighth of the time; 43 row panels do not). On a tie,
     * rows when A is larger than L2: each thread then streams only its half of the weights
     * from memory, and columns otherwise, since a row split packs every B panel per thread
     * (and a prepacked B holds the weights). */
    int64_t cost_n = (int64_t)((j.n_panels + T - 1) / T) * j.m_panels;
    int64_t cost_m = (int64_t)((j.m_panels + T - 1) / T) * j.n_panels;
    bool a_large = (int64_t)M * K * (int64_t)sizeof(float) > ((int64_t)1 << 20);
    j.split_n = T == 1 || cost_n < cost_m || (cost_n == cost_m && (!a_large || b->packed));
    int64_t units = j.split_n ? j.n_panels : j.m_panels;
    /* A row split packs every B panel in each chunk: one chunk per thread. Column chunks pack
     * only their own panels, so they stay small for balance. */
    int64_t grain = j.split_n || b->packed ? 1 : (units + T - 1) / T;
    er_parallel_for(pool, units, grain, gemm_slice, &j);
}
