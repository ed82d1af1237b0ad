/* .npy reader/writer: round trips for every dtype, byte-exact agreement with files numpy
 * wrote (tests/fixtures/npy, made with numpy 1.24), and rejection of malformed files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/npy.h"

static int g_fail, g_pass;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            g_pass++;                                                     \
        } else {                                                          \
            g_fail++;                                                     \
            fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

static char g_dir[256];

static char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void write_raw(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, size, f);
    fclose(f);
}

static bool is_unsigned(er_dtype dt)
{
    return dt == ER_U8 || dt == ER_U16 || dt == ER_U32 || dt == ER_U64;
}

/* Fills element i with a value whose bytes differ per element and per dtype. */
static void fill_pattern(er_tensor *t)
{
    int64_t n = er_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (t->dtype == ER_BOOL) v = i % 3 == 0;
        else if (er_dtype_is_float(t->dtype)) v = (double)i * 0.75 - 3.25;
        else v = (double)(i * 7 % 100) - (is_unsigned(t->dtype) ? 0 : 50);
        er_set_f64(t->data, t->dtype, i, v);
    }
}

static void test_round_trip(er_dtype dt, const int64_t *dims, int ndim)
{
    char path[512], err[512] = "", shp[64];
    snprintf(path, sizeof path, "%s/rt_%s_%d.npy", g_dir, er_dtype_name(dt), ndim);
    er_tensor t = { .dtype = dt, .ndim = ndim };
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)ndim);
    size_t bytes = er_tensor_nbytes(&t);
    t.data = malloc(bytes ? bytes : 1);
    fill_pattern(&t);
    er_status st = er_npy_write(path, &t, err, sizeof err);
    CHECK(st == ER_OK, "write %s %s: %s", er_dtype_name(dt), er_shape_str(dims, ndim, shp, sizeof shp), err);
    er_tensor r;
    void *owned = NULL;
    st = er_npy_read(path, &r, &owned, err, sizeof err);
    CHECK(st == ER_OK, "read %s: %s", er_dtype_name(dt), err);
    if (st == ER_OK) {
        CHECK(r.dtype == dt, "dtype %s read back as %s", er_dtype_name(dt), er_dtype_name(r.dtype));
        CHECK(er_shape_equal(r.dims, r.ndim, dims, ndim), "shape %s read back as %s",
              er_shape_str(dims, ndim, shp, sizeof shp), er_shape_str(r.dims, r.ndim, err, sizeof err));
        CHECK(bytes == 0 || memcmp(r.data, t.data, bytes) == 0, "data of %s differs", er_dtype_name(dt));
        CHECK(((uintptr_t)r.data & 63) == 0, "read buffer not 64-byte aligned");
    }
    er_aligned_free(owned);
    free(t.data);
    size_t fsize = 0;
    char *raw = read_all(path, &fsize);
    CHECK(raw && fsize >= 128 && (fsize - bytes) % 64 == 0, "header of %s is not padded to 64 bytes", path);
    free(raw);
    unlink(path);
}

static void test_round_trips(void)
{
    static const er_dtype all[] = { ER_F32, ER_F16, ER_F64, ER_I64, ER_I32, ER_I16, ER_I8,
                                    ER_U8,  ER_U16, ER_U32, ER_U64, ER_BOOL };
    const int64_t d3[] = { 2, 3, 4 }, d1[] = { 5 }, d0[] = { 0 }, dz[] = { 0, 3 };
    for (size_t i = 0; i < ER_ARRAY_LEN(all); i++) {
        test_round_trip(all[i], d3, 3);
        test_round_trip(all[i], d1, 1);
        test_round_trip(all[i], d0, 0); /* 0-d */
        test_round_trip(all[i], dz, 2); /* empty */
    }
    const int64_t d8[] = { 1, 2, 1, 2, 1, 2, 1, 2 };
    test_round_trip(ER_F32, d8, 8);
}

/* Our writer must produce exactly numpy's bytes, and read numpy's files. */
static void test_numpy_fixtures(void)
{
    char err[512] = "", path[512];
    er_tensor t;
    void *owned;
    er_status st = er_npy_read("tests/fixtures/npy/f32_2x3.npy", &t, &owned, err, sizeof err);
    CHECK(st == ER_OK, "%s", err);
    if (st == ER_OK) {
        const int64_t want_dims[] = { 2, 3 };
        CHECK(t.dtype == ER_F32 && er_shape_equal(t.dims, t.ndim, want_dims, 2), "f32_2x3: wrong dtype/shape");
        for (int i = 0; i < 6; i++)
            CHECK(((float *)t.data)[i] == (float)i * 0.5f - 1.0f, "f32_2x3[%d] = %g", i, ((float *)t.data)[i]);
        snprintf(path, sizeof path, "%s/f32_2x3.npy", g_dir);
        CHECK(er_npy_write(path, &t, err, sizeof err) == ER_OK, "%s", err);
        size_t na = 0, nb = 0;
        char *a = read_all(path, &na), *b = read_all("tests/fixtures/npy/f32_2x3.npy", &nb);
        CHECK(a && b && na == nb && memcmp(a, b, na) == 0, "our f32_2x3.npy differs from numpy's (%zu vs %zu bytes)", na, nb);
        free(a);
        free(b);
        unlink(path);
        er_aligned_free(owned);
    }

    st = er_npy_read("tests/fixtures/npy/i64_scalar.npy", &t, &owned, err, sizeof err);
    CHECK(st == ER_OK && t.dtype == ER_I64 && t.ndim == 0 && ((int64_t *)t.data)[0] == -7,
          "i64_scalar: %s", err);
    if (st == ER_OK) er_aligned_free(owned);

    st = er_npy_read("tests/fixtures/npy/i16be_v3.npy", &t, &owned, err, sizeof err);
    CHECK(st == ER_OK && t.dtype == ER_I16 && t.ndim == 1 && t.dims[0] == 3, "i16be_v3: %s", err);
    if (st == ER_OK) {
        const int16_t *v = t.data;
        CHECK(v[0] == 1 && v[1] == -2 && v[2] == 300, "big-endian values read as %d %d %d", v[0], v[1], v[2]);
        er_aligned_free(owned);
    }

    st = er_npy_read("tests/fixtures/npy/bool_v2.npy", &t, &owned, err, sizeof err);
    CHECK(st == ER_OK && t.dtype == ER_BOOL && t.ndim == 2, "bool_v2: %s", err);
    if (st == ER_OK) {
        const uint8_t *v = t.data;
        CHECK(v[0] == 1 && v[1] == 0 && v[2] == 0 && v[3] == 1, "bool values %d %d %d %d", v[0], v[1], v[2], v[3]);
        er_aligned_free(owned);
    }
}

/* Builds a version-`major` file from header text and `data_len` zero bytes of data. */
static size_t make_npy(uint8_t *buf, int major, const char *header, size_t data_len)
{
    size_t hl = strlen(header), hs = major == 1 ? 10 : 12;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    buf[8] = (uint8_t)(hl & 0xff);
    buf[9] = (uint8_t)(hl >> 8);
    if (major != 1) buf[10] = buf[11] = 0;
    memcpy(buf + hs, header, hl);
    memset(buf + hs + hl, 0, data_len);
    return hs + hl + data_len;
}

static void expect_parse(const char *header, size_t data_len, er_status want, int major)
{
    uint8_t buf[1024];
    size_t n = make_npy(buf, major, header, data_len);
    char err[512] = "";
    er_tensor t;
    bool swap;
    er_status st = er_npy_parse(buf, n, &t, &swap, err, sizeof err);
    CHECK(st == want, "header %s (+%zu bytes): got %s (%s), expected %s", header, data_len,
          er_status_str(st), err, er_status_str(want));
    if (want != ER_OK) CHECK(err[0] != 0, "no message for header %s", header);
}

static void test_malformed(void)
{
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    expect_parse(ok, 24, ER_OK, 1);
    expect_parse(ok, 24, ER_OK, 2);
    expect_parse(ok, 24, ER_OK, 3);
    expect_parse(ok, 20, ER_ERR_FORMAT, 1);                  /* truncated data */
    expect_parse(ok, 28, ER_ERR_FORMAT, 1);                  /* trailing bytes */
    expect_parse(ok, 24, ER_ERR_UNSUPPORTED, 4);             /* version */
    expect_parse("{\"descr\": \"=f4\", \"shape\": (2,3), \"fortran_order\": False}", 24, ER_OK, 1);
    expect_parse("{'descr': '<i1', 'fortran_order': False, 'shape': ()}", 1, ER_OK, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, ER_ERR_UNSUPPORTED, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': 'f4', 'fortran_order': False, 'shape': (1,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f', 'fortran_order': False, 'shape': (1,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", 8, ER_ERR_UNSUPPORTED, 1);
    expect_parse("{'descr': '<U5', 'fortran_order': False, 'shape': (1,)}", 20, ER_ERR_UNSUPPORTED, 1);
    expect_parse("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4, ER_ERR_UNSUPPORTED, 1);
    expect_parse("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 4, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 8, ER_ERR_FORMAT, 1);
    expect_parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4, ER_ERR_UNSUPPORTED, 1);
    expect_parse("", 0, ER_ERR_FORMAT, 1);
    expect_parse("['descr']", 0, ER_ERR_FORMAT, 1);

    char err[256];
    er_tensor t;
    bool swap;
    CHECK(er_npy_parse("\x93NUMPX\x01\x00\x00\x00", 10, &t, &swap, err, sizeof err) == ER_ERR_FORMAT, "bad magic accepted");
    CHECK(er_npy_parse("\x93NUMPY\x01\x00\xff\x00{}", 12, &t, &swap, err, sizeof err) == ER_ERR_FORMAT, "header length past the end accepted");
    CHECK(er_npy_parse("\x93NUMPY\x02", 7, &t, &swap, err, sizeof err) == ER_ERR_FORMAT, "7-byte file accepted");
}

/* Every proper prefix of a valid file fails cleanly; single-byte corruptions never crash. */
static void test_truncation_and_corruption(void)
{
    size_t n = 0;
    char *good = read_all("tests/fixtures/npy/f32_2x3.npy", &n);
    CHECK(good != NULL, "cannot read fixture");
    if (!good) return;
    int accepted = 0;
    for (size_t len = 0; len < n; len++) {
        char err[256];
        er_tensor t;
        bool swap;
        accepted += er_npy_parse(good, len, &t, &swap, err, sizeof err) == ER_OK;
    }
    CHECK(accepted == 0, "%d truncated prefixes were accepted", accepted);
    char *bad = malloc(n);
    for (size_t pos = 0; pos < n - 24; pos++)
        for (int v = 0; v < 256; v += 17) {
            memcpy(bad, good, n);
            bad[pos] = (char)v;
            char err[256];
            er_tensor t;
            bool swap;
            if (er_npy_parse(bad, n, &t, &swap, err, sizeof err) == ER_OK)
                CHECK(er_tensor_nbytes(&t) + (size_t)((char *)t.data - bad) == n, "accepted corruption at %zu escapes the file", pos);
        }
    free(bad);
    free(good);
}

static void test_io_errors(void)
{
    char err[512] = "", path[512];
    er_tensor t;
    void *owned = (void *)1;
    CHECK(er_npy_read("/nonexistent/x.npy", &t, &owned, err, sizeof err) == ER_ERR_IO && owned == NULL, "missing file: %s", err);
    snprintf(path, sizeof path, "%s/empty.npy", g_dir);
    write_raw(path, "", 0);
    CHECK(er_npy_read(path, &t, &owned, err, sizeof err) == ER_ERR_FORMAT && strstr(err, "empty"), "empty file: %s", err);
    unlink(path);

    snprintf(path, sizeof path, "%s/trunc.npy", g_dir);
    size_t n = 0;
    char *good = read_all("tests/fixtures/npy/f32_2x3.npy", &n);
    write_raw(path, good, n - 1);
    free(good);
    CHECK(er_npy_read(path, &t, &owned, err, sizeof err) == ER_ERR_FORMAT && strstr(err, "truncated") && strstr(err, path),
          "truncated file: %s", err);
    unlink(path);

    uint16_t h = 0;
    er_tensor bf = { .dtype = ER_BF16, .ndim = 1, .dims = { 1 }, .data = &h };
    snprintf(path, sizeof path, "%s/bf16.npy", g_dir);
    CHECK(er_npy_write(path, &bf, err, sizeof err) == ER_ERR_UNSUPPORTED, "bf16 write: %s", err);
    CHECK(access(path, F_OK) != 0, "unsupported write left a file");

    float x = 1.0f;
    er_tensor f = { .dtype = ER_F32, .ndim = 0, .data = &x };
    CHECK(er_npy_write("/nonexistent-dir/x.npy", &f, err, sizeof err) == ER_ERR_IO, "write into missing dir: %s", err);

    /* Replacing an existing file leaves only the new content and no temporaries. */
    snprintf(path, sizeof path, "%s/replace.npy", g_dir);
    write_raw(path, "old", 3);
    CHECK(er_npy_write(path, &f, err, sizeof err) == ER_OK, "%s", err);
    CHECK(er_npy_read(path, &t, &owned, err, sizeof err) == ER_OK && *(float *)t.data == 1.0f, "replaced file: %s", err);
    er_aligned_free(owned);
    unlink(path);
    DIR *d = opendir(g_dir);
    int left = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        left += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(left == 0, "%d files left in %s", left, g_dir);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/test_npy_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_numpy_fixtures();
    test_malformed();
    test_truncation_and_corruption();
    test_io_errors();
    rmdir(g_dir);
    printf("test_npy: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
