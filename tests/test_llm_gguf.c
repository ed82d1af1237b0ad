/* GGUF reader: every metadata type round-trips; truncated, corrupt and unsupported files fail
 * with a message and never crash; model loading names missing metadata and tensors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/model.h"
#include "llm_fixture.h"
#include "check.h"

static uint8_t *all_types_file(size_t *size)
{
    fx_file f = {0};
    uint8_t u8 = 200;
    int8_t i8 = -5;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    int32_t i32 = -123456;
    uint64_t u64 = 1ull << 40;
    int64_t i64 = -(1ll << 40);
    double f64 = 2.5;
    fx_key(&f, "t.u8", ER_GGUF_U8), fx_put(&f.kv, &u8, 1);
    fx_key(&f, "t.i8", ER_GGUF_I8), fx_put(&f.kv, &i8, 1);
    fx_key(&f, "t.u16", ER_GGUF_U16), fx_put(&f.kv, &u16, 2);
    fx_key(&f, "t.i16", ER_GGUF_I16), fx_put(&f.kv, &i16, 2);
    fx_kv_u32(&f, "t.u32", 4000000000u);
    fx_key(&f, "t.i32", ER_GGUF_I32), fx_put(&f.kv, &i32, 4);
    fx_kv_f32(&f, "t.f32", 0.25f);
    fx_kv_bool(&f, "t.bool", 1);
    fx_kv_str(&f, "t.str", "héllo");
    fx_key(&f, "t.u64", ER_GGUF_U64), fx_put(&f.kv, &u64, 8);
    fx_key(&f, "t.i64", ER_GGUF_I64), fx_put(&f.kv, &i64, 8);
    fx_key(&f, "t.f64", ER_GGUF_F64), fx_put(&f.kv, &f64, 8);
    const char *strs[] = {"a", "", "ccc"};
    fx_kv_strs(&f, "t.strs", strs, 3);
    float fl[] = {1, 2, 3, 4};
    fx_kv_arr(&f, "t.f32s", ER_GGUF_F32, fl, 4);
    float data[64];
    for (int i = 0; i < 64; i++) data[i] = (float)i * 0.5f - 7;
    fx_tensor_f(&f, "w.f32", 2, 32, 2, ER_Q_F32, data);
    fx_tensor_f(&f, "w.q8", 2, 32, 2, ER_Q_Q8_0, data);
    fx_tensor_f(&f, "w.f16", 1, 64, 1, ER_Q_F16, data);
    return fx_finish(&f, size);
}

static void test_types(void)
{
    size_t n;
    uint8_t *p = all_types_file(&n);
    char err[256];
    er_gguf *g;
    CHECK(er_gguf_parse(p, n, &g, err, sizeof err) == ER_OK, "parse: %s", err);
    if (!g) return;
    int64_t iv;
    double dv;
    bool bv;
    er_gguf_str sv;
    CHECK(er_gguf_get_int(g, "t.u8", &iv) && iv == 200, "u8");
    CHECK(er_gguf_get_int(g, "t.i8", &iv) && iv == -5, "i8");
    CHECK(er_gguf_get_int(g, "t.u16", &iv) && iv == 60000, "u16");
    CHECK(er_gguf_get_int(g, "t.i16", &iv) && iv == -30000, "i16");
    CHECK(er_gguf_get_int(g, "t.u32", &iv) && iv == 4000000000ll, "u32");
    CHECK(er_gguf_get_int(g, "t.i32", &iv) && iv == -123456, "i32");
    CHECK(er_gguf_get_int(g, "t.u64", &iv) && iv == 1ll << 40, "u64");
    CHECK(er_gguf_get_int(g, "t.i64", &iv) && iv == -(1ll << 40), "i64");
    CHECK(!er_gguf_get_int(g, "t.f32", &iv), "float read as int");
    CHECK(er_gguf_get_float(g, "t.f32", &dv) && dv == 0.25, "f32");
    CHECK(er_gguf_get_float(g, "t.f64", &dv) && dv == 2.5, "f64");
    CHECK(er_gguf_get_bool(g, "t.bool", &bv) && bv, "bool");
    CHECK(er_gguf_get_str(g, "t.str", &sv) && er_gguf_str_eq(sv, "héllo"), "str");
    CHECK(!er_gguf_get_str(g, "missing", &sv), "missing key");
    const er_gguf_kv *kv = er_gguf_find(g, "t.strs");
    er_gguf_str s3[3];
    CHECK(kv && kv->arr_n == 3 && er_gguf_arr_strs(kv, s3) && er_gguf_str_eq(s3[2], "ccc") && s3[1].n == 0, "strs");
    kv = er_gguf_find(g, "t.f32s");
    CHECK(kv && er_gguf_arr_f64(kv, 3, &dv) && dv == 4 && !er_gguf_arr_f64(kv, 4, &dv), "f32 array");
    const er_gguf_tensor *t = er_gguf_find_tensor(g, "w.q8");
    CHECK(t && t->type == ER_Q_Q8_0 && t->ne[0] == 32 && t->ne[1] == 2 && t->nbytes == 68, "q8 tensor info");
    t = er_gguf_find_tensor(g, "w.f32");
    CHECK(t && ((const float *)t->data)[63] == 63 * 0.5f - 7 && ((uintptr_t)t->data - (uintptr_t)p) % 32 == 0,
          "f32 tensor data is zero-copy and aligned");
    t = er_gguf_find_tensor(g, "w.f16");
    CHECK(t && er_f16_to_f32(((const uint16_t *)t->data)[3]) == -5.5f, "f16 tensor");
    er_gguf_free(g);
    free(p);
}

static void test_truncated(void)
{
    size_t n;
    uint8_t *p = all_types_file(&n);
    char err[256];
    int ok = 0;
    for (size_t len = 0; len < n; len++) {
        /* a fresh heap copy so AddressSanitizer sees any read past the given length */
        uint8_t *c = malloc(len ? len : 1);
        memcpy(c, p, len);
        er_gguf *g = NULL;
        err[0] = 0;
        er_status st = er_gguf_parse(c, len, &g, err, sizeof err);
        if (st == ER_OK) ok++;
        else CHECK(err[0] != 0 && g == NULL, "truncated at %zu: no message", len);
        er_gguf_free(g);
        free(c);
    }
    /* only the trailing padding after the last tensor may be cut without harm */
    CHECK(ok == 0, "%d truncated files parsed", ok);
    free(p);
}

static void expect_fail(const uint8_t *p, size_t n, er_status want, const char *needle, const char *what)
{
    char err[256] = "";
    er_gguf *g = NULL;
    er_status st = er_gguf_parse(p, n, &g, err, sizeof err);
    CHECK(st == want && strstr(err, needle), "%s: status %d message '%s' (want %d, '%s')", what, st, err, want, needle);
    er_gguf_free(g);
}

static void test_corrupt(void)
{
    size_t n;
    uint8_t *p = all_types_file(&n);
    uint8_t *c = malloc(n);
    memcpy(c, p, n), c[0] = 'X';
    expect_fail(c, n, ER_ERR_FORMAT, "magic", "bad magic");
    memcpy(c, p, n), c[4] = 9;
    expect_fail(c, n, ER_ERR_UNSUPPORTED, "version", "bad version");
    memcpy(c, p, n), memset(c + 8, 0xff, 8);
    expect_fail(c, n, ER_ERR_FORMAT, "implausible", "huge tensor count");
    /* first key's type field: after magic, version, counts (24 bytes) and the key "t.u8" */
    memcpy(c, p, n), c[24 + 8 + 4] = 77;
    expect_fail(c, n, ER_ERR_FORMAT, "unknown value type", "bad value type");
    /* string length running past the end */
    memcpy(c, p, n), memset(c + 24, 0x7f, 8);
    expect_fail(c, n, ER_ERR_FORMAT, "truncated", "huge key length");
    free(c);
    free(p);
    /* an unsupported tensor type (q4_1) is named */
    fx_file f = {0};
    float z[32] = {0};
    fx_tensor_f(&f, "w", 1, 32, 1, ER_Q_F32, z);
    f.t[0].type = 3;
    p = fx_finish(&f, &n);
    expect_fail(p, n, ER_ERR_UNSUPPORTED, "q4_1", "unsupported tensor type");
    free(p);
    fx_file f2 = {0};
    fx_tensor_f(&f2, "w", 1, 32, 1, ER_Q_F32, z);
    f2.t[0].type = 99;
    p = fx_finish(&f2, &n);
    expect_fail(p, n, ER_ERR_UNSUPPORTED, "unknown", "unknown tensor type");
    free(p);
}

static void expect_model_fail(uint8_t *p, size_t n, er_status want, const char *needle, const char *what)
{
    char err[256] = "";
    er_gguf *g = NULL;
    er_llm_model *m = NULL;
    er_status st = er_gguf_parse(p, n, &g, err, sizeof err);
    if (st == ER_OK) st = er_llm_model_load(g, &m, err, sizeof err);
    CHECK(st == want && strstr(err, needle), "%s: status %d message '%s'", what, st, err);
    er_llm_model_free(m);
    free(p);
}

static void test_model_errors(void)
{
    fx_model_opts o = {ER_Q_F32, 32, 1, 2, 1, 64, 300, 64, 1};
    size_t n;
    uint8_t *p = fx_model(&o, &n);
    char err[256];
    er_gguf *g;
    er_llm_model *m = NULL;
    CHECK(er_gguf_parse(p, n, &g, err, sizeof err) == ER_OK && er_llm_model_load(g, &m, err, sizeof err) == ER_OK,
          "fixture model: %s", err);
    er_llm_model_free(m);
    /* rename keys in place (same length) to make them disappear */
    uint8_t *c = malloc(n);
    memcpy(c, p, n);
    char *k = memmem(c, n, "llama.block_count", 17);
    if (k) k[0] = 'X';
    expect_model_fail(c, n, ER_ERR_FORMAT, "llama.block_count", "missing block_count");
    c = malloc(n);
    memcpy(c, p, n);
    k = memmem(c, n, "blk.0.ffn_up.weight", 19);
    if (k) k[4] = 'X';
    expect_model_fail(c, n, ER_ERR_FORMAT, "blk.0.ffn_up.weight", "missing tensor");
    c = malloc(n);
    memcpy(c, p, n);
    k = memmem(c + 24, n - 24, "llama", 5);   /* the value of general.architecture */
    if (k) memcpy(k, "gptj!", 5);
    expect_model_fail(c, n, ER_ERR_UNSUPPORTED, "architecture", "unknown architecture");
    free(p);
}

int main(void)
{
    test_types();
    test_truncated();
    test_corrupt();
    test_model_errors();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
