/* Graph pass: QDQ patterns around Conv become QLinearConv nodes, around MatMul/Gemm QGemm,
 * around MaxPool and residual Add 8-bit MaxPool and QAdd (domain edgerun); all run on int8
 * kernels. An int8 table read by Gather becomes GatherDQ. Returns the number of fused patterns. */
#ifndef ER_QUANT_QDQ_FUSE_H
#define ER_QUANT_QDQ_FUSE_H

#include "ir/graph.h"

int er_pass_fuse_qdq(er_graph *g);

#endif
