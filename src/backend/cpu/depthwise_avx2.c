/* The depthwise plane kernel built with the avx2 flags (see depthwise_impl.h). */
#include "backend/cpu/depthwise_impl.h"

void er_dw_plane_avx2(const er_dw_geom *g, const float *x, const float *k, float bias, float *y)
{
    dw_plane_impl(g, x, k, bias, y);
}
