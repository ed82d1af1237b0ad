/* The max-pool plane kernel built with the AVX-512 flags (see pool_impl.h). */
#include "backend/cpu/pool_impl.h"

void er_maxpool_plane_avx512(const er_dw_geom *g, const float *x, float *y)
{
    maxpool_plane_impl(g, x, y);
}
