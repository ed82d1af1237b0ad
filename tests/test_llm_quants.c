/* Block formats: quantize → dequantize error bounds, every dot product against the float dot
 * of the dequantized operands, and every ISA kernel set against the reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "llm/quants.h"
#include "check.h"

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return ((float)(*s >> 8) / (float)(1u << 24)) * 2.0f - 1.0f;
}

static const uint32_t types[] = {ER_Q_F32, ER_Q_F16, ER_Q_BF16, ER_Q_Q8_0, ER_Q_Q4_0, ER_Q_Q4_K, ER_Q_Q6_K};
/* Worst element error relative to the block's largest magnitude, per format. */
static const float rel_err[] = {0, 1e-3f, 8e-3f, 5e-3f, 0.13f, 0.1f, 0.035f};

static double dot_f64(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void test_roundtrip(void)
{
    enum { N = 1024 };
    float x[N], y[N];
    unsigned seed = 1;
    for (int i = 0; i < N; i++) x[i] = frand(&seed) * (i % 7 == 0 ? 3.0f : 1.0f);
    static uint8_t q[N * 4];
    for (size_t k = 0; k < ER_ARRAY_LEN(types); k++) {
        const er_qtraits *t = er_qtype_traits(types[k]);
        t->from_float(x, q, N);
        t->to_float(q, y, N);
        float worst = 0;
        for (int i = 0; i < N; i++) worst = fmaxf(worst, fabsf(x[i] - y[i]));
        CHECK(worst <= rel_err[k] * 3.0f, "%s round trip error %g", t->name, worst);
        CHECK(er_qtype_row_size(types[k], N) == (size_t)(N / t->block) * t->type_size, "%s row size", t->name);
    }
}

/* Every kernel's dot equals the f64 dot of what it was given (dequantized weights and
 * dequantized activations) up to float accumulation error. */
/* n: 2048, and 2080 for an odd number of 32-blocks (the kernels' tails). */
static void test_dots(const er_qkernels *k, int n)
{
    enum { N = 2080, ROWS = 4 };
    static float w[ROWS][N], x[N], wd[ROWS][N], xd[N];
    static uint8_t wq[ROWS][N * 4], xq[N * 4];
    unsigned seed = 7;
    for (int i = 0; i < n; i++) x[i] = frand(&seed);
    for (int r = 0; r < ROWS; r++)
        for (int i = 0; i < n; i++) w[r][i] = frand(&seed) * 0.1f;
    for (size_t ti = 0; ti < ER_ARRAY_LEN(types); ti++) {
        uint32_t ty = types[ti];
        const er_qtraits *t = er_qtype_traits(ty);
        if (n % t->block) continue;
        const er_qtraits *at = er_qtype_traits(t->vec_dot_type);
        size_t row = er_qtype_row_size(ty, n);
        for (int r = 0; r < ROWS; r++) {
            t->from_float(w[r], wq[0] + r * row, n);
            t->to_float(wq[0] + r * row, wd[r], n);
        }
        k->quantize_act[t->vec_dot_type](x, xq, n);
        at->to_float(xq, xd, n);
        float out4[ROWS];
        if (k->vec_dot_x4[ty]) k->vec_dot_x4[ty](n, wq[0], row, xq, out4);
        for (int r = 0; r < ROWS; r++) {
            double want = dot_f64(wd[r], xd, n);
            float got = k->vec_dot[ty](n, wq[0] + r * row, xq);
            CHECK(fabs(got - want) <= 1e-4 * (1 + fabs(want)), "%s %s row %d dot %.6f, expected %.6f",
                  k->isa, t->name, r, got, want);
            if (k->vec_dot_x4[ty])
                CHECK(fabs(out4[r] - want) <= 1e-4 * (1 + fabs(want)), "%s %s x4 row %d dot %.6f, expected %.6f",
                      k->isa, t->name, r, out4[r], want);
        }
        /* the activation quantizer of this ISA must produce what the reference one does */
        static uint8_t ref_q[N * 4];
        er_qkernels_ref()->quantize_act[t->vec_dot_type](x, ref_q, n);
        CHECK(memcmp(ref_q, xq, er_qtype_row_size(t->vec_dot_type, n)) == 0, "%s %s activation quantizer differs",
              k->isa, at->name);
    }
}

/* Packed 8-row groups against the reference dot of the same rows, for 1..6 tokens (a tile of
 * four and single tokens), storing and accumulating. */
static void test_packed(const er_qkernels *k, uint32_t ty)
{
    enum { COLS = 96, ROWS = 8, TOK = 6 };
    static float w[ROWS][COLS], x[TOK][COLS], y[TOK][ROWS];
    static uint8_t wq[ROWS * COLS * 2], group[ROWS * COLS * 2], act[TOK][COLS * 4], qact[TOK][COLS * 2];
    er_packed_act pa[TOK];
    unsigned seed = 11;
    const er_qtraits *t = er_qtype_traits(ty);
    size_t row = er_qtype_row_size(ty, COLS);
    for (int r = 0; r < ROWS; r++) {
        for (int i = 0; i < COLS; i++) w[r][i] = frand(&seed);
        t->from_float(w[r], wq + r * row, COLS);
    }
    k->repack[ty](wq, row, COLS, group);
    for (int tk = 0; tk < TOK; tk++) {
        for (int i = 0; i < COLS; i++) x[tk][i] = frand(&seed) * 2;
        er_quantize_row_q8_0(x[tk], qact[tk], COLS);
        int8_t *q = (int8_t *)act[tk];
        uint8_t *uq = act[tk] + COLS;
        float *d = (float *)(act[tk] + 2 * COLS);
        int32_t *sum = (int32_t *)(d + COLS / ER_QK);
        const er_block_q8_0 *blk = (const er_block_q8_0 *)qact[tk];
        for (int b = 0; b < COLS / ER_QK; b++) {
            d[b] = er_f16_to_f32(blk[b].d);
            sum[b] = 0;
            for (int i = 0; i < ER_QK; i++) {
                q[b * ER_QK + i] = blk[b].qs[i];
                uq[b * ER_QK + i] = (uint8_t)(blk[b].qs[i] + 128);
                sum[b] += blk[b].qs[i];
            }
        }
        pa[tk] = (er_packed_act){q, uq, d, sum};
    }
    for (int n_tok = 1; n_tok <= TOK; n_tok++) {
        for (int acc = 0; acc < 2; acc++) {
            for (int tk = 0; tk < TOK; tk++)
                for (int r = 0; r < ROWS; r++) y[tk][r] = 1.0f;
            k->gemm_packed[ty](COLS, group, pa, n_tok, y[0], ROWS, acc);
            for (int tk = 0; tk < TOK; tk++)
                for (int r = 0; r < ROWS; r++) {
                    float want = tk < n_tok ? er_qkernels_ref()->vec_dot[ty](COLS, wq + r * row, qact[tk]) + (acc ? 1.0f : 0.0f)
                                            : 1.0f;
                    CHECK(fabsf(y[tk][r] - want) <= 1e-4f * (1 + fabsf(want)), "%s packed %s n_tok %d acc %d [%d][%d] %f, expected %f",
                          k->isa, t->name, n_tok, acc, tk, r, y[tk][r], want);
                }
        }
    }
}

int main(void)
{
    test_roundtrip();
    const er_qkernels *sets[] = {er_qkernels_ref(), er_qkernels_avx2(), er_qkernels_avx512()};
    for (size_t i = 0; i < ER_ARRAY_LEN(sets); i++) {
        if (!sets[i]) {
            printf("kernel set %zu not available on this CPU\n", i);
            continue;
        }
        test_dots(sets[i], 2048);
        test_dots(sets[i], 2080);
        for (size_t k = 0; k < ER_ARRAY_LEN(types); k++)
            if (sets[i]->gemm_packed[types[k]]) test_packed(sets[i], types[k]);
    }
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
