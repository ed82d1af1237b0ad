/* Shared machinery of the elementwise and reduction reference kernels: dtype masks,
 * chunked conversion of any numeric dtype to and from double / int64 (so one kernel body
 * serves every dtype), and a broadcasting loop over up to three inputs. */
#ifndef ER_BACKEND_CPU_REF_EW_CORE_H
#define ER_BACKEND_CPU_REF_EW_CORE_H

#include "backend/cpu/op.h"

/* Elements converted per chunk: big enough to amortise the dtype switch, small enough
 * for the stack. */
#define EW_CHUNK 256
#define EW_MAX_IN 3

#define EW_BIT(dt) (1u << (unsigned)(dt))
#define EW_FLOATS (EW_BIT(ER_F32) | EW_BIT(ER_F64) | EW_BIT(ER_F16) | EW_BIT(ER_BF16))
#define EW_SINTS (EW_BIT(ER_I8) | EW_BIT(ER_I16) | EW_BIT(ER_I32) | EW_BIT(ER_I64))
#define EW_UINTS (EW_BIT(ER_U8) | EW_BIT(ER_U16) | EW_BIT(ER_U32) | EW_BIT(ER_U64))
#define EW_INTS (EW_SINTS | EW_UINTS)
#define EW_NUMS (EW_FLOATS | EW_INTS)
#define EW_BOOLS EW_BIT(ER_BOOL)

static inline bool ew_has(unsigned mask, er_dtype dt)
{
    return (unsigned)dt < 32 && (mask & EW_BIT(dt)) != 0;
}

/* Saturating double -> int64 (NaN gives 0): plain casts of out-of-range values are UB. */
int64_t ew_f64_to_i64(double v);

/* Read / write n elements at base[off + i*step], converting to or from dtype dt. */
void ew_load_f64(const void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, double *dst);
void ew_load_i64(const void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, int64_t *dst);
void ew_store_f64(void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, const double *src);
void ew_store_i64(void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, const int64_t *src);

/* Called for a run of n output elements starting at out_off; input k starts at in_off[k]
 * and advances by step[k] (0 or 1) per element. */
typedef void (*ew_row_fn)(void *ctx, int64_t out_off, const int64_t *in_off, const int64_t *step,
                          int64_t n);

typedef struct ew_loop {
    int ndim;
    int n_in;
    int64_t dims[ER_MAX_DIMS];
    int64_t strides[EW_MAX_IN][ER_MAX_DIMS];
} ew_loop;

/* Broadcasts each input shape to out_dims and merges dimensions that are contiguous for
 * every operand, so same-shape and scalar operands become a single run. */
void ew_loop_init(ew_loop *l, const int64_t *out_dims, int out_nd, const er_tensor *const *in,
                  int n_in);
void ew_loop_run(const ew_loop *l, er_threadpool *pool, ew_row_fn fn, void *ctx);

/* Splits a shape around `axis` into outer * n * inner. */
void ew_split_axis(const int64_t *dims, int ndim, int axis, int64_t *outer, int64_t *n,
                   int64_t *inner);

#endif
