/* Internal basics shared by every layer: tensors, status messages, dtype helpers. */
#ifndef ER_CORE_COMMON_H
#define ER_CORE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgerun.h"

#define ER_ALIGN 64
#define ER_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ER_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ER_MAX(a, b) ((a) > (b) ? (a) : (b))

/* A tensor as the executor and kernels see it. data is NULL while the value is not
 * known (at planning time, for anything computed from graph inputs). */
typedef struct er_tensor {
    er_dtype dtype;
    int ndim;
    int64_t dims[ER_MAX_DIMS];
    void *data;
} er_tensor;

int64_t er_shape_numel(const int64_t *dims, int ndim);
int64_t er_tensor_numel(const er_tensor *t);
size_t er_tensor_nbytes(const er_tensor *t);
bool er_shape_equal(const int64_t *a, int na, const int64_t *b, int nb);
/* "[1,3,224,224]" into buf; returns buf. */
const char *er_shape_str(const int64_t *dims, int ndim, char *buf, size_t size);

/* Formats into buf (may be NULL) and returns st, so callers can `return er_fail(...)`. */
er_status er_fail(char *buf, size_t size, er_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
er_status er_vfail(char *buf, size_t size, er_status st, const char *fmt, va_list ap);

bool er_dtype_is_float(er_dtype dt);
bool er_dtype_is_int(er_dtype dt);
bool er_dtype_valid(er_dtype dt);

float er_f16_to_f32(uint16_t h);
uint16_t er_f32_to_f16(float f);
float er_bf16_to_f32(uint16_t h);
uint16_t er_f32_to_bf16(float f);

/* Reads element i of any numeric tensor as double / int64 (for small index tensors). */
double er_get_f64(const void *data, er_dtype dt, int64_t i);
int64_t er_get_i64(const void *data, er_dtype dt, int64_t i);
void er_set_f64(void *data, er_dtype dt, int64_t i, double v);

void *er_aligned_alloc(size_t size);
void er_aligned_free(void *p);

/* Monotonic time in seconds. */
double er_now(void);
/* CPU seconds used by this process (all threads): on a shared machine, single-thread timings
 * from it leave out the time other processes held the core. */
double er_cpu_now(void);
/* Peak resident set size of this process in bytes (0 if unknown). */
size_t er_peak_rss(void);
size_t er_current_rss(void);

#endif
