#include "backend/cpu/ref/ew_core.h"

int64_t ew_f64_to_i64(double v)
{
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

static uint64_t f64_to_u64(double v)
{
    if (v >= 18446744073709551615.0) return UINT64_MAX;
    if (v >= 9223372036854775808.0) return (uint64_t)v;
    return (uint64_t)ew_f64_to_i64(v);
}

#define EW_LOAD_LOOP(T, CONV)                                          \
    do {                                                              \
        const T *s = (const T *)base + off;                           \
        for (int64_t i = 0; i < n; i++) dst[i] = CONV(s[i * step]);   \
    } while (0)

#define EW_AS_F64(v) ((double)(v))
#define EW_AS_BOOL(v) ((v) != 0)
#define EW_F16_F64(v) ((double)er_f16_to_f32(v))
#define EW_BF16_F64(v) ((double)er_bf16_to_f32(v))

void ew_load_f64(const void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, double *dst)
{
    switch (dt) {
    case ER_F32: EW_LOAD_LOOP(float, EW_AS_F64); break;
    case ER_F64: EW_LOAD_LOOP(double, EW_AS_F64); break;
    case ER_F16: EW_LOAD_LOOP(uint16_t, EW_F16_F64); break;
    case ER_BF16: EW_LOAD_LOOP(uint16_t, EW_BF16_F64); break;
    case ER_BOOL: EW_LOAD_LOOP(uint8_t, EW_AS_BOOL); break;
    case ER_U8: EW_LOAD_LOOP(uint8_t, EW_AS_F64); break;
    case ER_I8: EW_LOAD_LOOP(int8_t, EW_AS_F64); break;
    case ER_U16: EW_LOAD_LOOP(uint16_t, EW_AS_F64); break;
    case ER_I16: EW_LOAD_LOOP(int16_t, EW_AS_F64); break;
    case ER_U32: EW_LOAD_LOOP(uint32_t, EW_AS_F64); break;
    case ER_I32: EW_LOAD_LOOP(int32_t, EW_AS_F64); break;
    case ER_U64: EW_LOAD_LOOP(uint64_t, EW_AS_F64); break;
    case ER_I64: EW_LOAD_LOOP(int64_t, EW_AS_F64); break;
    default:
        for (int64_t i = 0; i < n; i++) dst[i] = 0;
        break;
    }
}

#define EW_AS_I64(v) ((int64_t)(v))
#define EW_F32_I64(v) ew_f64_to_i64((double)(v))
#define EW_F16_I64(v) ew_f64_to_i64((double)er_f16_to_f32(v))
#define EW_BF16_I64(v) ew_f64_to_i64((double)er_bf16_to_f32(v))

void ew_load_i64(const void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, int64_t *dst)
{
    switch (dt) {
    case ER_F32: EW_LOAD_LOOP(float, EW_F32_I64); break;
    case ER_F64: EW_LOAD_LOOP(double, EW_F32_I64); break;
    case ER_F16: EW_LOAD_LOOP(uint16_t, EW_F16_I64); break;
    case ER_BF16: EW_LOAD_LOOP(uint16_t, EW_BF16_I64); break;
    case ER_BOOL: EW_LOAD_LOOP(uint8_t, EW_AS_BOOL); break;
    case ER_U8: EW_LOAD_LOOP(uint8_t, EW_AS_I64); break;
    case ER_I8: EW_LOAD_LOOP(int8_t, EW_AS_I64); break;
    case ER_U16: EW_LOAD_LOOP(uint16_t, EW_AS_I64); break;
    case ER_I16: EW_LOAD_LOOP(int16_t, EW_AS_I64); break;
    case ER_U32: EW_LOAD_LOOP(uint32_t, EW_AS_I64); break;
    case ER_I32: EW_LOAD_LOOP(int32_t, EW_AS_I64); break;
    case ER_U64: EW_LOAD_LOOP(uint64_t, EW_AS_I64); break;
    case ER_I64: EW_LOAD_LOOP(int64_t, EW_AS_I64); break;
    default:
        for (int64_t i = 0; i < n; i++) dst[i] = 0;
        break;
    }
}

#define EW_STORE_LOOP(T, CONV)                                  \
    do {                                                       \
        T *d = (T *)base + off;                                \
        for (int64_t i = 0; i < n; i++) d[i * step] = (T)CONV(src[i]); \
    } while (0)

#define EW_ID(v) (v)
#define EW_TO_F16(v) er_f32_to_f16((float)(v))
#define EW_TO_BF16(v) er_f32_to_bf16((float)(v))

void ew_store_f64(void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, const double *src)
{
    switch (dt) {
    case ER_F32: EW_STORE_LOOP(float, EW_ID); break;
    case ER_F64: EW_STORE_LOOP(double, EW_ID); break;
    case ER_F16: EW_STORE_LOOP(uint16_t, EW_TO_F16); break;
    case ER_BF16: EW_STORE_LOOP(uint16_t, EW_TO_BF16); break;
    case ER_BOOL: EW_STORE_LOOP(uint8_t, EW_AS_BOOL); break;
    case ER_U8: EW_STORE_LOOP(uint8_t, ew_f64_to_i64); break;
    case ER_I8: EW_STORE_LOOP(int8_t, ew_f64_to_i64); break;
    case ER_U16: EW_STORE_LOOP(uint16_t, ew_f64_to_i64); break;
    case ER_I16: EW_STORE_LOOP(int16_t, ew_f64_to_i64); break;
    case ER_U32: EW_STORE_LOOP(uint32_t, ew_f64_to_i64); break;
    case ER_I32: EW_STORE_LOOP(int32_t, ew_f64_to_i64); break;
    case ER_U64: EW_STORE_LOOP(uint64_t, f64_to_u64); break;
    case ER_I64: EW_STORE_LOOP(int64_t, ew_f64_to_i64); break;
    default: break;
    }
}

void ew_store_i64(void *base, er_dtype dt, int64_t off, int64_t step, int64_t n, const int64_t *src)
{
    switch (dt) {
    case ER_F32: EW_STORE_LOOP(float, EW_ID); break;
    case ER_F64: EW_STORE_LOOP(double, EW_ID); break;
    case ER_F16: EW_STORE_LOOP(uint16_t, EW_TO_F16); break;
    case ER_BF16: EW_STORE_LOOP(uint16_t, EW_TO_BF16); break;
    case ER_BOOL: EW_STORE_LOOP(uint8_t, EW_AS_BOOL); break;
    case ER_U8: EW_STORE_LOOP(uint8_t, EW_ID); break;
    case ER_I8: EW_STORE_LOOP(int8_t, EW_ID); break;
    case ER_U16: EW_STORE_LOOP(uint16_t, EW_ID); break;
    case ER_I16: EW_STORE_LOOP(int16_t, EW_ID); break;
    case ER_U32: EW_STORE_LOOP(uint32_t, EW_ID); break;
    case ER_I32: EW_STORE_LOOP(int32_t, EW_ID); break;
    case ER_U64: EW_STORE_LOOP(uint64_t, EW_ID); break;
    case ER_I64: EW_STORE_LOOP(int64_t, EW_ID); break;
    default: break;
    }
}

void ew_loop_init(ew_loop *l, const int64_t *out_dims, int out_nd, const er_tensor *const *in,
                  int n_in)
{
    int64_t st[EW_MAX_IN][ER_MAX_DIMS];
    for (int k = 0; k < n_in; k++)
        er_broadcast_strides(in[k]->dims, in[k]->ndim, out_dims, out_nd, st[k]);
    l->n_in = n_in;
    l->ndim = 0;
    for (int d = 0; d < out_nd; d++) {
        if (out_dims[d] == 1) continue;
        int j = l->ndim;
        bool merge = j > 0;
        for (int k = 0; k < n_in && merge; k++)
            merge = l->strides[k][j - 1] == st[k][d] * out_dims[d];
        if (merge) {
            l->dims[j - 1] *= out_dims[d];
            for (int k = 0; k < n_in; k++) l->strides[k][j - 1] = st[k][d];
            continue;
        }
        l->dims[j] = out_dims[d];
        for (int k = 0; k < n_in; k++) l->strides[k][j] = st[k][d];
        l->ndim++;
    }
    if (l->ndim == 0) {
        l->ndim = 1;
        l->dims[0] = 1;
        for (int k = 0; k < n_in; k++) l->strides[k][0] = 0;
    }
}

typedef struct {
    const ew_loop *l;
    ew_row_fn fn;
    void *ctx;
} ew_loop_job;

static void ew_loop_range(void *vjob, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const ew_loop_job *job = vjob;
    const ew_loop *l = job->l;
    int nd = l->ndim, last = nd - 1;
    int64_t idx[ER_MAX_DIMS], off[EW_MAX_IN] = { 0 }, step[EW_MAX_IN];
    int64_t rem = begin;
    for (int d = last; d >= 0; d--) {
        idx[d] = rem % l->dims[d];
        rem /= l->dims[d];
    }
    for (int k = 0; k < l->n_in; k++) {
        step[k] = l->strides[k][last];
        for (int d = 0; d < nd; d++) off[k] += idx[d] * l->strides[k][d];
    }
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = ER_MIN(l->dims[last] - idx[last], end - pos);
        job->fn(job->ctx, pos, off, step, n);
        pos += n;
        idx[last] += n;
        for (int k = 0; k < l->n_in; k++) off[k] += n * step[k];
        for (int d = last; d > 0 && idx[d] == l->dims[d]; d--) {
            idx[d] = 0;
            idx[d - 1]++;
            for (int k = 0; k < l->n_in; k++)
                off[k] += l->strides[k][d - 1] - l->dims[d] * l->strides[k][d];
        }
    }
}

void ew_loop_run(const ew_loop *l, er_threadpool *pool, ew_row_fn fn, void *ctx)
{
    int64_t total = 1;
    for (int d = 0; d < l->ndim; d++) total *= l->dims[d];
    if (total <= 0) return;
    ew_loop_job job = { l, fn, ctx };
    er_parallel_for(pool, total, 1 << 14, ew_loop_range, &job);
}

void ew_split_axis(const int64_t *dims, int ndim, int axis, int64_t *outer, int64_t *n,
                   int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= dims[d];
    for (int d = axis + 1; d < ndim; d++) *inner *= dims[d];
    *n = axis < ndim ? dims[axis] : 1;
}
