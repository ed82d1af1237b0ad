/* MatMulInteger, QLinearMatMul and QGemm with a constant int8 B on the packed kernel of
 * qgemm_mm.h. prepare packs B once when the fast form applies (B constant int8 2-D with
 * zero points 0, scalar A scale/zero point, a per-tensor output scale, C of 1 or N values);
 * otherwise it leaves no state and the op runs its reference kernel. A's scale and zero
 * point may be run-time values (dynamic quantization). QGemmDQ (below) runs on the same state. */
#ifndef ER_BACKEND_CPU_QGEMM_MATMUL_H
#define ER_BACKEND_CPU_QGEMM_MATMUL_H

#include "backend/cpu/op.h"

er_status er_qmm_prepare(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, void **state);
void er_qmm_release(void *state);
er_status er_qmm_run_packed(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

er_status er_qgemm_dq_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_qgemm_dq_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
