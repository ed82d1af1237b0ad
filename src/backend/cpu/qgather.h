/* GatherDQ (domain edgerun): DequantizeLinear(table_q, scale, zero_point) → Gather (axis 0),
 * the form `edgerun quantize` gives embedding tables. Inputs: the int8/uint8 table [N, ...],
 * its scale (one float32, or one per row: [N]), the zero point (optional; its shape is the
 * scale's, its type the table's) and the indices (int32/int64, negative ones count from N).
 * Output: float32 [indices..., table.dims[1:]...], each gathered row dequantized as
 * DequantizeLinear does, (float)(q - zp) * scale: the same bits as the two nodes, without the
 * float table. */
#ifndef ER_BACKEND_CPU_QGATHER_H
#define ER_BACKEND_CPU_QGATHER_H

#include "backend/cpu/op.h"

er_status er_qgather_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);
er_status er_qgather_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out);

#endif
