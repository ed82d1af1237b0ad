/* 2-D max and average pooling of one plane, one pass per kernel tap over each output row,
 * written so the compiler vectorizes it for the ISA of the including file (pool_fast.c,
 * pool_avx512.c). */
#ifndef ER_BACKEND_CPU_POOL_IMPL_H
#define ER_BACKEND_CPU_POOL_IMPL_H

#include <math.h>

#include "backend/cpu/fast.h"

static inline void maxpool_plane_impl(const er_dw_geom *g, const float *x, float *y)
{
    for (int oh = 0; oh < g->oh; oh++) {
        float *restrict yr = y + (size_t)oh * g->ow;
        for (int i = 0; i < g->ow; i++) yr[i] = -INFINITY;
        for (int kh = 0; kh < g->kh; kh++) {
            int ih = oh * g->sh - g->ph + kh * g->dh;
            if (ih < 0 || ih >= g->ih) continue;
            const float *xr = x + (size_t)ih * g->iw;
            for (int kw = 0; kw < g->kw; kw++) {
                int off = kw * g->dw - g->pw;
                int lo = off < 0 ? (-off + g->sw - 1) / g->sw : 0;
                int hi = g->iw - 1 - off < 0 ? 0 : (g->iw - 1 - off) / g->sw + 1;
                if (hi > g->ow) hi = g->ow;
                const float *restrict xs = xr + off;
                if (g->sw == 1)
                    for (int i = lo; i < hi; i++) yr[i] = xs[i] > yr[i] ? xs[i] : yr[i];
                else if (g->sw == 2)
                    for (int i = lo; i < hi; i++) yr[i] = xs[2 * i] > yr[i] ? xs[2 * i] : yr[i];
                else
                    for (int i = lo; i < hi; i++) yr[i] = xs[i * g->sw] > yr[i] ? xs[i * g->sw] : yr[i];
            }
        }
    }
}

/* Average over windows that lie inside the plane (no padding taps, so every window counts
 * kh·kw inputs whatever count_include_pad says). */
static inline void avgpool_plane_impl(const er_dw_geom *g, const float *x, float *y)
{
    const float scale = 1.0f / (float)(g->kh * g->kw);
    for (int oh = 0; oh < g->oh; oh++) {
        float *restrict yr = y + (size_t)oh * g->ow;
        for (int i = 0; i < g->ow; i++) yr[i] = 0.0f;
        for (int kh = 0; kh < g->kh; kh++) {
            const float *xr = x + (size_t)(oh * g->sh + kh * g->dh) * g->iw;
            for (int kw = 0; kw < g->kw; kw++) {
                const float *restrict xs = xr + kw * g->dw;
                if (g->sw == 1)
                    for (int i = 0; i < g->ow; i++) yr[i] += xs[i];
                else if (g->sw == 2)
                    for (int i = 0; i < g->ow; i++) yr[i] += xs[2 * i];
                else
                    for (int i = 0; i < g->ow; i++) yr[i] += xs[i * g->sw];
            }
        }
        for (int i = 0; i < g->ow; i++) yr[i] *= scale;
    }
}

#endif
