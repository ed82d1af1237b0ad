/* QuantDequant (domain edgerun): QuantizeLinear → DequantizeLinear with the same per-tensor
 * scale and zero point, the pair a QDQ model puts between two float ops (the attention
 * products, softmax). Inputs X (float32), scale, zero point (uint8/int8: its type sets the
 * range); one pass, no 8-bit tensor, the same float steps as the two nodes:
 *   q = sat(round_even(clamp(x / s, NaN → 0)) + zp), y = (float)(q - zp) * s. */
#ifndef ER_BACKEND_CPU_QFAKE_H
#define ER_BACKEND_CPU_QFAKE_H

#include "backend/cpu/op.h"

void er_qfake_ref(const float *x, int64_t n, float scale, int32_t zp, bool is_signed, float *y);
void er_qfake_avx512(const float *x, int64_t n, float scale, int32_t zp, bool is_signed, float *y);

er_status er_qfake_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_qfake_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
