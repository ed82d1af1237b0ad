/* Unit tests for the tensor-manipulation reference kernels (ops_tensor.c). Expected values
 * are worked out by hand from the ONNX operator specification (several are the spec's own
 * examples), so every case fails on a wrong index, order or clamp. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/op.h"
#include "runtime/model.h"

static int failures;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (!(cond)) {                                                \
            failures++;                                               \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                             \
            fputc('\n', stderr);                                      \
        }                                                             \
    } while (0)

/* ---- a tiny harness: one node, hand-built tensors, infer + allocate + run ---- */

typedef struct {
    er_node node;
    er_attr attrs[8];
    char err[512];
    void *bufs[4];
} harness;

static void h_init(harness *h, const char *op)
{
    memset(h, 0, sizeof *h);
    h->node.name = "n";
    h->node.op_type = op;
    h->node.domain = "";
    h->node.attrs = h->attrs;
}

static void h_free(harness *h)
{
    for (int i = 0; i < 4; i++) er_aligned_free(h->bufs[i]);
}

static er_attr *h_attr(harness *h, const char *name, er_attr_type type)
{
    er_attr *a = &h->attrs[h->node.n_attrs++];
    a->name = name;
    a->type = type;
    return a;
}

static void attr_i(harness *h, const char *name, int64_t v) { h_attr(h, name, ER_ATTR_INT)->i = v; }
static void attr_f(harness *h, const char *name, float v) { h_attr(h, name, ER_ATTR_FLOAT)->f = v; }

static void attr_s(harness *h, const char *name, const char *s)
{
    er_attr *a = h_attr(h, name, ER_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}

static void attr_is(harness *h, const char *name, const int64_t *v, int n)
{
    er_attr *a = h_attr(h, name, ER_ATTR_INTS);
    a->ints = v;
    a->n = n;
}

static er_tensor tensor(er_dtype dt, int nd, const int64_t *dims, const void *data)
{
    er_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = nd;
    for (int i = 0; i < nd; i++) t.dims[i] = dims[i];
    t.data = (void *)data;
    return t;
}

/* Runs infer; on success allocates each output and runs the kernel. */
static er_status h_run(harness *h, int64_t opset, er_tensor **in, int n_in, er_tensor *outs, int n_out)
{
    const er_op *op = er_op_find("", h->node.op_type);
    if (!op) {
        fprintf(stderr, "op %s is not registered\n", h->node.op_type);
        return ER_ERR_UNSUPPORTED;
    }
    er_tensor *out[4];
    for (int k = 0; k < n_out; k++) {
        memset(&outs[k], 0, sizeof outs[k]);
        out[k] = &outs[k];
    }
    h->node.n_in = n_in;
    h->node.n_out = n_out;
    er_kctx ctx = { .node = &h->node, .opset = opset, .err = h->err, .err_size = sizeof h->err };
    er_status st = op->infer(&ctx, in, n_in, out, n_out);
    if (st != ER_OK) return st;
    void *ws = ctx.workspace_bytes ? er_aligned_alloc(ctx.workspace_bytes) : NULL;
    for (int k = 0; k < n_out; k++) {
        h->bufs[k] = er_aligned_alloc(er_tensor_nbytes(out[k]) + 1);
        outs[k].data = h->bufs[k];
    }
    st = op->run(&ctx, in, n_in, out, n_out);
    er_aligned_free(ws);
    return st;
}

static bool shape_is(const er_tensor *t, int nd, const int64_t *dims)
{
    return er_shape_equal(t->dims, t->ndim, dims, nd);
}

static void expect_f32(const char *what, const er_tensor *t, const float *want, int64_t n)
{
    CHECK(er_tensor_numel(t) == n, "%s: %lld elements, expected %lld", what, (long long)er_tensor_numel(t), (long long)n);
    for (int64_t i = 0; i < n && i < er_tensor_numel(t); i++) {
        float got = ((const float *)t->data)[i];
        CHECK(got == want[i], "%s[%lld] = %g, expected %g", what, (long long)i, got, want[i]);
    }
}

static void expect_i64(const char *what, const er_tensor *t, const int64_t *want, int64_t n)
{
    CHECK(er_tensor_numel(t) == n, "%s: %lld elements, expected %lld", what, (long long)er_tensor_numel(t), (long long)n);
    for (int64_t i = 0; i < n && i < er_tensor_numel(t); i++) {
        int64_t got = er_get_i64(t->data, t->dtype, i);
        CHECK(got == want[i], "%s[%lld] = %lld, expected %lld", what, (long long)i, (long long)got, (long long)want[i]);
    }
}

static float seq_f32[64];

/* ---- tests ---- */

static void test_reshape(void)
{
    harness h;
    er_tensor o;
    int64_t xd[3] = { 2, 3, 4 }, sd[1] = { 2 }, shape[2] = { 0, -1 };
    er_tensor x = tensor(ER_F32, 3, xd, seq_f32), s = tensor(ER_I64, 1, sd, shape);
    er_tensor *in[2] = { &x, &s };
    h_init(&h, "Reshape");
    CHECK(h_run(&h, 14, in, 2, &o, 1) == ER_OK, "reshape: %s", h.err);
    CHECK(shape_is(&o, 2, (int64_t[]){ 2, 12 }), "reshape [0,-1] of [2,3,4] should be [2,12]");
    CHECK(((float *)o.data)[13] == 13.0f, "reshape keeps element order");
    h_free(&h);

    s.data = NULL;
    h_init(&h, "Reshape");
    CHECK(h_run(&h, 14, in, 2, &o, 1) == ER_DYNAMIC, "unknown shape must give ER_DYNAMIC");

    int64_t bad[2] = { 5, -1 };
    s.data = bad;
    h_init(&h, "Reshape");
    CHECK(h_run(&h, 14, in, 2, &o, 1) == ER_ERR_SHAPE, "24 elements do not split into 5 rows");
    CHECK(strstr(h.err, "Reshape 'n'") != NULL, "message names the node: %s", h.err);

    /* allowzero keeps a literal 0, so an empty input may take shape [0, 4]. */
    int64_t ed[2] = { 0, 2 }, zs[2] = { 0, 4 };
    er_tensor e = tensor(ER_F32, 2, ed, NULL);
    s.data = zs;
    in[0] = &e;
    h_init(&h, "Reshape");
    attr_i(&h, "allowzero", 1);
    CHECK(h_run(&h, 14, in, 2, &o, 1) == ER_OK && shape_is(&o, 2, zs), "allowzero reshape: %s", h.err);
    h_free(&h);
}

static void test_slice(void)
{
    harness h;
    er_tensor o;
    int64_t d1[1] = { 10 }, one[1] = { 1 };
    int64_t st[1] = { -1 }, en[1] = { INT64_MIN }, sp[1] = { -3 };
    er_tensor x = tensor(ER_F32, 1, d1, seq_f32), s = tensor(ER_I64, 1, one, st), e = tensor(ER_I64, 1, one, en);
    er_tensor ax = tensor(ER_I64, 1, one, (int64_t[]){ 0 }), stp = tensor(ER_I64, 1, one, sp);
    er_tensor *in[5] = { &x, &s, &e, &ax, &stp };
    h_init(&h, "Slice");
    CHECK(h_run(&h, 13, in, 5, &o, 1) == ER_OK, "slice: %s", h.err);
    expect_f32("slice step -3", &o, (float[]){ 9, 6, 3, 0 }, 4);
    h_free(&h);

    /* 3x4 matrix: every other row from 0, columns [1, 3); INT64_MAX clamps to the end. */
    int64_t d2[2] = { 3, 4 }, two[1] = { 2 };
    int64_t en2[2] = { INT64_MAX, 3 }, ax2[2] = { 0, -1 }, sp2[2] = { 2, 1 };
    x = tensor(ER_F32, 2, d2, seq_f32);
    s = tensor(ER_I32, 1, two, (int32_t[]){ 0, 1 });
    e = tensor(ER_I64, 1, two, en2);
    ax = tensor(ER_I64, 1, two, ax2);
    stp = tensor(ER_I64, 1, two, sp2);
    h_init(&h, "Slice");
    CHECK(h_run(&h, 13, in, 5, &o, 1) == ER_OK, "slice 2-D: %s", h.err);
    CHECK(shape_is(&o, 2, (int64_t[]){ 2, 2 }), "slice 2-D shape");
    expect_f32("slice 2-D", &o, (float[]){ 1, 2, 9, 10 }, 4);
    h_free(&h);

    /* Starts past the end give an empty axis, not an error. */
    s = tensor(ER_I64, 1, one, (int64_t[]){ 20 });
    e = tensor(ER_I64, 1, one, (int64_t[]){ 30 });
    x = tensor(ER_F32, 1, d1, seq_f32);
    h_init(&h, "Slice");
    CHECK(h_run(&h, 13, in, 3, &o, 1) == ER_OK && shape_is(&o, 1, (int64_t[]){ 0 }), "slice past end is empty");
    h_free(&h);

    /* Opset 1 takes attributes. */
    int64_t as[1] = { 1 }, ae[1] = { -1 };
    h_init(&h, "Slice");
    attr_is(&h, "starts", as, 1);
    attr_is(&h, "ends", ae, 1);
    attr_is(&h, "axes", (int64_t[]){ 1 }, 1);
    x = tensor(ER_F32, 2, d2, seq_f32);
    CHECK(h_run(&h, 1, in, 1, &o, 1) == ER_OK, "slice opset 1: %s", h.err);
    expect_f32("slice opset 1", &o, (float[]){ 1, 2, 5, 6, 9, 10 }, 6);
    h_free(&h);

    s.data = NULL;
    h_init(&h, "Slice");
    CHECK(h_run(&h, 13, in, 3, &o, 1) == ER_DYNAMIC, "unknown starts give ER_DYNAMIC");
}

static void test_concat_split(void)
{
    harness h;
    er_tensor o[3];
    int64_t d2[1] = { 2 }, d1[1] = { 1 };
    er_tensor a = tensor(ER_I64, 1, d2, (int64_t[]){ 7, -1 }), b = tensor(ER_I64, 1, d1, (int64_t[]){ 5 });
    er_tensor *in[2] = { &a, &b };
    h_init(&h, "Concat");
    attr_i(&h, "axis", 0);
    CHECK(h_run(&h, 13, in, 2, o, 1) == ER_OK, "concat: %s", h.err);
    expect_i64("concat", &o[0], (int64_t[]){ 7, -1, 5 }, 3);
    h_free(&h);

    /* f16 along axis 1: [[1],[2]] ++ [[3,4],[5,6]]. */
    uint16_t x1[2] = { 1, 2 }, x2[4] = { 3, 4, 5, 6 };
    a = tensor(ER_F16, 2, (int64_t[]){ 2, 1 }, x1);
    b = tensor(ER_F16, 2, (int64_t[]){ 2, 2 }, x2);
    h_init(&h, "Concat");
    attr_i(&h, "axis", -1);
    CHECK(h_run(&h, 13, in, 2, o, 1) == ER_OK && shape_is(&o[0], 2, (int64_t[]){ 2, 3 }), "concat f16: %s", h.err);
    const uint16_t *r = o[0].data, want[6] = { 1, 3, 4, 2, 5, 6 };
    for (int i = 0; i < 6; i++) CHECK(r[i] == want[i], "concat f16 [%d] = %u, expected %u", i, r[i], want[i]);
    h_free(&h);

    b = tensor(ER_F16, 2, (int64_t[]){ 3, 2 }, NULL);
    h_init(&h, "Concat");
    attr_i(&h, "axis", 1);
    CHECK(h_run(&h, 13, in, 2, o, 1) == ER_ERR_SHAPE, "mismatched rows must fail");

    /* Opset 18: 5 elements into 3 outputs of ceil(5/3) = 2, the last smaller. */
    er_tensor x = tensor(ER_F32, 1, (int64_t[]){ 5 }, seq_f32);
    er_tensor *sin[2] = { &x, NULL };
    h_init(&h, "Split");
    attr_i(&h, "num_outputs", 3);
    CHECK(h_run(&h, 18, sin, 1, o, 3) == ER_OK, "split uneven: %s", h.err);
    expect_f32("split 0", &o[0], (float[]){ 0, 1 }, 2);
    expect_f32("split 1", &o[1], (float[]){ 2, 3 }, 2);
    expect_f32("split 2", &o[2], (float[]){ 4 }, 1);
    h_free(&h);

    /* Opset 13: sizes as input, split along axis 1 of a 2x5. */
    x = tensor(ER_F32, 2, (int64_t[]){ 2, 5 }, seq_f32);
    er_tensor sz = tensor(ER_I64, 1, d2, (int64_t[]){ 1, 4 });
    sin[1] = &sz;
    h_init(&h, "Split");
    attr_i(&h, "axis", 1);
    CHECK(h_run(&h, 13, sin, 2, o, 2) == ER_OK, "split sizes: %s", h.err);
    expect_f32("split a", &o[0], (float[]){ 0, 5 }, 2);
    expect_f32("split b", &o[1], (float[]){ 1, 2, 3, 4, 6, 7, 8, 9 }, 8);
    h_free(&h);

    sz = tensor(ER_I64, 1, d2, (int64_t[]){ 2, 4 });
    h_init(&h, "Split");
    attr_i(&h, "axis", 1);
    CHECK(h_run(&h, 13, sin, 2, o, 2) == ER_ERR_SHAPE, "sizes that do not add up must fail");
}

static void test_gather(void)
{
    harness h;
    er_tensor o;
    er_tensor x = tensor(ER_F32, 2, (int64_t[]){ 3, 2 }, seq_f32);
    er_tensor idx = tensor(ER_I64, 1, (int64_t[]){ 2 }, (int64_t[]){ -1, 0 });
    er_tensor *in[2] = { &x, &idx };
    h_init(&h, "Gather");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK, "gather: %s", h.err);
    expect_f32("gather negative", &o, (float[]){ 4, 5, 0, 1 }, 4);
    h_free(&h);

    /* A scalar index on axis 1 removes that axis. */
    idx = tensor(ER_I32, 0, NULL, (int32_t[]){ 1 });
    h_init(&h, "Gather");
    attr_i(&h, "axis", 1);
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK && shape_is(&o, 1, (int64_t[]){ 3 }), "gather scalar: %s", h.err);
    expect_f32("gather scalar", &o, (float[]){ 1, 3, 5 }, 3);
    h_free(&h);

    idx = tensor(ER_I64, 1, (int64_t[]){ 1 }, (int64_t[]){ 3 });
    h_init(&h, "Gather");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_ERR_INVALID_ARG, "index 3 of 3 rows must fail");
    h_free(&h);

    /* GatherElements, the spec's example. */
    x = tensor(ER_I32, 2, (int64_t[]){ 2, 2 }, (int32_t[]){ 1, 2, 3, 4 });
    idx = tensor(ER_I64, 2, (int64_t[]){ 2, 2 }, (int64_t[]){ 0, 0, 1, 0 });
    h_init(&h, "GatherElements");
    attr_i(&h, "axis", 1);
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK, "gather elements: %s", h.err);
    expect_i64("gather elements", &o, (int64_t[]){ 1, 1, 4, 3 }, 4);
    h_free(&h);

    /* GatherND: plain, then batch_dims = 1 (spec examples 1 and 5). */
    x = tensor(ER_I32, 2, (int64_t[]){ 2, 2 }, (int32_t[]){ 0, 1, 2, 3 });
    idx = tensor(ER_I64, 2, (int64_t[]){ 2, 2 }, (int64_t[]){ 0, 0, 1, 1 });
    h_init(&h, "GatherND");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK, "gather nd: %s", h.err);
    expect_i64("gather nd", &o, (int64_t[]){ 0, 3 }, 2);
    h_free(&h);

    x = tensor(ER_I32, 3, (int64_t[]){ 2, 2, 2 }, (int32_t[]){ 0, 1, 2, 3, 4, 5, 6, 7 });
    idx = tensor(ER_I64, 2, (int64_t[]){ 2, 1 }, (int64_t[]){ 1, 0 });
    h_init(&h, "GatherND");
    attr_i(&h, "batch_dims", 1);
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 2, 2 }), "gather nd batch: %s", h.err);
    expect_i64("gather nd batch", &o, (int64_t[]){ 2, 3, 4, 5 }, 4);
    h_free(&h);
}

static void test_scatter(void)
{
    harness h;
    er_tensor o;
    er_tensor x = tensor(ER_F32, 2, (int64_t[]){ 1, 5 }, (float[]){ 1, 2, 3, 4, 5 });
    er_tensor idx = tensor(ER_I64, 2, (int64_t[]){ 1, 2 }, (int64_t[]){ 1, -4 });
    er_tensor up = tensor(ER_F32, 2, (int64_t[]){ 1, 2 }, (float[]){ 1.5f, 2.25f });
    er_tensor *in[3] = { &x, &idx, &up };
    h_init(&h, "ScatterElements");
    attr_i(&h, "axis", 1);
    attr_s(&h, "reduction", "add");
    CHECK(h_run(&h, 16, in, 3, &o, 1) == ER_OK, "scatter elements: %s", h.err);
    expect_f32("scatter add duplicates", &o, (float[]){ 1, 5.75f, 3, 4, 5 }, 5);
    h_free(&h);

    /* ScatterND, the spec's example, then mul on repeated indices. */
    x = tensor(ER_I64, 1, (int64_t[]){ 8 }, (int64_t[]){ 1, 2, 3, 4, 5, 6, 7, 8 });
    idx = tensor(ER_I64, 2, (int64_t[]){ 4, 1 }, (int64_t[]){ 4, 3, 1, 7 });
    up = tensor(ER_I64, 1, (int64_t[]){ 4 }, (int64_t[]){ 9, 10, 11, 12 });
    h_init(&h, "ScatterND");
    CHECK(h_run(&h, 13, in, 3, &o, 1) == ER_OK, "scatter nd: %s", h.err);
    expect_i64("scatter nd", &o, (int64_t[]){ 1, 11, 3, 10, 9, 6, 7, 12 }, 8);
    h_free(&h);

    idx = tensor(ER_I64, 2, (int64_t[]){ 4, 1 }, (int64_t[]){ 2, 2, -1, 0 });
    h_init(&h, "ScatterND");
    attr_s(&h, "reduction", "mul");
    CHECK(h_run(&h, 16, in, 3, &o, 1) == ER_OK, "scatter nd mul: %s", h.err);
    expect_i64("scatter nd mul", &o, (int64_t[]){ 12, 2, 270, 4, 5, 6, 7, 88 }, 8);
    h_free(&h);
}

static void test_layout(void)
{
    harness h;
    er_tensor o;
    er_tensor x = tensor(ER_F32, 2, (int64_t[]){ 2, 3 }, seq_f32);
    er_tensor *in[2] = { &x, NULL };
    h_init(&h, "Transpose");
    CHECK(h_run(&h, 13, in, 1, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 3, 2 }), "transpose: %s", h.err);
    expect_f32("transpose", &o, (float[]){ 0, 3, 1, 4, 2, 5 }, 6);
    h_free(&h);

    x = tensor(ER_F32, 3, (int64_t[]){ 2, 2, 2 }, seq_f32);
    h_init(&h, "Transpose");
    attr_is(&h, "perm", (int64_t[]){ 1, 2, 0 }, 3);
    CHECK(h_run(&h, 13, in, 1, &o, 1) == ER_OK, "transpose perm: %s", h.err);
    expect_f32("transpose 1,2,0", &o, (float[]){ 0, 4, 1, 5, 2, 6, 3, 7 }, 8);
    h_free(&h);

    /* Unsqueeze with axes as input (opset 13) and as attribute (opset 11). */
    x = tensor(ER_F32, 1, (int64_t[]){ 3 }, seq_f32);
    er_tensor axes = tensor(ER_I64, 1, (int64_t[]){ 2 }, (int64_t[]){ 0, -1 });
    in[1] = &axes;
    h_init(&h, "Unsqueeze");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK && shape_is(&o, 3, (int64_t[]){ 1, 3, 1 }), "unsqueeze: %s", h.err);
    h_free(&h);
    h_init(&h, "Unsqueeze");
    attr_is(&h, "axes", (int64_t[]){ 1 }, 1);
    CHECK(h_run(&h, 11, in, 1, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 3, 1 }), "unsqueeze attr: %s", h.err);
    h_free(&h);

    x = tensor(ER_F32, 4, (int64_t[]){ 1, 3, 1, 2 }, seq_f32);
    h_init(&h, "Squeeze");
    CHECK(h_run(&h, 13, in, 1, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 3, 2 }), "squeeze all: %s", h.err);
    h_free(&h);
    axes = tensor(ER_I64, 1, (int64_t[]){ 1 }, (int64_t[]){ -2 });
    h_init(&h, "Squeeze");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK && shape_is(&o, 3, (int64_t[]){ 1, 3, 2 }), "squeeze axis -2: %s", h.err);
    h_free(&h);
    axes = tensor(ER_I64, 1, (int64_t[]){ 1 }, (int64_t[]){ 1 });
    h_init(&h, "Squeeze");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_ERR_SHAPE, "squeezing a size-3 axis must fail");

    h_init(&h, "Flatten");
    attr_i(&h, "axis", -1);
    CHECK(h_run(&h, 13, in, 1, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 3, 2 }), "flatten -1: %s", h.err);
    h_free(&h);

    /* Shape with start/end (opset 15), Size. */
    x = tensor(ER_F32, 4, (int64_t[]){ 2, 3, 4, 5 }, NULL);
    h_init(&h, "Shape");
    attr_i(&h, "start", 1);
    attr_i(&h, "end", -1);
    CHECK(h_run(&h, 15, in, 1, &o, 1) == ER_OK, "shape: %s", h.err);
    expect_i64("shape 1:-1", &o, (int64_t[]){ 3, 4 }, 2);
    h_free(&h);
    h_init(&h, "Size");
    CHECK(h_run(&h, 13, in, 1, &o, 1) == ER_OK && o.ndim == 0, "size: %s", h.err);
    expect_i64("size", &o, (int64_t[]){ 120 }, 1);
    h_free(&h);
}

static void test_expand_tile_pad(void)
{
    harness h;
    er_tensor o;
    er_tensor x = tensor(ER_F32, 2, (int64_t[]){ 3, 1 }, (float[]){ 1, 2, 3 });
    er_tensor s = tensor(ER_I64, 1, (int64_t[]){ 3 }, (int64_t[]){ 2, 1, 2 });
    er_tensor *in[3] = { &x, &s, NULL };
    h_init(&h, "Expand");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK && shape_is(&o, 3, (int64_t[]){ 2, 3, 2 }), "expand: %s", h.err);
    expect_f32("expand", &o, (float[]){ 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3 }, 12);
    h_free(&h);

    x = tensor(ER_U8, 2, (int64_t[]){ 2, 2 }, (uint8_t[]){ 1, 2, 3, 4 });
    s = tensor(ER_I64, 1, (int64_t[]){ 2 }, (int64_t[]){ 2, 2 });
    h_init(&h, "Tile");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 4, 4 }), "tile: %s", h.err);
    expect_i64("tile", &o, (int64_t[]){ 1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4 }, 16);
    h_free(&h);

    /* Pad, the spec's reflect and edge examples (3x2, pads [0,2,0,0]). */
    float px[6] = { 1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f };
    x = tensor(ER_F32, 2, (int64_t[]){ 3, 2 }, px);
    s = tensor(ER_I64, 1, (int64_t[]){ 4 }, (int64_t[]){ 0, 2, 0, 0 });
    h_init(&h, "Pad");
    attr_s(&h, "mode", "reflect");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK, "pad reflect: %s", h.err);
    expect_f32("pad reflect", &o, (float[]){ 1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f }, 12);
    h_free(&h);
    h_init(&h, "Pad");
    attr_s(&h, "mode", "edge");
    CHECK(h_run(&h, 13, in, 2, &o, 1) == ER_OK, "pad edge: %s", h.err);
    expect_f32("pad edge", &o, (float[]){ 1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f }, 12);
    h_free(&h);
    h_init(&h, "Pad");
    attr_s(&h, "mode", "wrap");
    s = tensor(ER_I64, 1, (int64_t[]){ 4 }, (int64_t[]){ 0, 1, 0, 0 });
    CHECK(h_run(&h, 19, in, 2, &o, 1) == ER_OK, "pad wrap: %s", h.err);
    expect_f32("pad wrap", &o, (float[]){ 1.2f, 1.0f, 1.2f, 3.4f, 2.3f, 3.4f, 5.7f, 4.5f, 5.7f }, 9);
    h_free(&h);

    /* Constant mode with a value input, padding rows and cropping a column. */
    er_tensor cv = tensor(ER_F32, 0, NULL, (float[]){ 9 });
    in[2] = &cv;
    s = tensor(ER_I64, 1, (int64_t[]){ 4 }, (int64_t[]){ 1, 0, 0, -1 });
    h_init(&h, "Pad");
    CHECK(h_run(&h, 13, in, 3, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 4, 1 }), "pad constant: %s", h.err);
    expect_f32("pad constant", &o, (float[]){ 9, 1.0f, 2.3f, 4.5f }, 4);
    h_free(&h);

    /* Opset 18: pads only for the listed axes (here the last one). */
    er_tensor pax = tensor(ER_I64, 1, (int64_t[]){ 1 }, (int64_t[]){ -1 });
    er_tensor *in4[4] = { &x, &s, NULL, &pax };
    s = tensor(ER_I64, 1, (int64_t[]){ 2 }, (int64_t[]){ 0, 1 });
    h_init(&h, "Pad");
    CHECK(h_run(&h, 18, in4, 4, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 3, 3 }), "pad axes: %s", h.err);
    expect_f32("pad axes", &o, (float[]){ 1.0f, 1.2f, 0, 2.3f, 3.4f, 0, 4.5f, 5.7f, 0 }, 9);
    h_free(&h);

    /* Opset 2: pads and value as attributes. */
    h_init(&h, "Pad");
    attr_is(&h, "pads", (int64_t[]){ 0, 1, 0, 0 }, 4);
    attr_f(&h, "value", -1);
    CHECK(h_run(&h, 2, in, 1, &o, 1) == ER_OK, "pad opset 2: %s", h.err);
    expect_f32("pad opset 2", &o, (float[]){ -1, 1.0f, 1.2f, -1, 2.3f, 3.4f, -1, 4.5f, 5.7f }, 9);
    h_free(&h);
}

static void test_generators(void)
{
    harness h;
    er_tensor o;
    er_tensor a = tensor(ER_I32, 0, NULL, (int32_t[]){ 1 }), b = tensor(ER_I32, 0, NULL, (int32_t[]){ 10 });
    er_tensor c = tensor(ER_I32, 0, NULL, (int32_t[]){ 3 });
    er_tensor *in[3] = { &a, &b, &c };
    h_init(&h, "Range");
    CHECK(h_run(&h, 11, in, 3, &o, 1) == ER_OK, "range: %s", h.err);
    expect_i64("range int", &o, (int64_t[]){ 1, 4, 7 }, 3);
    h_free(&h);
    a = tensor(ER_F32, 0, NULL, (float[]){ 10 });
    b = tensor(ER_F32, 0, NULL, (float[]){ 4 });
    c = tensor(ER_F32, 0, NULL, (float[]){ -3 });
    h_init(&h, "Range");
    CHECK(h_run(&h, 11, in, 3, &o, 1) == ER_OK, "range float: %s", h.err);
    expect_f32("range float", &o, (float[]){ 10, 7 }, 2);
    h_free(&h);
    b.data = NULL;
    h_init(&h, "Range");
    CHECK(h_run(&h, 11, in, 3, &o, 1) == ER_DYNAMIC, "unknown limit gives ER_DYNAMIC");

    /* ConstantOfShape with an int32 value. */
    er_const val = { .dtype = ER_I32, .ndim = 1, .dims = { 1 }, .data = (int32_t[]){ 7 }, .nbytes = 4 };
    er_tensor shp = tensor(ER_I64, 1, (int64_t[]){ 2 }, (int64_t[]){ 2, 3 });
    in[0] = &shp;
    h_init(&h, "ConstantOfShape");
    h_attr(&h, "value", ER_ATTR_TENSOR)->t = &val;
    CHECK(h_run(&h, 9, in, 1, &o, 1) == ER_OK && o.dtype == ER_I32 && shape_is(&o, 2, (int64_t[]){ 2, 3 }),
          "constant of shape: %s", h.err);
    expect_i64("constant of shape", &o, (int64_t[]){ 7, 7, 7, 7, 7, 7 }, 6);
    h_free(&h);

    h_init(&h, "Constant");
    attr_is(&h, "value_ints", (int64_t[]){ 4, -2 }, 2);
    CHECK(h_run(&h, 13, in, 0, &o, 1) == ER_OK && o.dtype == ER_I64, "constant: %s", h.err);
    expect_i64("constant value_ints", &o, (int64_t[]){ 4, -2 }, 2);
    h_free(&h);

    /* OneHot: -1 wraps to the last class, 5 is out of range and stays all-off. */
    er_tensor ind = tensor(ER_I64, 1, (int64_t[]){ 3 }, (int64_t[]){ 0, -1, 5 });
    er_tensor depth = tensor(ER_F32, 0, NULL, (float[]){ 3 });
    er_tensor vals = tensor(ER_F32, 1, (int64_t[]){ 2 }, (float[]){ 0.5f, 2 });
    er_tensor *oh[3] = { &ind, &depth, &vals };
    h_init(&h, "OneHot");
    CHECK(h_run(&h, 11, oh, 3, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 3, 3 }), "one hot: %s", h.err);
    expect_f32("one hot", &o, (float[]){ 2, 0.5f, 0.5f, 0.5f, 0.5f, 2, 0.5f, 0.5f, 0.5f }, 9);
    h_free(&h);
    h_init(&h, "OneHot");
    attr_i(&h, "axis", 0);
    CHECK(h_run(&h, 11, oh, 3, &o, 1) == ER_OK, "one hot axis 0: %s", h.err);
    expect_f32("one hot axis 0", &o, (float[]){ 2, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 2, 0.5f }, 9);
    h_free(&h);

    er_tensor e = tensor(ER_F32, 2, (int64_t[]){ 2, 3 }, NULL);
    in[0] = &e;
    h_init(&h, "EyeLike");
    attr_i(&h, "k", 1);
    attr_i(&h, "dtype", ER_I32);
    CHECK(h_run(&h, 9, in, 1, &o, 1) == ER_OK && o.dtype == ER_I32, "eye like: %s", h.err);
    expect_i64("eye like k=1", &o, (int64_t[]){ 0, 1, 0, 0, 0, 1 }, 6);
    h_free(&h);
}

static void test_select(void)
{
    harness h;
    er_tensor o, o2[2];
    er_tensor x = tensor(ER_F32, 2, (int64_t[]){ 3, 3 }, (float[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 });
    er_tensor k = tensor(ER_I64, 0, NULL, (int64_t[]){ 1 });
    er_tensor *in[2] = { &x, &k };
    h_init(&h, "Trilu");
    CHECK(h_run(&h, 14, in, 2, &o, 1) == ER_OK, "trilu: %s", h.err);
    expect_f32("triu k=1", &o, (float[]){ 0, 2, 3, 0, 0, 6, 0, 0, 0 }, 9);
    h_free(&h);
    k = tensor(ER_I64, 0, NULL, (int64_t[]){ -1 });
    h_init(&h, "Trilu");
    attr_i(&h, "upper", 0);
    CHECK(h_run(&h, 14, in, 2, &o, 1) == ER_OK, "tril: %s", h.err);
    expect_f32("tril k=-1", &o, (float[]){ 0, 0, 0, 4, 0, 0, 7, 8, 0 }, 9);
    h_free(&h);

    /* -0.0 counts as zero. */
    x = tensor(ER_F32, 2, (int64_t[]){ 2, 2 }, (float[]){ 1, -0.0f, 3, 0.5f });
    h_init(&h, "NonZero");
    CHECK(h_run(&h, 13, in, 1, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 2, 3 }), "nonzero: %s", h.err);
    expect_i64("nonzero", &o, (int64_t[]){ 0, 1, 1, 0, 0, 1 }, 6);
    h_free(&h);
    x.data = NULL;
    h_init(&h, "NonZero");
    CHECK(h_run(&h, 13, in, 1, &o, 1) == ER_DYNAMIC, "nonzero of unknown data is dynamic");

    x = tensor(ER_F32, 2, (int64_t[]){ 2, 3 }, seq_f32);
    er_tensor cond = tensor(ER_BOOL, 1, (int64_t[]){ 2 }, (uint8_t[]){ 0, 1 });
    in[1] = &cond;
    h_init(&h, "Compress");
    attr_i(&h, "axis", 1);
    CHECK(h_run(&h, 11, in, 2, &o, 1) == ER_OK && shape_is(&o, 2, (int64_t[]){ 2, 1 }), "compress: %s", h.err);
    expect_f32("compress", &o, (float[]){ 1, 4 }, 2);
    h_free(&h);

    /* ReverseSequence, time-major 4x2 with lengths [3, 1]. */
    x = tensor(ER_F32, 2, (int64_t[]){ 4, 2 }, seq_f32);
    er_tensor lens = tensor(ER_I64, 1, (int64_t[]){ 2 }, (int64_t[]){ 3, 1 });
    in[1] = &lens;
    h_init(&h, "ReverseSequence");
    CHECK(h_run(&h, 10, in, 2, &o, 1) == ER_OK, "reverse sequence: %s", h.err);
    expect_f32("reverse sequence", &o, (float[]){ 4, 1, 2, 3, 0, 5, 6, 7 }, 8);
    h_free(&h);

    /* Dropout at inference copies and reports an all-true mask. */
    x = tensor(ER_F32, 1, (int64_t[]){ 3 }, seq_f32);
    h_init(&h, "Dropout");
    CHECK(h_run(&h, 13, in, 1, o2, 2) == ER_OK && o2[1].dtype == ER_BOOL, "dropout: %s", h.err);
    expect_f32("dropout", &o2[0], (float[]){ 0, 1, 2 }, 3);
    expect_i64("dropout mask", &o2[1], (int64_t[]){ 1, 1, 1 }, 3);
    h_free(&h);
}

/* ---- session level: shape subgraphs fold at planning ---- */

static int add_value(er_graph *g, const char *name, er_dtype dt, int nd, const int64_t *dims)
{
    int v = er_graph_add_value(g, name);
    g->values[v].dtype = dt;
    g->values[v].ndim = nd;
    for (int d = 0; d < nd; d++) g->values[v].dims[d] = dims[d];
    return v;
}

static int add_init(er_graph *g, const char *name, const int64_t *vals, int n)
{
    int64_t dims[1] = { n };
    int v = add_value(g, name, ER_I64, 1, dims);
    er_const *c = er_pool_alloc(&g->pool, sizeof *c);
    int64_t *data = er_pool_alloc(&g->pool, sizeof(int64_t) * (size_t)n);
    memcpy(data, vals, sizeof(int64_t) * (size_t)n);
    *c = (er_const){ .dtype = ER_I64, .ndim = 1, .dims = { n }, .data = data, .nbytes = sizeof(int64_t) * (size_t)n };
    g->values[v].init = c;
    return v;
}

static void add_node(er_graph *g, const char *op, int n_in, const int *in, int out, er_attr *attr)
{
    er_node *n = er_graph_add_node(g, op, n_in, 1);
    for (int k = 0; k < n_in; k++) n->in[k] = in[k];
    n->out[0] = out;
    if (attr) {
        n->attrs = attr;
        n->n_attrs = 1;
    }
}

static er_graph *graph_new(int64_t opset)
{
    er_graph *g = er_graph_new();
    g->opsets = er_pool_alloc(&g->pool, sizeof *g->opsets);
    g->opsets[0] = (er_opset){ "", opset };
    g->n_opsets = 1;
    g->inputs = er_pool_alloc(&g->pool, sizeof(int));
    g->outputs = er_pool_alloc(&g->pool, sizeof(int));
    return g;
}

/* X[-1,3,4] → Shape → Gather(0) → Concat(·, [-1]) → Reshape(X): the session must compute
 * the shape chain while planning, leaving only the Reshape to run. */
static void test_session_shape_chain(void)
{
    er_graph *g = graph_new(13);
    int x = add_value(g, "X", ER_F32, 3, (int64_t[]){ -1, 3, 4 });
    int shp = add_value(g, "S", ER_UNDEFINED, -1, NULL), gat = add_value(g, "G", ER_UNDEFINED, -1, NULL);
    int cat = add_value(g, "C", ER_UNDEFINED, -1, NULL), y = add_value(g, "Y", ER_UNDEFINED, -1, NULL);
    int zero = add_init(g, "zero", (int64_t[]){ 0 }, 1), minus1 = add_init(g, "minus1", (int64_t[]){ -1 }, 1);
    er_attr axis = { .name = "axis", .type = ER_ATTR_INT, .i = 0 };
    add_node(g, "Shape", 1, (int[]){ x }, shp, NULL);
    add_node(g, "Gather", 2, (int[]){ shp, zero }, gat, NULL);
    add_node(g, "Concat", 2, (int[]){ gat, minus1 }, cat, &axis);
    add_node(g, "Reshape", 2, (int[]){ x, cat }, y, NULL);
    g->inputs[0] = x;
    g->n_inputs = 1;
    g->outputs[0] = y;
    g->n_outputs = 1;
    er_model model = { .graph = g };
    er_session *s = NULL;
    er_msg msg;
    CHECK(er_session_create(&model, NULL, &s, &msg) == ER_OK, "session: %s", msg.text);
    if (!s) {
        er_graph_free(g);
        return;
    }
    CHECK(er_session_set_input(s, "X", ER_F32, (int64_t[]){ 2, 3, 4 }, 3, seq_f32) == ER_OK, "%s", er_session_error(s));
    CHECK(er_session_run(s) == ER_OK, "run: %s", er_session_error(s));
    er_session_stats stats;
    er_session_stats_get(s, &stats);
    CHECK(stats.n_nodes == 1 && !stats.dynamic, "shape chain should fold: %d steps, dynamic %d", stats.n_nodes, stats.dynamic);
    er_tensor_view v;
    CHECK(er_session_output(s, 0, &v) == ER_OK && er_shape_equal(v.dims, v.ndim, (int64_t[]){ 2, 12 }, 2),
          "reshape output should be [2,12]");
    CHECK(v.data && ((const float *)v.data)[23] == 23.0f, "reshape output keeps the data");
    er_session_free(s);
    er_graph_free(g);
}

/* NonZero of a graph input: the output size is only known per run. */
static void test_session_dynamic(void)
{
    er_graph *g = graph_new(13);
    int x = add_value(g, "X", ER_I32, 1, (int64_t[]){ 5 });
    int y = add_value(g, "Y", ER_UNDEFINED, -1, NULL);
    add_node(g, "NonZero", 1, (int[]){ x }, y, NULL);
    g->inputs[0] = x;
    g->n_inputs = 1;
    g->outputs[0] = y;
    g->n_outputs = 1;
    er_model model = { .graph = g };
    er_session *s = NULL;
    er_msg msg;
    CHECK(er_session_create(&model, NULL, &s, &msg) == ER_OK, "session: %s", msg.text);
    if (!s) {
        er_graph_free(g);
        return;
    }
    int32_t a[5] = { 0, 3, 0, -2, 1 }, b[5] = { 1, 0, 0, 0, 0 };
    er_tensor_view v;
    CHECK(er_session_set_input(s, "X", ER_I32, (int64_t[]){ 5 }, 1, a) == ER_OK && er_session_run(s) == ER_OK,
          "run: %s", er_session_error(s));
    CHECK(er_session_output(s, 0, &v) == ER_OK && er_shape_equal(v.dims, v.ndim, (int64_t[]){ 1, 3 }, 2), "nonzero [1,3]");
    const int64_t *o = v.data;
    CHECK(o && o[0] == 1 && o[1] == 3 && o[2] == 4, "nonzero indices 1,3,4");
    CHECK(er_session_set_input(s, "X", ER_I32, (int64_t[]){ 5 }, 1, b) == ER_OK && er_session_run(s) == ER_OK,
          "rerun: %s", er_session_error(s));
    CHECK(er_session_output(s, 0, &v) == ER_OK && v.dims[1] == 1 && ((const int64_t *)v.data)[0] == 0,
          "second run sees the new data");
    er_session_free(s);
    er_graph_free(g);
}

int main(void)
{
    for (int i = 0; i < (int)ER_ARRAY_LEN(seq_f32); i++) seq_f32[i] = (float)i;
    test_reshape();
    test_slice();
    test_concat_split();
    test_gather();
    test_scatter();
    test_layout();
    test_expand_tile_pad();
    test_generators();
    test_select();
    test_session_shape_chain();
    test_session_dynamic();
    if (failures) {
        fprintf(stderr, "test_ops_tensor: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_ops_tensor: all passed\n");
    return 0;
}
