/* QuantDequant: portable kernel (the oracle of the AVX-512 one) and the op. */
#include <math.h>

#include "backend/cpu/qfake.h"
#include "core/cpu.h"

void er_qfake_ref(const float *x, int64_t n, float scale, int32_t zp, bool is_signed, float *y)
{
    const float lo = (is_signed ? -128.0f : 0.0f) - (float)zp, hi = (is_signed ? 127.0f : 255.0f) - (float)zp;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] / scale;
        v = isnan(v) ? 0.0f : v < lo ? lo : v > hi ? hi : v;
        int32_t q = (int32_t)nearbyintf(v) + zp;
        y[i] = (float)(q - zp) * scale;
    }
}

er_status er_qfake_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 3, 3);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *s = in[1], *z = in[2];
    if (!x || x->dtype != ER_F32) return er_op_fail(ctx, ER_ERR_DTYPE, "X must be float32");
    if (!s || s->dtype != ER_F32 || er_tensor_numel(s) != 1) return er_op_fail(ctx, ER_ERR_FORMAT, "scale must be one float32");
    if (!z || (z->dtype != ER_U8 && z->dtype != ER_I8) || er_tensor_numel(z) != 1)
        return er_op_fail(ctx, ER_ERR_FORMAT, "zero point must be one uint8 or int8");
    er_tensor_set_shape(out[0], ER_F32, x->dims, x->ndim);
    return ER_OK;
}

er_status er_qfake_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const float s = *(const float *)in[1]->data;
    if (!(s > 0.0f)) return er_op_fail(ctx, ER_ERR_FORMAT, "scale must be positive, got %g", (double)s);
    const bool sg = in[2]->dtype == ER_I8;
    const int32_t zp = sg ? *(const int8_t *)in[2]->data : *(const uint8_t *)in[2]->data;
    (er_cpu_isa() == ER_ISA_AVX512 ? er_qfake_avx512 : er_qfake_ref)(in[0]->data, er_tensor_numel(in[0]), s, zp, sg,
                                                                      out[0]->data);
    return ER_OK;
}
