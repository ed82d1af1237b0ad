/* Portable depthwise plane kernel and the per-CPU choice among the builds of it. */
#include "backend/cpu/depthwise_impl.h"

void er_dw_plane_ref(const er_dw_geom *g, const float *x, const float *k, float bias, float *y)
{
    dw_plane_impl(g, x, k, bias, y);
}

er_dw_plane_fn er_dw_plane_select(void)
{
    switch (er_cpu_isa()) {
    case ER_ISA_AVX512: return er_dw_plane_avx512;
    case ER_ISA_AVX2: return er_dw_plane_avx2;
    case ER_ISA_REF: break;
    }
    return er_dw_plane_ref;
}
