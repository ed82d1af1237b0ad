/* Graph pass: QDQ patterns around Conv become QLinearConv nodes, which run on the packed
 * int8 kernels. Returns the number of fused patterns. */
#ifndef ER_QUANT_QDQ_FUSE_H
#define ER_QUANT_QDQ_FUSE_H

#include "ir/graph.h"

int er_pass_fuse_qdq(er_graph *g);

#endif
