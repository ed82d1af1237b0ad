#include "format/onnx.h"
er_status er_onnx_parse(const void *data, size_t size, const char *base_dir, er_graph **out, char *err, size_t err_size)
{ (void)data; (void)size; (void)base_dir; (void)out; return er_fail(err, err_size, ER_ERR_UNSUPPORTED, "todo"); }
