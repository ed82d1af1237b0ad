/* 3×3 stride-1 convolution by Winograd F(m×m, 3×3): (m+2)² multiplications per m×m output
 * tile and input channel instead of 9·m². With AVX-512, F(4×4, 3×3) (36 instead of 144) or,
 * for small planes where 4×4 tiles would leave most vector lanes empty, F(2×2, 3×3); elsewhere
 * F(2×2, 3×3) on the packed SGEMM.
 *
 * AVX-512 path: blocks of whole 16-tile vectors, tiles in row-major order (a block may start
 * and end inside a tile row). Per block, every input channel is transformed into
 * V[ξ][c][tile] (the α² transformed planes, α = m + 2, tiles contiguous so each row is a GEMM B
 * row); then for each group of 8 output channels the products Mo[ξ] = U[ξ] · V[ξ] go to a small
 * scratch that the output transform turns into output rows, which the epilogue (bias,
 * residual, activation) finishes while they are in cache. U (transformed weights) is packed
 * once as [8-channel panel][ξ][c][8], so one panel's weights are one stream from memory. A
 * block is sized so V stays in L2; blocks go to threads whole, or when there are fewer blocks
 * than threads, the block's channels and then its panels are split between them.
 *
 * SGEMM path: blocks of tile rows are transformed into per-thread scratch, multiplied by 16
 * SGEMMs and transformed back. Row buffers hold 2·tiles + 2 input columns plus 64 zeros. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/fast.h"
#include "backend/cpu/winograd_impl.h"

/* Bytes of V (α² · C · tiles floats) one AVX-512 block may take: about half of L2. */
#define W512_V_BYTES (640 * 1024)
/* Least ratio of direct-conv products to Winograd products (padded tiles included) for which
 * the AVX-512 path takes a conv: below it, transforms and U traffic eat the gain. */
#define W512_MIN_GAIN 1.6

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

static bool w512_isa(void) { return er_sgemm_kernel_select()->isa == ER_ISA_AVX512; }

typedef struct w512_plan {
    int m, a, nxi;            /* output tile m, input tile α = m + 2, α² transformed planes */
    int tw, th, tiles;        /* tiles per row, tile rows, tiles */
    int nvt, nblk;            /* 16-tile vectors of the plane; blocks, each a run of whole vectors */
    int ldv;                  /* floats per V / Mo row: the largest block's vectors */
    bool split_block;         /* fewer blocks than threads: threads share each block */
    size_t vxi, mxi;          /* floats from one ξ plane of V, Mo to the next */
    size_t v, mo, rs, total;  /* floats per thread: V, Mo, one row buffer (α of them), all */
} w512_plan;

static int vecs(int tiles) { return (tiles + 15) / 16; }

/* Blocks are runs of the plane's tiles in row-major order, as few as keep V within budget,
 * then as many more as give every thread the same number of blocks. */
static w512_plan w512_plan_for(const er_dw_geom *g, int m, int c, int threads)
{
    w512_plan p = { m, m + 2, (m + 2) * (m + 2), (g->ow + m - 1) / m, (g->oh + m - 1) / m, 0, 0, 0, 0, false,
                    0, 0, 0, 0, 0, 0 };
    p.tiles = p.tw * p.th;
    p.nvt = vecs(p.tiles);
    int nv_max = ER_MAX(1, (int)(W512_V_BYTES / ((size_t)p.nxi * c * 16 * sizeof(float))));
    p.nblk = (p.nvt + nv_max - 1) / nv_max;
    if (p.nvt >= threads) p.nblk = ER_MIN(p.nvt, (p.nblk + threads - 1) / threads * threads);
    p.split_block = p.nblk < threads;
    p.ldv = 16 * ((p.nvt + p.nblk - 1) / p.nblk);
    /* A 64-byte skew between ξ planes keeps their rows, often 4 KiB multiples apart, from
     * landing in the same L1 sets. */
    p.vxi = (size_t)c * p.ldv + 16;
    p.mxi = 8 * (size_t)p.ldv + 16;
    p.v = p.nxi * p.vxi;
    p.mo = p.nxi * p.mxi;
    p.rs = up16((size_t)m * p.tw + 16 * (size_t)m + 18);
    p.total = p.v + p.mo + p.a * p.rs;
    return p;
}

/* Tiles [t0, t1) of block b. */
static void w512_block(const w512_plan *p, int b, int *t0, int *t1)
{
    *t0 = 16 * (int)((int64_t)b * p->nvt / p->nblk);
    *t1 = ER_MIN(p->tiles, 16 * (int)((int64_t)(b + 1) * p->nvt / p->nblk));
}

/* Direct-conv products over Winograd products (padded tiles included) for tile m. */
static double w512_gain(const er_dw_geom *g, int m, int c)
{
    w512_plan p = w512_plan_for(g, m, c, 1);
    return 9.0 * g->oh * g->ow / ((double)p.nxi * 16 * p.nvt);
}

/* The AVX-512 path's output tile for this conv: 4, 2, or 0 where neither gains enough. */
static int w512_tile(const er_dw_geom *g, int c)
{
    double g4 = w512_gain(g, 4, c), g2 = w512_gain(g, 2, c);
    if (ER_MAX(g4, g2) < W512_MIN_GAIN) return 0;
    return g4 >= g2 ? 4 : 2;
}

bool er_wino_applicable(const er_dw_geom *g, int group, int c, int m)
{
    if (!(g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && group == 1 && c >= 8 &&
          m >= 8 && g->oh > 0 && g->ow > 0))
        return false;
    if (w512_isa()) return w512_tile(g, c) != 0;
    return ((g->oh + 1) / 2) * ((g->ow + 1) / 2) >= 32;
}

/* Tile rows per SGEMM-path block: the block's V and Mo (16·(C+M) floats per tile) within
 * ~1 MiB, and at least one block per thread. */
static int wsg_rows(const er_dw_geom *g, int c, int m, int threads)
{
    int tw = (g->ow + 1) / 2, th = (g->oh + 1) / 2;
    int rows = ER_MAX(1, 16384 / (c + m) / tw);
    return ER_MAX(1, ER_MIN(rows, (th + threads - 1) / threads));
}

typedef struct wsg_scratch {
    size_t v, mo, gemm, rowbuf, ybuf, total;   /* floats, each a multiple of 16 */
} wsg_scratch;

static wsg_scratch wsg_layout(const er_sgemm_kernel *k, const er_dw_geom *g, int c, int m, int threads)
{
    int tw = (g->ow + 1) / 2;
    size_t tb = (size_t)wsg_rows(g, c, m, threads) * tw;
    wsg_scratch s;
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
    if (!w512_isa())
        return sizeof(float) * wsg_layout(er_sgemm_kernel_select(), g, c, m, threads).total * (size_t)threads;
    /* The run may get fewer threads than the pool has (small convs run inline). */
    int tile = w512_tile(g, c);
    size_t most = 0;
    for (int t = 1; t <= threads; t++) most = ER_MAX(most, w512_plan_for(g, tile, c, t).total * (size_t)t);
    return sizeof(float) * most;
}

/* Packs U for tile m as [panel][ξ][c][8]; a_floats is one panel's floats of one ξ. */
static er_status w512_prepare(er_wino *w, const float *weights, int m)
{
    w->a_floats = (size_t)w->c * 8;
    w->packed = er_aligned_alloc(sizeof(float) * w->a_floats * (m + 2) * (m + 2) * ((w->m + 7) / 8));
    if (!w->packed) return ER_ERR_NOMEM;
    er_wino_pack_avx512(weights, w->c, w->m, m, w->packed);
    return ER_OK;
}

static er_status wsg_prepare(er_wino *w, const float *weights)
{
    int c = w->c, m = w->m;
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

er_status er_wino_prepare(er_wino *w, const float *weights, int c, int m, const er_dw_geom *g)
{
    w->c = c;
    w->m = m;
    w->k = er_sgemm_kernel_select();
    w->packed = NULL;
    return w->k->isa == ER_ISA_AVX512 ? w512_prepare(w, weights, w512_tile(g, c)) : wsg_prepare(w, weights);
}

void er_wino_free(er_wino *w) { er_aligned_free(w->packed); }

static bool epilogue_needed(const er_gemm_epilogue *ep)
{
    return ep && (ep->bias_m || ep->bias_n || ep->residual || ep->act != ER_ACT_NONE);
}

typedef struct w512_job {
    const er_wino *w;
    const er_dw_geom *g;
    const float *x;
    float *y;
    const er_gemm_epilogue *ep;
    float *ws;
    w512_plan p;
    er_wino_input_fn input;
    er_wino_output_fn output;
    int blk;                  /* the block the threads share (split_block) */
} w512_job;

static float *w512_scratch(const w512_job *j, int tid) { return j->ws + (size_t)tid * j->p.total; }

/* Input channels [c0, c1) of block blk into v; rows is a thread's row buffer. */
static void w512_input(const w512_job *j, int blk, int c0, int c1, float *v, float *rows)
{
    const er_dw_geom *g = j->g;
    const w512_plan *p = &j->p;
    int t0, t1;
    w512_block(p, blk, &t0, &t1);
    size_t plane = (size_t)g->ih * g->iw;
    memset(rows, 0, sizeof(float) * p->a * p->rs);
    for (int c = c0; c < c1; c++)
        for (int t = t0; t < t1;) {
            int ty = t / p->tw, tx = t % p->tw, te = ER_MIN(p->tw, tx + t1 - t);
            j->input(j->x + c * plane, g->ih, g->iw, g->ph, g->pw, ty, tx, te, rows, p->rs,
                     v + (size_t)c * p->ldv + (t - t0), p->ldv - (t - t0), p->vxi);
            t += te - tx;
        }
}

/* Pixel ranges [n0, n1) of the planes of channels [o0, o1), merged while they touch, for the
 * epilogue. */
typedef struct ep_runs {
    const w512_job *j;
    int o0, o1, n0, n1;
} ep_runs;

static void ep_flush(ep_runs *r)
{
    if (r->n1 > r->n0)
        er_gemm_epilogue_avx512(r->j->ep, r->j->y, r->j->g->oh * r->j->g->ow, r->o0, r->o1, r->n0, r->n1);
    r->n0 = r->n1 = 0;
}

static void ep_add(ep_runs *r, int n0, int n1)
{
    if (n0 != r->n1) {
        ep_flush(r);
        r->n0 = n0;
    }
    r->n1 = n1;
}

/* Output transform of channels [o0, o1) (rows of mo) over tiles [t0, t1), then their epilogue. */
static void w512_store(const w512_job *j, int t0, int t1, int o0, int o1, const float *mo)
{
    const er_dw_geom *g = j->g;
    const w512_plan *p = &j->p;
    size_t oplane = (size_t)g->oh * g->ow;
    for (int o = o0; o < o1; o++)
        for (int t = t0; t < t1;) {
            int ty = t / p->tw, tx = t % p->tw, te = ER_MIN(p->tw, tx + t1 - t);
            j->output(mo + (size_t)(o - o0) * p->ldv + (t - t0), p->mxi, ty, tx, te, j->y + o * oplane, g->oh, g->ow);
            t += te - tx;
        }
    if (!epilogue_needed(j->ep)) return;
    ep_runs r = { j, o0, o1, 0, 0 };
    for (int t = t0; t < t1;) {
        int ty = t / p->tw, tx = t % p->tw, te = ER_MIN(p->tw, tx + t1 - t);
        for (int k = 0; k < p->m && p->m * ty + k < g->oh; k++) {
            int row = (p->m * ty + k) * g->ow;
            ep_add(&r, row + p->m * tx, row + ER_MIN(g->ow, p->m * te));
        }
        t += te - tx;
    }
    ep_flush(&r);
}

/* Output-channel panels [p0, p1) of block blk from its V; mo is a thread's product scratch. */
static void w512_panels(const w512_job *j, int blk, int p0, int p1, const float *v, float *mo)
{
    const er_wino *w = j->w;
    const w512_plan *p = &j->p;
    int t0, t1;
    w512_block(p, blk, &t0, &t1);
    int nvec = vecs(t1 - t0);
    for (int pn = p0; pn < p1; pn++) {
        const float *u = w->packed + (size_t)pn * p->nxi * w->a_floats;
        for (int xi = 0; xi < p->nxi; xi++)
            er_wino_gemm8_avx512(w->c, u + xi * w->a_floats, v + xi * p->vxi, p->ldv, nvec, mo + xi * p->mxi, p->ldv);
        w512_store(j, t0, t1, 8 * pn, ER_MIN(w->m, 8 * pn + 8), mo);
    }
}

static void w512_blocks(void *ctx, int64_t begin, int64_t end, int tid)
{
    const w512_job *j = ctx;
    float *s = w512_scratch(j, tid);
    for (int64_t b = begin; b < end; b++) {
        w512_input(j, (int)b, 0, j->w->c, s, s + j->p.v + j->p.mo);
        w512_panels(j, (int)b, 0, (j->w->m + 7) / 8, s, s + j->p.v);
    }
}

static void w512_shared_input(void *ctx, int64_t begin, int64_t end, int tid)
{
    const w512_job *j = ctx;
    float *s = w512_scratch(j, tid);
    w512_input(j, j->blk, (int)begin, (int)end, j->ws, s + j->p.v + j->p.mo);
}

static void w512_shared_panels(void *ctx, int64_t begin, int64_t end, int tid)
{
    const w512_job *j = ctx;
    w512_panels(j, j->blk, (int)begin, (int)end, j->ws, w512_scratch(j, tid) + j->p.v);
}

static void w512_run(er_threadpool *pool, const er_wino *w, const er_dw_geom *g, const float *x, float *y,
                     const er_gemm_epilogue *ep, float *ws)
{
    int tile = w512_tile(g, w->c);
    w512_job j = { w, g, x, y, ep, ws, w512_plan_for(g, tile, w->c, er_threadpool_size(pool)),
                   tile == 4 ? er_wino4_input_avx512 : er_wino2_input_avx512,
                   tile == 4 ? er_wino4_output_avx512 : er_wino2_output_avx512, 0 };
    if (!j.p.split_block) {
        er_parallel_for(pool, j.p.nblk, 1, w512_blocks, &j);
        return;
    }
    for (j.blk = 0; j.blk < j.p.nblk; j.blk++) {
        er_parallel_for(pool, w->c, 1, w512_shared_input, &j);
        er_parallel_for(pool, (w->m + 7) / 8, 1, w512_shared_panels, &j);
    }
}

static void input_row_ref(const float *r0, const float *r1, const float *r2, const float *r3, int n, float *v,
                          size_t vstride)
{
    wino_input_row_impl(r0, r1, r2, r3, n, v, vstride);
}

static void output_row_ref(const float *m, size_t mstride, int n, float *y0, float *y1)
{
    wino_output_row_impl(m, mstride, n, y0, y1);
}

typedef struct wsg_job {
    const er_wino *w;
    const er_dw_geom *g;
    const float *x;
    float *y;
    const er_gemm_epilogue *ep;
    float *ws;
    wsg_scratch sc;
    int rows;
} wsg_job;

static void wsg_block(const wsg_job *j, int blk, float *scratch)
{
    const er_dw_geom *g = j->g;
    const er_wino *w = j->w;
    int tw = (g->ow + 1) / 2, th = (g->oh + 1) / 2, rw = 2 * tw + 2 + 64;
    int th0 = blk * j->rows, th1 = ER_MIN(th, th0 + j->rows), nt = (th1 - th0) * tw;
    float *v = scratch, *mo = v + j->sc.v, *gws = mo + j->sc.mo, *rowbuf = gws + j->sc.gemm, *ybuf = rowbuf + j->sc.rowbuf;
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
            input_row_ref(rowbuf, rowbuf + rw, rowbuf + 2 * rw, rowbuf + 3 * rw, tw, vd, (size_t)w->c * nt);
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
            output_row_ref(mo + (size_t)o * nt + (size_t)(t - th0) * tw, (size_t)w->m * nt, tw, ybuf, ybuf + 2 * tw);
            float *yo = j->y + o * oplane + (size_t)(2 * t) * g->ow;
            memcpy(yo, ybuf, sizeof(float) * (size_t)g->ow);
            if (2 * t + 1 < g->oh) memcpy(yo + g->ow, ybuf + 2 * tw, sizeof(float) * (size_t)g->ow);
        }
    if (epilogue_needed(j->ep))
        er_gemm_epilogue_for(w->k->isa)(j->ep, j->y, (int)oplane, 0, w->m, 2 * th0 * g->ow,
                                        ER_MIN(g->oh, 2 * th1) * g->ow);
}

static void wsg_blocks(void *ctx, int64_t begin, int64_t end, int tid)
{
    const wsg_job *j = ctx;
    for (int64_t b = begin; b < end; b++) wsg_block(j, (int)b, j->ws + (size_t)tid * j->sc.total);
}

void er_wino_run(er_threadpool *pool, const er_wino *w, const er_dw_geom *g, const float *x, float *y,
                 const er_gemm_epilogue *ep, float *ws)
{
    if (w->k->isa == ER_ISA_AVX512) {
        w512_run(pool, w, g, x, y, ep, ws);
        return;
    }
    int threads = er_threadpool_size(pool);
    wsg_job j = { w, g, x, y, ep, ws, wsg_layout(w->k, g, w->c, w->m, threads), wsg_rows(g, w->c, w->m, threads) };
    int th = (g->oh + 1) / 2;
    er_parallel_for(pool, (th + j.rows - 1) / j.rows, 1, wsg_blocks, &j);
}
