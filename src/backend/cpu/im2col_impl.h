/* The im2col B-panel gatherer for convolution, instantiated per ISA: the including file
 * defines seg_copy and seg_copy2 (one stride-1 or stride-2 run of a panel row: zeros outside
 * [lo, hi), input pixels inside) and ER_IM2COL_NAME, the function's name. Columns of a panel are split once at
 * output-row boundaries; kernel taps advance incrementally (no divisions per row). */
#include <string.h>

#include "backend/cpu/fast.h"

/* The im2col view of one image's group of channels. */
#ifndef ER_BACKEND_CPU_IM2COL_TYPES
#define ER_BACKEND_CPU_IM2COL_TYPES
typedef struct im2col_src {
    const float *x;
    const er_dw_geom *g;
} im2col_src;

/* A panel's columns split at output-row boundaries: the same for every kernel tap. */
typedef struct col_seg {
    int oh, ow, j, run;
} col_seg;

#define MAX_SEGS 64
#endif

static inline int split_cols(const er_dw_geom *g, int n0, int nr, col_seg *seg)
{
    int ns = 0;
    for (int j = 0, oh = n0 / g->ow, ow = n0 % g->ow; j < nr; oh++, ow = 0) {
        int run = ER_MIN(nr - j, g->ow - ow);
        seg[ns++] = (col_seg){ oh, ow, j, run };
        j += run;
    }
    return ns;
}

/* One row of a B panel: kernel tap (c, kh, kw) over the segments' output pixels. */
static inline void gather_row(const er_dw_geom *g, const float *xp, int kh, int kw, const col_seg *seg, int ns,
                       float *restrict d)
{
    for (int s = 0; s < ns; s++) {
        float *restrict dj = d + seg[s].j;
        int run = seg[s].run, ih = seg[s].oh * g->sh - g->ph + kh * g->dh;
        if (ih < 0 || ih >= g->ih) {
            for (int t = 0; t < run; t++) dj[t] = 0.0f;
            continue;
        }
        const float *restrict row = xp + (size_t)ih * g->iw;
        int iw0 = seg[s].ow * g->sw - g->pw + kw * g->dw;
        if (g->sw == 1) {
            int lo = ER_MIN(ER_MAX(0, -iw0), run), hi = ER_MAX(ER_MIN(run, g->iw - iw0), lo);
            seg_copy(dj, row, iw0, lo, hi, run);
        } else if (g->sw == 2) {
            /* columns t with 0 <= iw0 + 2t < iw */
            int lo = ER_MIN(iw0 >= 0 ? 0 : (-iw0 + 1) / 2, run);
            int hi = ER_MAX(ER_MIN(run, g->iw - iw0 <= 0 ? 0 : (g->iw - iw0 + 1) / 2), lo);
            seg_copy2(dj, row, iw0, lo, hi, run);
        } else {
            for (int t = 0; t < run; t++) {
                int iw = iw0 + t * g->sw;
                dj[t] = iw >= 0 && iw < g->iw ? row[iw] : 0.0f;
            }
        }
    }
}

void ER_IM2COL_NAME(void *ctx, int k0, int kc, int n0, int nr, int NR, float *dst)
{
    const im2col_src *src = ctx;
    const er_dw_geom *g = src->g;
    size_t plane = (size_t)g->ih * g->iw;
    for (int jb = 0; jb < nr; jb += MAX_SEGS) {
        col_seg seg[MAX_SEGS];
        int nb = ER_MIN(MAX_SEGS, nr - jb), ns = split_cols(g, n0 + jb, nb, seg);
        int kvol = g->kh * g->kw, c = k0 / kvol, r = k0 % kvol, kh = r / g->kw, kw = r % g->kw;
        for (int kk = 0; kk < kc; kk++) {
            gather_row(g, src->x + (size_t)c * plane, kh, kw, seg, ns, dst + (size_t)kk * NR + jb);
            if (++kw == g->kw) {
                kw = 0;
                if (++kh == g->kh) {
                    kh = 0;
                    c++;
                }
            }
        }
    }
    if (nr < NR)
        for (int kk = 0; kk < kc; kk++)
            for (int j = nr; j < NR; j++) dst[(size_t)kk * NR + j] = 0.0f;
}

