/* ONNX writer: serialises an er_graph as a ModelProto in protobuf wire format (nodes,
 * attributes, initializers as raw_data, typed graph inputs/outputs, opset imports). Only
 * initializers some node or graph output reads are written. */
#ifndef ER_FORMAT_ONNX_WRITE_H
#define ER_FORMAT_ONNX_WRITE_H

#include "ir/graph.h"

/* *data receives a malloc'd buffer of *size bytes; free it with free(). */
er_status er_onnx_serialize(const er_graph *g, void **data, size_t *size, char *err, size_t err_size);

/* Writes the model to path. The file appears complete or not at all: bytes go to a
 * temporary file in the same directory, renamed over path at the end. */
er_status er_onnx_write_file(const er_graph *g, const char *path, char *err, size_t err_size);

#endif
