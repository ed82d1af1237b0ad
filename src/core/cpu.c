#include "core/cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

void er_cpu_detect(er_cpu_features *f)
{
    memset(f, 0, sizeof *f);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = c & (1u << 27);
    bool fma = c & (1u << 12), f16c = c & (1u << 29);
    if (!osxsave) return;
    unsigned long long xcr0 = xgetbv0();
    bool ymm = (xcr0 & 0x6) == 0x6;
    bool zmm = (xcr0 & 0xe6) == 0xe6;
    bool amx = (xcr0 & 0x60000) == 0x60000;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    f->avx2 = ymm && (b & (1u << 5));
    f->fma = ymm && fma;
    f->f16c = ymm && f16c;
    f->avx512f = zmm && (b & (1u << 16));
    f->avx512dq = zmm && (b & (1u << 17));
    f->avx512bw = zmm && (b & (1u << 30));
    f->avx512vl = zmm && (b & (1u << 31));
    f->avx512vnni = zmm && (c & (1u << 11));
    f->avx512fp16 = zmm && (d & (1u << 23));
    f->amx_bf16 = amx && (d & (1u << 22));
    f->amx_tile = amx && (d & (1u << 24));
    f->amx_int8 = amx && (d & (1u << 25));
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f->avxvnni = ymm && (a & (1u << 4));
        f->avx512bf16 = zmm && (a & (1u << 5));
    }
}
#else
void er_cpu_detect(er_cpu_features *f) { memset(f, 0, sizeof *f); }
#endif

const char *er_isa_name(er_isa isa)
{
    switch (isa) {
    case ER_ISA_AVX512: return "avx512";
    case ER_ISA_AVX2: return "avx2";
    case ER_ISA_REF: break;
    }
    return "ref";
}

/* The hardware level, detected once: cpuid traps to the hypervisor on virtual machines, and
 * kernels ask at every run. -1 until detected; racing first calls store the same value. */
static _Atomic int hw_isa = -1;

static er_isa hardware_isa(void)
{
    int cached = atomic_load_explicit(&hw_isa, memory_order_relaxed);
    if (cached >= 0) return (er_isa)cached;
    er_cpu_features f;
    er_cpu_detect(&f);
    er_isa best = ER_ISA_REF;
    if (f.avx2 && f.fma && f.f16c) best = ER_ISA_AVX2;
    if (best == ER_ISA_AVX2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) best = ER_ISA_AVX512;
    atomic_store_explicit(&hw_isa, (int)best, memory_order_relaxed);
    return best;
}

bool er_cpu_vnni(void)
{
    er_cpu_features f;
    er_cpu_detect(&f);
    return er_cpu_isa() == ER_ISA_AVX512 && f.avx512vnni;
}

er_isa er_cpu_isa(void)
{
    er_isa best = hardware_isa();
    const char *env = getenv("EDGERUN_ISA");
    if (env) {
        er_isa want = best;
        if (strcmp(env, "ref") == 0) want = ER_ISA_REF;
        else if (strcmp(env, "avx2") == 0) want = ER_ISA_AVX2;
        else if (strcmp(env, "avx512") == 0) want = ER_ISA_AVX512;
        if (want < best) best = want;
    }
    return best;
}
