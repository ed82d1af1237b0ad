/* One core's measured FP32 FMA peak in GFLOP/s: 24 independent chains of 16-lane FMAs (enough
 * to cover the latency of two FMA pipes), timed on process CPU time so that a busy machine
 * does not lower it. /proc/cpuinfo's base clock understates a core that boosts; this measures
 * what the core sustains. Built and run by bench/vs_ort.sh. */
#define _POSIX_C_SOURCE 199309L
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 24

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    long long iters = 1 << 16;
    double best = 0;
    for (int rep = 0; rep < 20; rep++) {
        double t0 = cpu_seconds();
        for (long long n = 0; n < iters; n++) {
#define FMA4(i)                                        \
    acc[i] = _mm512_fmadd_ps(acc[i], a, b);            \
    acc[i + 1] = _mm512_fmadd_ps(acc[i + 1], a, b);    \
    acc[i + 2] = _mm512_fmadd_ps(acc[i + 2], a, b);    \
    acc[i + 3] = _mm512_fmadd_ps(acc[i + 3], a, b)
            FMA4(0); FMA4(4); FMA4(8); FMA4(12); FMA4(16); FMA4(20);
#undef FMA4
        }
        double t = cpu_seconds() - t0;
        double g = 2.0 * 16 * CHAINS * (double)iters / t * 1e-9;
        if (g > best) best = g;
    }
    float sink = 0;
    for (int i = 0; i < CHAINS; i++) sink += _mm512_reduce_add_ps(acc[i]);
    printf("%.1f\n", best + (double)(sink * 0.0f));
    return 0;
}
