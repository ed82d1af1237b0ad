/* MaxPool on quantized (uint8/int8) tensors; see qmaxpool.c. Shares MaxPool's infer. */
#ifndef ER_BACKEND_CPU_QMAXPOOL_H
#define ER_BACKEND_CPU_QMAXPOOL_H

#include "backend/cpu/op.h"
#include "backend/cpu/ref/nn.h"

er_status er_qmaxpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#define ER_QMAXPOOL_ROW_MAX 2048 /* widest padded row of the fast paths (stack buffers) */

/* One 2-D plane, horizontal stride 1 or 2, windows never empty, padded width at most
 * ER_QMAXPOOL_ROW_MAX; bytes compare as int8 when is_signed. */
void er_qmaxpool_plane_avx512(const uint8_t *x, const er_nn_window *w, bool is_signed, uint8_t *y);

#endif
