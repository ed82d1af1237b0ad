/* .npy reader and writer. The header is a Python dict literal; we accept exactly what
 * numpy's own reader accepts for plain arrays (the keys descr, fortran_order and shape, no
 * others) and reject anything else with a message, since a guessed layout would silently
 * feed garbage to a model. */
#include "format/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mapfile.h"

static const char NPY_MAGIC[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

static bool host_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

typedef struct npy_type {
    char kind;
    int size;
    er_dtype dtype;
    const char *descr;
} npy_type;

static const npy_type NPY_TYPES[] = {
    { 'f', 2, ER_F16, "<f2" }, { 'f', 4, ER_F32, "<f4" }, { 'f', 8, ER_F64, "<f8" },
    { 'i', 1, ER_I8, "|i1" },  { 'i', 2, ER_I16, "<i2" }, { 'i', 4, ER_I32, "<i4" },
    { 'i', 8, ER_I64, "<i8" }, { 'u', 1, ER_U8, "|u1" },  { 'u', 2, ER_U16, "<u2" },
    { 'u', 4, ER_U32, "<u4" }, { 'u', 8, ER_U64, "<u8" }, { 'b', 1, ER_BOOL, "|b1" },
};

const char *er_npy_descr(er_dtype dt)
{
    for (size_t i = 0; i < ER_ARRAY_LEN(NPY_TYPES); i++)
        if (NPY_TYPES[i].dtype == dt) return NPY_TYPES[i].descr;
    return NULL;
}

/* ---- header dict parsing ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool accept(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) return false;
    c->p += n;
    return true;
}

/* A quoted Python string without escapes (numpy never writes any in these keys). */
static bool parse_str(cursor *c, char *out, size_t cap)
{
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return false;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return false;
    c->p++;
    out[n] = 0;
    return true;
}

static bool parse_dim(cursor *c, int64_t *v)
{
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
    int64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int d = *c->p++ - '0';
        if (x > (INT64_MAX - d) / 10) return false;
        x = x * 10 + d;
    }
    if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long literal */
    *v = x;
    return true;
}

/* A Python tuple of non-negative ints: "()", "(5,)", "(2, 3)", "(2, 3,)". */
static er_status parse_shape(cursor *c, er_tensor *t, char *err, size_t n)
{
    if (!accept(c, "(")) return er_fail(err, n, ER_ERR_FORMAT, "'shape' must be a tuple");
    t->ndim = 0;
    bool trailing_comma = false;
    for (;;) {
        skip_ws(c);
        if (accept(c, ")")) break;
        int64_t d;
        if (!parse_dim(c, &d)) return er_fail(err, n, ER_ERR_FORMAT, "'shape' holds something other than a non-negative integer");
        if (t->ndim == ER_MAX_DIMS)
            return er_fail(err, n, ER_ERR_UNSUPPORTED, "arrays of more than %d dimensions are not supported", ER_MAX_DIMS);
        t->dims[t->ndim++] = d;
        skip_ws(c);
        trailing_comma = accept(c, ",");
        if (!trailing_comma) {
            skip_ws(c);
            if (!accept(c, ")")) return er_fail(err, n, ER_ERR_FORMAT, "'shape' tuple is not closed");
            break;
        }
    }
    if (t->ndim == 1 && !trailing_comma)
        return er_fail(err, n, ER_ERR_FORMAT, "'shape' (n) is not a tuple; a 1-d shape is written (n,)");
    return ER_OK;
}

static er_status parse_descr(const char *s, er_dtype *dt, bool *swap, char *err, size_t n)
{
    char order = s[0];
    if (order != '<' && order != '>' && order != '=' && order != '|')
        return er_fail(err, n, ER_ERR_FORMAT, "descr '%s' does not start with a byte-order mark (<, >, = or |)", s);
    char kind = s[1];
    char *endp = NULL;
    long size = kind ? strtol(s + 2, &endp, 10) : 0;
    if (!kind || !endp || endp == s + 2 || *endp)
        return er_fail(err, n, ER_ERR_FORMAT, "descr '%s' is not a numpy type string", s);
    for (size_t i = 0; i < ER_ARRAY_LEN(NPY_TYPES); i++) {
        if (NPY_TYPES[i].kind != kind || NPY_TYPES[i].size != size) continue;
        if (order == '|' && size > 1)
            return er_fail(err, n, ER_ERR_FORMAT, "descr '%s': '|' (not applicable) is only valid for 1-byte types", s);
        bool le = host_little_endian();
        *swap = size > 1 && ((order == '<' && !le) || (order == '>' && le));
        *dt = NPY_TYPES[i].dtype;
        return ER_OK;
    }
    return er_fail(err, n, ER_ERR_UNSUPPORTED, "numpy dtype '%s' is not supported (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)", s);
}

static er_status parse_header(cursor *c, er_tensor *t, bool *swap, char *err, size_t n)
{
    bool have_descr = false, have_fortran = false, have_shape = false, fortran = false;
    char descr[32] = "";
    skip_ws(c);
    if (!accept(c, "{")) return er_fail(err, n, ER_ERR_FORMAT, "header is not a dict literal");
    for (;;) {
        skip_ws(c);
        if (accept(c, "}")) break;
        char key[32];
        if (!parse_str(c, key, sizeof key)) return er_fail(err, n, ER_ERR_FORMAT, "header dict key is not a short quoted string");
        skip_ws(c);
        if (!accept(c, ":")) return er_fail(err, n, ER_ERR_FORMAT, "header dict: ':' missing after '%s'", key);
        skip_ws(c);
        er_status st = ER_OK;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            have_descr = true;
            if (c->p < c->end && *c->p == '[')
                return er_fail(err, n, ER_ERR_UNSUPPORTED, "structured dtypes are not supported");
            if (!parse_str(c, descr, sizeof descr)) return er_fail(err, n, ER_ERR_FORMAT, "'descr' is not a type string");
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            have_fortran = true;
            if (accept(c, "True")) fortran = true;
            else if (!accept(c, "False")) return er_fail(err, n, ER_ERR_FORMAT, "'fortran_order' must be True or False");
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            have_shape = true;
            st = parse_shape(c, t, err, n);
        } else if (strcmp(key, "descr") == 0 || strcmp(key, "fortran_order") == 0 || strcmp(key, "shape") == 0) {
            return er_fail(err, n, ER_ERR_FORMAT, "header dict repeats key '%s'", key);
        } else {
            return er_fail(err, n, ER_ERR_FORMAT, "header dict has unexpected key '%s'", key);
        }
        if (st != ER_OK) return st;
        skip_ws(c);
        if (accept(c, ",")) continue;
        skip_ws(c);
        if (accept(c, "}")) break;
        return er_fail(err, n, ER_ERR_FORMAT, "header dict: expected ',' or '}' after '%s'", key);
    }
    skip_ws(c);
    if (c->p != c->end) return er_fail(err, n, ER_ERR_FORMAT, "unexpected text after the header dict");
    if (!have_descr || !have_fortran || !have_shape)
        return er_fail(err, n, ER_ERR_FORMAT, "header dict lacks '%s'",
                       !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    er_status st = parse_descr(descr, &t->dtype, swap, err, n);
    if (st != ER_OK) return st;
    if (fortran)
        return er_fail(err, n, ER_ERR_UNSUPPORTED, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
    return ER_OK;
}

er_status er_npy_parse(const void *data, size_t size, er_tensor *t, bool *swap, char *err,
                       size_t err_size)
{
    const uint8_t *b = data;
    memset(t, 0, sizeof *t);
    *swap = false;
    if (size < 10 || memcmp(b, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return er_fail(err, err_size, ER_ERR_FORMAT, "not a .npy file (bad magic)");
    int major = b[6], minor = b[7];
    if ((major < 1 || major > 3) || minor != 0)
        return er_fail(err, err_size, ER_ERR_UNSUPPORTED, ".npy format version %d.%d is not supported (1.0, 2.0, 3.0 are)", major, minor);
    size_t hstart = major == 1 ? 10 : 12;
    if (size < hstart) return er_fail(err, err_size, ER_ERR_FORMAT, "truncated .npy header");
    size_t hlen = major == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                             : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hlen > size - hstart)
        return er_fail(err, err_size, ER_ERR_FORMAT, "truncated .npy header (%zu header bytes declared, %zu present)", hlen, size - hstart);
    cursor c = { (const char *)b + hstart, (const char *)b + hstart + hlen };
    er_status st = parse_header(&c, t, swap, err, err_size);
    if (st != ER_OK) return st;
    size_t esize = er_dtype_size(t->dtype), want = esize;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] != 0 && want > SIZE_MAX / (size_t)t->dims[i])
            return er_fail(err, err_size, ER_ERR_FORMAT, "array shape is too large");
        want *= (size_t)t->dims[i];
    }
    size_t have = size - hstart - hlen;
    char shp[160];
    if (have < want)
        return er_fail(err, err_size, ER_ERR_FORMAT, "truncated data: shape %s of %s needs %zu bytes, file has %zu",
                       er_shape_str(t->dims, t->ndim, shp, sizeof shp), er_dtype_name(t->dtype), want, have);
    if (have > want)
        return er_fail(err, err_size, ER_ERR_FORMAT, "%zu unexpected bytes after the data of shape %s",
                       have - want, er_shape_str(t->dims, t->ndim, shp, sizeof shp));
    t->data = (void *)(b + hstart + hlen);
    return ER_OK;
}

static void byte_swap(uint8_t *p, size_t count, size_t esize)
{
    for (size_t i = 0; i < count; i++, p += esize)
        for (size_t a = 0, z = esize - 1; a < z; a++, z--) {
            uint8_t tmp = p[a];
            p[a] = p[z];
            p[z] = tmp;
        }
}

er_status er_npy_read(const char *path, er_tensor *t, void **owned, char *err, size_t err_size)
{
    *owned = NULL;
    memset(t, 0, sizeof *t);
    er_mapped m;
    er_status st = er_map_file(path, &m, err, err_size);
    if (st != ER_OK) return st;
    if (m.size == 0) return er_fail(err, err_size, ER_ERR_FORMAT, "'%s' is empty", path);
    char detail[512];
    bool swap;
    st = er_npy_parse(m.data, m.size, t, &swap, detail, sizeof detail);
    if (st != ER_OK) {
        er_unmap(&m);
        return er_fail(err, err_size, st, "'%s': %s", path, detail);
    }
    size_t bytes = er_tensor_nbytes(t);
    void *buf = er_aligned_alloc(bytes);
    if (!buf) {
        er_unmap(&m);
        return er_fail(err, err_size, ER_ERR_NOMEM, "'%s': out of memory for %zu bytes", path, bytes);
    }
    if (bytes) memcpy(buf, t->data, bytes);
    er_unmap(&m);
    if (swap) byte_swap(buf, bytes / er_dtype_size(t->dtype), er_dtype_size(t->dtype));
    t->data = buf;
    *owned = buf;
    return ER_OK;
}

/* ---- writing ---- */

/* Header padded with spaces so the data starts on a 64-byte boundary, as numpy does. */
static size_t build_header(const er_tensor *t, const char *descr, char *h, size_t cap)
{
    size_t n = 10;
    n += (size_t)snprintf(h + n, cap - n, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->ndim; i++)
        n += (size_t)snprintf(h + n, cap - n, i ? ", %lld" : "%lld", (long long)t->dims[i]);
    n += (size_t)snprintf(h + n, cap - n, "%s), }", t->ndim == 1 ? "," : "");
    size_t total = (n + 1 + 63) / 64 * 64;
    memset(h + n, ' ', total - 1 - n);
    h[total - 1] = '\n';
    memcpy(h, NPY_MAGIC, sizeof NPY_MAGIC);
    h[6] = 1;
    h[7] = 0;
    h[8] = (char)((total - 10) & 0xff);
    h[9] = (char)((total - 10) >> 8);
    return total;
}

static bool write_all(int fd, const void *data, size_t size)
{
    const uint8_t *p = data;
    while (size) {
        ssize_t k = write(fd, p, size);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        size -= (size_t)k;
    }
    return true;
}

/* A unique name beside the target, so the final rename stays on one file system. */
static int open_temp(const char *path, char *tmp, size_t cap)
{
    unsigned long salt = (unsigned long)(er_now() * 1e9);
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, cap, "%s.tmp%ld.%lx", path, (long)getpid(), salt + (unsigned long)attempt);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

er_status er_npy_write(const char *path, const er_tensor *t, char *err, size_t err_size)
{
    const char *base = er_npy_descr(t->dtype);
    if (!base)
        return er_fail(err, err_size, ER_ERR_UNSUPPORTED, "'%s': numpy has no %s dtype", path, er_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > ER_MAX_DIMS)
        return er_fail(err, err_size, ER_ERR_INVALID_ARG, "'%s': invalid rank %d", path, t->ndim);
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "'%s': negative dimension", path);
    size_t bytes = er_tensor_nbytes(t);
    if (bytes && !t->data) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "'%s': tensor has no data", path);
    char descr[4];
    memcpy(descr, base, 4);
    if (descr[0] == '<' && !host_little_endian()) descr[0] = '>';
    char header[512];
    size_t hlen = build_header(t, descr, header, sizeof header);
    size_t tmp_cap = strlen(path) + 64;
    char tmp[PATH_MAX + 64];
    if (tmp_cap > sizeof tmp) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "output path is too long");
    int fd = open_temp(path, tmp, sizeof tmp);
    if (fd < 0) return er_fail(err, err_size, ER_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    bool ok = write_all(fd, header, hlen) && write_all(fd, t->data, bytes) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return er_fail(err, err_size, ER_ERR_IO, "cannot write '%s': %s", path, strerror(saved));
    }
    return ER_OK;
}
