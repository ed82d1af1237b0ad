/* Transformer kernels against libm and double-precision references: erf, GELU, softmax and
 * LayerNorm rows (reference C and AVX-512 builds of the same algorithms). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/transformer.h"
#include "check.h"
#include "core/cpu.h"

/* Every 997th float bit pattern over [−6, 6] plus the edges, ±0, huge values and the tails. */
static float *erf_inputs(int64_t *n)
{
    static const float edges[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 1e-7f, 0.5f, -0.5f, 1.0f, -1.0f,
                                   3.9f, 6.0f, -6.0f, 9.0f, -9.0f, 30.0f, -30.0f, 1e30f, -1e30f };
    uint32_t hi;
    float six = 6.0f;
    memcpy(&hi, &six, sizeof hi);
    int64_t cap = 2 * (int64_t)(hi / 997) + 64, k = 0;
    float *x = malloc(sizeof(float) * (size_t)cap);
    for (size_t i = 0; i < ER_ARRAY_LEN(edges); i++) x[k++] = edges[i];
    for (uint32_t b = 0; b < hi; b += 997) {
        float f;
        memcpy(&f, &b, sizeof f);
        x[k++] = f;
        x[k++] = -f;
    }
    *n = k;
    return x;
}

static void test_erf(void)
{
    int64_t n;
    float *x = erf_inputs(&n), *y = malloc(sizeof(float) * (size_t)n);
    double err_ref = 0, err_vec = 0;
    for (int64_t i = 0; i < n; i++) err_ref = fmax(err_ref, fabs((double)er_erf_ref(x[i]) - erf((double)x[i])));
    printf("erf reference C: max |error| %.3g over %lld inputs\n", err_ref, (long long)n);
    CHECK(err_ref <= 7e-7, "erf reference max error %g > 7e-7", err_ref);
    if (er_cpu_isa() == ER_ISA_AVX512) {
        er_erf_avx512(x, y, n);
        int64_t worst = 0;
        for (int64_t i = 0; i < n; i++) {
            double e = fabs((double)y[i] - erff(x[i]));
            if (e > err_vec) err_vec = e, worst = i;
        }
        printf("erf AVX-512: max |error| against erff %.3g\n", err_vec);
        CHECK(err_vec <= 7e-7, "erf_avx512(%g) = %.9g, erff %.9g", x[worst], y[worst], erff(x[worst]));
    }
    free(x);
    free(y);
}

/* GELU: |error| ≤ 7e-7·(|x|/2) (erf's bound) + 2 ulp of the result against x·Φ(x) in double. */
static void check_gelu(const char *what, const float *x, const float *y, int64_t n)
{
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], want = 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
        double tol = 7e-7 * fabs(v) * 0.5 + 2.4e-7 * fabs(want) + 1e-30;
        double r = fabs(y[i] - want) / tol;
        if (!(r <= worst)) worst = r, at = i;
    }
    printf("gelu %s: worst error / tolerance %.3g\n", what, worst);
    CHECK(worst <= 1.0, "%s gelu(%g) = %.9g", what, x[at], y[at]);
}

static void test_gelu(void)
{
    int64_t n;
    float *x = erf_inputs(&n), *y = malloc(sizeof(float) * (size_t)n);
    er_gelu_ref(x, y, n);
    check_gelu("reference C", x, y, n);
    if (er_cpu_isa() == ER_ISA_AVX512) {
        for (int64_t len = 0; len < 40; len++) {
            memset(y, 0x7f, sizeof(float) * 48);
            er_gelu_avx512(x, y, len);
            CHECK(y[len] != y[len] || y[len] > 3e38f, "gelu_avx512 wrote past %lld floats", (long long)len);
        }
        er_gelu_avx512(x, y, n);
        check_gelu("AVX-512", x, y, n);
        memcpy(y, x, sizeof(float) * (size_t)n);
        er_gelu_avx512(y, y, n);
        check_gelu("AVX-512 in place", x, y, n);
    }
    free(x);
    free(y);
}

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Softmax and LayerNorm rows against double-precision formulas, every length 1..70 (masked
 * tails), AVX-512 and reference C. */
static void test_rows(void)
{
    static const er_softmax_row_fn sm[2] = { er_softmax_row_ref, er_softmax_row_avx512 };
    static const er_layernorm_row_fn ln[2] = { er_layernorm_row_ref, er_layernorm_row_avx512 };
    int kinds = er_cpu_isa() == ER_ISA_AVX512 ? 2 : 1;
    float x[70], m[70], g[70], b[70], y[70];
    double e_sm = 0, e_ln = 0;
    unsigned seed = 5;
    for (int n = 1; n <= 70; n++) {
        for (int i = 0; i < n; i++) {
            x[i] = 6.0f * frand(&seed);
            m[i] = i % 5 == 3 ? -10000.0f : 0.0f;
            g[i] = 1.0f + frand(&seed);
            b[i] = frand(&seed);
        }
        double mx = -1e30, sum = 0, mean = 0, var = 0, want[70];
        for (int i = 0; i < n; i++) mx = fmax(mx, 0.3 * x[i] + m[i]);
        for (int i = 0; i < n; i++) sum += exp(0.3 * x[i] + m[i] - mx);
        for (int i = 0; i < n; i++) mean += x[i] / (double)n;
        for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean) / n;
        for (int kind = 0; kind < kinds; kind++) {
            memcpy(y, x, sizeof x);
            sm[kind](y, m, 0.3f, n);
            for (int i = 0; i < n; i++) e_sm = fmax(e_sm, fabs(y[i] - exp(0.3 * x[i] + m[i] - mx) / sum));
            ln[kind](x, g, b, 1e-5f, n, y);
            for (int i = 0; i < n; i++) want[i] = (x[i] - mean) / sqrt(var + 1e-5) * g[i] + b[i];
            for (int i = 0; i < n; i++) e_ln = fmax(e_ln, fabs(y[i] - want[i]));
        }
    }
    printf("softmax rows: max |error| %.3g; layernorm rows: max |error| %.3g\n", e_sm, e_ln);
    CHECK(e_sm <= 1e-6, "softmax row error %g", e_sm);
    CHECK(e_ln <= 2e-5, "layernorm row error %g", e_ln);
}

/* The AVX-512 packers against the portable ones, bit for bit: er_pack_a12_avx512 against
 * er_sgemm_pack_a (panel tails, K-block tails, lda > K), er_gather_cols_avx512 against the
 * element loop (transposing tiles when rs = 1, gathers otherwise). */
static void test_packers(void)
{
    if (er_cpu_isa() != ER_ISA_AVX512) return;
    const er_sgemm_kernel *kr = er_sgemm_kernel_for(ER_ISA_AVX512);
    static const int ms[] = { 1, 5, 12, 13, 30, 128 }, ks[] = { 1, 17, 64, 300 };
    unsigned seed = 7;
    for (size_t a = 0; a < ER_ARRAY_LEN(ms); a++)
        for (size_t b = 0; b < ER_ARRAY_LEN(ks); b++) {
            int m = ms[a], k = ks[b], lda = k + 3;
            float *src = malloc(sizeof(float) * (size_t)m * lda);
            size_t n = er_sgemm_packed_a_floats(kr, m, k);
            float *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
            for (int i = 0; i < m * lda; i++) src[i] = frand(&seed);
            er_sgemm_pack_a(kr, src, lda, false, m, k, want);
            er_pack_a12_avx512(src, lda, m, k, got);
            CHECK(memcmp(want, got, sizeof(float) * n) == 0, "pack_a12 M=%d K=%d differs", m, k);
            free(src);
            free(want);
            free(got);
        }
    static const int64_t shapes[][4] = { { 64, 128, 1, 768 }, { 5, 37, 1, 40 }, { 17, 3, 1, 20 }, { 9, 21, 30, 2 } };
    for (size_t c = 0; c < ER_ARRAY_LEN(shapes); c++) {
        int64_t rows = shapes[c][0], cols = shapes[c][1], rs = shapes[c][2], cs = shapes[c][3];
        size_t span = (size_t)((rows - 1) * rs + (cols - 1) * cs + 1);
        float *src = malloc(sizeof(float) * span), *got = malloc(sizeof(float) * (size_t)(rows * cols));
        for (size_t i = 0; i < span; i++) src[i] = frand(&seed);
        er_gather_cols_avx512(src, rows, cols, rs, cs, got);
        int bad = 0;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) bad += got[i * cols + j] != src[i * rs + j * cs];
        CHECK(bad == 0, "gather_cols %lldx%lld rs=%lld cs=%lld: %d wrong", (long long)rows, (long long)cols,
              (long long)rs, (long long)cs, bad);
        free(src);
        free(got);
    }
}

int main(void)
{
    test_erf();
    test_gelu();
    test_rows();
    test_packers();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
