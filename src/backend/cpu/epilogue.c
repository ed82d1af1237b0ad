/* Portable GEMM epilogue and the per-CPU choice among its builds (see epilogue_impl.h). */
#include "backend/cpu/epilogue_impl.h"

void er_gemm_epilogue_ref(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0, int n1)
{
    ep_rows_impl(ep, C, ldc, m0, m1, n0, n1);
}

er_gemm_epilogue_fn er_gemm_epilogue_for(er_isa isa)
{
    switch (isa) {
    case ER_ISA_AVX512: return er_gemm_epilogue_avx512;
    case ER_ISA_AVX2: return er_gemm_epilogue_avx2;
    case ER_ISA_REF: break;
    }
    return er_gemm_epilogue_ref;
}
