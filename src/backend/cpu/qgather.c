/* GatherDQ: one dequantized row per index. */
#include "backend/cpu/qgather.h"

static bool is_q8(er_dtype dt) { return dt == ER_U8 || dt == ER_I8; }

er_status er_qgather_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_status st = er_op_check_arity(ctx, n_in, 4, 4);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *s = in[1], *z = in[2], *ind = in[3];
    if (!x || !is_q8(x->dtype) || x->ndim < 1) return er_op_fail(ctx, ER_ERR_FORMAT, "table must be int8 or uint8 of rank >= 1");
    int64_t ns = s ? er_tensor_numel(s) : 0;
    if (!s || s->dtype != ER_F32 || (ns != 1 && (s->ndim != 1 || ns != x->dims[0])))
        return er_op_fail(ctx, ER_ERR_FORMAT, "scale must be float32, one value or one per table row (%lld)",
                          (long long)x->dims[0]);
    if (z && (z->dtype != x->dtype || er_tensor_numel(z) != ns))
        return er_op_fail(ctx, ER_ERR_FORMAT, "zero point must have the table's type and the scale's length");
    if (!ind || (ind->dtype != ER_I64 && ind->dtype != ER_I32)) return er_op_fail(ctx, ER_ERR_DTYPE, "indices must be int32 or int64");
    if (ind->ndim + x->ndim - 1 > ER_MAX_DIMS) return er_op_fail(ctx, ER_ERR_SHAPE, "output rank exceeds %d", ER_MAX_DIMS);
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < ind->ndim; d++) dims[nd++] = ind->dims[d];
    for (int d = 1; d < x->ndim; d++) dims[nd++] = x->dims[d];
    er_tensor_set_shape(out[0], ER_F32, dims, nd);
    return ER_OK;
}

static void dequant_row_i8(const int8_t *q, int64_t n, int32_t zp, float s, float *y)
{
    for (int64_t e = 0; e < n; e++) y[e] = (float)(q[e] - zp) * s;
}

static void dequant_row_u8(const uint8_t *q, int64_t n, int32_t zp, float s, float *y)
{
    for (int64_t e = 0; e < n; e++) y[e] = (float)(q[e] - zp) * s;
}

er_status er_qgather_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *s = in[1], *z = in[2], *ind = in[3];
    const int64_t rows = x->dims[0], row = rows ? er_tensor_numel(x) / rows : 0, ni = er_tensor_numel(ind);
    const bool per_row = er_tensor_numel(s) != 1, sg = x->dtype == ER_I8;
    const float *sc = s->data;
    float *y = out[0]->data;
    for (int64_t j = 0; j < ni; j++, y += row) {
        int64_t v = er_get_i64(ind->data, ind->dtype, j), i = v < 0 ? v + rows : v;
        if (i < 0 || i >= rows)
            return er_op_fail(ctx, ER_ERR_INVALID_ARG, "index %lld is out of range for a table of %lld rows", (long long)v,
                              (long long)rows);
        int64_t k = per_row ? i : 0;
        int32_t zp = !z ? 0 : sg ? ((const int8_t *)z->data)[k] : ((const uint8_t *)z->data)[k];
        if (sg) dequant_row_i8((const int8_t *)x->data + i * row, row, zp, sc[k], y);
        else dequant_row_u8((const uint8_t *)x->data + i * row, row, zp, sc[k], y);
    }
    return ER_OK;
}
