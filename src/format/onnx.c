/* ONNX ModelProto → er_graph.
 *
 * Each message is read in passes over its bytes: a first pass counts repeated fields and
 * picks up scalars, later passes fill arrays sized from those counts. Skipping a
 * length-delimited field costs one varint, so the extra passes are cheap, and they let
 * fields arrive in any order (initializers must be known before graph inputs are sorted).
 *
 * Tensor data placement:
 *   raw_data / external data aligned to the element size: er_const.data points into the
 *     caller's buffer or the mapped external file (no copy);
 *   raw_data / external data that is misaligned: copied once into the graph's pool, because
 *     kernels dereference typed pointers (unaligned loads are undefined behaviour in C);
 *   typed fields (float_data, int32_data, ...): decoded into the graph's pool.
 * A tensor with no elements still gets a non-NULL data pointer: the session treats a NULL
 * pointer as "value not known yet".
 * An ER_ATTR_TENSORS attribute stores its n tensors as an array at er_attr.t. */
#include "format/onnx.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/pb.h"

/* IR version 11 is the newest this reader knows the layout of (ONNX 1.18). */
#define ONNX_MAX_IR_VERSION 11
/* Bounds recursion through graph attributes (If/Loop/Scan bodies) on hostile input. */
#define ONNX_MAX_DEPTH 32
#define ONNX_MAX_OPSET 10000

enum {
    MODEL_IR_VERSION = 1, MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8,
    OPSET_DOMAIN = 1, OPSET_VERSION = 2,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12,
    GRAPH_VALUE_INFO = 13, GRAPH_SPARSE_INITIALIZER = 15,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5,
    NODE_DOMAIN = 7,
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_T = 5, ATTR_G = 6, ATTR_FLOATS = 7,
    ATTR_INTS = 8, ATTR_STRINGS = 9, ATTR_TENSORS = 10, ATTR_GRAPHS = 11, ATTR_TP = 14,
    ATTR_TYPE_PROTOS = 15, ATTR_TYPE = 20, ATTR_REF_ATTR_NAME = 21, ATTR_SPARSE_TENSOR = 22,
    ATTR_SPARSE_TENSORS = 23,
    VI_NAME = 1, VI_TYPE = 2,
    TYPE_TENSOR = 1, TYPE_SEQUENCE = 4, TYPE_MAP = 5, TYPE_SPARSE_TENSOR = 8, TYPE_OPTIONAL = 9,
    TTYPE_ELEM_TYPE = 1, TTYPE_SHAPE = 2,
    SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2,
    TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_SEGMENT = 3, TENSOR_FLOAT_DATA = 4,
    TENSOR_INT32_DATA = 5, TENSOR_STRING_DATA = 6, TENSOR_INT64_DATA = 7, TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9, TENSOR_DOUBLE_DATA = 10, TENSOR_UINT64_DATA = 11,
    TENSOR_EXTERNAL_DATA = 13, TENSOR_DATA_LOCATION = 14,
    ENTRY_KEY = 1, ENTRY_VALUE = 2
};

/* An external-data file mapped during this parse; the root graph owns the mapping. */
typedef struct ext_file {
    char *path;
    const uint8_t *data;
    size_t size;
} ext_file;

typedef struct onnx_ctx {
    const char *base_dir;
    er_graph *root;       /* NULL: external data is not available (lone TensorProto) */
    ext_file *files;
    int n_files;
    char *err;
    size_t err_size;
    int depth;
    bool model_file_backed;   /* the model bytes are a read-only file mapping */
} onnx_ctx;

#define FAIL(c, st, ...) er_fail((c)->err, (c)->err_size, (st), __VA_ARGS__)
#define NOMEM(c) FAIL(c, ER_ERR_NOMEM, "out of memory")

/* Puts "prefix: " before the message already in the context, so errors read outside-in.
 * A prefix that would push the original message out of the buffer is dropped instead. */
static er_status wrap(onnx_ctx *c, er_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static er_status wrap(onnx_ctx *c, er_status st, const char *fmt, ...)
{
    if (!c->err || !c->err_size) return st;
    char inner[1024], prefix[256];
    snprintf(inner, sizeof inner, "%s", c->err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (strlen(prefix) + strlen(inner) + 3 > c->err_size) return st;
    return FAIL(c, st, "%s: %s", prefix, inner);
}

static er_status next(onnx_ctx *c, er_pb_reader *r, er_pb_field *f) { return er_pb_next(r, f, c->err, c->err_size); }

static er_status want(onnx_ctx *c, const er_pb_reader *r, const er_pb_field *f, int wire)
{
    return er_pb_want(r, f, wire, c->err, c->err_size);
}

/* Adds a repeated scalar occurrence's element count to *total. */
static er_status count_into(onnx_ctx *c, const er_pb_reader *r, const er_pb_field *f, int elem_wire, size_t *total)
{
    size_t k;
    er_status st = er_pb_count(r, f, elem_wire, &k, c->err, c->err_size);
    if (st == ER_OK) *total += k;
    return st;
}

/* Counts length-delimited occurrences (strings, sub-messages) into an int. */
static er_status count_msg(onnx_ctx *c, const er_pb_reader *r, const er_pb_field *f, int *n)
{
    er_status st = want(c, r, f, ER_PB_LEN);
    if (st != ER_OK) return st;
    if (*n == INT_MAX) return FAIL(c, ER_ERR_FORMAT, "too many occurrences of field %u in %s", f->num, r->msg);
    (*n)++;
    return ER_OK;
}

static char *pool_str(er_pool *pool, const er_pb_field *f)
{
    return er_pool_strndup(pool, (const char *)f->data, f->len);
}

static bool str_eq(const er_pb_field *f, const char *s)
{
    return f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/* ---- tensors ---- */

static const char *onnx_type_name(int64_t dt)
{
    switch (dt) {
    case 8: return "string";
    case 14: return "complex64";
    case 15: return "complex128";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    }
    return "unknown";
}

/* Fails unless dt is an element type edgerun computes with. */
static bool dtype_ok(int64_t dt) { return dt > 0 && dt < 64 && er_dtype_valid((er_dtype)dt); }

static er_status check_dtype(onnx_ctx *c, int64_t dt, const char *what)
{
    if (dt == 0) return FAIL(c, ER_ERR_FORMAT, "%s has no data type", what);
    if (dtype_ok(dt)) return ER_OK;
    return FAIL(c, ER_ERR_UNSUPPORTED, "%s has data type %lld (%s), which edgerun does not support", what,
                (long long)dt, onnx_type_name(dt));
}

/* The typed field that holds elements of dt, with its wire type (ONNX TensorProto rules). */
static int typed_field_for(er_dtype dt, int *elem_wire)
{
    *elem_wire = ER_PB_VARINT;
    switch (dt) {
    case ER_F32: *elem_wire = ER_PB_I32; return TENSOR_FLOAT_DATA;
    case ER_F64: *elem_wire = ER_PB_I64; return TENSOR_DOUBLE_DATA;
    case ER_I64: return TENSOR_INT64_DATA;
    case ER_U32: case ER_U64: return TENSOR_UINT64_DATA;
    case ER_I32: case ER_I16: case ER_I8: case ER_U16: case ER_U8: case ER_BOOL: case ER_F16: case ER_BF16:
        return TENSOR_INT32_DATA;
    case ER_STRING: case ER_UNDEFINED: break;
    }
    return 0;
}

static const char *typed_field_name(int num)
{
    switch (num) {
    case TENSOR_FLOAT_DATA: return "float_data";
    case TENSOR_INT32_DATA: return "int32_data";
    case TENSOR_INT64_DATA: return "int64_data";
    case TENSOR_DOUBLE_DATA: return "double_data";
    case TENSOR_UINT64_DATA: return "uint64_data";
    }
    return "?";
}

/* What the first pass over a TensorProto found. */
typedef struct tensor_fields {
    int64_t dtype;
    size_t ndim;          /* may exceed ER_MAX_DIMS; dims keeps the first ER_MAX_DIMS */
    int64_t dims[ER_MAX_DIMS];
    const char *name;     /* pool copy */
    bool has_raw;
    er_pb_field raw;
    int typed;            /* field number of the typed data, 0 if none */
    size_t typed_count;
    int n_external;
    int64_t location;
} tensor_fields;

static er_status scan_tensor(onnx_ctx *c, er_pool *pool, er_pb_reader r, tensor_fields *tf)
{
    memset(tf, 0, sizeof *tf);
    tf->name = "";
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        switch (f.num) {
        case TENSOR_DIMS: {
            size_t k;
            if ((st = er_pb_count(&r, &f, ER_PB_VARINT, &k, c->err, c->err_size)) != ER_OK) return st;
            if (tf->ndim + k <= ER_MAX_DIMS) er_pb_unpack(&f, ER_PB_VARINT, tf->dims + tf->ndim, sizeof tf->dims[0]);
            tf->ndim += k;
            break;
        }
        case TENSOR_DATA_TYPE:
            if ((st = want(c, &r, &f, ER_PB_VARINT)) != ER_OK) return st;
            tf->dtype = (int32_t)f.u;
            break;
        case TENSOR_SEGMENT:
            return FAIL(c, ER_ERR_UNSUPPORTED, "tensor '%s' is segmented, which edgerun does not support", tf->name);
        case TENSOR_STRING_DATA:
            return FAIL(c, ER_ERR_UNSUPPORTED, "tensor '%s' holds strings, which edgerun does not support", tf->name);
        case TENSOR_NAME:
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            if (!(tf->name = pool_str(pool, &f))) return NOMEM(c);
            break;
        case TENSOR_RAW_DATA:
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            tf->raw = f;
            tf->has_raw = true;
            break;
        case TENSOR_FLOAT_DATA: case TENSOR_INT32_DATA: case TENSOR_INT64_DATA: case TENSOR_DOUBLE_DATA:
        case TENSOR_UINT64_DATA: {
            int wire = f.num == TENSOR_FLOAT_DATA ? ER_PB_I32 : f.num == TENSOR_DOUBLE_DATA ? ER_PB_I64 : ER_PB_VARINT;
            if (tf->typed && tf->typed != (int)f.num)
                return FAIL(c, ER_ERR_FORMAT, "tensor '%s' holds both %s and %s", tf->name,
                            typed_field_name(tf->typed), typed_field_name((int)f.num));
            tf->typed = (int)f.num;
            if ((st = count_into(c, &r, &f, wire, &tf->typed_count)) != ER_OK) return st;
            break;
        }
        case TENSOR_EXTERNAL_DATA:
            if ((st = count_msg(c, &r, &f, &tf->n_external)) != ER_OK) return st;
            break;
        case TENSOR_DATA_LOCATION:
            if ((st = want(c, &r, &f, ER_PB_VARINT)) != ER_OK) return st;
            tf->location = (int64_t)f.u;
            break;
        default:
            break;
        }
    }
    return st;
}

/* Parses a non-negative decimal number the way ONNX writes external-data offsets. */
static bool parse_size(const er_pb_field *f, uint64_t *v)
{
    if (f->len == 0 || f->len > 19) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (f->data[i] < '0' || f->data[i] > '9') return false;
        x = x * 10 + (uint64_t)(f->data[i] - '0');
    }
    *v = x;
    return true;
}

/* Only paths inside the model's directory: a model must not read arbitrary files. */
static bool safe_location(const char *loc)
{
    if (!loc[0] || loc[0] == '/') return false;
    for (const char *p = loc; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') return false;
        p += n + (e ? 1 : 0);
    }
    return true;
}

static er_status map_external(onnx_ctx *c, const char *path, const ext_file **out)
{
    for (int i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i].path, path) == 0) {
            *out = &c->files[i];
            return ER_OK;
        }
    ext_file *files = realloc(c->files, (size_t)(c->n_files + 1) * sizeof *files);
    if (!files) return NOMEM(c);
    c->files = files;
    er_mapped m;
    er_status st = er_map_file(path, &m, c->err, c->err_size);
    if (st != ER_OK) return st;
    ext_file *e = &c->files[c->n_files];
    e->path = strdup(path);
    e->data = m.data;
    e->size = m.size;
    if (!e->path) {
        er_unmap(&m);
        return NOMEM(c);
    }
    if (er_graph_own_mapping(c->root, m) != ER_OK) {
        free(e->path);
        return NOMEM(c);
    }
    c->n_files++;
    *out = e;
    return ER_OK;
}

/* Resolves external_data {location, offset, length} to bytes of a mapped file. */
static er_status external_bytes(onnx_ctx *c, er_pool *pool, er_pb_reader r, const tensor_fields *tf,
                                size_t nbytes, const uint8_t **data)
{
    if (!c->root)
        return FAIL(c, ER_ERR_UNSUPPORTED, "tensor '%s' keeps its data in an external file, which is only supported in models",
                    tf->name);
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num != TENSOR_EXTERNAL_DATA) continue;
        er_pb_reader er;
        er_pb_sub(&er, &r, &f, "StringStringEntryProto");
        er_pb_field key = { 0 }, value = { 0 }, e;
        while ((st = next(c, &er, &e)) == ER_OK && e.num) {
            if (e.num != ENTRY_KEY && e.num != ENTRY_VALUE) continue;
            if ((st = want(c, &er, &e, ER_PB_LEN)) != ER_OK) return st;
            if (e.num == ENTRY_KEY) key = e; else value = e;
        }
        if (st != ER_OK) return st;
        if (str_eq(&key, "location")) {
            if (!(location = pool_str(pool, &value))) return NOMEM(c);
        } else if (str_eq(&key, "offset") || str_eq(&key, "length")) {
            bool is_off = str_eq(&key, "offset");
            if (!parse_size(&value, is_off ? &offset : &length))
                return FAIL(c, ER_ERR_FORMAT, "tensor '%s': external data %s '%.*s' is not a number", tf->name,
                            is_off ? "offset" : "length", (int)ER_MIN(value.len, 32), (const char *)value.data);
            if (!is_off) has_length = true;
        }
    }
    if (st != ER_OK) return st;
    if (!location) return FAIL(c, ER_ERR_FORMAT, "tensor '%s': external data has no location", tf->name);
    if (!safe_location(location))
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s': external data location '%s' must be a relative path inside the model's directory",
                    tf->name, location);
    const char *dir = c->base_dir ? c->base_dir : ".";
    size_t plen = strlen(dir) + strlen(location) + 2;
    char *path = malloc(plen);
    if (!path) return NOMEM(c);
    size_t dl = strlen(dir);
    snprintf(path, plen, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", location);
    const ext_file *file = NULL;
    st = map_external(c, path, &file);
    if (st != ER_OK) {
        wrap(c, st, "tensor '%s': external data", tf->name);
        free(path);
        return st;
    }
    free(path);
    if (offset > file->size)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s': external data offset %llu is past the end of '%s' (%zu bytes)",
                    tf->name, (unsigned long long)offset, location, file->size);
    if (!has_length) length = file->size - offset;
    if (length > file->size - offset)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s': external data [%llu, +%llu) runs past the end of '%s' (%zu bytes)",
                    tf->name, (unsigned long long)offset, (unsigned long long)length, location, file->size);
    if (length != nbytes)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s': external data holds %llu bytes, its shape needs %zu", tf->name,
                    (unsigned long long)length, nbytes);
    *data = file->data ? file->data + offset : NULL;
    return ER_OK;
}

/* Points at bytes when they are aligned for the element type, else copies them to pool. */
static const void *place_bytes(er_pool *pool, const uint8_t *bytes, size_t nbytes, size_t esize,
                               bool file_backed)
{
    if (nbytes && (uintptr_t)bytes % esize == 0) return bytes;
    void *d = er_pool_alloc(pool, nbytes ? nbytes : 1);
    if (!d || !nbytes) return d;
    if (!file_backed) {
        memcpy(d, bytes, nbytes);
        return d;
    }
    /* Chunk by chunk, releasing the source pages as they are copied, so even one huge tensor
     * never has both copies resident at once. Not for caller buffers (anonymous memory). */
    const size_t chunk = (size_t)4 << 20;
    for (size_t off = 0; off < nbytes; off += chunk) {
        size_t n = nbytes - off < chunk ? nbytes - off : chunk;
        memcpy((uint8_t *)d + off, bytes + off, n);
        er_release_file_pages(bytes + off, n);
    }
    return d;
}

static er_status decode_typed(onnx_ctx *c, er_pool *pool, er_pb_reader r, const tensor_fields *tf, er_const *t)
{
    int wire;
    size_t esize = er_dtype_size(t->dtype);
    int field = typed_field_for(t->dtype, &wire);
    if (field != tf->typed)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s' of type %s stores its values in %s, expected %s", tf->name,
                    er_dtype_name(t->dtype), typed_field_name(tf->typed), typed_field_name(field));
    if (tf->typed_count * esize != t->nbytes)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s' holds %zu values in %s, its shape needs %zu", tf->name,
                    tf->typed_count, typed_field_name(field), t->nbytes / esize);
    uint8_t *d = er_pool_alloc(pool, t->nbytes ? t->nbytes : 1);
    if (!d) return NOMEM(c);
    size_t k = 0;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num)
        if ((int)f.num == field) k += er_pb_unpack(&f, wire, d + k * esize, esize);
    t->data = d;
    return st;
}

/* Parses a TensorProto into t; data goes where the header comment says. */
static er_status parse_tensor(onnx_ctx *c, er_pool *pool, const er_pb_reader *r, er_const *t, const char **name)
{
    tensor_fields tf;
    er_status st = scan_tensor(c, pool, *r, &tf);
    if (st != ER_OK) return st;
    if (name) *name = tf.name;
    if (tf.ndim > ER_MAX_DIMS)
        return FAIL(c, ER_ERR_UNSUPPORTED, "tensor '%s' has rank %zu; edgerun supports up to %d dimensions", tf.name,
                    tf.ndim, ER_MAX_DIMS);
    char what[300];
    snprintf(what, sizeof what, "tensor '%s'", tf.name);
    if ((st = check_dtype(c, tf.dtype, what)) != ER_OK) return st;
    memset(t, 0, sizeof *t);
    t->dtype = (er_dtype)tf.dtype;
    t->ndim = (int)tf.ndim;
    size_t esize = er_dtype_size(t->dtype);
    uint64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (tf.dims[i] < 0) return FAIL(c, ER_ERR_FORMAT, "tensor '%s' has negative dimension %lld", tf.name, (long long)tf.dims[i]);
        t->dims[i] = tf.dims[i];
        if (__builtin_mul_overflow(numel, (uint64_t)tf.dims[i], &numel) || numel > (uint64_t)INT64_MAX / 16)
            return FAIL(c, ER_ERR_FORMAT, "tensor '%s' has an impossibly large shape", tf.name);
    }
    if (numel * esize > SIZE_MAX) return FAIL(c, ER_ERR_NOMEM, "tensor '%s' does not fit in memory", tf.name);
    t->nbytes = (size_t)(numel * esize);
    int sources = tf.has_raw + (tf.typed != 0) + (tf.location == 1);
    if (sources > 1)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s' stores its values in more than one of raw_data, typed data and external data",
                    tf.name);
    if (tf.location != 0 && tf.location != 1)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s' has unknown data_location %lld", tf.name, (long long)tf.location);
    if (tf.typed) return decode_typed(c, pool, *r, &tf, t);
    const uint8_t *bytes = NULL;
    size_t len = 0;
    if (tf.location == 1) {
        if ((st = external_bytes(c, pool, *r, &tf, t->nbytes, &bytes)) != ER_OK) return st;
        len = t->nbytes;
    } else if (tf.has_raw) {
        bytes = tf.raw.data;
        len = tf.raw.len;
    }
    if (len != t->nbytes)
        return FAIL(c, ER_ERR_FORMAT, "tensor '%s' has %zu bytes of data, its shape %s needs %zu", tf.name, len,
                    er_shape_str(t->dims, t->ndim, what, sizeof what), t->nbytes);
    bool file_backed = tf.location == 1 || c->model_file_backed;
    if (!(t->data = place_bytes(pool, bytes, len, esize, file_backed))) return NOMEM(c);
    return ER_OK;
}

/* ---- value infos ---- */

static er_status parse_shape(onnx_ctx *c, er_graph *g, er_pb_reader r, er_value *v)
{
    er_pb_field f;
    er_status st;
    v->ndim = 0;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num != SHAPE_DIM) continue;
        if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
        if (v->ndim == ER_MAX_DIMS)
            return FAIL(c, ER_ERR_UNSUPPORTED, "more than %d dimensions", ER_MAX_DIMS);
        int d = v->ndim++;
        v->dims[d] = -1;
        er_pb_reader dr;
        er_pb_sub(&dr, &r, &f, "TensorShapeProto.Dimension");
        er_pb_field e;
        while ((st = next(c, &dr, &e)) == ER_OK && e.num) {
            if (e.num == DIM_VALUE) {
                if ((st = want(c, &dr, &e, ER_PB_VARINT)) != ER_OK) return st;
                v->dims[d] = (int64_t)e.u >= 0 ? (int64_t)e.u : -1;
                v->dim_names[d] = NULL;
            } else if (e.num == DIM_PARAM) {
                if ((st = want(c, &dr, &e, ER_PB_LEN)) != ER_OK) return st;
                if (!(v->dim_names[d] = pool_str(&g->pool, &e))) return NOMEM(c);
                v->dims[d] = -1;
            }
        }
        if (st != ER_OK) return st;
    }
    return st;
}

/* Unsupported element types leave v->dtype undefined; *elem gets the declared number. */
static er_status parse_tensor_type(onnx_ctx *c, er_graph *g, er_pb_reader r, er_value *v, int64_t *elem)
{
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num == TTYPE_ELEM_TYPE) {
            if ((st = want(c, &r, &f, ER_PB_VARINT)) != ER_OK) return st;
            *elem = (int32_t)f.u;
            v->dtype = dtype_ok(*elem) ? (er_dtype)*elem : ER_UNDEFINED;
        } else if (f.num == TTYPE_SHAPE) {
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            er_pb_reader sr;
            er_pb_sub(&sr, &r, &f, "TensorShapeProto");
            if ((st = parse_shape(c, g, sr, v)) != ER_OK) return st;
        }
    }
    return st;
}

/* Reads a TypeProto into v. Non-tensor types leave v undeclared and set *kind. */
static er_status parse_type(onnx_ctx *c, er_graph *g, er_pb_reader r, er_value *v, const char **kind,
                            int64_t *elem)
{
    er_pb_field f;
    er_status st;
    *kind = NULL;
    *elem = 0;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        switch (f.num) {
        case TYPE_TENSOR: {
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            er_pb_reader tr;
            er_pb_sub(&tr, &r, &f, "TypeProto.Tensor");
            if ((st = parse_tensor_type(c, g, tr, v, elem)) != ER_OK) return st;
            break;
        }
        case TYPE_SEQUENCE: *kind = "a sequence"; break;
        case TYPE_MAP: *kind = "a map"; break;
        case TYPE_SPARSE_TENSOR: *kind = "a sparse tensor"; break;
        case TYPE_OPTIONAL: *kind = "an optional"; break;
        default: break;
        }
    }
    return st;
}

typedef enum { VI_GRAPH_INPUT, VI_GRAPH_OUTPUT, VI_INTERMEDIATE } vi_role;

/* Parses a ValueInfoProto, finds or creates its value and records the declared type.
 * Initializers keep their own type; value_info never overrides an input/output's. */
static er_status parse_value_info(onnx_ctx *c, er_graph *g, er_pb_reader r, vi_role role, int *id)
{
    er_pb_reader type_r = { 0 };
    bool has_type = false;
    const char *name = NULL;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num != VI_NAME && f.num != VI_TYPE) continue;
        if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
        if (f.num == VI_NAME) {
            if (!(name = pool_str(&g->pool, &f))) return NOMEM(c);
        } else {
            er_pb_sub(&type_r, &r, &f, "TypeProto");
            has_type = true;
        }
    }
    if (st != ER_OK) return st;
    if (!name || !name[0]) return FAIL(c, ER_ERR_FORMAT, "a value has no name");
    er_value decl;
    memset(&decl, 0, sizeof decl);
    decl.ndim = -1;
    const char *kind = NULL;
    int64_t elem = 0;
    if (has_type && (st = parse_type(c, g, type_r, &decl, &kind, &elem)) != ER_OK)
        return wrap(c, st, "value '%s'", name);
    const char *role_name = role == VI_GRAPH_INPUT ? "input" : "output";
    if (kind && role != VI_INTERMEDIATE)
        return FAIL(c, ER_ERR_UNSUPPORTED, "graph %s '%s' is %s; edgerun supports only tensors", role_name, name, kind);
    if (elem && !dtype_ok(elem)) {
        if (role != VI_INTERMEDIATE)
            return FAIL(c, ER_ERR_UNSUPPORTED, "graph %s '%s' has element type %lld (%s), which edgerun does not support",
                        role_name, name, (long long)elem, onnx_type_name(elem));
        kind = onnx_type_name(elem);
    }
    int v = er_graph_find_value(g, name);
    if (v < 0 && (v = er_graph_add_value(g, name)) < 0) return NOMEM(c);
    er_value *val = &g->values[v];
    *id = v;
    if (val->init || !has_type || kind) return ER_OK;
    if (role == VI_INTERMEDIATE && (val->dtype != ER_UNDEFINED || val->ndim >= 0)) return ER_OK;
    val->dtype = decl.dtype;
    val->ndim = decl.ndim;
    memcpy(val->dims, decl.dims, sizeof val->dims);
    memcpy(val->dim_names, decl.dim_names, sizeof val->dim_names);
    return ER_OK;
}

/* ---- nodes and attributes ---- */

static er_status parse_graph(onnx_ctx *c, er_graph *g, er_pb_reader r);

static const char *attr_type_name(er_attr_type t)
{
    static const char *names[] = { "undefined", "float", "int", "string", "tensor", "graph", "floats", "ints",
                                   "strings", "tensors", "graphs", "sparse_tensor", "sparse_tensors",
                                   "type_proto", "type_protos" };
    return (unsigned)t < ER_ARRAY_LEN(names) ? names[t] : "unknown";
}

/* What the first pass over an AttributeProto found. */
typedef struct attr_fields {
    int64_t type;
    er_attr_type seen;    /* type implied by the last value field present (old models omit type) */
    size_t n_floats, n_ints;
    int n_strings, n_tensors;
    er_pb_field s, t, g;
    bool has_f, has_i, has_s, has_t, has_g;
    float f;
    int64_t i;
} attr_fields;

static er_status scan_attr(onnx_ctx *c, er_pool *pool, er_pb_reader r, er_attr *a, attr_fields *af)
{
    memset(af, 0, sizeof *af);
    er_pb_field f;
    er_status st;
    a->name = "";
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        switch (f.num) {
        case ATTR_NAME:
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            if (!(a->name = pool_str(pool, &f))) return NOMEM(c);
            break;
        case ATTR_REF_ATTR_NAME:
            return FAIL(c, ER_ERR_FORMAT, "attribute '%s' refers to a function attribute (ref_attr_name), which is only valid inside a function body",
                        a->name);
        case ATTR_TYPE:
            if ((st = want(c, &r, &f, ER_PB_VARINT)) != ER_OK) return st;
            af->type = (int64_t)f.u;
            break;
        case ATTR_F: {
            if ((st = want(c, &r, &f, ER_PB_I32)) != ER_OK) return st;
            uint32_t bits = (uint32_t)f.u;
            memcpy(&af->f, &bits, sizeof af->f);
            af->has_f = true;
            af->seen = ER_ATTR_FLOAT;
            break;
        }
        case ATTR_I:
            if ((st = want(c, &r, &f, ER_PB_VARINT)) != ER_OK) return st;
            af->i = (int64_t)f.u;
            af->has_i = true;
            af->seen = ER_ATTR_INT;
            break;
        case ATTR_S: case ATTR_T: case ATTR_G:
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            if (f.num == ATTR_S) { af->s = f; af->has_s = true; af->seen = ER_ATTR_STRING; }
            if (f.num == ATTR_T) { af->t = f; af->has_t = true; af->seen = ER_ATTR_TENSOR; }
            if (f.num == ATTR_G) { af->g = f; af->has_g = true; af->seen = ER_ATTR_GRAPH; }
            break;
        case ATTR_FLOATS:
            if ((st = count_into(c, &r, &f, ER_PB_I32, &af->n_floats)) != ER_OK) return st;
            af->seen = ER_ATTR_FLOATS;
            break;
        case ATTR_INTS:
            if ((st = count_into(c, &r, &f, ER_PB_VARINT, &af->n_ints)) != ER_OK) return st;
            af->seen = ER_ATTR_INTS;
            break;
        case ATTR_STRINGS:
            if ((st = count_msg(c, &r, &f, &af->n_strings)) != ER_OK) return st;
            af->seen = ER_ATTR_STRINGS;
            break;
        case ATTR_TENSORS:
            if ((st = count_msg(c, &r, &f, &af->n_tensors)) != ER_OK) return st;
            af->seen = ER_ATTR_TENSORS;
            break;
        case ATTR_GRAPHS: af->seen = ER_ATTR_GRAPHS; break;
        case ATTR_SPARSE_TENSOR: af->seen = ER_ATTR_SPARSE_TENSOR; break;
        case ATTR_SPARSE_TENSORS: af->seen = ER_ATTR_SPARSE_TENSORS; break;
        case ATTR_TP: af->seen = ER_ATTR_TYPE_PROTO; break;
        case ATTR_TYPE_PROTOS: af->seen = ER_ATTR_TYPE_PROTOS; break;
        default: break;
        }
    }
    return st;
}

/* Decodes every occurrence of a repeated scalar field into a pool array of n elements
 * (never NULL, so an empty list stays distinguishable from an absent attribute). */
static void *gather_scalars(er_pool *pool, er_pb_reader r, uint32_t num, int wire, size_t n, size_t esize)
{
    uint8_t *d = er_pool_alloc(pool, (n ? n : 1) * esize);
    if (!d) return NULL;
    size_t k = 0;
    er_pb_field f;
    while (er_pb_next(&r, &f, NULL, 0) == ER_OK && f.num)
        if (f.num == num) k += er_pb_unpack(&f, wire, d + k * esize, esize);
    return d;
}

static er_status attr_strings(onnx_ctx *c, er_pool *pool, er_pb_reader r, er_attr *a, int n)
{
    const char **s = er_pool_alloc(pool, sizeof *s * (size_t)(n ? n : 1));
    if (!s) return NOMEM(c);
    int k = 0;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num)
        if (f.num == ATTR_STRINGS && !(s[k++] = pool_str(pool, &f))) return NOMEM(c);
    a->strings = s;
    a->n = n;
    return st;
}

static er_status attr_tensors(onnx_ctx *c, er_pool *pool, er_pb_reader r, er_attr *a, int n)
{
    er_const *t = er_pool_alloc(pool, sizeof *t * (size_t)(n ? n : 1));
    if (!t) return NOMEM(c);
    int k = 0;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num != ATTR_TENSORS) continue;
        er_pb_reader tr;
        er_pb_sub(&tr, &r, &f, "TensorProto");
        if ((st = parse_tensor(c, pool, &tr, &t[k], NULL)) != ER_OK) return wrap(c, st, "tensor #%d", k);
        k++;
    }
    a->t = t;
    a->n = n;
    return st;
}

static er_status attr_graph(onnx_ctx *c, er_graph *parent, const er_pb_reader *r, const er_pb_field *f, er_attr *a)
{
    if (c->depth >= ONNX_MAX_DEPTH)
        return FAIL(c, ER_ERR_FORMAT, "subgraphs are nested more than %d deep", ONNX_MAX_DEPTH);
    er_graph *sub = er_graph_new();
    if (!sub) return NOMEM(c);
    /* Subgraphs run under the model's opsets; the root outlives them. */
    sub->opsets = parent->opsets;
    sub->n_opsets = parent->n_opsets;
    er_pb_reader gr;
    er_pb_sub(&gr, r, f, "GraphProto");
    c->depth++;
    er_status st = parse_graph(c, sub, gr);
    c->depth--;
    if (st != ER_OK) {
        er_graph_free(sub);
        return st;
    }
    a->g = sub;
    return ER_OK;
}

static er_status parse_attr(onnx_ctx *c, er_graph *g, const er_pb_reader *r, er_attr *a)
{
    attr_fields af;
    er_status st = scan_attr(c, &g->pool, *r, a, &af);
    if (st != ER_OK) return st;
    if (!a->name[0]) return FAIL(c, ER_ERR_FORMAT, "an attribute has no name");
    er_attr_type type = af.type ? (er_attr_type)af.type : af.seen;
    a->type = type;
    switch (type) {
    case ER_ATTR_FLOAT: a->f = af.f; return ER_OK;
    case ER_ATTR_INT: a->i = af.i; return ER_OK;
    case ER_ATTR_STRING:
        a->s_len = af.s.len;
        a->s = af.has_s ? pool_str(&g->pool, &af.s) : er_pool_strdup(&g->pool, "");
        return a->s ? ER_OK : NOMEM(c);
    case ER_ATTR_TENSOR: {
        if (!af.has_t) break;
        er_pb_reader tr;
        er_pb_sub(&tr, r, &af.t, "TensorProto");
        if (!(a->t = er_pool_alloc(&g->pool, sizeof *a->t))) return NOMEM(c);
        st = parse_tensor(c, &g->pool, &tr, a->t, NULL);
        return st == ER_OK ? ER_OK : wrap(c, st, "attribute '%s'", a->name);
    }
    case ER_ATTR_GRAPH:
        if (!af.has_g) break;
        st = attr_graph(c, g, r, &af.g, a);
        return st == ER_OK ? ER_OK : wrap(c, st, "attribute '%s'", a->name);
    case ER_ATTR_FLOATS:
        if (af.n_floats > INT_MAX) break;
        a->n = (int)af.n_floats;
        a->floats = gather_scalars(&g->pool, *r, ATTR_FLOATS, ER_PB_I32, af.n_floats, sizeof(float));
        return a->floats ? ER_OK : NOMEM(c);
    case ER_ATTR_INTS:
        if (af.n_ints > INT_MAX) break;
        a->n = (int)af.n_ints;
        a->ints = gather_scalars(&g->pool, *r, ATTR_INTS, ER_PB_VARINT, af.n_ints, sizeof(int64_t));
        return a->ints ? ER_OK : NOMEM(c);
    case ER_ATTR_STRINGS: return attr_strings(c, &g->pool, *r, a, af.n_strings);
    case ER_ATTR_TENSORS:
        st = attr_tensors(c, &g->pool, *r, a, af.n_tensors);
        return st == ER_OK ? ER_OK : wrap(c, st, "attribute '%s'", a->name);
    case ER_ATTR_TYPE_PROTO: case ER_ATTR_TYPE_PROTOS:
        return ER_OK;
    case ER_ATTR_GRAPHS: case ER_ATTR_SPARSE_TENSOR: case ER_ATTR_SPARSE_TENSORS:
        return FAIL(c, ER_ERR_UNSUPPORTED, "attribute '%s' of type %s is not supported", a->name, attr_type_name(type));
    case ER_ATTR_UNDEFINED:
        return FAIL(c, ER_ERR_FORMAT, "attribute '%s' has no value", a->name);
    }
    return FAIL(c, ER_ERR_FORMAT, "attribute '%s' of type %s (%lld) has no valid value", a->name,
                attr_type_name(type), (long long)af.type);
}

/* First pass over a NodeProto: counts and the identifying strings. */
typedef struct node_fields {
    int n_in, n_out, n_attrs;
    const char *name, *op_type, *domain;
} node_fields;

static er_status scan_node(onnx_ctx *c, er_pool *pool, er_pb_reader r, node_fields *nf)
{
    memset(nf, 0, sizeof *nf);
    nf->name = nf->op_type = nf->domain = "";
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        switch (f.num) {
        case NODE_INPUT: st = count_msg(c, &r, &f, &nf->n_in); break;
        case NODE_OUTPUT: st = count_msg(c, &r, &f, &nf->n_out); break;
        case NODE_ATTRIBUTE: st = count_msg(c, &r, &f, &nf->n_attrs); break;
        case NODE_NAME: case NODE_OP_TYPE: case NODE_DOMAIN: {
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            const char *s = pool_str(pool, &f);
            if (!s) return NOMEM(c);
            if (f.num == NODE_NAME) nf->name = s;
            else if (f.num == NODE_OP_TYPE) nf->op_type = s;
            else nf->domain = s;
            break;
        }
        default: break;
        }
        if (st != ER_OK) return st;
    }
    return st;
}

/* Value id for a node input/output name; "" marks an omitted optional one. */
static er_status node_value(onnx_ctx *c, er_graph *g, const er_pb_field *f, int *id)
{
    *id = -1;
    if (f->len == 0) return ER_OK;
    char *name = pool_str(&g->pool, f);
    if (!name) return NOMEM(c);
    int v = er_graph_find_value(g, name);
    if (v < 0 && (v = er_graph_add_value(g, name)) < 0) return NOMEM(c);
    *id = v;
    return ER_OK;
}

static er_status fill_node(onnx_ctx *c, er_graph *g, int index, er_pb_reader r)
{
    int n_in = 0, n_out = 0;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        er_node *n = &g->nodes[index];
        if (f.num == NODE_INPUT) {
            st = node_value(c, g, &f, &n->in[n_in++]);
        } else if (f.num == NODE_OUTPUT) {
            st = node_value(c, g, &f, &n->out[n_out++]);
        } else if (f.num == NODE_ATTRIBUTE) {
            er_pb_reader ar;
            er_pb_sub(&ar, &r, &f, "AttributeProto");
            er_attr *a = &n->attrs[n->n_attrs];
            st = parse_attr(c, g, &ar, a);
            if (st != ER_OK) return st;
            /* Counted before the duplicate check so the graph frees a's subgraph. */
            n->n_attrs++;
            for (int k = 0; k < n->n_attrs - 1; k++)
                if (strcmp(n->attrs[k].name, a->name) == 0)
                    return FAIL(c, ER_ERR_FORMAT, "attribute '%s' appears twice", a->name);
        }
        if (st != ER_OK) return st;
    }
    return st;
}

static er_status parse_node(onnx_ctx *c, er_graph *g, const er_pb_reader *r, int k)
{
    node_fields nf;
    er_status st = scan_node(c, &g->pool, *r, &nf);
    if (st != ER_OK) return wrap(c, st, "node #%d", k);
    if (!nf.op_type[0]) return FAIL(c, ER_ERR_FORMAT, "node #%d '%s' has no op_type", k, nf.name);
    er_node *n = er_graph_add_node(g, nf.op_type, nf.n_in, nf.n_out);
    if (!n) return NOMEM(c);
    n->name = nf.name;
    n->domain = nf.domain;
    n->attrs = er_pool_alloc(&g->pool, sizeof *n->attrs * (size_t)(nf.n_attrs ? nf.n_attrs : 1));
    if (!n->attrs) return NOMEM(c);
    st = fill_node(c, g, g->n_nodes - 1, *r);
    return st == ER_OK ? ER_OK : wrap(c, st, "node #%d '%s' (%s)", k, nf.name, nf.op_type);
}

/* ---- graphs ---- */

typedef struct graph_counts {
    int nodes, inits, inputs, outputs, infos;
} graph_counts;

static er_status scan_graph(onnx_ctx *c, er_graph *g, er_pb_reader r, graph_counts *gc)
{
    memset(gc, 0, sizeof *gc);
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        switch (f.num) {
        case GRAPH_NODE: st = count_msg(c, &r, &f, &gc->nodes); break;
        case GRAPH_INITIALIZER: st = count_msg(c, &r, &f, &gc->inits); break;
        case GRAPH_INPUT: st = count_msg(c, &r, &f, &gc->inputs); break;
        case GRAPH_OUTPUT: st = count_msg(c, &r, &f, &gc->outputs); break;
        case GRAPH_VALUE_INFO: st = count_msg(c, &r, &f, &gc->infos); break;
        case GRAPH_NAME:
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            if (!(g->name = pool_str(&g->pool, &f))) return NOMEM(c);
            break;
        case GRAPH_SPARSE_INITIALIZER:
            return FAIL(c, ER_ERR_UNSUPPORTED, "sparse initializers are not supported");
        default: break;
        }
        if (st != ER_OK) return st;
    }
    return st;
}

static er_status add_initializer(onnx_ctx *c, er_graph *g, const er_pb_reader *r)
{
    er_const *t = er_pool_alloc(&g->pool, sizeof *t);
    if (!t) return NOMEM(c);
    const char *name;
    er_status st = parse_tensor(c, &g->pool, r, t, &name);
    if (st != ER_OK) return st;
    if (!name[0]) return FAIL(c, ER_ERR_FORMAT, "an initializer has no name");
    int v = er_graph_find_value(g, name);
    if (v < 0 && (v = er_graph_add_value(g, name)) < 0) return NOMEM(c);
    er_value *val = &g->values[v];
    if (val->init) return FAIL(c, ER_ERR_FORMAT, "initializer '%s' appears twice", name);
    val->init = t;
    val->dtype = t->dtype;
    val->ndim = t->ndim;
    memcpy(val->dims, t->dims, sizeof val->dims);
    memset(val->dim_names, 0, sizeof val->dim_names);
    return ER_OK;
}

static bool contains(const int *ids, int n, int id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

/* One pass handling every occurrence of field `num` in order. */
static er_status graph_pass(onnx_ctx *c, er_graph *g, er_pb_reader r, uint32_t num)
{
    static const char *msg_names[] = { [GRAPH_NODE] = "NodeProto", [GRAPH_INITIALIZER] = "TensorProto",
                                       [GRAPH_INPUT] = "ValueInfoProto", [GRAPH_OUTPUT] = "ValueInfoProto",
                                       [GRAPH_VALUE_INFO] = "ValueInfoProto" };
    int k = 0;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num != num) continue;
        er_pb_reader sr;
        er_pb_sub(&sr, &r, &f, msg_names[num]);
        int id;
        switch (num) {
        case GRAPH_NODE:
            if ((st = parse_node(c, g, &sr, k)) != ER_OK) return st;
            break;
        case GRAPH_INITIALIZER:
            if ((st = add_initializer(c, g, &sr)) != ER_OK) return wrap(c, st, "initializer #%d", k);
            break;
        case GRAPH_INPUT:
            if ((st = parse_value_info(c, g, sr, VI_GRAPH_INPUT, &id)) != ER_OK) return wrap(c, st, "graph input #%d", k);
            if (g->values[id].init) break;
            if (contains(g->inputs, g->n_inputs, id))
                return FAIL(c, ER_ERR_FORMAT, "graph input '%s' is listed twice", g->values[id].name);
            g->inputs[g->n_inputs++] = id;
            break;
        case GRAPH_OUTPUT:
            if ((st = parse_value_info(c, g, sr, VI_GRAPH_OUTPUT, &id)) != ER_OK) return wrap(c, st, "graph output #%d", k);
            g->outputs[g->n_outputs++] = id;
            break;
        case GRAPH_VALUE_INFO:
            if ((st = parse_value_info(c, g, sr, VI_INTERMEDIATE, &id)) != ER_OK) return wrap(c, st, "value_info #%d", k);
            break;
        }
        k++;
    }
    return st;
}

static er_status parse_graph(onnx_ctx *c, er_graph *g, er_pb_reader r)
{
    graph_counts gc;
    er_status st = scan_graph(c, g, r, &gc);
    if (st != ER_OK) return st;
    g->inputs = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(gc.inputs ? gc.inputs : 1));
    g->outputs = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(gc.outputs ? gc.outputs : 1));
    if (!g->inputs || !g->outputs) return NOMEM(c);
    /* Initializers first: graph inputs that name one are not real inputs. */
    static const uint32_t order[] = { GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO, GRAPH_NODE };
    for (size_t i = 0; i < ER_ARRAY_LEN(order); i++)
        if ((st = graph_pass(c, g, r, order[i])) != ER_OK) return st;
    return ER_OK;
}

/* ---- model ---- */

static bool default_domain(const char *d) { return !d[0] || strcmp(d, "ai.onnx") == 0; }

static er_status parse_opset(onnx_ctx *c, er_graph *g, er_pb_reader r, er_opset *o)
{
    o->domain = "";
    o->version = 0;
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num == OPSET_DOMAIN) {
            if ((st = want(c, &r, &f, ER_PB_LEN)) != ER_OK) return st;
            if (!(o->domain = pool_str(&g->pool, &f))) return NOMEM(c);
        } else if (f.num == OPSET_VERSION) {
            if ((st = want(c, &r, &f, ER_PB_VARINT)) != ER_OK) return st;
            o->version = (int64_t)f.u;
        }
    }
    if (st != ER_OK) return st;
    if (o->version < 1 || o->version > ONNX_MAX_OPSET)
        return FAIL(c, ER_ERR_FORMAT, "opset_import for domain '%s' has invalid version %lld", o->domain,
                    (long long)o->version);
    for (int i = 0; i < g->n_opsets; i++) {
        const char *d = g->opsets[i].domain;
        if (default_domain(d) ? default_domain(o->domain) : strcmp(d, o->domain) == 0)
            return FAIL(c, ER_ERR_FORMAT, "opset_import lists domain '%s' twice", o->domain);
    }
    return ER_OK;
}

typedef struct model_fields {
    bool has_ir;
    int64_t ir_version;
    int n_opsets, n_graphs;
    er_pb_field graph;
} model_fields;

static er_status scan_model(onnx_ctx *c, er_pb_reader r, model_fields *mf)
{
    memset(mf, 0, sizeof *mf);
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num == MODEL_IR_VERSION) {
            if ((st = want(c, &r, &f, ER_PB_VARINT)) != ER_OK) return st;
            mf->has_ir = true;
            mf->ir_version = (int64_t)f.u;
        } else if (f.num == MODEL_OPSET_IMPORT) {
            if ((st = count_msg(c, &r, &f, &mf->n_opsets)) != ER_OK) return st;
        } else if (f.num == MODEL_GRAPH) {
            if ((st = count_msg(c, &r, &f, &mf->n_graphs)) != ER_OK) return st;
            mf->graph = f;
        }
    }
    return st;
}

static er_status parse_opsets(onnx_ctx *c, er_graph *g, er_pb_reader r, const model_fields *mf)
{
    g->opsets = er_pool_alloc(&g->pool, sizeof *g->opsets * (size_t)(mf->n_opsets ? mf->n_opsets : 1));
    if (!g->opsets) return NOMEM(c);
    if (mf->n_opsets == 0) {
        /* IR versions before 3 had no opset_import and meant opset 1. */
        if (mf->ir_version >= 3) return FAIL(c, ER_ERR_FORMAT, "the model has no opset_import");
        g->opsets[0] = (er_opset){ "", 1 };
        g->n_opsets = 1;
        return ER_OK;
    }
    er_pb_field f;
    er_status st;
    while ((st = next(c, &r, &f)) == ER_OK && f.num) {
        if (f.num != MODEL_OPSET_IMPORT) continue;
        er_pb_reader orr;
        er_pb_sub(&orr, &r, &f, "OperatorSetIdProto");
        if ((st = parse_opset(c, g, orr, &g->opsets[g->n_opsets])) != ER_OK) return st;
        g->n_opsets++;
    }
    return st;
}

static er_status check_node_domains(onnx_ctx *c, const er_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const char *d = g->nodes[i].domain;
        if (er_graph_opset(g, d) == 0)
            return FAIL(c, ER_ERR_FORMAT, "node '%s' (%s) uses domain '%s', which opset_import does not list",
                        g->nodes[i].name, g->nodes[i].op_type, d[0] ? d : "ai.onnx");
    }
    return ER_OK;
}

static er_status parse_model(onnx_ctx *c, er_graph *g, er_pb_reader r)
{
    model_fields mf;
    er_status st = scan_model(c, r, &mf);
    if (st != ER_OK) return st;
    if (!mf.has_ir) return FAIL(c, ER_ERR_FORMAT, "no ir_version: this is not an ONNX model");
    if (mf.ir_version < 1) return FAIL(c, ER_ERR_FORMAT, "invalid ir_version %lld", (long long)mf.ir_version);
    if (mf.ir_version > ONNX_MAX_IR_VERSION)
        return FAIL(c, ER_ERR_UNSUPPORTED, "ir_version %lld is newer than this loader supports (up to %d)",
                    (long long)mf.ir_version, ONNX_MAX_IR_VERSION);
    if (mf.n_graphs != 1)
        return FAIL(c, ER_ERR_FORMAT, mf.n_graphs ? "the model has %d graphs" : "the model has no graph", mf.n_graphs);
    if ((st = parse_opsets(c, g, r, &mf)) != ER_OK) return st;
    er_pb_reader gr;
    er_pb_sub(&gr, &r, &mf.graph, "GraphProto");
    if ((st = parse_graph(c, g, gr)) != ER_OK) return st;
    return check_node_domains(c, g);
}

er_status er_onnx_parse(const void *data, size_t size, const char *base_dir, bool file_backed,
                        er_graph **out, char *err, size_t err_size)
{
    if (!out || (!data && size)) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "data and out are required");
    *out = NULL;
    if (size == 0) return er_fail(err, err_size, ER_ERR_FORMAT, "the model is empty");
    er_graph *g = er_graph_new();
    if (!g) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    onnx_ctx c = { .base_dir = base_dir, .root = g, .err = err, .err_size = err_size,
                   .model_file_backed = file_backed };
    er_pb_reader r;
    er_pb_init(&r, data, data, size, "ModelProto");
    er_status st = parse_model(&c, g, r);
    for (int i = 0; i < c.n_files; i++) free(c.files[i].path);
    free(c.files);
    if (st != ER_OK) {
        er_graph_free(g);
        return st;
    }
    if (!g->name) g->name = "";
    *out = g;
    return ER_OK;
}

er_status er_onnx_parse_tensor(const void *data, size_t size, er_const *t, char **name, void **owned, char *err,
                               size_t err_size)
{
    if (!t || !owned || (!data && size)) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "data, t and owned are required");
    *owned = NULL;
    if (name) *name = NULL;
    er_pool pool = { 0 };
    onnx_ctx c = { .err = err, .err_size = err_size };
    er_pb_reader r;
    er_pb_init(&r, data, data, size, "TensorProto");
    const char *tname = "";
    er_status st = parse_tensor(&c, &pool, &r, t, &tname);
    if (st == ER_OK) {
        void *copy = malloc(t->nbytes ? t->nbytes : 1);
        char *ncopy = name ? strdup(tname) : NULL;
        if (!copy || (name && !ncopy)) {
            free(copy);
            free(ncopy);
            st = er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
        } else {
            memcpy(copy, t->data, t->nbytes);
            t->data = copy;
            *owned = copy;
            if (name) *name = ncopy;
        }
    }
    er_pool_free(&pool);
    return st;
}
