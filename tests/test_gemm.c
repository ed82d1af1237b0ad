/* Every available SGEMM micro-kernel against a naive triple loop, on odd sizes and tails,
 * transposed operands, epilogues and 1–3 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/gemm.h"

static int failures, checks;

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void check_case(const er_sgemm_kernel *k, er_threadpool *pool, int M, int N, int K,
                       bool ta, bool tb, er_act act, bool bias, bool residual)
{
    unsigned seed = (unsigned)(M * 131 + N * 7 + K);
    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
    float *C = malloc(sizeof(float) * (size_t)M * N), *R = malloc(sizeof(float) * (size_t)M * N);
    float *bm = malloc(sizeof(float) * (size_t)M), *res = malloc(sizeof(float) * (size_t)M * N);
    for (int i = 0; i < M * K; i++) A[i] = frand(&seed);
    for (int i = 0; i < K * N; i++) B[i] = frand(&seed);
    for (int i = 0; i < M; i++) bm[i] = frand(&seed);
    for (int i = 0; i < M * N; i++) res[i] = frand(&seed);
    float *pa = er_aligned_alloc(sizeof(float) * er_sgemm_packed_a_floats(k, M, K));
    er_sgemm_pack_a(k, A, ta ? M : K, ta, M, K, pa);
    /* When ta, A is read as A[k*lda+m]: the same buffer viewed as K×M. */
    float *ws = er_aligned_alloc(sizeof(float) * er_sgemm_workspace_floats(k, N, er_threadpool_size(pool)));
    er_dense_b db = { B, tb ? K : N, tb };
    er_sgemm_b b = { er_pack_b_dense, &db, NULL, NULL, 0 };
    er_gemm_epilogue ep = { bias ? bm : NULL, NULL, residual ? res : NULL, N, act, 0.0f, 6.0f };
    er_sgemm(pool, k, M, N, K, pa, &b, C, N, &ep, ws);
    /* The same product with B packed up front and read in place: the same result exactly. */
    float *pb = er_aligned_alloc(sizeof(float) * er_sgemm_packed_b_floats(k, K, N));
    float *C2 = malloc(sizeof(float) * (size_t)M * N);
    er_sgemm_pack_b(k, er_pack_b_dense, &db, K, N, pb);
    er_sgemm_b prepacked = { NULL, NULL, pb, NULL, 0 };
    er_sgemm(pool, k, M, N, K, pa, &prepacked, C2, N, &ep, NULL);
    checks++;
    if (M * N > 0 && memcmp(C, C2, sizeof(float) * (size_t)M * N) != 0) {
        failures++;
        printf("FAIL %s M=%d N=%d K=%d ta=%d tb=%d: prepacked B differs\n", er_isa_name(k->isa), M, N, K, ta, tb);
    }
    /* And with B's rows readable in place (taken for full panels when M is small). */
    if (!tb) {
        er_sgemm_b rows = { er_pack_b_dense, &db, NULL, B, N };
        er_sgemm(pool, k, M, N, K, pa, &rows, C2, N, &ep, ws);
        checks++;
        if (M * N > 0 && memcmp(C, C2, sizeof(float) * (size_t)M * N) != 0) {
            failures++;
            printf("FAIL %s M=%d N=%d K=%d ta=%d: B read in place differs\n", er_isa_name(k->isa), M, N, K, ta);
        }
    }
    free(C2);
    er_aligned_free(pb);
    double max_err = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int kk = 0; kk < K; kk++) {
                float a = ta ? A[(size_t)kk * M + m] : A[(size_t)m * K + kk];
                float bb = tb ? B[(size_t)n * K + kk] : B[(size_t)kk * N + n];
                acc += (double)a * bb;
            }
            if (bias) acc += bm[m];
            if (residual) acc += res[(size_t)m * N + n];
            R[(size_t)m * N + n] = er_act_apply(act, (float)acc, 0.0f, 6.0f);
            double e = fabs(R[(size_t)m * N + n] - C[(size_t)m * N + n]);
            if (e > max_err) max_err = e;
        }
    checks++;
    double tol = 1e-5 * (K + 1) + 1e-5;
    if (max_err > tol) {
        failures++;
        printf("FAIL %s M=%d N=%d K=%d ta=%d tb=%d act=%d: max err %g > %g\n", er_isa_name(k->isa),
               M, N, K, ta, tb, (int)act, max_err, tol);
    }
    free(A); free(B); free(C); free(R); free(bm); free(res);
    er_aligned_free(pa);
    er_aligned_free(ws);
}

int main(void)
{
    er_isa top = er_cpu_isa();
    const int sizes[][3] = { { 1, 1, 1 }, { 5, 7, 3 }, { 12, 32, 256 }, { 13, 33, 257 }, { 64, 49, 576 },
                             { 3, 100, 600 }, { 37, 3, 1 }, { 100, 70, 513 }, { 24, 64, 0 },
                             /* row tails of 8 and 4 rows, column tails of ≤ 16 */
                             { 20, 17, 300 }, { 8, 16, 40 }, { 76, 196, 70 }, { 16, 784, 33 } };
    for (int isa = ER_ISA_REF; isa <= (int)top; isa++) {
        const er_sgemm_kernel *k = er_sgemm_kernel_for((er_isa)isa);
        for (int threads = 1; threads <= 3; threads++) {
            er_threadpool *pool = er_threadpool_create(threads);
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                for (int v = 0; v < 4; v++)
                    check_case(k, pool, sizes[s][0], sizes[s][1], sizes[s][2], v & 1, v & 2,
                               (er_act)(v % 3 == 0 ? ER_ACT_NONE : v % 3 == 1 ? ER_ACT_RELU : ER_ACT_CLIP),
                               v != 2, v == 3);
            er_threadpool_free(pool);
        }
    }
    printf("gemm: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
