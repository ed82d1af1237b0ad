/* QAdd (domain edgerun): what the QDQ fusion makes of
 *   DequantizeLinear(A) + DequantizeLinear(B) → QuantizeLinear → Y
 * (the residual Add of ResNet/MobileNet/transformer blocks). Inputs A, A_scale, A_zp, B,
 * B_scale, B_zp, Y_scale, Y_zp with per-tensor parameters; A and B uint8 or int8 alike, Y
 * the type of Y_zp (of A without it). The same float32 steps as the unfused nodes, so the
 * result equals theirs bit for bit:
 *   y = sat(round_even(clamp(((float)(a - za) * sa + (float)(b - zb) * sb) / sy)) + zy). */
#ifndef ER_BACKEND_CPU_QADD_H
#define ER_BACKEND_CPU_QADD_H

#include "backend/cpu/op.h"

typedef struct er_qadd_params {
    float sa, sb, sy;
    int32_t za, zb, zy;
    bool x_signed, y_signed;
} er_qadd_params;

/* n elements of equal-shaped A and B. */
void er_qadd_ref(const er_qadd_params *p, const void *a, const void *b, int64_t n, void *y);
void er_qadd_avx512(const er_qadd_params *p, const void *a, const void *b, int64_t n, void *y);

er_status er_qadd_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_qadd_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
