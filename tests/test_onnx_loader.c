/* ONNX loader against the fixtures written by tools/make_loader_fixtures.py (the expected
 * values below are the ones that script writes), plus malformed input: every prefix of a
 * model, seeded random bytes and mutations, hostile lengths and nesting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/onnx.h"
#include "runtime/model.h"

static int failures, checks;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

#define FIX "tests/fixtures/"

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 16);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

static const er_value *value(const er_graph *g, const char *name)
{
    int id = er_graph_find_value(g, name);
    return id >= 0 ? &g->values[id] : NULL;
}

static const er_const *init(const er_graph *g, const char *name)
{
    const er_value *v = value(g, name);
    return v ? v->init : NULL;
}

static bool dims_are(const int64_t *dims, int ndim, int n, const int64_t *want)
{
    if (ndim != n) return false;
    for (int i = 0; i < n; i++)
        if (dims[i] != want[i]) return false;
    return true;
}

static const er_node *node_named(const er_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return &g->nodes[i];
    return NULL;
}

static void check_io(const er_model *m)
{
    CHECK(er_model_num_inputs(m) == 1, "initializer W listed as input must be dropped, got %d inputs",
          er_model_num_inputs(m));
    er_value_info vi;
    CHECK(er_model_input_info(m, 0, &vi) == ER_OK && strcmp(vi.name, "X") == 0, "input 0 is X");
    CHECK(vi.dtype == ER_F32 && dims_are(vi.dims, vi.ndim, 2, (int64_t[]){ -1, 3 }), "X is float[N,3]");
    CHECK(vi.dim_names[0] && strcmp(vi.dim_names[0], "N") == 0 && !vi.dim_names[1], "X dim names");
    CHECK(er_model_num_outputs(m) == 3, "3 outputs");
    CHECK(er_model_output_info(m, 0, &vi) == ER_OK && strcmp(vi.name, "Y") == 0 &&
          dims_are(vi.dims, vi.ndim, 2, (int64_t[]){ -1, 4 }), "Y is [N,4]");
    CHECK(er_model_output_info(m, 1, &vi) == ER_OK && strcmp(vi.name, "Z") == 0 && vi.ndim == -1 &&
          vi.dtype == ER_F32, "Z has unknown rank, got ndim %d", vi.ndim);
    CHECK(er_model_output_info(m, 2, &vi) == ER_OK && dims_are(vi.dims, vi.ndim, 2, (int64_t[]){ -1, 3 }) &&
          !vi.dim_names[0], "D is [?,3] with an unnamed dim");
    const er_value *xw = value(m->graph, "XW");
    CHECK(xw && xw->dtype == ER_F32 && dims_are(xw->dims, xw->ndim, 2, (int64_t[]){ -1, 4 }) &&
          xw->dim_names[0] && strcmp(xw->dim_names[0], "N") == 0, "value_info XW is float[N,4]");
}

static void check_initializers(const er_graph *g)
{
    const er_const *w = init(g, "W");
    CHECK(w && w->dtype == ER_F32 && dims_are(w->dims, w->ndim, 2, (int64_t[]){ 3, 4 }) && w->nbytes == 48, "W");
    for (int i = 0; w && i < 12; i++) CHECK(((const float *)w->data)[i] == (float)i, "W[%d]", i);
    const er_const *b = init(g, "B");
    const float bw[] = { 0.5f, -1.0f, 2.25f, 3.0f };
    CHECK(b && b->ndim == 1 && b->dims[0] == 4 && memcmp(b->data, bw, sizeof bw) == 0, "B from float_data");
    const er_const *i8 = init(g, "i8");
    const int8_t i8w[] = { -128, -1, 127 };
    CHECK(i8 && i8->dtype == ER_I8 && i8->nbytes == 3 && memcmp(i8->data, i8w, 3) == 0, "int8 from int32_data");
    const er_const *h = init(g, "h");
    CHECK(h && h->dtype == ER_F16 && er_f16_to_f32(((const uint16_t *)h->data)[0]) == 1.5f &&
          er_f16_to_f32(((const uint16_t *)h->data)[1]) == -2.0f, "float16 bits from int32_data");
    const er_const *i64 = init(g, "i64");
    CHECK(i64 && ((const int64_t *)i64->data)[0] == -(INT64_C(1) << 40) && ((const int64_t *)i64->data)[1] == 7,
          "int64_data");
    const er_const *f64 = init(g, "f64");
    CHECK(f64 && f64->dtype == ER_F64 && ((const double *)f64->data)[0] == 3.25, "double_data");
    const er_const *u32 = init(g, "u32");
    CHECK(u32 && u32->dtype == ER_U32 && ((const uint32_t *)u32->data)[0] == 4000000000u &&
          ((const uint32_t *)u32->data)[1] == 1, "uint32 from uint64_data");
    const er_const *fl = init(g, "flags");
    const uint8_t flw[] = { 1, 0, 1 };
    CHECK(fl && fl->dtype == ER_BOOL && memcmp(fl->data, flw, 3) == 0, "bool from int32_data");
    const er_const *sc = init(g, "scalar");
    CHECK(sc && sc->ndim == 0 && sc->dtype == ER_I32 && *(const int32_t *)sc->data == 42, "scalar");
    const er_const *e = init(g, "empty");
    CHECK(e && dims_are(e->dims, e->ndim, 2, (int64_t[]){ 0, 5 }) && e->nbytes == 0 && e->data,
          "empty tensor keeps a non-NULL data pointer");
}

static void check_custom_attrs(const er_node *n)
{
    CHECK(strcmp(n->domain, "test.domain") == 0 && strcmp(n->op_type, "Custom") == 0, "custom node");
    CHECK(er_attr_float(n, "alpha", 0) == 0.5f, "alpha");
    CHECK(er_attr_int(n, "axis", 0) == -2, "axis");
    const er_attr *s = er_node_attr(n, "mode");
    CHECK(s && s->type == ER_ATTR_STRING && strcmp(s->s, "nearest") == 0 && s->s_len == 7, "mode");
    const er_attr *t = er_node_attr(n, "value");
    CHECK(t && t->type == ER_ATTR_TENSOR && t->t->dtype == ER_I64 && t->t->dims[0] == 2 &&
          ((const int64_t *)t->t->data)[0] == 7 && ((const int64_t *)t->t->data)[1] == -9, "tensor attribute");
    int cnt;
    const float *fl = er_attr_floats(n, "scales", &cnt);
    CHECK(cnt == 2 && fl[0] == 1.5f && fl[1] == 2.5f, "floats");
    const int64_t *in = er_attr_ints(n, "pads", &cnt);
    CHECK(cnt == 3 && in[0] == 0 && in[1] == 1 && in[2] == -1, "ints");
    const er_attr *ss = er_node_attr(n, "names");
    CHECK(ss && ss->type == ER_ATTR_STRINGS && ss->n == 2 && strcmp(ss->strings[0], "a") == 0 &&
          strcmp(ss->strings[1], "bc") == 0, "strings");
    const er_attr *tl = er_node_attr(n, "tlist");
    CHECK(tl && tl->type == ER_ATTR_TENSORS && tl->n == 2 && ((const float *)tl->t[0].data)[0] == 9.5f &&
          tl->t[1].dtype == ER_U8 && ((const uint8_t *)tl->t[1].data)[1] == 4, "tensors");
    const er_attr *ni = er_node_attr(n, "noints");
    CHECK(ni && ni->type == ER_ATTR_INTS && ni->n == 0 && ni->ints, "empty ints list stays present");
    const er_attr *body = er_node_attr(n, "body");
    CHECK(body && body->type == ER_ATTR_GRAPH && body->g, "graph attribute");
    if (!body || !body->g) return;
    const er_graph *sg = body->g;
    CHECK(sg->n_nodes == 1 && strcmp(sg->nodes[0].op_type, "Identity") == 0 && sg->n_inputs == 0 &&
          sg->n_outputs == 1, "subgraph structure");
    CHECK(strcmp(sg->values[sg->nodes[0].in[0]].name, "X") == 0, "subgraph refers to outer X by name");
    CHECK(er_graph_opset(sg, "") == 13, "subgraph inherits opsets");
}

static void check_nodes(const er_graph *g)
{
    CHECK(g->n_nodes == 6, "6 nodes, got %d", g->n_nodes);
    CHECK(er_graph_opset(g, "") == 13 && er_graph_opset(g, "test.domain") == 1, "opsets");
    const er_node *mm = node_named(g, "mm");
    CHECK(mm && mm->n_in == 2 && mm->in[0] == er_graph_find_value(g, "X") && mm->in[1] == er_graph_find_value(g, "W") &&
          mm->out[0] == er_graph_find_value(g, "XW") && mm->domain[0] == 0, "MatMul wiring");
    const er_node *clip = node_named(g, "clip");
    CHECK(clip && clip->n_in == 3 && clip->in[1] == -1 && clip->in[2] == er_graph_find_value(g, "maxv"),
          "omitted optional input is -1");
    const er_node *drop = node_named(g, "drop");
    CHECK(drop && drop->n_out == 2 && drop->out[0] >= 0 && drop->out[1] == -1, "omitted optional output is -1");
    const er_node *k = node_named(g, "const");
    const er_attr *kv = k ? er_node_attr(k, "value") : NULL;
    CHECK(kv && kv->type == ER_ATTR_TENSOR && ((const float *)kv->t->data)[1] == 2.0f, "Constant stays a node");
    const er_node *custom = node_named(g, "custom");
    CHECK(custom != NULL, "custom node present");
    if (custom) check_custom_attrs(custom);
}

static void test_basic(void)
{
    er_model *m = NULL;
    er_msg msg;
    er_status st = er_model_load_file(FIX "basic.onnx", &m, &msg);
    CHECK(st == ER_OK, "load basic.onnx: %s", msg.text);
    if (st != ER_OK) return;
    check_io(m);
    check_initializers(m->graph);
    check_nodes(m->graph);
    er_model_free(m);
}

/* raw_data is pointed into when aligned for its type and copied otherwise: of four shifts of
 * the buffer, exactly one puts float W on a 4-byte boundary. */
static void test_zero_copy(void)
{
    size_t size;
    unsigned char *file = read_file(FIX "basic.onnx", &size);
    CHECK(file != NULL, "read basic.onnx");
    if (!file) return;
    unsigned char *buf = malloc(size + 8);
    int in_place = 0;
    for (int shift = 0; shift < 4; shift++) {
        memcpy(buf + shift, file, size);
        er_model *m = NULL;
        er_msg msg;
        er_status st = er_model_load_buffer(buf + shift, size, &m, &msg);
        CHECK(st == ER_OK, "shift %d: %s", shift, msg.text);
        if (st != ER_OK) continue;
        const er_const *w = init(m->graph, "W");
        const unsigned char *p = w->data;
        bool inside = p >= buf + shift && p < buf + shift + size;
        in_place += inside;
        CHECK((uintptr_t)p % 4 == 0, "shift %d: W data is aligned", shift);
        CHECK(((const float *)p)[11] == 11.0f, "shift %d: W values", shift);
        er_model_free(m);
    }
    CHECK(in_place == 1, "W pointed into the buffer at %d of 4 shifts, expected 1", in_place);
    free(buf);
    free(file);
}

static bool within(const void *p, const er_mapped *m)
{
    return (const unsigned char *)p >= (const unsigned char *)m->data &&
           (const unsigned char *)p < (const unsigned char *)m->data + m->size;
}

static void test_external(void)
{
    er_model *m = NULL;
    er_msg msg;
    er_status st = er_model_load_file(FIX "external.onnx", &m, &msg);
    CHECK(st == ER_OK, "load external.onnx: %s", msg.text);
    if (st != ER_OK) return;
    const er_graph *g = m->graph;
    CHECK(g->n_maps == 1 && g->maps[0].size == 64, "one mapped external file shared by three tensors");
    const er_const *ef = init(g, "ef"), *ei = init(g, "ei"), *eu = init(g, "eu");
    const float efw[] = { 1, 2, 3, 4 };
    CHECK(ef && memcmp(ef->data, efw, sizeof efw) == 0, "external float values");
    CHECK(ef && ef->data == (const unsigned char *)g->maps[0].data + 16, "aligned external data is not copied");
    const int64_t eiw[] = { 10, -20, 30 };
    CHECK(ei && memcmp(ei->data, eiw, sizeof eiw) == 0 && !within(ei->data, &g->maps[0]) &&
          (uintptr_t)ei->data % 8 == 0, "misaligned external int64 is copied");
    CHECK(eu && eu->nbytes == 5 && ((const uint8_t *)eu->data)[4] == 5 && within(eu->data, &g->maps[0]),
          "external data without length runs to the end of the file");
    er_model_free(m);
}

static void expect_error(const char *path, er_status want, const char *needle)
{
    er_model *m = NULL;
    er_msg msg;
    msg.text[0] = 0;
    er_status st = er_model_load_file(path, &m, &msg);
    CHECK(st == want && strstr(msg.text, needle) && !m, "%s: want %s with '%s', got %s: %s", path,
          er_status_str(want), needle, er_status_str(st), msg.text);
    er_model_free(m);
}

static void test_bad_files(void)
{
    expect_error(FIX "external_missing.onnx", ER_ERR_IO, "missing_weights.bin");
    expect_error(FIX "external_escape.onnx", ER_ERR_FORMAT, "relative path inside the model's directory");
    expect_error(FIX "external_short.onnx", ER_ERR_FORMAT, "runs past the end of 'external.bin'");
    expect_error(FIX "bad_rawsize.onnx", ER_ERR_FORMAT, "tensor 'W' has 44 bytes of data, its shape [3,4] needs 48");
    expect_error(FIX "deep.onnx", ER_ERR_FORMAT, "nested more than 32 deep");
    expect_error(FIX "refattr.onnx", ER_ERR_FORMAT, "ref_attr_name");
    expect_error(FIX "rank9.onnx", ER_ERR_UNSUPPORTED, "tensor 'Y0' has rank 9; edgerun supports up to 8 dimensions");
    expect_error(FIX "no_such_model.onnx", ER_ERR_IO, "no_such_model.onnx");
}

static er_status load_copy(const unsigned char *data, size_t size, char *msg_out, size_t msg_size)
{
    /* An exact-size heap copy, so AddressSanitizer sees any read past the end. */
    unsigned char *b = malloc(size ? size : 1);
    if (size) memcpy(b, data, size);
    er_model *m = NULL;
    er_msg msg;
    msg.text[0] = 0;
    er_status st = er_model_load_buffer(b, size, &m, &msg);
    if (msg_out) snprintf(msg_out, msg_size, "%s", msg.text);
    er_model_free(m);
    free(b);
    return st;
}

static void test_prefixes(const char *path)
{
    size_t size;
    unsigned char *file = read_file(path, &size);
    CHECK(file != NULL, "read %s", path);
    if (!file) return;
    int bad = 0, truncated = 0;
    for (size_t n = 0; n < size; n++) {
        char msg[1024];
        er_status st = load_copy(file, n, msg, sizeof msg);
        if (st != ER_ERR_FORMAT || !msg[0]) {
            if (bad++ < 5) fprintf(stderr, "%s prefix %zu: %s: %s\n", path, n, er_status_str(st), msg);
        }
        truncated += strstr(msg, "truncated") != NULL;
    }
    CHECK(bad == 0, "%s: %d prefixes did not fail with ER_ERR_FORMAT and a message", path, bad);
    CHECK(truncated > (int)size / 2, "%s: only %d of %zu prefixes reported truncation", path, truncated, size);
    free(file);
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Garbage must never crash or leak; whatever loads must be a usable graph. */
static void test_random(void)
{
    uint32_t seed = 12345;
    unsigned char buf[600];
    int ok = 0;
    for (int it = 0; it < 3000; it++) {
        size_t n = 1 + xorshift(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)xorshift(&seed);
        ok += load_copy(buf, n, NULL, 0) == ER_OK;
    }
    CHECK(ok == 0, "%d random buffers loaded as models", ok);
    size_t size;
    unsigned char *file = read_file(FIX "basic.onnx", &size);
    if (!file) return;
    unsigned char *mut = malloc(size);
    for (int it = 0; it < 3000; it++) {
        memcpy(mut, file, size);
        int flips = 1 + (int)(xorshift(&seed) % 4);
        for (int k = 0; k < flips; k++) mut[xorshift(&seed) % size] = (unsigned char)xorshift(&seed);
        load_copy(mut, size, NULL, 0);
    }
    free(mut);
    free(file);
}

static void expect_buffer(const unsigned char *data, size_t size, const char *needle)
{
    char msg[1024];
    er_status st = load_copy(data, size, msg, sizeof msg);
    CHECK(st == ER_ERR_FORMAT && strstr(msg, needle), "want '%s', got %s: %s", needle, er_status_str(st), msg);
}

static void test_hostile(void)
{
    expect_buffer(NULL, 0, "empty");
    /* graph (field 7) claiming a 4 GiB payload */
    const unsigned char huge[] = { 0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00 };
    expect_buffer(huge, sizeof huge, "truncated field 7 of ModelProto at offset 2");
    const unsigned char overlong[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    expect_buffer(overlong, sizeof overlong, "truncated field 1 of ModelProto at offset 0");
    const unsigned char group[] = { 0x0b, 0x0c };
    expect_buffer(group, sizeof group, "unsupported wire type 3");
    /* ir_version 8, opset_import { version 13 }, graph { node { input: 5 bytes claimed, 0 present } } */
    const unsigned char node[] = { 0x08, 0x08, 0x42, 0x02, 0x10, 0x0d, 0x3a, 0x04, 0x0a, 0x02, 0x0a, 0x05 };
    expect_buffer(node, sizeof node, "truncated field 1 of NodeProto at offset 10");
    const unsigned char no_ir[] = { 0x3a, 0x00 };
    expect_buffer(no_ir, sizeof no_ir, "not an ONNX model");
}

static void test_tensor_pb(void)
{
    size_t size;
    unsigned char *file = read_file(FIX "tensor_f16.pb", &size);
    CHECK(file != NULL, "read tensor_f16.pb");
    if (!file) return;
    er_const t;
    char *name = NULL, err[256];
    void *owned = NULL;
    er_status st = er_onnx_parse_tensor(file, size, &t, &name, &owned, err, sizeof err);
    CHECK(st == ER_OK, "parse tensor: %s", err);
    if (st == ER_OK) {
        CHECK(name && strcmp(name, "half") == 0, "tensor name");
        CHECK(t.dtype == ER_F16 && dims_are(t.dims, t.ndim, 2, (int64_t[]){ 2, 1 }) && t.data == owned, "tensor header");
        CHECK(er_f16_to_f32(((const uint16_t *)t.data)[0]) == 0.25f &&
              er_f16_to_f32(((const uint16_t *)t.data)[1]) == -3.5f, "tensor values");
    }
    free(name);
    free(owned);
    for (size_t n = 0; n < size; n++) {
        unsigned char *b = malloc(n ? n : 1);
        memcpy(b, file, n);
        owned = NULL;
        name = NULL;
        st = er_onnx_parse_tensor(b, n, &t, &name, &owned, err, sizeof err);
        /* Prefixes that end on a field boundary are valid, smaller tensors; the rest fail. */
        CHECK(st == ER_OK || st == ER_ERR_FORMAT, "tensor prefix %zu: %s", n, er_status_str(st));
        free(name);
        free(owned);
        free(b);
    }
    free(file);
}

int main(void)
{
    test_basic();
    test_zero_copy();
    test_external();
    test_bad_files();
    test_prefixes(FIX "basic.onnx");
    test_prefixes(FIX "external.onnx");
    test_random();
    test_hostile();
    test_tensor_pb();
    printf("test_onnx_loader: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
