/* CPU features, detected once per call site via cpuid; EDGERUN_ISA=ref|avx2|avx512 caps the
 * level used (for tests that compare kernels, and to reproduce a slower machine). */
#ifndef ER_CORE_CPU_H
#define ER_CORE_CPU_H

#include <stdbool.h>

typedef enum er_isa {
    ER_ISA_REF = 0,     /* portable C only */
    ER_ISA_AVX2 = 1,    /* AVX2 + FMA + F16C */
    ER_ISA_AVX512 = 2   /* AVX-512 F/BW/VL/DQ (+ VNNI when has_vnni) */
} er_isa;

typedef struct er_cpu_features {
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16, avx512fp16;
    bool avxvnni;
    bool amx_tile, amx_int8, amx_bf16;
} er_cpu_features;

/* Fills what the processor and OS support (XSAVE state enabled), ignoring EDGERUN_ISA. */
void er_cpu_detect(er_cpu_features *f);
/* Highest usable level after applying EDGERUN_ISA. */
er_isa er_cpu_isa(void);
/* Whether AVX-512 VNNI kernels may run: the level is AVX-512 and the CPU has VNNI. */
bool er_cpu_vnni(void);
const char *er_isa_name(er_isa isa);

#endif
