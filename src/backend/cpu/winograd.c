/* 3×3 stride-1 convolution by Winograd F(2×2, 3×3): 16 multiplications per 2×2 output tile
 * and input channel instead of 36, as 16 GEMMs Mo[ξ] = U[ξ] · V[ξ] on the packed SGEMM.
 * U (transformed weights) is packed once; per run, blocks of tile rows are transformed into
 * per-thread scratch (sized to stay in L2), multiplied, and transformed back straight into
 * the output, whose bias, residual and activation the GEMM epilogue then applies. Row buffers
 * hold 2·tiles + 2 input columns plus 64 zeros of slack for whole-vector loads. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/winograd_impl.h"

bool er_wino_applicable(const er_dw_geom *g, int group, int c, int m)
{
    int tiles = ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && group == 1 &&
           c >= 8 && m >= 8 && tiles >= 32;
}

/* Tile rows per block: the block's V and Mo (16·(C+M) floats per tile) within ~1 MiB, and at
 * least one block per thread. */
static int wino_rows(const er_dw_geom *g, int c, int m, int threads)
{
    int tw = (g->ow + 1) / 2, th = (g->oh + 1) / 2;
    int rows = ER_MAX(1, 16384 / (c + m) / tw);
    return ER_MAX(1, ER_MIN(rows, (th + threads - 1) / threads));
}

typedef struct wino_scratch {
    size_t v, mo, gemm, rowbuf, ybuf, total;   /* floats, each a multiple of 16 */
} wino_scratch;

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

static wino_scratch wino_layout(const er_sgemm_kernel *k, const er_dw_geom *g, int c, int m, int threads)
{
    int tw = (g->ow + 1) / 2;
    size_t tb = (size_t)wino_rows(g, c, m, threads) * tw;
    wino_scratch s;
    s.v = up16(16 * (size_t)c * tb);
    s.mo = up16(16 * (size_t)m * tb);
    s.gemm = up16(er_sgemm_workspace_floats(k, (int)tb, 1));
    s.rowbuf = up16(4 * (size_t)(2 * tw + 2 + 64));
    s.ybuf = up16(2 * (size_t)(2 * tw));
    s.total = s.v + s.mo + s.gemm + s.rowbuf + s.ybuf;
    return s;
}

size_t er_wino_ws_bytes(const er_dw_geom *g, int c, int m, int threads)
{
    return sizeof(float) * wino_layout(er_sgemm_kernel_select(), g, c, m, threads).total * (size_t)threads;
}

er_status er_wino_prepare(er_wino *w, const float *weights, int c, int m)
{
    w->c = c;
    w->m = m;
    w->k = er_sgemm_kernel_select();
    w->a_floats = er_sgemm_packed_a_floats(w->k, m, c);
    w->packed = er_aligned_alloc(sizeof(float) * w->a_floats * 16);
    float *u = malloc(sizeof(float) * 16 * (size_t)m * c);
    if (!w->packed || !u) {
        free(u);
        er_aligned_free(w->packed);
        w->packed = NULL;
        return ER_ERR_NOMEM;
    }
    for (int o = 0; o < m; o++)
        for (int i = 0; i < c; i++) {
            const float *g = weights + ((size_t)o * c + i) * 9;
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int r = 0; r < 4; r++) {
                float q[4] = { t[r][0], 0.5f * (t[r][0] + t[r][1] + t[r][2]), 0.5f * (t[r][0] - t[r][1] + t[r][2]),
                               t[r][2] };
                for (int s = 0; s < 4; s++) u[((size_t)(r * 4 + s) * m + o) * c + i] = q[s];
            }
        }
    for (int xi = 0; xi < 16; xi++)
        er_sgemm_pack_a(w->k, u + (size_t)xi * m * c, c, false, m, c, w->packed + (size_t)xi * w->a_floats);
    free(u);
    return ER_OK;
}

void er_wino_free(er_wino *w) { er_aligned_free(w->packed); }

static void input_row_ref(const float *r0, const float *r1, const float *r2, const float *r3, int n, float *v,
                          size_t vstride)
{
    wino_input_row_impl(r0, r1, r2, r3, n, v, vstride);
}

static void output_row_ref(const float *m, size_t mstride, int n, float *y0, float *y1)
{
    wino_output_row_impl(m, mstride, n, y0, y1);
}

typedef struct wino_job {
    const er_wino *w;
    const er_dw_geom *g;
    const float *x;
    float *y;
    const er_gemm_epilogue *ep;
    float *ws;
    wino_scratch sc;
    int rows;
} wino_job;

static void wino_block(const wino_job *j, int blk, float *scratch)
{
    const er_dw_geom *g = j->g;
    const er_wino *w = j->w;
    int tw = (g->ow + 1) / 2, th = (g->oh + 1) / 2, rw = 2 * tw + 2 + 64;
    int th0 = blk * j->rows, th1 = ER_MIN(th, th0 + j->rows), nt = (th1 - th0) * tw;
    float *v = scratch, *mo = v + j->sc.v, *gws = mo + j->sc.mo, *rowbuf = gws + j->sc.gemm, *ybuf = rowbuf + j->sc.rowbuf;
    bool avx512 = w->k->isa == ER_ISA_AVX512;
    size_t plane = (size_t)g->ih * g->iw;
    for (int c = 0; c < w->c; c++)
        for (int t = th0; t < th1; t++) {
            for (int i = 0; i < 4; i++) {
                float *rb = rowbuf + (size_t)i * rw;
                int ih = 2 * t - g->ph + i;
                memset(rb, 0, sizeof(float) * (size_t)rw);
                if (ih < 0 || ih >= g->ih) continue;
                int lo = ER_MAX(0, g->pw), hi = ER_MIN(2 * tw + 2, g->iw + g->pw);
                if (hi > lo)
                    memcpy(rb + lo, j->x + c * plane + (size_t)ih * g->iw + (lo - g->pw), sizeof(float) * (size_t)(hi - lo));
            }
            float *vd = v + (size_t)c * nt + (size_t)(t - th0) * tw;
            (avx512 ? er_wino_input_row_avx512 : input_row_ref)(rowbuf, rowbuf + rw, rowbuf + 2 * rw, rowbuf + 3 * rw,
                                                               tw, vd, (size_t)w->c * nt);
        }
    for (int xi = 0; xi < 16; xi++) {
        er_dense_b dense = { v + (size_t)xi * w->c * nt, nt, false };
        er_sgemm_b b = { er_pack_dense_for(w->k), &dense };
        er_sgemm(NULL, w->k, w->m, nt, w->c, w->packed + (size_t)xi * w->a_floats, &b, mo + (size_t)xi * w->m * nt, nt,
                 NULL, gws);
    }
    size_t oplane = (size_t)g->oh * g->ow;
    for (int o = 0; o < w->m; o++)
        for (int t = th0; t < th1; t++) {
            (avx512 ? er_wino_output_row_avx512 : output_row_ref)(mo + (size_t)o * nt + (size_t)(t - th0) * tw,
                                                                 (size_t)w->m * nt, tw, ybuf, ybuf + 2 * tw);
            float *yo = j->y + o * oplane + (size_t)(2 * t) * g->ow;
            memcpy(yo, ybuf, sizeof(float) * (size_t)g->ow);
            if (2 * t + 1 < g->oh) memcpy(yo + g->ow, ybuf + 2 * tw, sizeof(float) * (size_t)g->ow);
        }
    if (j->ep)
        er_gemm_epilogue_for(w->k->isa)(j->ep, j->y, (int)oplane, 0, w->m, 2 * th0 * g->ow,
                                        ER_MIN(g->oh, 2 * th1) * g->ow);
}

static void wino_blocks(void *ctx, int64_t begin, int64_t end, int tid)
{
    const wino_job *j = ctx;
    for (int64_t b = begin; b < end; b++) wino_block(j, (int)b, j->ws + (size_t)tid * j->sc.total);
}

void er_wino_run(er_threadpool *pool, const er_wino *w, const er_dw_geom *g, const float *x, float *y,
                 const er_gemm_epilogue *ep, float *ws)
{
    int threads = er_threadpool_size(pool);
    wino_job j = { w, g, x, y, ep, ws, wino_layout(w->k, g, w->c, w->m, threads), wino_rows(g, w->c, w->m, threads) };
    int th = (g->oh + 1) / 2;
    er_parallel_for(pool, (th + j.rows - 1) / j.rows, 1, wino_blocks, &j);
}
