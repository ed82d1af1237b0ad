/* ONNX reader. Our own zero-copy protobuf wire-format reader: initializer raw_data is
 * pointed into the caller's buffer (the mmapped model file), so loading never holds a
 * second copy of the weights; protobuf-c would unpack every byte string into the heap. */
#ifndef ER_FORMAT_ONNX_H
#define ER_FORMAT_ONNX_H

#include "ir/graph.h"

/* Parses a ModelProto. Tensor data points into `data` (which must outlive the graph) when
 * it is stored as little-endian raw_data; typed fields (float_data, int64_data, ...) are
 * decoded into the graph's pool; external data files are resolved against base_dir
 * (NULL: current directory) and mapped, owned by the graph. file_backed says `data` is a
 * read-only file mapping, whose pages may be released after misaligned tensors are copied. */
er_status er_onnx_parse(const void *data, size_t size, const char *base_dir, bool file_backed,
                        er_graph **out, char *err, size_t err_size);

/* Parses a serialized TensorProto (ONNX test-data .pb files). *owned receives a malloc'd
 * buffer holding the elements (t->data points into it; free it with free()); *name
 * receives a malloc'd copy of the tensor's name or NULL. */
er_status er_onnx_parse_tensor(const void *data, size_t size, er_const *t, char **name,
                               void **owned, char *err, size_t err_size);

#endif
