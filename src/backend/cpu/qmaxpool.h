/* MaxPool on quantized (uint8/int8) tensors; see qmaxpool.c. Shares MaxPool's infer. */
#ifndef ER_BACKEND_CPU_QMAXPOOL_H
#define ER_BACKEND_CPU_QMAXPOOL_H

#include "backend/cpu/op.h"

er_status er_qmaxpool_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
