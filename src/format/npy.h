/* NumPy .npy files (format versions 1.0, 2.0, 3.0), C order, numeric and bool dtypes.
 * Used by the CLI and tests to exchange tensors with Python without a conversion step. */
#ifndef ER_FORMAT_NPY_H
#define ER_FORMAT_NPY_H

#include "core/common.h"

/* Parses a whole .npy image held in memory. On success t gets dtype and shape, and
 * t->data points at the element bytes inside `data` (not aligned, little-endian as stored
 * only when *swap is 0; *swap is 1 when the file is in the other byte order). */
er_status er_npy_parse(const void *data, size_t size, er_tensor *t, bool *swap, char *err,
                       size_t err_size);

/* Reads a .npy file. *owned receives the element buffer (64-byte aligned, host byte order;
 * release with er_aligned_free); t->data points at it. */
er_status er_npy_read(const char *path, er_tensor *t, void **owned, char *err, size_t err_size);

/* Writes t as a version 1.0 .npy file. The file appears complete or not at all: data goes
 * to a temporary file in the same directory, renamed over `path` at the end. */
er_status er_npy_write(const char *path, const er_tensor *t, char *err, size_t err_size);

/* The descr string numpy uses for dt ("<f4", "|b1", ...); NULL when numpy has no match. */
const char *er_npy_descr(er_dtype dt);

#endif
