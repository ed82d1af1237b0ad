/* The GEMM epilogue built with the avx512 flags (see epilogue_impl.h). */
#include "backend/cpu/epilogue_impl.h"

void er_gemm_epilogue_avx512(const er_gemm_epilogue *ep, float *C, int ldc, int m0, int m1, int n0, int n1)
{
    ep_rows_impl(ep, C, ldc, m0, m1, n0, n1);
}
