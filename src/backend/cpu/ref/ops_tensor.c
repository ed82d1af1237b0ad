/* Reference kernels for ops that move, select or create elements without arithmetic on
 * them. They work on raw bytes by element size, so every dtype shares one code path.
 * Ops whose output shape depends on an input's value read it in infer when it is known
 * and return ER_DYNAMIC otherwise; run recomputes the same parameters from the same
 * inputs (or reads them back from the output shape) so nothing is cached between calls. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/op.h"

/* ---- shared helpers -------------------------------------------------------------------- */

/* A value is usable when its data is there; an empty tensor needs no data to be read. */
static bool is_known(const er_tensor *t) { return t->data || er_tensor_numel(t) == 0; }

static bool has_input(er_tensor **in, int n_in, int k) { return k < n_in && in[k]; }

static size_t esize(const er_tensor *t) { return er_dtype_size(t->dtype); }

static void strides_of(const int64_t *dims, int nd, int64_t *st)
{
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

static int64_t prod_range(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= dims[i];
    return p;
}

/* Constant sizes let the compiler turn each copy into one load and store. */
static inline void copy_elem(uint8_t *d, const uint8_t *s, size_t es)
{
    switch (es) {
    case 1: *d = *s; break;
    case 2: memcpy(d, s, 2); break;
    case 4: memcpy(d, s, 4); break;
    default: memcpy(d, s, 8); break;
    }
}

static void fill_elems(uint8_t *dst, const uint8_t *val, size_t es, int64_t n)
{
    for (int64_t i = 0; i < n; i++) copy_elem(dst + (size_t)i * es, val, es);
}

static void copy_bytes(void *dst, const void *src, size_t n)
{
    if (n && dst != src) memcpy(dst, src, n);
}

/* Steps an index over dims[0..nd) in row-major order; false once it wraps around. */
static bool next_index(int64_t *idx, const int64_t *dims, int nd)
{
    for (int d = nd - 1; d >= 0; d--) {
        if (++idx[d] < dims[d]) return true;
        idx[d] = 0;
    }
    return false;
}

/* Copies the view of src with per-axis element strides (0 repeats, negative walks
 * backwards) into the dense array dst of shape dims. */
static void copy_strided(uint8_t *dst, const uint8_t *src, size_t es, const int64_t *dims, int nd,
                         const int64_t *sstr)
{
    int64_t n = er_shape_numel(dims, nd);
    if (n == 0) return;
    if (nd == 0) {
        copy_elem(dst, src, es);
        return;
    }
    int64_t inner = dims[nd - 1], istr = sstr[nd - 1];
    int64_t idx[ER_MAX_DIMS] = { 0 };
    int64_t off = 0;
    for (int64_t r = 0, rows = n / inner; r < rows; r++) {
        const uint8_t *s = src + (ptrdiff_t)off * (ptrdiff_t)es;
        if (istr == 1) {
            memcpy(dst, s, (size_t)inner * es);
            dst += (size_t)inner * es;
        } else {
            for (int64_t j = 0; j < inner; j++, dst += es)
                copy_elem(dst, s + (ptrdiff_t)(j * istr) * (ptrdiff_t)es, es);
        }
        for (int d = nd - 2; d >= 0; d--) {
            off += sstr[d];
            if (++idx[d] < dims[d]) break;
            off -= sstr[d] * dims[d];
            idx[d] = 0;
        }
    }
}

/* Checks input/output counts, required inputs and that every dtype has a byte size. */
static er_status check_io(er_kctx *ctx, er_tensor **in, int n_in, int min_in, int max_in,
                          int n_out, int min_out, int max_out)
{
    er_status st = er_op_check_arity(ctx, n_in, min_in, max_in);
    if (st != ER_OK) return st;
    if (n_out < min_out || n_out > max_out)
        return er_op_fail(ctx, ER_ERR_FORMAT, "expects %d to %d outputs, got %d", min_out, max_out, n_out);
    for (int k = 0; k < min_in; k++)
        if (!in[k]) return er_op_fail(ctx, ER_ERR_FORMAT, "input %d is required but omitted", k);
    for (int k = 0; k < n_in; k++)
        if (in[k] && !er_dtype_valid(in[k]->dtype))
            return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "input %d has unsupported dtype %s", k,
                              er_dtype_name(in[k]->dtype));
    return ER_OK;
}

static er_status check_rank(er_kctx *ctx, int64_t rank)
{
    if (rank > ER_MAX_DIMS)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "output rank %lld exceeds the supported %d",
                          (long long)rank, ER_MAX_DIMS);
    return ER_OK;
}

static er_status check_index_dtype(er_kctx *ctx, const er_tensor *t, const char *what)
{
    if (t->dtype != ER_I32 && t->dtype != ER_I64)
        return er_op_fail(ctx, ER_ERR_DTYPE, "%s must be int32 or int64, got %s", what, er_dtype_name(t->dtype));
    return ER_OK;
}

/* Reads a known scalar or 1-D integer tensor of at most max values. */
static er_status read_ints(er_kctx *ctx, const er_tensor *t, const char *what, int64_t *out, int max, int *n)
{
    if (!er_dtype_is_int(t->dtype))
        return er_op_fail(ctx, ER_ERR_DTYPE, "%s must be an integer tensor, got %s", what, er_dtype_name(t->dtype));
    if (t->ndim > 1) return er_op_fail(ctx, ER_ERR_SHAPE, "%s must be 1-D, got rank %d", what, t->ndim);
    int64_t cnt = er_tensor_numel(t);
    if (cnt > max)
        return er_op_fail(ctx, ER_ERR_SHAPE, "%s has %lld values, at most %d are supported", what, (long long)cnt, max);
    for (int64_t i = 0; i < cnt; i++) out[i] = er_get_i64(t->data, t->dtype, i);
    *n = (int)cnt;
    return ER_OK;
}

/* Reads a list of axes from input k when present (newer opsets) or else from the "axes"
 * attribute; *present tells whether either was given. */
static er_status read_axes(er_kctx *ctx, er_tensor **in, int n_in, int k, int64_t *axes, int *n, bool *present)
{
    *present = false;
    *n = 0;
    if (has_input(in, n_in, k)) {
        if (!is_known(in[k])) return ER_DYNAMIC;
        *present = true;
        return read_ints(ctx, in[k], "axes", axes, ER_MAX_DIMS, n);
    }
    const er_attr *a = er_node_attr(ctx->node, "axes");
    if (!a) return ER_OK;
    if (a->type != ER_ATTR_INTS) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute axes must be a list of ints");
    if (a->n > ER_MAX_DIMS) return er_op_fail(ctx, ER_ERR_SHAPE, "%d axes, at most %d are supported", a->n, ER_MAX_DIMS);
    for (int i = 0; i < a->n; i++) axes[i] = a->ints[i];
    *n = a->n;
    *present = true;
    return ER_OK;
}

/* Normalises axes against rank and rejects repeats; sets mark[axis]. */
static er_status mark_axes(er_kctx *ctx, const int64_t *axes, int n, int rank, bool *mark)
{
    if (rank == 0 && n > 0) return er_op_fail(ctx, ER_ERR_SHAPE, "axes given for a scalar");
    for (int i = 0; i < rank; i++) mark[i] = false;
    for (int i = 0; i < n; i++) {
        int a;
        er_status st = er_op_axis(ctx, axes[i], rank, &a);
        if (st != ER_OK) return st;
        if (mark[a]) return er_op_fail(ctx, ER_ERR_SHAPE, "axis %lld is repeated", (long long)axes[i]);
        mark[a] = true;
    }
    return ER_OK;
}

static er_status fail_index(er_kctx *ctx, int64_t v, int64_t n)
{
    return er_op_fail(ctx, ER_ERR_INVALID_ARG, "index %lld is out of range for a dimension of size %lld",
                      (long long)v, (long long)n);
}

/* Writes an integer into element i of any numeric tensor without a detour through double,
 * which would round large int64 values. */
static void put_i64(void *data, er_dtype dt, int64_t i, int64_t v)
{
    switch (dt) {
    case ER_I64: ((int64_t *)data)[i] = v; break;
    case ER_U64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    case ER_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case ER_U32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case ER_I16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ER_U16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ER_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ER_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case ER_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: er_set_f64(data, dt, i, (double)v); break;
    }
}

/* ---- Identity, Dropout ----------------------------------------------------------------- */

static er_status identity_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

/* Shared by every op whose output holds the input's bytes unchanged (Reshape & co). */
static er_status copy_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)ctx, (void)n_in, (void)n_out;
    if (out[0]->data) copy_bytes(out[0]->data, in[0]->data, er_tensor_nbytes(in[0]));
    return ER_OK;
}

/* Inference-only: training mode with a non-zero ratio would need random masks. */
static er_status dropout_check_mode(er_kctx *ctx, er_tensor **in, int n_in)
{
    double ratio = er_attr_float(ctx->node, "ratio", 0.5f);
    bool training = false;
    if (has_input(in, n_in, 1) && in[1]->data && er_tensor_numel(in[1]) > 0)
        ratio = er_get_f64(in[1]->data, in[1]->dtype, 0);
    if (has_input(in, n_in, 2) && in[2]->data && er_tensor_numel(in[2]) > 0)
        training = er_get_i64(in[2]->data, in[2]->dtype, 0) != 0;
    if (training && ratio != 0)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "training mode with ratio %g needs random masks, which edgerun does not produce", ratio);
    return ER_OK;
}

static er_status dropout_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 3, n_out, 1, 2);
    if (st != ER_OK) return st;
    if ((st = dropout_check_mode(ctx, in, n_in)) != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, in[0]->dims, in[0]->ndim);
    if (n_out > 1) er_tensor_set_shape(out[1], ctx->opset >= 10 ? ER_BOOL : in[0]->dtype, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

static er_status dropout_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = dropout_check_mode(ctx, in, n_in);
    if (st != ER_OK) return st;
    copy_run(ctx, in, n_in, out, n_out);
    if (n_out > 1 && out[1]->data) {
        int64_t n = er_tensor_numel(out[1]);
        for (int64_t i = 0; i < n; i++) er_set_f64(out[1]->data, out[1]->dtype, i, 1.0);
    }
    return ER_OK;
}

/* ---- Constant, ConstantOfShape, EyeLike ------------------------------------------------ */

typedef struct {
    er_dtype dtype;
    int ndim;
    int64_t dims[ER_MAX_DIMS];
    const void *data;
    size_t nbytes;
} const_view;

/* Finds which of Constant's value attributes is set and describes its bytes. */
static er_status constant_source(er_kctx *ctx, const_view *v)
{
    const er_node *n = ctx->node;
    const er_attr *a;
    memset(v, 0, sizeof *v);
    if ((a = er_node_attr(n, "value")) != NULL) {
        if (a->type != ER_ATTR_TENSOR || !a->t) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute value is not a tensor");
        const er_const *c = a->t;
        if (!er_dtype_valid(c->dtype))
            return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "value tensor has unsupported dtype %s", er_dtype_name(c->dtype));
        v->dtype = c->dtype;
        v->ndim = c->ndim;
        for (int d = 0; d < c->ndim; d++) v->dims[d] = c->dims[d];
        v->data = c->data;
        v->nbytes = c->nbytes;
        size_t want = (size_t)er_shape_numel(c->dims, c->ndim) * er_dtype_size(c->dtype);
        if (c->nbytes < want || (want && !c->data))
            return er_op_fail(ctx, ER_ERR_FORMAT, "value tensor holds %zu bytes, its shape needs %zu", c->nbytes, want);
        v->nbytes = want;
    } else if ((a = er_node_attr(n, "value_float")) != NULL) {
        v->dtype = ER_F32;
        v->data = &a->f;
        v->nbytes = sizeof a->f;
    } else if ((a = er_node_attr(n, "value_floats")) != NULL) {
        v->dtype = ER_F32;
        v->ndim = 1;
        v->dims[0] = a->n;
        v->data = a->floats;
        v->nbytes = (size_t)a->n * sizeof(float);
    } else if ((a = er_node_attr(n, "value_int")) != NULL) {
        v->dtype = ER_I64;
        v->data = &a->i;
        v->nbytes = sizeof a->i;
    } else if ((a = er_node_attr(n, "value_ints")) != NULL) {
        v->dtype = ER_I64;
        v->ndim = 1;
        v->dims[0] = a->n;
        v->data = a->ints;
        v->nbytes = (size_t)a->n * sizeof(int64_t);
    } else if (er_node_attr(n, "value_string") || er_node_attr(n, "value_strings") || er_node_attr(n, "sparse_value")) {
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "string and sparse constants are not supported");
    } else {
        return er_op_fail(ctx, ER_ERR_FORMAT, "has no value attribute");
    }
    return ER_OK;
}

static er_status constant_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    const_view v;
    er_status st = check_io(ctx, in, n_in, 0, 0, n_out, 1, 1);
    if (st == ER_OK) st = constant_source(ctx, &v);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], v.dtype, v.dims, v.ndim);
    return ER_OK;
}

static er_status constant_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)in, (void)n_in, (void)n_out;
    const_view v;
    er_status st = constant_source(ctx, &v);
    if (st != ER_OK) return st;
    if (out[0]->data) copy_bytes(out[0]->data, v.data, v.nbytes);
    return ER_OK;
}

/* The fill value: the one-element "value" tensor, or float 0. */
static er_status constant_of_shape_value(er_kctx *ctx, er_dtype *dt, uint8_t val[8])
{
    static const float zero = 0;
    const er_attr *a = er_node_attr(ctx->node, "value");
    memset(val, 0, 8);
    *dt = ER_F32;
    if (!a) {
        memcpy(val, &zero, sizeof zero);
        return ER_OK;
    }
    if (a->type != ER_ATTR_TENSOR || !a->t) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute value is not a tensor");
    const er_const *c = a->t;
    size_t es = er_dtype_size(c->dtype);
    if (!es) return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "value has unsupported dtype %s", er_dtype_name(c->dtype));
    if (er_shape_numel(c->dims, c->ndim) != 1 || c->nbytes < es || !c->data)
        return er_op_fail(ctx, ER_ERR_FORMAT, "value must hold exactly one element");
    memcpy(val, c->data, es);
    *dt = c->dtype;
    return ER_OK;
}

static er_status constant_of_shape_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    er_dtype dt;
    uint8_t val[8];
    if ((st = constant_of_shape_value(ctx, &dt, val)) != ER_OK) return st;
    if (!is_known(in[0])) return ER_DYNAMIC;
    int64_t dims[ER_MAX_DIMS];
    int nd;
    if ((st = read_ints(ctx, in[0], "shape", dims, ER_MAX_DIMS, &nd)) != ER_OK) return st;
    for (int d = 0; d < nd; d++)
        if (dims[d] < 0) return er_op_fail(ctx, ER_ERR_SHAPE, "shape has negative dimension %lld", (long long)dims[d]);
    er_tensor_set_shape(out[0], dt, dims, nd);
    return ER_OK;
}

static er_status constant_of_shape_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)in, (void)n_in, (void)n_out;
    er_dtype dt;
    uint8_t val[8];
    er_status st = constant_of_shape_value(ctx, &dt, val);
    if (st != ER_OK) return st;
    if (out[0]->data) fill_elems(out[0]->data, val, esize(out[0]), er_tensor_numel(out[0]));
    return ER_OK;
}

static er_status eye_like_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    if (in[0]->ndim != 2) return er_op_fail(ctx, ER_ERR_SHAPE, "input must be 2-D, got rank %d", in[0]->ndim);
    er_dtype dt = (er_dtype)er_attr_int(ctx->node, "dtype", in[0]->dtype);
    if (!er_dtype_valid(dt)) return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "dtype %d is not supported", (int)dt);
    er_tensor_set_shape(out[0], dt, in[0]->dims, 2);
    return ER_OK;
}

static er_status eye_like_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)in, (void)n_in, (void)n_out;
    er_tensor *o = out[0];
    if (!o->data) return ER_OK;
    int64_t k = er_attr_int(ctx->node, "k", 0), rows = o->dims[0], cols = o->dims[1];
    memset(o->data, 0, er_tensor_nbytes(o));
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < cols) er_set_f64(o->data, o->dtype, i * cols + j, 1.0);
    }
    return ER_OK;
}

/* ---- Shape, Size ------------------------------------------------------------------------ */

static void shape_range(er_kctx *ctx, int rank, int64_t *start, int64_t *end)
{
    int64_t s = er_attr_int(ctx->node, "start", 0), e = er_attr_int(ctx->node, "end", rank);
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    *start = ER_MIN(ER_MAX(s, 0), rank);
    *end = ER_MIN(ER_MAX(e, 0), rank);
}

static er_status shape_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    int64_t s, e;
    shape_range(ctx, in[0]->ndim, &s, &e);
    int64_t n = ER_MAX(e - s, 0);
    er_tensor_set_shape(out[0], ER_I64, &n, 1);
    return ER_OK;
}

static er_status shape_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    int64_t s, e;
    shape_range(ctx, in[0]->ndim, &s, &e);
    int64_t *o = out[0]->data;
    for (int64_t i = s; o && i < e; i++) o[i - s] = in[0]->dims[i];
    return ER_OK;
}

static er_status size_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], ER_I64, NULL, 0);
    return ER_OK;
}

static er_status size_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)ctx, (void)n_in, (void)n_out;
    if (out[0]->data) *(int64_t *)out[0]->data = er_tensor_numel(in[0]);
    return ER_OK;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ----------------------------------------------- */

static er_status reshape_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    bool from_attr = ctx->opset < 5;
    er_status st = check_io(ctx, in, n_in, from_attr ? 1 : 2, from_attr ? 1 : 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    int64_t shape[ER_MAX_DIMS];
    int n = 0;
    if (from_attr) {
        const int64_t *s = er_attr_ints(ctx->node, "shape", &n);
        if (n > ER_MAX_DIMS) return check_rank(ctx, n);
        for (int i = 0; i < n; i++) shape[i] = s[i];
    } else {
        if (!is_known(in[1])) return ER_DYNAMIC;
        if ((st = read_ints(ctx, in[1], "shape", shape, ER_MAX_DIMS, &n)) != ER_OK) return st;
    }
    bool allowzero = er_attr_int(ctx->node, "allowzero", 0) != 0;
    int infer_at = -1;
    int64_t known = 1, total = er_tensor_numel(in[0]);
    for (int i = 0; i < n; i++) {
        int64_t v = shape[i];
        if (v == 0 && !allowzero) {
            if (i >= in[0]->ndim)
                return er_op_fail(ctx, ER_ERR_SHAPE, "shape[%d] = 0 copies a dimension the rank-%d input lacks", i, in[0]->ndim);
            v = shape[i] = in[0]->dims[i];
        }
        if (v == -1) {
            if (infer_at >= 0) return er_op_fail(ctx, ER_ERR_SHAPE, "shape has more than one -1");
            infer_at = i;
            continue;
        }
        if (v < 0) return er_op_fail(ctx, ER_ERR_SHAPE, "shape[%d] = %lld is invalid", i, (long long)v);
        if (v > 0 && known > INT64_MAX / v) return er_op_fail(ctx, ER_ERR_SHAPE, "shape overflows int64");
        known *= v;
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0) {
            char a[128], b[128];
            return er_op_fail(ctx, ER_ERR_SHAPE, "cannot reshape %s into %s",
                              er_shape_str(in[0]->dims, in[0]->ndim, a, sizeof a), er_shape_str(shape, n, b, sizeof b));
        }
        shape[infer_at] = total / known;
    } else if (known != total) {
        char a[128], b[128];
        return er_op_fail(ctx, ER_ERR_SHAPE, "cannot reshape %s (%lld elements) into %s (%lld elements)",
                          er_shape_str(in[0]->dims, in[0]->ndim, a, sizeof a), (long long)total,
                          er_shape_str(shape, n, b, sizeof b), (long long)known);
    }
    er_tensor_set_shape(out[0], in[0]->dtype, shape, n);
    return ER_OK;
}

static er_status flatten_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    int r = in[0]->ndim;
    int64_t axis = er_attr_int(ctx->node, "axis", 1);
    if (axis < -r || axis > r)
        return er_op_fail(ctx, ER_ERR_SHAPE, "axis %lld is out of range [%d, %d]", (long long)axis, -r, r);
    if (axis < 0) axis += r;
    int64_t dims[2] = { prod_range(in[0]->dims, 0, (int)axis), prod_range(in[0]->dims, (int)axis, r) };
    er_tensor_set_shape(out[0], in[0]->dtype, dims, 2);
    return ER_OK;
}

static er_status squeeze_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    int64_t axes[ER_MAX_DIMS];
    int n;
    bool present, mark[ER_MAX_DIMS];
    if ((st = read_axes(ctx, in, n_in, 1, axes, &n, &present)) != ER_OK) return st;
    const er_tensor *x = in[0];
    if (n > 0) {
        if ((st = mark_axes(ctx, axes, n, x->ndim, mark)) != ER_OK) return st;
        for (int d = 0; d < x->ndim; d++)
            if (mark[d] && x->dims[d] != 1)
                return er_op_fail(ctx, ER_ERR_SHAPE, "cannot squeeze axis %d of size %lld", d, (long long)x->dims[d]);
    } else {
        for (int d = 0; d < x->ndim; d++) mark[d] = x->dims[d] == 1;
    }
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!mark[d]) dims[nd++] = x->dims[d];
    er_tensor_set_shape(out[0], x->dtype, dims, nd);
    return ER_OK;
}

static er_status unsqueeze_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    int64_t axes[ER_MAX_DIMS];
    int n;
    bool present, mark[ER_MAX_DIMS];
    if ((st = read_axes(ctx, in, n_in, 1, axes, &n, &present)) != ER_OK) return st;
    if (!present) return er_op_fail(ctx, ER_ERR_FORMAT, "axes are required");
    const er_tensor *x = in[0];
    int rank = x->ndim + n;
    if ((st = check_rank(ctx, rank)) != ER_OK) return st;
    if ((st = mark_axes(ctx, axes, n, rank, mark)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS];
    for (int d = 0, k = 0; d < rank; d++) dims[d] = mark[d] ? 1 : x->dims[k++];
    er_tensor_set_shape(out[0], x->dtype, dims, rank);
    return ER_OK;
}

/* ---- Concat, Split ---------------------------------------------------------------------- */

static er_status concat_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, INT_MAX, n_out, 1, 1);
    if (st != ER_OK) return st;
    for (int k = 0; k < n_in; k++)
        if (!in[k]) return er_op_fail(ctx, ER_ERR_FORMAT, "input %d is omitted", k);
    const er_attr *a = er_node_attr(ctx->node, "axis");
    if (!a && ctx->opset >= 4) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute axis is required");
    const er_tensor *x = in[0];
    if (x->ndim == 0) return er_op_fail(ctx, ER_ERR_SHAPE, "cannot concatenate scalars");
    int axis = 0;
    if ((st = er_op_axis(ctx, a ? a->i : 1, x->ndim, &axis)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) dims[d] = x->dims[d];
    dims[axis] = 0;
    for (int k = 0; k < n_in; k++) {
        const er_tensor *t = in[k];
        if (t->dtype != x->dtype)
            return er_op_fail(ctx, ER_ERR_DTYPE, "input %d is %s, input 0 is %s", k, er_dtype_name(t->dtype), er_dtype_name(x->dtype));
        bool ok = t->ndim == x->ndim;
        for (int d = 0; ok && d < x->ndim; d++) ok = d == axis || t->dims[d] == x->dims[d];
        if (!ok) {
            char sa[128], sb[128];
            return er_op_fail(ctx, ER_ERR_SHAPE, "input %d has shape %s, incompatible with %s on axis %d", k,
                              er_shape_str(t->dims, t->ndim, sa, sizeof sa), er_shape_str(x->dims, x->ndim, sb, sizeof sb), axis);
        }
        dims[axis] += t->dims[axis];
    }
    er_tensor_set_shape(out[0], x->dtype, dims, x->ndim);
    return ER_OK;
}

static er_status concat_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    er_tensor *o = out[0];
    if (!o->data) return ER_OK;
    const er_attr *a = er_node_attr(ctx->node, "axis");
    int axis = 0;
    er_status st = er_op_axis(ctx, a ? a->i : 1, o->ndim, &axis);
    if (st != ER_OK) return st;
    size_t es = esize(o);
    int64_t outer = prod_range(o->dims, 0, axis), inner = prod_range(o->dims, axis + 1, o->ndim);
    uint8_t *dst = o->data;
    for (int64_t i = 0; i < outer; i++)
        for (int k = 0; k < n_in; k++) {
            size_t chunk = (size_t)(in[k]->dims[axis] * inner) * es;
            copy_bytes(dst, (const uint8_t *)in[k]->data + (size_t)i * chunk, chunk);
            dst += chunk;
        }
    return ER_OK;
}

/* Sets each output's size along the split axis from the split input, the split attribute,
 * num_outputs (opset 18: ceil-sized chunks, the last one smaller) or an even split. The
 * output shapes hold the sizes, so any number of outputs needs no extra storage. */
static er_status split_sizes(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out, int axis)
{
    int64_t dim = in[0]->dims[axis];
    if (has_input(in, n_in, 1)) {
        const er_tensor *s = in[1];
        if (!is_known(s)) return ER_DYNAMIC;
        if (!er_dtype_is_int(s->dtype) || s->ndim > 1)
            return er_op_fail(ctx, ER_ERR_SHAPE, "split must be a 1-D integer tensor");
        if (er_tensor_numel(s) != n_out)
            return er_op_fail(ctx, ER_ERR_SHAPE, "split has %lld sizes for %d outputs", (long long)er_tensor_numel(s), n_out);
        for (int k = 0; k < n_out; k++) out[k]->dims[axis] = er_get_i64(s->data, s->dtype, k);
    } else if (er_node_attr(ctx->node, "split")) {
        int n;
        const int64_t *s = er_attr_ints(ctx->node, "split", &n);
        if (n != n_out) return er_op_fail(ctx, ER_ERR_SHAPE, "split has %d sizes for %d outputs", n, n_out);
        for (int k = 0; k < n_out; k++) out[k]->dims[axis] = s[k];
    } else {
        const er_attr *num = er_node_attr(ctx->node, "num_outputs");
        if (num && num->i != n_out)
            return er_op_fail(ctx, ER_ERR_FORMAT, "num_outputs is %lld but the node has %d outputs", (long long)num->i, n_out);
        if (!num && dim % n_out != 0)
            return er_op_fail(ctx, ER_ERR_SHAPE, "dimension %lld does not split evenly into %d outputs", (long long)dim, n_out);
        int64_t chunk = (dim + n_out - 1) / n_out;
        for (int k = 0; k < n_out; k++) out[k]->dims[axis] = ER_MAX(ER_MIN(chunk, dim - chunk * k), 0);
    }
    int64_t sum = 0;
    for (int k = 0; k < n_out; k++) {
        if (out[k]->dims[axis] < 0)
            return er_op_fail(ctx, ER_ERR_SHAPE, "split size %lld is negative", (long long)out[k]->dims[axis]);
        sum += out[k]->dims[axis];
    }
    if (sum != dim)
        return er_op_fail(ctx, ER_ERR_SHAPE, "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)dim);
    return ER_OK;
}

static er_status split_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 2, n_out, 1, INT_MAX);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    int axis = 0;
    if (x->ndim == 0) return er_op_fail(ctx, ER_ERR_SHAPE, "cannot split a scalar");
    if ((st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 0), x->ndim, &axis)) != ER_OK) return st;
    for (int k = 0; k < n_out; k++) er_tensor_set_shape(out[k], x->dtype, x->dims, x->ndim);
    return split_sizes(ctx, in, n_in, out, n_out, axis);
}

static er_status split_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in;
    const er_tensor *x = in[0];
    int axis = 0;
    er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 0), x->ndim, &axis);
    if (st != ER_OK) return st;
    size_t es = esize(x);
    int64_t outer = prod_range(x->dims, 0, axis), inner = prod_range(x->dims, axis + 1, x->ndim);
    size_t row = (size_t)(x->dims[axis] * inner) * es, off = 0;
    for (int k = 0; k < n_out; k++) {
        size_t chunk = (size_t)(out[k]->dims[axis] * inner) * es;
        if (out[k]->data)
            for (int64_t i = 0; i < outer; i++)
                copy_bytes((uint8_t *)out[k]->data + (size_t)i * chunk, (const uint8_t *)x->data + (size_t)i * row + off, chunk);
        off += chunk;
    }
    return ER_OK;
}

/* ---- Slice, Transpose, Expand, Tile ---------------------------------------------------- */

typedef struct {
    int64_t start[ER_MAX_DIMS], step[ER_MAX_DIMS], count[ER_MAX_DIMS];
} slice_plan;

/* Reads starts/ends/axes/steps from attributes (opset < 10) or inputs. */
static er_status slice_lists(er_kctx *ctx, er_tensor **in, int n_in, int64_t lists[4][ER_MAX_DIMS], int n[4])
{
    static const char *const names[4] = { "starts", "ends", "axes", "steps" };
    er_status st;
    for (int k = 0; k < 4; k++) {
        n[k] = -1;
        if (ctx->opset < 10) {
            const er_attr *a = er_node_attr(ctx->node, names[k]);
            if (k == 3 || !a) continue;
            if (a->type != ER_ATTR_INTS) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute %s must be a list of ints", names[k]);
            if (a->n > ER_MAX_DIMS) return er_op_fail(ctx, ER_ERR_SHAPE, "%s has %d values, at most %d are supported", names[k], a->n, ER_MAX_DIMS);
            for (int i = 0; i < a->n; i++) lists[k][i] = a->ints[i];
            n[k] = a->n;
        } else if (has_input(in, n_in, k + 1)) {
            if (!is_known(in[k + 1])) return ER_DYNAMIC;
            if ((st = check_index_dtype(ctx, in[k + 1], names[k])) != ER_OK) return st;
            if ((st = read_ints(ctx, in[k + 1], names[k], lists[k], ER_MAX_DIMS, &n[k])) != ER_OK) return st;
        }
    }
    if (n[0] < 0 || n[1] < 0) return er_op_fail(ctx, ER_ERR_FORMAT, "starts and ends are required");
    for (int k = 1; k < 4; k++)
        if (n[k] >= 0 && n[k] != n[0])
            return er_op_fail(ctx, ER_ERR_SHAPE, "%s has %d values, starts has %d", names[k], n[k], n[0]);
    return ER_OK;
}

/* Clamps start/end the way ONNX specifies (INT64_MIN/MAX included) and counts elements. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *s_out, int64_t *count)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = ER_MIN(ER_MAX(start, 0), dim);
        end = ER_MIN(ER_MAX(end, 0), dim);
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = ER_MIN(ER_MAX(start, 0), dim - 1);
        end = ER_MIN(ER_MAX(end, -1), dim - 1);
        uint64_t ustep = (uint64_t)0 - (uint64_t)step;
        *count = start > end ? (int64_t)((uint64_t)(start - end - 1) / ustep) + 1 : 0;
    }
    *s_out = start;
}

static er_status slice_params(er_kctx *ctx, er_tensor **in, int n_in, slice_plan *p)
{
    int64_t lists[4][ER_MAX_DIMS];
    int n[4];
    er_status st = slice_lists(ctx, in, n_in, lists, n);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    for (int d = 0; d < x->ndim; d++) {
        p->start[d] = 0;
        p->step[d] = 1;
        p->count[d] = x->dims[d];
    }
    bool seen[ER_MAX_DIMS] = { false };
    if (x->ndim == 0 && n[0] > 0) return er_op_fail(ctx, ER_ERR_SHAPE, "cannot slice a scalar");
    for (int i = 0; i < n[0]; i++) {
        int a;
        if ((st = er_op_axis(ctx, n[2] >= 0 ? lists[2][i] : i, x->ndim, &a)) != ER_OK) return st;
        if (seen[a]) return er_op_fail(ctx, ER_ERR_SHAPE, "axis %d is repeated", a);
        seen[a] = true;
        int64_t step = n[3] >= 0 ? lists[3][i] : 1;
        if (step == 0) return er_op_fail(ctx, ER_ERR_INVALID_ARG, "step for axis %d is 0", a);
        p->step[a] = step;
        slice_axis(x->dims[a], lists[0][i], lists[1][i], step, &p->start[a], &p->count[a]);
    }
    return ER_OK;
}

static er_status slice_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    bool old = ctx->opset < 10;
    er_status st = check_io(ctx, in, n_in, old ? 1 : 3, old ? 1 : 5, n_out, 1, 1);
    if (st != ER_OK) return st;
    slice_plan p;
    if ((st = slice_params(ctx, in, n_in, &p)) != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, p.count, in[0]->ndim);
    return ER_OK;
}

static er_status slice_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const er_tensor *x = in[0];
    if (!out[0]->data || er_tensor_numel(out[0]) == 0) return ER_OK;
    slice_plan p;
    er_status st = slice_params(ctx, in, n_in, &p);
    if (st != ER_OK) return st;
    int64_t str[ER_MAX_DIMS], sstr[ER_MAX_DIMS], base = 0;
    strides_of(x->dims, x->ndim, str);
    for (int d = 0; d < x->ndim; d++) {
        base += p.start[d] * str[d];
        sstr[d] = p.step[d] * str[d];
    }
    size_t es = esize(x);
    copy_strided(out[0]->data, (const uint8_t *)x->data + (size_t)base * es, es, p.count, x->ndim, sstr);
    return ER_OK;
}

static er_status transpose_perm(er_kctx *ctx, int rank, int *perm)
{
    int n;
    const int64_t *attr = er_attr_ints(ctx->node, "perm", &n);
    if (!attr) {
        for (int d = 0; d < rank; d++) perm[d] = rank - 1 - d;
        return ER_OK;
    }
    if (n != rank) return er_op_fail(ctx, ER_ERR_SHAPE, "perm has %d entries for a rank-%d input", n, rank);
    bool seen[ER_MAX_DIMS] = { false };
    for (int d = 0; d < rank; d++) {
        if (attr[d] < 0 || attr[d] >= rank || seen[attr[d]])
            return er_op_fail(ctx, ER_ERR_SHAPE, "perm is not a permutation of 0..%d", rank - 1);
        seen[attr[d]] = true;
        perm[d] = (int)attr[d];
    }
    return ER_OK;
}

static er_status transpose_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    int perm[ER_MAX_DIMS];
    if ((st = transpose_perm(ctx, in[0]->ndim, perm)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS];
    for (int d = 0; d < in[0]->ndim; d++) dims[d] = in[0]->dims[perm[d]];
    er_tensor_set_shape(out[0], in[0]->dtype, dims, in[0]->ndim);
    return ER_OK;
}

static er_status transpose_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0];
    if (!out[0]->data) return ER_OK;
    int perm[ER_MAX_DIMS];
    er_status st = transpose_perm(ctx, x->ndim, perm);
    if (st != ER_OK) return st;
    int64_t str[ER_MAX_DIMS], sstr[ER_MAX_DIMS];
    strides_of(x->dims, x->ndim, str);
    for (int d = 0; d < x->ndim; d++) sstr[d] = str[perm[d]];
    copy_strided(out[0]->data, x->data, esize(x), out[0]->dims, out[0]->ndim, sstr);
    return ER_OK;
}

static er_status expand_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 2, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    if (!is_known(in[1])) return ER_DYNAMIC;
    int64_t shape[ER_MAX_DIMS], dims[ER_MAX_DIMS];
    int n, nd;
    if ((st = read_ints(ctx, in[1], "shape", shape, ER_MAX_DIMS, &n)) != ER_OK) return st;
    for (int d = 0; d < n; d++)
        if (shape[d] < 0) return er_op_fail(ctx, ER_ERR_SHAPE, "shape has negative dimension %lld", (long long)shape[d]);
    if ((st = er_broadcast_shape(ctx, in[0]->dims, in[0]->ndim, shape, n, dims, &nd)) != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, dims, nd);
    return ER_OK;
}

static er_status expand_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)ctx, (void)n_in, (void)n_out;
    er_tensor *o = out[0];
    if (!o->data) return ER_OK;
    int64_t sstr[ER_MAX_DIMS];
    er_broadcast_strides(in[0]->dims, in[0]->ndim, o->dims, o->ndim, sstr);
    copy_strided(o->data, in[0]->data, esize(o), o->dims, o->ndim, sstr);
    return ER_OK;
}

static er_status tile_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 2, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    if (!is_known(in[1])) return ER_DYNAMIC;
    const er_tensor *x = in[0];
    int64_t reps[ER_MAX_DIMS], dims[ER_MAX_DIMS];
    int n;
    if ((st = read_ints(ctx, in[1], "repeats", reps, ER_MAX_DIMS, &n)) != ER_OK) return st;
    if (n != x->ndim) return er_op_fail(ctx, ER_ERR_SHAPE, "repeats has %d values for a rank-%d input", n, x->ndim);
    for (int d = 0; d < n; d++) {
        if (reps[d] < 0) return er_op_fail(ctx, ER_ERR_SHAPE, "repeats[%d] = %lld is negative", d, (long long)reps[d]);
        dims[d] = x->dims[d] * reps[d];
    }
    er_tensor_set_shape(out[0], x->dtype, dims, n);
    return ER_OK;
}

/* Copies whole input rows, repeated along the last axis, for each output row. */
static er_status tile_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)ctx, (void)n_in, (void)n_out;
    const er_tensor *x = in[0];
    er_tensor *o = out[0];
    int nd = x->ndim;
    size_t es = esize(x);
    if (!o->data || er_tensor_numel(o) == 0) return ER_OK;
    if (nd == 0) {
        copy_elem(o->data, x->data, es);
        return ER_OK;
    }
    int64_t str[ER_MAX_DIMS], idx[ER_MAX_DIMS] = { 0 };
    strides_of(x->dims, nd, str);
    size_t row = (size_t)x->dims[nd - 1] * es;
    int64_t reps = o->dims[nd - 1] / x->dims[nd - 1];
    uint8_t *dst = o->data;
    do {
        int64_t off = 0;
        for (int d = 0; d < nd - 1; d++) off += (idx[d] % x->dims[d]) * str[d];
        for (int64_t r = 0; r < reps; r++, dst += row) memcpy(dst, (const uint8_t *)x->data + (size_t)off * es, row);
    } while (next_index(idx, o->dims, nd - 1));
    return ER_OK;
}

/* ---- Pad -------------------------------------------------------------------------------- */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

static er_status pad_mode(er_kctx *ctx, int *mode)
{
    const char *m = er_attr_str(ctx->node, "mode", "constant");
    if (strcmp(m, "constant") == 0) *mode = PAD_CONSTANT;
    else if (strcmp(m, "reflect") == 0) *mode = PAD_REFLECT;
    else if (strcmp(m, "edge") == 0) *mode = PAD_EDGE;
    else if (strcmp(m, "wrap") == 0) *mode = PAD_WRAP;
    else return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "mode '%s' is not supported", m);
    return ER_OK;
}

/* Begin and end pads per axis of the input, from the attribute (opset < 11) or inputs. */
static er_status pad_amounts(er_kctx *ctx, er_tensor **in, int n_in, int64_t *begin, int64_t *end)
{
    int rank = in[0]->ndim, n;
    int64_t pads[2 * ER_MAX_DIMS], axes[ER_MAX_DIMS];
    er_status st;
    if (ctx->opset < 11) {
        const int64_t *a = er_attr_ints(ctx->node, "pads", &n);
        if (n > 2 * ER_MAX_DIMS) return er_op_fail(ctx, ER_ERR_SHAPE, "pads has %d values, at most %d are supported", n, 2 * ER_MAX_DIMS);
        for (int i = 0; i < n; i++) pads[i] = a[i];
    } else {
        if (!has_input(in, n_in, 1)) return er_op_fail(ctx, ER_ERR_FORMAT, "input pads is required");
        if (!is_known(in[1])) return ER_DYNAMIC;
        if ((st = read_ints(ctx, in[1], "pads", pads, 2 * ER_MAX_DIMS, &n)) != ER_OK) return st;
    }
    int n_axes = rank;
    for (int d = 0; d < rank; d++) axes[d] = d;
    if (has_input(in, n_in, 3)) {
        if (!is_known(in[3])) return ER_DYNAMIC;
        if ((st = read_ints(ctx, in[3], "axes", axes, ER_MAX_DIMS, &n_axes)) != ER_OK) return st;
    }
    if (n != 2 * n_axes) return er_op_fail(ctx, ER_ERR_SHAPE, "pads has %d values, expected %d", n, 2 * n_axes);
    bool mark[ER_MAX_DIMS];
    if ((st = mark_axes(ctx, axes, n_axes, rank, mark)) != ER_OK) return st;
    for (int d = 0; d < rank; d++) begin[d] = end[d] = 0;
    for (int i = 0; i < n_axes; i++) {
        int a = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
        begin[a] = pads[i];
        end[a] = pads[i + n_axes];
    }
    return ER_OK;
}

static er_status pad_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, ctx->opset < 11 ? 1 : 4, n_out, 1, 1);
    if (st != ER_OK) return st;
    int mode = 0;
    if ((st = pad_mode(ctx, &mode)) != ER_OK) return st;
    const er_tensor *x = in[0];
    if (has_input(in, n_in, 2) && (in[2]->dtype != x->dtype || er_tensor_numel(in[2]) > 1))
        return er_op_fail(ctx, ER_ERR_DTYPE, "constant_value must be one %s element", er_dtype_name(x->dtype));
    int64_t begin[ER_MAX_DIMS], end[ER_MAX_DIMS], dims[ER_MAX_DIMS];
    if ((st = pad_amounts(ctx, in, n_in, begin, end)) != ER_OK) return st;
    for (int d = 0; d < x->ndim; d++) {
        dims[d] = x->dims[d] + begin[d] + end[d];
        if (dims[d] < 0) return er_op_fail(ctx, ER_ERR_SHAPE, "pads shrink axis %d below zero", d);
        if (mode != PAD_CONSTANT && x->dims[d] == 0 && dims[d] > 0)
            return er_op_fail(ctx, ER_ERR_SHAPE, "cannot pad empty axis %d in mode %s", d, er_attr_str(ctx->node, "mode", ""));
    }
    er_tensor_set_shape(out[0], x->dtype, dims, x->ndim);
    return ER_OK;
}

/* Input index for position i (already shifted by the begin pad) of an axis of size n, or
 * -1 where the constant goes. */
static int64_t pad_source(int64_t i, int64_t n, int mode)
{
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_WRAP: {
        int64_t m = i % n;
        return m < 0 ? m + n : m;
    }
    case PAD_REFLECT: {
        if (n == 1) return 0;
        int64_t p = 2 * (n - 1), m = i % p;
        if (m < 0) m += p;
        return m < n ? m : p - m;
    }
    default: return -1;
    }
}

static er_status pad_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const er_tensor *x = in[0];
    er_tensor *o = out[0];
    if (!o->data || er_tensor_numel(o) == 0) return ER_OK;
    int mode, nd = x->ndim;
    int64_t begin[ER_MAX_DIMS], end[ER_MAX_DIMS];
    er_status st = pad_mode(ctx, &mode);
    if (st == ER_OK) st = pad_amounts(ctx, in, n_in, begin, end);
    if (st != ER_OK) return st;
    size_t es = esize(x);
    uint8_t val[8] = { 0 };
    if (ctx->opset < 11) er_set_f64(val, x->dtype, 0, er_attr_float(ctx->node, "value", 0));
    else if (has_input(in, n_in, 2) && er_tensor_numel(in[2]) == 1) memcpy(val, in[2]->data, es);
    if (nd == 0) {
        copy_elem(o->data, x->data, es);
        return ER_OK;
    }
    int64_t str[ER_MAX_DIMS], idx[ER_MAX_DIMS] = { 0 };
    strides_of(x->dims, nd, str);
    int64_t inner = o->dims[nd - 1];
    uint8_t *dst = o->data;
    do {
        int64_t off = 0;
        bool fill = false;
        for (int d = 0; d < nd - 1 && !fill; d++) {
            int64_t s = pad_source(idx[d] - begin[d], x->dims[d], mode);
            fill = s < 0;
            off += s * str[d];
        }
        if (fill) {
            fill_elems(dst, val, es, inner);
        } else {
            const uint8_t *src = (const uint8_t *)x->data + (size_t)off * es;
            for (int64_t j = 0; j < inner; j++) {
                int64_t s = pad_source(j - begin[nd - 1], x->dims[nd - 1], mode);
                copy_elem(dst + (size_t)j * es, s < 0 ? val : src + (size_t)s * es, es);
            }
        }
        dst += (size_t)inner * es;
    } while (next_index(idx, o->dims, nd - 1));
    return ER_OK;
}

/* ---- Gather, GatherElements, GatherND --------------------------------------------------- */

static er_status gather_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 2, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *ind = in[1];
    if ((st = check_index_dtype(ctx, ind, "indices")) != ER_OK) return st;
    if (x->ndim == 0) return er_op_fail(ctx, ER_ERR_SHAPE, "data must have rank >= 1");
    int axis = 0;
    if ((st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 0), x->ndim, &axis)) != ER_OK) return st;
    int rank = x->ndim - 1 + ind->ndim;
    if ((st = check_rank(ctx, rank)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < axis; d++) dims[nd++] = x->dims[d];
    for (int d = 0; d < ind->ndim; d++) dims[nd++] = ind->dims[d];
    for (int d = axis + 1; d < x->ndim; d++) dims[nd++] = x->dims[d];
    er_tensor_set_shape(out[0], x->dtype, dims, nd);
    return ER_OK;
}

static er_status gather_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *ind = in[1];
    if (!out[0]->data) return ER_OK;
    int axis = 0;
    er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 0), x->ndim, &axis);
    if (st != ER_OK) return st;
    size_t es = esize(x);
    int64_t outer = prod_range(x->dims, 0, axis), n = x->dims[axis];
    size_t chunk = (size_t)prod_range(x->dims, axis + 1, x->ndim) * es;
    int64_t ni = er_tensor_numel(ind);
    uint8_t *dst = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++, dst += chunk) {
            int64_t v = er_get_i64(ind->data, ind->dtype, j);
            int64_t i = v < 0 ? v + n : v;
            if (i < 0 || i >= n) return fail_index(ctx, v, n);
            memcpy(dst, (const uint8_t *)x->data + (size_t)(o * n + i) * chunk, chunk);
        }
    return ER_OK;
}

/* Shared by GatherElements and ScatterElements: indices of the data's rank that fit in it
 * on every axis other than `axis`. */
static er_status check_elements_indices(er_kctx *ctx, const er_tensor *x, const er_tensor *ind, int *axis)
{
    er_status st = check_index_dtype(ctx, ind, "indices");
    if (st != ER_OK) return st;
    if (x->ndim == 0) return er_op_fail(ctx, ER_ERR_SHAPE, "data must have rank >= 1");
    if ((st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", 0), x->ndim, axis)) != ER_OK) return st;
    if (ind->ndim != x->ndim)
        return er_op_fail(ctx, ER_ERR_SHAPE, "indices have rank %d, data has rank %d", ind->ndim, x->ndim);
    for (int d = 0; d < x->ndim; d++)
        if (d != *axis && ind->dims[d] > x->dims[d])
            return er_op_fail(ctx, ER_ERR_SHAPE, "indices dimension %d (%lld) exceeds data's (%lld)", d,
                              (long long)ind->dims[d], (long long)x->dims[d]);
    return ER_OK;
}

/* Element offset into data for each element of indices; used by the *Elements ops. */
static er_status elements_offset(er_kctx *ctx, const er_tensor *x, const er_tensor *ind, int axis,
                                 const int64_t *idx, const int64_t *str, int64_t j, int64_t *off)
{
    int64_t v = er_get_i64(ind->data, ind->dtype, j), n = x->dims[axis];
    int64_t i = v < 0 ? v + n : v;
    if (i < 0 || i >= n) return fail_index(ctx, v, n);
    int64_t o = 0;
    for (int d = 0; d < x->ndim; d++) o += (d == axis ? i : idx[d]) * str[d];
    *off = o;
    return ER_OK;
}

static er_status gather_elements_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 2, 2, n_out, 1, 1);
    int axis = 0;
    if (st == ER_OK) st = check_elements_indices(ctx, in[0], in[1], &axis);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, in[1]->dims, in[1]->ndim);
    return ER_OK;
}

static er_status gather_elements_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *ind = in[1];
    int axis = 0;
    er_status st = check_elements_indices(ctx, x, ind, &axis);
    if (st != ER_OK) return st;
    int64_t n = er_tensor_numel(ind);
    if (!out[0]->data || n == 0) return ER_OK;
    size_t es = esize(x);
    int64_t str[ER_MAX_DIMS], idx[ER_MAX_DIMS] = { 0 };
    strides_of(x->dims, x->ndim, str);
    uint8_t *dst = out[0]->data;
    for (int64_t j = 0; j < n; j++, next_index(idx, ind->dims, ind->ndim)) {
        int64_t off = 0;
        if ((st = elements_offset(ctx, x, ind, axis, idx, str, j, &off)) != ER_OK) return st;
        copy_elem(dst + (size_t)j * es, (const uint8_t *)x->data + (size_t)off * es, es);
    }
    return ER_OK;
}

/* GatherND and ScatterND: index tuples of length k address slices of data[b+k:]. */
typedef struct {
    int b, k;
    int64_t batches;        /* product of the shared batch dims */
    int64_t tuples;         /* index tuples per batch */
    int64_t slice;          /* elements per addressed slice */
    int64_t batch_elems;    /* data elements per batch */
} nd_plan;

static er_status nd_indices_plan(er_kctx *ctx, const er_tensor *x, const er_tensor *ind, int b, nd_plan *p)
{
    er_status st = check_index_dtype(ctx, ind, "indices");
    if (st != ER_OK) return st;
    int r = x->ndim, q = ind->ndim;
    if (q < 1 || r < 1) return er_op_fail(ctx, ER_ERR_SHAPE, "data and indices must have rank >= 1");
    if (b < 0 || b >= q || b >= r)
        return er_op_fail(ctx, ER_ERR_SHAPE, "batch_dims %d must be below both ranks (%d, %d)", b, r, q);
    int64_t k = ind->dims[q - 1];
    if (k < 1 || k > r - b)
        return er_op_fail(ctx, ER_ERR_SHAPE, "index tuples of length %lld do not fit data of rank %d with %d batch dims",
                          (long long)k, r, b);
    for (int d = 0; d < b; d++)
        if (x->dims[d] != ind->dims[d])
            return er_op_fail(ctx, ER_ERR_SHAPE, "batch dimension %d differs: data %lld, indices %lld", d,
                              (long long)x->dims[d], (long long)ind->dims[d]);
    p->b = b;
    p->k = (int)k;
    p->batches = prod_range(x->dims, 0, b);
    p->tuples = prod_range(ind->dims, b, q - 1);
    p->slice = prod_range(x->dims, b + p->k, r);
    p->batch_elems = prod_range(x->dims, b, r);
    return ER_OK;
}

/* Element offset (within one batch) of the slice that tuple t addresses. */
static er_status nd_offset(er_kctx *ctx, const er_tensor *x, const er_tensor *ind, const nd_plan *p,
                           int64_t t, int64_t *off)
{
    int64_t o = 0, stride = p->slice;
    for (int j = p->k - 1; j >= 0; j--) {
        int64_t n = x->dims[p->b + j], v = er_get_i64(ind->data, ind->dtype, t * p->k + j);
        int64_t i = v < 0 ? v + n : v;
        if (i < 0 || i >= n) return fail_index(ctx, v, n);
        o += i * stride;
        stride *= n;
    }
    *off = o;
    return ER_OK;
}

static er_status gather_nd_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 2, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *ind = in[1];
    nd_plan p = { 0 };
    if ((st = nd_indices_plan(ctx, x, ind, (int)er_attr_int(ctx->node, "batch_dims", 0), &p)) != ER_OK) return st;
    int rank = ind->ndim - 1 + x->ndim - p.b - p.k;
    if ((st = check_rank(ctx, rank)) != ER_OK) return st;
    int64_t dims[ER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < ind->ndim - 1; d++) dims[nd++] = ind->dims[d];
    for (int d = p.b + p.k; d < x->ndim; d++) dims[nd++] = x->dims[d];
    er_tensor_set_shape(out[0], x->dtype, dims, nd);
    return ER_OK;
}

static er_status gather_nd_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *ind = in[1];
    nd_plan p = { 0 };
    er_status st = nd_indices_plan(ctx, x, ind, (int)er_attr_int(ctx->node, "batch_dims", 0), &p);
    if (st != ER_OK || !out[0]->data) return st;
    size_t es = esize(x), chunk = (size_t)p.slice * es;
    uint8_t *dst = out[0]->data;
    for (int64_t bi = 0; bi < p.batches; bi++)
        for (int64_t t = 0; t < p.tuples; t++, dst += chunk) {
            int64_t off = 0;
            if ((st = nd_offset(ctx, x, ind, &p, bi * p.tuples + t, &off)) != ER_OK) return st;
            copy_bytes(dst, (const uint8_t *)x->data + (size_t)(bi * p.batch_elems + off) * es, chunk);
        }
    return ER_OK;
}

/* ---- ScatterElements, ScatterND --------------------------------------------------------- */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static er_status scatter_reduction(er_kctx *ctx, int *mode)
{
    const char *r = er_attr_str(ctx->node, "reduction", "none");
    if (strcmp(r, "none") == 0) *mode = RED_NONE;
    else if (strcmp(r, "add") == 0) *mode = RED_ADD;
    else if (strcmp(r, "mul") == 0) *mode = RED_MUL;
    else if (strcmp(r, "max") == 0) *mode = RED_MAX;
    else if (strcmp(r, "min") == 0) *mode = RED_MIN;
    else return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "reduction '%s' is not supported", r);
    return ER_OK;
}

static double reduce_f64(double a, double b, int mode)
{
    switch (mode) {
    case RED_ADD: return a + b;
    case RED_MUL: return a * b;
    case RED_MAX: return a > b ? a : b;
    case RED_MIN: return a < b ? a : b;
    default: return b;
    }
}

/* Integers wrap like the unsigned type of the same width rather than overflow. */
#define REDUCE_INT(T, U)                                                              \
    do {                                                                              \
        T a, b;                                                                       \
        memcpy(&a, dst, sizeof a);                                                    \
        memcpy(&b, src, sizeof b);                                                    \
        switch (mode) {                                                               \
        case RED_ADD: a = (T)((U)a + (U)b); break;                                    \
        case RED_MUL: a = (T)((U)a * (U)b); break;                                    \
        case RED_MAX: a = a > b ? a : b; break;                                       \
        case RED_MIN: a = a < b ? a : b; break;                                       \
        default: a = b; break;                                                        \
        }                                                                             \
        memcpy(dst, &a, sizeof a);                                                    \
    } while (0)

static void reduce_elem(uint8_t *dst, const uint8_t *src, er_dtype dt, int mode)
{
    switch (dt) {
    case ER_I8: REDUCE_INT(int8_t, uint32_t); break;
    case ER_U8: REDUCE_INT(uint8_t, uint32_t); break;
    case ER_I16: REDUCE_INT(int16_t, uint32_t); break;
    case ER_U16: REDUCE_INT(uint16_t, uint32_t); break;
    case ER_I32: REDUCE_INT(int32_t, uint32_t); break;
    case ER_U32: REDUCE_INT(uint32_t, uint32_t); break;
    case ER_I64: REDUCE_INT(int64_t, uint64_t); break;
    case ER_U64: REDUCE_INT(uint64_t, uint64_t); break;
    case ER_BOOL: {
        bool a = *dst != 0, b = *src != 0;
        *dst = mode == RED_ADD || mode == RED_MAX ? (a || b) : mode == RED_NONE ? b : (a && b);
        break;
    }
    default:
        er_set_f64(dst, dt, 0, reduce_f64(er_get_f64(dst, dt, 0), er_get_f64(src, dt, 0), mode));
        break;
    }
}

static er_status scatter_elements_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 3, 3, n_out, 1, 1);
    int axis = 0, mode = 0;
    if (st == ER_OK) st = scatter_reduction(ctx, &mode);
    if (st == ER_OK) st = check_elements_indices(ctx, in[0], in[1], &axis);
    if (st != ER_OK) return st;
    if (in[2]->dtype != in[0]->dtype || !er_shape_equal(in[1]->dims, in[1]->ndim, in[2]->dims, in[2]->ndim))
        return er_op_fail(ctx, ER_ERR_SHAPE, "updates must have the dtype of data and the shape of indices");
    er_tensor_set_shape(out[0], in[0]->dtype, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

static er_status scatter_elements_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *ind = in[1], *upd = in[2];
    int axis = 0, mode = 0;
    er_status st = scatter_reduction(ctx, &mode);
    if (st == ER_OK) st = check_elements_indices(ctx, x, ind, &axis);
    if (st != ER_OK || !out[0]->data) return st;
    copy_bytes(out[0]->data, x->data, er_tensor_nbytes(x));
    int64_t n = er_tensor_numel(ind);
    size_t es = esize(x);
    int64_t str[ER_MAX_DIMS], idx[ER_MAX_DIMS] = { 0 };
    strides_of(x->dims, x->ndim, str);
    uint8_t *dst = out[0]->data;
    for (int64_t j = 0; j < n; j++, next_index(idx, ind->dims, ind->ndim)) {
        int64_t off = 0;
        if ((st = elements_offset(ctx, x, ind, axis, idx, str, j, &off)) != ER_OK) return st;
        reduce_elem(dst + (size_t)off * es, (const uint8_t *)upd->data + (size_t)j * es, x->dtype, mode);
    }
    return ER_OK;
}

static er_status scatter_nd_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 3, 3, n_out, 1, 1);
    int mode = 0;
    nd_plan p = { 0 };
    if (st == ER_OK) st = scatter_reduction(ctx, &mode);
    if (st == ER_OK) st = nd_indices_plan(ctx, in[0], in[1], 0, &p);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *ind = in[1], *upd = in[2];
    int64_t want[ER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < ind->ndim - 1; d++) want[nd++] = ind->dims[d];
    for (int d = p.k; d < x->ndim && nd < ER_MAX_DIMS; d++) want[nd++] = x->dims[d];
    if (upd->dtype != x->dtype || !er_shape_equal(upd->dims, upd->ndim, want, nd)) {
        char a[128], b[128];
        return er_op_fail(ctx, ER_ERR_SHAPE, "updates are %s %s, expected %s %s", er_dtype_name(upd->dtype),
                          er_shape_str(upd->dims, upd->ndim, a, sizeof a), er_dtype_name(x->dtype), er_shape_str(want, nd, b, sizeof b));
    }
    er_tensor_set_shape(out[0], x->dtype, x->dims, x->ndim);
    return ER_OK;
}

static er_status scatter_nd_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *ind = in[1], *upd = in[2];
    int mode = 0;
    nd_plan p = { 0 };
    er_status st = scatter_reduction(ctx, &mode);
    if (st == ER_OK) st = nd_indices_plan(ctx, x, ind, 0, &p);
    if (st != ER_OK || !out[0]->data) return st;
    copy_bytes(out[0]->data, x->data, er_tensor_nbytes(x));
    size_t es = esize(x);
    uint8_t *dst = out[0]->data;
    const uint8_t *src = upd->data;
    for (int64_t t = 0; t < p.tuples; t++) {
        int64_t off = 0;
        if ((st = nd_offset(ctx, x, ind, &p, t, &off)) != ER_OK) return st;
        for (int64_t e = 0; e < p.slice; e++, src += es)
            reduce_elem(dst + (size_t)(off + e) * es, src, x->dtype, mode);
    }
    return ER_OK;
}

/* ---- Range, OneHot, Trilu --------------------------------------------------------------- */

static er_status range_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 3, 3, n_out, 1, 1);
    if (st != ER_OK) return st;
    er_dtype dt = in[0]->dtype;
    for (int k = 0; k < 3; k++) {
        if (in[k]->dtype != dt) return er_op_fail(ctx, ER_ERR_DTYPE, "start, limit and delta must share one dtype");
        if (er_tensor_numel(in[k]) != 1) return er_op_fail(ctx, ER_ERR_SHAPE, "input %d must be a scalar", k);
    }
    if (dt == ER_BOOL) return er_op_fail(ctx, ER_ERR_DTYPE, "bool is not a valid Range dtype");
    for (int k = 0; k < 3; k++)
        if (!in[k]->data) return ER_DYNAMIC;
    int64_t n;
    if (er_dtype_is_float(dt)) {
        double s = er_get_f64(in[0]->data, dt, 0), l = er_get_f64(in[1]->data, dt, 0), d = er_get_f64(in[2]->data, dt, 0);
        if (d == 0) return er_op_fail(ctx, ER_ERR_INVALID_ARG, "delta is 0");
        double c = ceil((l - s) / d);
        if (!(c < 1e15)) return er_op_fail(ctx, ER_ERR_INVALID_ARG, "Range would produce %g elements", c);
        n = c > 0 ? (int64_t)c : 0;
    } else {
        int64_t s = er_get_i64(in[0]->data, dt, 0), l = er_get_i64(in[1]->data, dt, 0), d = er_get_i64(in[2]->data, dt, 0);
        if (d == 0) return er_op_fail(ctx, ER_ERR_INVALID_ARG, "delta is 0");
        if (d > 0) n = l > s ? (int64_t)(((uint64_t)l - (uint64_t)s - 1) / (uint64_t)d) + 1 : 0;
        else n = s > l ? (int64_t)(((uint64_t)s - (uint64_t)l - 1) / ((uint64_t)0 - (uint64_t)d)) + 1 : 0;
    }
    er_tensor_set_shape(out[0], dt, &n, 1);
    return ER_OK;
}

static er_status range_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)ctx, (void)n_in, (void)n_out;
    er_tensor *o = out[0];
    er_dtype dt = o->dtype;
    int64_t n = er_tensor_numel(o);
    if (!o->data) return ER_OK;
    if (er_dtype_is_float(dt)) {
        double s = er_get_f64(in[0]->data, dt, 0), d = er_get_f64(in[2]->data, dt, 0);
        for (int64_t i = 0; i < n; i++) er_set_f64(o->data, dt, i, s + (double)i * d);
    } else {
        uint64_t s = (uint64_t)er_get_i64(in[0]->data, dt, 0), d = (uint64_t)er_get_i64(in[2]->data, dt, 0);
        for (int64_t i = 0; i < n; i++) put_i64(o->data, dt, i, (int64_t)(s + (uint64_t)i * d));
    }
    return ER_OK;
}

static er_status one_hot_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 3, 3, n_out, 1, 1);
    if (st != ER_OK) return st;
    const er_tensor *ind = in[0], *depth = in[1], *values = in[2];
    if (er_tensor_numel(depth) != 1) return er_op_fail(ctx, ER_ERR_SHAPE, "depth must hold one value");
    if (er_tensor_numel(values) != 2) return er_op_fail(ctx, ER_ERR_SHAPE, "values must hold [off, on]");
    int rank = ind->ndim + 1, axis;
    if ((st = check_rank(ctx, rank)) != ER_OK) return st;
    if ((st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", -1), rank, &axis)) != ER_OK) return st;
    if (!depth->data) return ER_DYNAMIC;
    int64_t n = er_get_i64(depth->data, depth->dtype, 0);
    if (n < 1) return er_op_fail(ctx, ER_ERR_INVALID_ARG, "depth %lld must be positive", (long long)n);
    int64_t dims[ER_MAX_DIMS];
    for (int d = 0, k = 0; d < rank; d++) dims[d] = d == axis ? n : ind->dims[k++];
    er_tensor_set_shape(out[0], values->dtype, dims, rank);
    return ER_OK;
}

static er_status one_hot_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *ind = in[0], *values = in[2];
    er_tensor *o = out[0];
    if (!o->data) return ER_OK;
    int axis = 0;
    er_status st = er_op_axis(ctx, er_attr_int(ctx->node, "axis", -1), o->ndim, &axis);
    if (st != ER_OK) return st;
    size_t es = esize(o);
    const uint8_t *off = values->data, *on = off + es;
    int64_t depth = o->dims[axis], inner = prod_range(o->dims, axis + 1, o->ndim);
    int64_t outer = prod_range(o->dims, 0, axis);
    fill_elems(o->data, off, es, er_tensor_numel(o));
    for (int64_t a = 0; a < outer; a++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t v = er_get_i64(ind->data, ind->dtype, a * inner + i);
            if (v < 0) v += depth;
            if (v >= 0 && v < depth) copy_elem((uint8_t *)o->data + (size_t)((a * depth + v) * inner + i) * es, on, es);
        }
    return ER_OK;
}

static er_status trilu_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    if (in[0]->ndim < 2) return er_op_fail(ctx, ER_ERR_SHAPE, "input must have rank >= 2, got %d", in[0]->ndim);
    if (has_input(in, n_in, 1) && (er_tensor_numel(in[1]) != 1 || !er_dtype_is_int(in[1]->dtype)))
        return er_op_fail(ctx, ER_ERR_SHAPE, "k must be one integer");
    er_tensor_set_shape(out[0], in[0]->dtype, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

static er_status trilu_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    const er_tensor *x = in[0];
    er_tensor *o = out[0];
    if (!o->data) return ER_OK;
    int64_t k = has_input(in, n_in, 1) ? er_get_i64(in[1]->data, in[1]->dtype, 0) : 0;
    bool upper = er_attr_int(ctx->node, "upper", 1) != 0;
    int64_t rows = x->dims[x->ndim - 2], cols = x->dims[x->ndim - 1];
    int64_t mats = prod_range(x->dims, 0, x->ndim - 2);
    size_t es = esize(x);
    copy_bytes(o->data, x->data, er_tensor_nbytes(x));
    uint8_t *dst = o->data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++, dst += (size_t)cols * es) {
            /* Upper keeps columns j >= i + k, lower keeps j <= i + k: zero the rest. */
            int64_t edge = i + k;
            int64_t z0 = upper ? 0 : ER_MAX(edge + 1, 0), z1 = upper ? ER_MIN(ER_MAX(edge, 0), cols) : cols;
            if (z0 < z1) memset(dst + (size_t)z0 * es, 0, (size_t)(z1 - z0) * es);
        }
    return ER_OK;
}

/* ---- NonZero, Compress, ReverseSequence ------------------------------------------------- */

/* Floats compare by value so that -0.0 counts as zero. */
static bool is_nonzero(const void *data, er_dtype dt, int64_t i)
{
    return er_dtype_is_float(dt) ? er_get_f64(data, dt, i) != 0 : er_get_i64(data, dt, i) != 0;
}

static er_status non_zero_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 1, 1, n_out, 1, 1);
    if (st != ER_OK) return st;
    if (!is_known(in[0])) return ER_DYNAMIC;
    int64_t n = er_tensor_numel(in[0]), nnz = 0;
    for (int64_t i = 0; i < n; i++) nnz += is_nonzero(in[0]->data, in[0]->dtype, i);
    int64_t dims[2] = { in[0]->ndim, nnz };
    er_tensor_set_shape(out[0], ER_I64, dims, 2);
    return ER_OK;
}

static er_status non_zero_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)ctx, (void)n_in, (void)n_out;
    const er_tensor *x = in[0];
    int64_t *o = out[0]->data;
    int64_t n = er_tensor_numel(x), nnz = out[0]->dims[1], k = 0;
    int64_t idx[ER_MAX_DIMS] = { 0 };
    for (int64_t i = 0; o && i < n && k < nnz; i++, next_index(idx, x->dims, x->ndim)) {
        if (!is_nonzero(x->data, x->dtype, i)) continue;
        for (int d = 0; d < x->ndim; d++) o[d * nnz + k] = idx[d];
        k++;
    }
    return ER_OK;
}

static er_status compress_axis(er_kctx *ctx, const er_tensor *x, int *axis)
{
    const er_attr *a = er_node_attr(ctx->node, "axis");
    if (!a) {
        *axis = -1;
        return ER_OK;
    }
    if (x->ndim == 0) return er_op_fail(ctx, ER_ERR_SHAPE, "axis is set but the input is a scalar");
    return er_op_axis(ctx, a->i, x->ndim, axis);
}

/* Condition entries that select: it may be shorter than the axis, never longer. */
static int64_t compress_len(const er_tensor *x, const er_tensor *cond, int axis)
{
    int64_t dim = axis < 0 ? er_tensor_numel(x) : x->dims[axis];
    return ER_MIN(er_tensor_numel(cond), dim);
}

static er_status compress_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 2, 2, n_out, 1, 1);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0], *cond = in[1];
    int axis = 0;
    if ((st = compress_axis(ctx, x, &axis)) != ER_OK) return st;
    if (cond->ndim != 1) return er_op_fail(ctx, ER_ERR_SHAPE, "condition must be 1-D");
    if (!is_known(cond)) return ER_DYNAMIC;
    int64_t n = compress_len(x, cond, axis), kept = 0;
    for (int64_t i = 0; i < n; i++) kept += is_nonzero(cond->data, cond->dtype, i);
    if (axis < 0) {
        er_tensor_set_shape(out[0], x->dtype, &kept, 1);
    } else {
        er_tensor_set_shape(out[0], x->dtype, x->dims, x->ndim);
        out[0]->dims[axis] = kept;
    }
    return ER_OK;
}

static er_status compress_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *cond = in[1];
    int axis = 0;
    er_status st = compress_axis(ctx, x, &axis);
    if (st != ER_OK || !out[0]->data) return st;
    int64_t outer = axis < 0 ? 1 : prod_range(x->dims, 0, axis);
    int64_t dim = axis < 0 ? er_tensor_numel(x) : x->dims[axis];
    size_t chunk = (size_t)(axis < 0 ? 1 : prod_range(x->dims, axis + 1, x->ndim)) * esize(x);
    int64_t n = compress_len(x, cond, axis);
    uint8_t *dst = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < n; i++)
            if (is_nonzero(cond->data, cond->dtype, i)) {
                memcpy(dst, (const uint8_t *)x->data + (size_t)(o * dim + i) * chunk, chunk);
                dst += chunk;
            }
    return ER_OK;
}

static er_status reverse_sequence_axes(er_kctx *ctx, const er_tensor *x, int *batch, int *time)
{
    int64_t b = er_attr_int(ctx->node, "batch_axis", 1), t = er_attr_int(ctx->node, "time_axis", 0);
    if (x->ndim < 2) return er_op_fail(ctx, ER_ERR_SHAPE, "input must have rank >= 2");
    if (b < 0 || b > 1 || t < 0 || t > 1 || b == t)
        return er_op_fail(ctx, ER_ERR_INVALID_ARG, "batch_axis and time_axis must be 0 and 1 in some order");
    *batch = (int)b;
    *time = (int)t;
    return ER_OK;
}

static er_status reverse_sequence_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    er_status st = check_io(ctx, in, n_in, 2, 2, n_out, 1, 1);
    int b = 0, t = 0;
    if (st == ER_OK) st = reverse_sequence_axes(ctx, in[0], &b, &t);
    if (st == ER_OK) st = check_index_dtype(ctx, in[1], "sequence_lens");
    if (st != ER_OK) return st;
    if (in[1]->ndim != 1 || in[1]->dims[0] != in[0]->dims[b])
        return er_op_fail(ctx, ER_ERR_SHAPE, "sequence_lens must be 1-D with one length per batch entry");
    er_tensor_set_shape(out[0], in[0]->dtype, in[0]->dims, in[0]->ndim);
    return ER_OK;
}

static er_status reverse_sequence_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_in, (void)n_out;
    const er_tensor *x = in[0], *lens = in[1];
    int b = 0, t = 0;
    er_status st = reverse_sequence_axes(ctx, x, &b, &t);
    int64_t n = er_tensor_numel(x);
    if (st != ER_OK || !out[0]->data || n == 0) return st;
    int64_t steps = x->dims[t];
    for (int64_t i = 0; i < x->dims[b]; i++) {
        int64_t len = er_get_i64(lens->data, lens->dtype, i);
        if (len < 0 || len > steps)
            return er_op_fail(ctx, ER_ERR_INVALID_ARG, "sequence length %lld is outside [0, %lld]", (long long)len, (long long)steps);
    }
    size_t es = esize(x);
    int64_t str[ER_MAX_DIMS], idx[ER_MAX_DIMS] = { 0 };
    strides_of(x->dims, x->ndim, str);
    uint8_t *dst = out[0]->data;
    for (int64_t i = 0; i < n; i++, dst += es, next_index(idx, x->dims, x->ndim)) {
        int64_t len = er_get_i64(lens->data, lens->dtype, idx[b]);
        int64_t src_t = idx[t] < len ? len - 1 - idx[t] : idx[t];
        int64_t off = i + (src_t - idx[t]) * str[t];
        copy_elem(dst, (const uint8_t *)x->data + (size_t)off * es, es);
    }
    return ER_OK;
}

const er_op er_ops_tensor[] = {
    { "Identity", NULL, identity_infer, copy_run, 0 },
    { "Dropout", NULL, dropout_infer, dropout_run, 0 },
    { "Constant", NULL, constant_infer, constant_run, 0 },
    { "ConstantOfShape", NULL, constant_of_shape_infer, constant_of_shape_run, 0 },
    { "EyeLike", NULL, eye_like_infer, eye_like_run, 0 },
    { "Shape", NULL, shape_infer, shape_run, ER_OP_SHAPE_ONLY },
    { "Size", NULL, size_infer, size_run, ER_OP_SHAPE_ONLY },
    { "Reshape", NULL, reshape_infer, copy_run, 0 },
    { "Flatten", NULL, flatten_infer, copy_run, 0 },
    { "Squeeze", NULL, squeeze_infer, copy_run, 0 },
    { "Unsqueeze", NULL, unsqueeze_infer, copy_run, 0 },
    { "Concat", NULL, concat_infer, concat_run, 0 },
    { "Split", NULL, split_infer, split_run, 0 },
    { "Slice", NULL, slice_infer, slice_run, 0 },
    { "Transpose", NULL, transpose_infer, transpose_run, 0 },
    { "Expand", NULL, expand_infer, expand_run, 0 },
    { "Tile", NULL, tile_infer, tile_run, 0 },
    { "Pad", NULL, pad_infer, pad_run, 0 },
    { "Gather", NULL, gather_infer, gather_run, 0 },
    { "GatherElements", NULL, gather_elements_infer, gather_elements_run, 0 },
    { "GatherND", NULL, gather_nd_infer, gather_nd_run, 0 },
    { "ScatterElements", NULL, scatter_elements_infer, scatter_elements_run, 0 },
    { "Scatter", NULL, scatter_elements_infer, scatter_elements_run, 0 },
    { "ScatterND", NULL, scatter_nd_infer, scatter_nd_run, 0 },
    { "Range", NULL, range_infer, range_run, 0 },
    { "OneHot", NULL, one_hot_infer, one_hot_run, 0 },
    { "Trilu", NULL, trilu_infer, trilu_run, 0 },
    { "NonZero", NULL, non_zero_infer, non_zero_run, 0 },
    { "Compress", NULL, compress_infer, compress_run, 0 },
    { "ReverseSequence", NULL, reverse_sequence_infer, reverse_sequence_run, 0 },
    { NULL, NULL, NULL, NULL, 0 },
};
