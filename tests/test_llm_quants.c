/* Block formats: quantize → dequantize error bounds, every dot product against the float dot
 * of the dequantized operands, and every ISA kernel set against the reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "llm/quants.h"

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

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
static void test_dots(const er_qkernels *k)
{
    enum { N = 2048, ROWS = 4 };
    static float w[ROWS][N], x[N], wd[ROWS][N], xd[N];
    static uint8_t wq[ROWS][N * 4], xq[N * 4];
    unsigned seed = 7;
    for (int i = 0; i < N; i++) x[i] = frand(&seed);
    for (int r = 0; r < ROWS; r++)
        for (int i = 0; i < N; i++) w[r][i] = frand(&seed) * 0.1f;
    for (size_t ti = 0; ti < ER_ARRAY_LEN(types); ti++) {
        uint32_t ty = types[ti];
        const er_qtraits *t = er_qtype_traits(ty);
        const er_qtraits *at = er_qtype_traits(t->vec_dot_type);
        size_t row = er_qtype_row_size(ty, N);
        for (int r = 0; r < ROWS; r++) {
            t->from_float(w[r], wq[0] + r * row, N);
            t->to_float(wq[0] + r * row, wd[r], N);
        }
        k->quantize_act[t->vec_dot_type](x, xq, N);
        at->to_float(xq, xd, N);
        float out4[ROWS];
        if (k->vec_dot_x4[ty]) k->vec_dot_x4[ty](N, wq[0], row, xq, out4);
        for (int r = 0; r < ROWS; r++) {
            double want = dot_f64(wd[r], xd, N);
            float got = k->vec_dot[ty](N, wq[0] + r * row, xq);
            CHECK(fabs(got - want) <= 1e-4 * (1 + fabs(want)), "%s %s row %d dot %.6f, expected %.6f",
                  k->isa, t->name, r, got, want);
            if (k->vec_dot_x4[ty])
                CHECK(fabs(out4[r] - want) <= 1e-4 * (1 + fabs(want)), "%s %s x4 row %d dot %.6f, expected %.6f",
                      k->isa, t->name, r, out4[r], want);
        }
        /* the activation quantizer of this ISA must produce what the reference one does */
        static uint8_t ref_q[N * 4];
        er_qkernels_ref()->quantize_act[t->vec_dot_type](x, ref_q, N);
        CHECK(memcmp(ref_q, xq, er_qtype_row_size(t->vec_dot_type, N)) == 0, "%s %s activation quantizer differs",
              k->isa, at->name);
    }
}

int main(void)
{
    test_roundtrip();
    test_dots(er_qkernels_ref());
    if (er_qkernels_avx2()) test_dots(er_qkernels_avx2());
    else printf("avx2 kernels not available here\n");
    if (er_qkernels_avx512()) test_dots(er_qkernels_avx512());
    else printf("avx512 kernels not available here\n");
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
