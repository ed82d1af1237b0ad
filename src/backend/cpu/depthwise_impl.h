/* Depthwise convolution of one channel plane, written so the compiler vectorizes the
 * interior with whatever ISA the including file is built for (depthwise.c, _avx2.c,
 * _avx512.c). Border pixels take the bounds-checked path; interior pixels of 3×3 kernels
 * with stride 1 or 2 keep all nine taps in one expression so the sum stays in registers. */
#ifndef ER_BACKEND_CPU_DEPTHWISE_IMPL_H
#define ER_BACKEND_CPU_DEPTHWISE_IMPL_H

#include "backend/cpu/fast.h"

static inline float dw_pixel(const er_dw_geom *g, const float *x, const float *k, float bias,
                             int oh, int ow)
{
    float acc = bias;
    for (int kh = 0; kh < g->kh; kh++) {
        int ih = oh * g->sh - g->ph + kh * g->dh;
        if (ih < 0 || ih >= g->ih) continue;
        const float *xr = x + (size_t)ih * g->iw;
        for (int kw = 0; kw < g->kw; kw++) {
            int iw = ow * g->sw - g->pw + kw * g->dw;
            if (iw >= 0 && iw < g->iw) acc += k[kh * g->kw + kw] * xr[iw];
        }
    }
    return acc;
}

/* Columns [lo, hi) whose taps all fall inside the input row. */
static inline void dw_interior_cols(const er_dw_geom *g, int *lo, int *hi)
{
    int l = (g->pw + g->sw - 1) / g->sw;
    int last = g->iw - 1 + g->pw - (g->kw - 1) * g->dw;
    int h = last < 0 ? 0 : last / g->sw + 1;
    if (h > g->ow) h = g->ow;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

static inline void dw_row_3x3_s1(const float *restrict r0, const float *restrict r1,
                                 const float *restrict r2, const float *restrict k, float bias,
                                 float *restrict y, int lo, int hi)
{
    const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6],
                k7 = k[7], k8 = k[8];
    for (int i = lo; i < hi; i++)
        y[i] = bias + k0 * r0[i] + k1 * r0[i + 1] + k2 * r0[i + 2] + k3 * r1[i] + k4 * r1[i + 1] +
               k5 * r1[i + 2] + k6 * r2[i] + k7 * r2[i + 1] + k8 * r2[i + 2];
}

static inline void dw_row_3x3_s2(const float *restrict r0, const float *restrict r1,
                                 const float *restrict r2, const float *restrict k, float bias,
                                 float *restrict y, int lo, int hi)
{
    const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6],
                k7 = k[7], k8 = k[8];
    for (int i = lo; i < hi; i++)
        y[i] = bias + k0 * r0[2 * i] + k1 * r0[2 * i + 1] + k2 * r0[2 * i + 2] + k3 * r1[2 * i] +
               k4 * r1[2 * i + 1] + k5 * r1[2 * i + 2] + k6 * r2[2 * i] + k7 * r2[2 * i + 1] +
               k8 * r2[2 * i + 2];
}

/* Generic interior: one pass per tap over the row (each pass is a vector FMA loop), for the
 * kernel rows [kh0, kh1) that fall inside the input. */
static inline void dw_row_generic(const er_dw_geom *g, const float *x, const float *k, float bias,
                                  int oh, int kh0, int kh1, float *restrict y, int lo, int hi)
{
    for (int i = lo; i < hi; i++) y[i] = bias;
    for (int kh = kh0; kh < kh1; kh++) {
        const float *xr = x + (size_t)(oh * g->sh - g->ph + kh * g->dh) * g->iw;
        for (int kw = 0; kw < g->kw; kw++) {
            const float wv = k[kh * g->kw + kw];
            const float *restrict xs = xr + kw * g->dw - g->pw;
            if (g->sw == 1)
                for (int i = lo; i < hi; i++) y[i] += wv * xs[i];
            else if (g->sw == 2)
                for (int i = lo; i < hi; i++) y[i] += wv * xs[2 * i];
            else
                for (int i = lo; i < hi; i++) y[i] += wv * xs[i * g->sw];
        }
    }
}

static inline void dw_plane_impl(const er_dw_geom *g, const float *x, const float *k, float bias,
                                 float *y)
{
    int lo, hi;
    dw_interior_cols(g, &lo, &hi);
    bool k33 = g->kh == 3 && g->kw == 3 && g->dh == 1 && g->dw == 1 && (g->sw == 1 || g->sw == 2);
    for (int oh = 0; oh < g->oh; oh++) {
        float *yr = y + (size_t)oh * g->ow;
        int ih0 = oh * g->sh - g->ph;
        /* kernel rows inside the input: [kh0, kh1) */
        int kh0 = ih0 >= 0 ? 0 : (-ih0 + g->dh - 1) / g->dh;
        int kh1 = g->kh;
        while (kh1 > kh0 && ih0 + (kh1 - 1) * g->dh >= g->ih) kh1--;
        for (int ow = 0; ow < lo; ow++) yr[ow] = dw_pixel(g, x, k, bias, oh, ow);
        if (k33 && kh0 == 0 && kh1 == 3) {
            const float *r0 = x + (size_t)ih0 * g->iw - g->pw;
            const float *r1 = r0 + g->iw, *r2 = r1 + g->iw;
            if (g->sw == 1)
                dw_row_3x3_s1(r0, r1, r2, k, bias, yr, lo, hi);
            else
                dw_row_3x3_s2(r0, r1, r2, k, bias, yr, lo, hi);
        } else {
            dw_row_generic(g, x, k, bias, oh, kh0, kh1, yr, lo, hi);
        }
        for (int ow = ER_MAX(hi, lo); ow < g->ow; ow++) yr[ow] = dw_pixel(g, x, k, bias, oh, ow);
    }
}

#endif
