/* Direct convolution with output channels in vector lanes (conv_direct_avx512.c).
 *
 * For a strided or padded conv or a small output plane, the im2col SGEMM pays for its B-panel
 * gathers and for column tiles that the plane's width does not fill. Here a register tile is
 * a run of output pixels along one row × 32 output channels: weights are packed once as W^T
 * ([K × 32] per channel block), input pixels are broadcast straight from the input (or a
 * zero-padded copy) through a per-tap offset table, so nothing is gathered per call. A last
 * block of at most 16 channels uses 16-lane tiles of twice the pixels. Each row block goes
 * back to NCHW through an in-register transpose that adds bias and residual and applies ReLU
 * or Clip as it stores; other activations run the GEMM epilogue on the hot rows after it. */
#ifndef ER_BACKEND_CPU_CONV_DIRECT_H
#define ER_BACKEND_CPU_CONV_DIRECT_H

#include "backend/cpu/fast.h"

/* Where the kernel reads the input: in place (no padding needed); a zero-padded copy of the
 * planes; or, where that copy would be large (megabytes of workspace, written out of cache),
 * per output row a padded window of the KH input rows it reads from every channel. */
typedef enum { ER_CDIR_IN_PLACE, ER_CDIR_PLANES, ER_CDIR_WINDOW } er_cdir_input;

typedef struct er_cdir {
    int group, c, m, kdim, blocks;   /* per group: input channels, output channels, C·KH·KW, 32-channel blocks */
    int ihp, iwp;                    /* the (padded) input plane the kernel reads */
    er_cdir_input input;
    bool half;                       /* the last block has at most 16 channels: one-vector tiles */
    float *wt;                       /* per group, per block: kdim rows of 32 (16 in a half block) */
    int *koff;                       /* kdim offsets of the taps in the (padded) input */
} er_cdir;

/* Whether the direct kernel is the faster choice for this 2-D conv with c input and m output
 * channels per group (AVX-512 only; depthwise and Winograd convs are decided before). */
bool er_cdir_applicable(const er_dw_geom *g, int c, int m);
er_status er_cdir_prepare(er_cdir *d, const er_dw_geom *g, const float *w, int group, int c, int m);
void er_cdir_free(er_cdir *d);
size_t er_cdir_ws_floats(const er_dw_geom *g, int c, int threads);
/* One image's group gi: x its input channels, y its output channels, ep the epilogue with
 * bias and residual already offset to the group. */
void er_cdir_run(er_threadpool *pool, const er_cdir *d, const er_dw_geom *g, int gi, const float *x, float *y,
                 const er_gemm_epilogue *ep, float *ws);

#endif
