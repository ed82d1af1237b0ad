/* Constant-weight int8 matrix products (qgemm_mm.h, qgemm_matmul.h):
 *  - the portable kernel equals a plain int32 loop with the documented epilogue, for every
 *    output kind, int8 and uint8 activations, and K / N / row counts off the tile sizes;
 *  - the VNNI kernel equals the portable one bit for bit;
 *  - QGemm (edgerun and com.microsoft), QLinearMatMul and MatMulInteger on packed weights
 *    match their reference kernels (int32 exactly, float to 1e-5 relative, 8-bit within 1);
 *  - QGemmDQ equals QGemm + DequantizeLinear (+ its Add) exactly, QuantDequant equals
 *    QuantizeLinear + DequantizeLinear (the reference ops) exactly, zero signs included;
 *  - the depthwise QLinearConv (direct kernel) matches the reference op within 1, and its
 *    AVX-512 row kernel and its VNNI plane kernel equal the portable one bit for bit;
 *  - the 8-bit MaxPool (domain edgerun) equals the reference MaxPool exactly;
 *  - the AVX-512 QuantizeLinear kernel equals round-half-even / saturate / NaN → zero point;
 *  - QAdd (the fused residual Add) equals DequantizeLinear + Add + QuantizeLinear done in
 *    float32 step by step, in both kernels and through the op with broadcasting;
 *  - DequantizeLinear / QuantizeLinear reject inconsistent quantization parameters with a
 *    message naming the problem. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/op.h"
#include "backend/cpu/qadd.h"
#include "backend/cpu/qdwconv.h"
#include "backend/cpu/qfake.h"
#include "backend/cpu/qgemm_conv.h"
#include "backend/cpu/qgemm_matmul.h"
#include "backend/cpu/qmaxpool.h"
#include "backend/cpu/qquant.h"
#include "backend/cpu/qgemm_mm.h"
#include "core/cpu.h"
#include "check.h"

static uint32_t rng = 777;
static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

static size_t kind_size(er_qmm_kind k) { return k == ER_QMM_U8 || k == ER_QMM_I8 ? 1 : 4; }

static bool dq_kind(er_qmm_kind k) { return k == ER_QMM_U8_F32 || k == ER_QMM_I8_F32; }

/* The epilogue of qgemm_mm.h on one accumulator, as a float (8-bit kinds: the stored integer;
 * the dequantizing kinds: DequantizeLinear of it, then + post when there is one). */
static double expect(er_qmm_kind kind, int32_t v, float mult, float add, float zp, float ys, const float *post)
{
    if (kind == ER_QMM_I32) return v;
    float f = fmaf((float)v, mult, add);
    if (kind == ER_QMM_F32) return f;
    const bool is_signed = kind == ER_QMM_I8 || kind == ER_QMM_I8_F32;
    float lo = is_signed ? -128.0f : 0.0f, hi = is_signed ? 127.0f : 255.0f;
    f = nearbyintf(f) + zp;
    f = f < lo ? lo : f > hi ? hi : f;
    if (!dq_kind(kind)) return f;
    float d = (float)((int32_t)f - (int32_t)zp) * ys;
    return post ? d + *post : d;
}

static double load_y(er_qmm_kind kind, const void *y, int64_t i)
{
    switch (kind) {
    case ER_QMM_I32: return ((const int32_t *)y)[i];
    case ER_QMM_F32:
    case ER_QMM_U8_F32:
    case ER_QMM_I8_F32: return ((const float *)y)[i];
    case ER_QMM_I8: return ((const int8_t *)y)[i];
    default: return ((const uint8_t *)y)[i];
    }
}

static void test_kernel(int64_t rows, int64_t k, int64_t n, bool trans, bool signed_a, er_qmm_kind kind)
{
    int64_t np = er_qmm_np(n), k4 = (k + 3) / 4;
    uint8_t *a = malloc((size_t)(rows * k));
    int8_t *w = malloc((size_t)(k * n)), *wp = malloc((size_t)(k4 * np * 4));
    int32_t *colsum = malloc(sizeof(int32_t) * (size_t)np), *corr = calloc((size_t)np, sizeof(int32_t));
    float *mult = calloc((size_t)np, sizeof(float)), *add = calloc((size_t)np, sizeof(float));
    float *post = calloc((size_t)np, sizeof(float));
    size_t ys = kind_size(kind) * (size_t)(rows * n);
    void *y0 = malloc(ys), *y1 = malloc(ys);
    for (int64_t i = 0; i < rows * k; i++) a[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < k * n; i++) w[i] = (int8_t)(rnd() % 255 - 127);
    for (int64_t j = 0; j < n; j++) {
        corr[j] = (int32_t)(rnd() % 40001) - 20000;
        mult[j] = (1.0f + (float)(rnd() % 100) / 50.0f) / (float)(k * 128);
        add[j] = (float)(rnd() % 200) / 10.0f - 10.0f;
        post[j] = (float)(rnd() % 2000) / 7.0f - 140.0f;
    }
    er_qmm_pack_w(w, k, n, trans, wp, colsum);
    er_qmm_a av = { .a = a, .lda = k, .k = k, .flip = signed_a ? 0x80 : 0 };
    er_qmm_out o = { .kind = kind, .corr = corr, .mult = mult, .add = add,
                     .zp = kind == ER_QMM_I8 || kind == ER_QMM_I8_F32 ? -5.0f : 9.0f, .ys = 0.0371f,
                     .post = n % 2 ? post : NULL, .y = y0, .ldy = n };
    er_qmm_u8s8_ref(&av, wp, np, 0, rows, 0, n, &o);
    int bad = 0, bad_sum = 0;
    for (int64_t j = 0; j < n; j++) {
        int32_t s = 0;
        for (int64_t kk = 0; kk < k; kk++) s += trans ? w[j * k + kk] : w[kk * n + j];
        bad_sum += s != colsum[j];
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
            int32_t acc = 0;
            for (int64_t kk = 0; kk < k; kk++)
                acc += (int32_t)(uint8_t)(a[r * k + kk] ^ av.flip) * (trans ? w[j * k + kk] : w[kk * n + j]);
            bad += expect(kind, acc + corr[j], mult[j], add[j], o.zp, o.ys, o.post ? post + j : NULL) !=
                   load_y(kind, y0, r * n + j);
        }
    CHECK(bad == 0 && bad_sum == 0, "qmm ref %lldx%lldx%lld kind %d%s%s: %d mismatches, %d column sums wrong",
          (long long)rows, (long long)k, (long long)n, (int)kind, trans ? " transB" : "", signed_a ? " s8" : "", bad,
          bad_sum);
    if (er_cpu_vnni()) {
        o.y = y1;
        er_qmm_u8s8_avx512vnni(&av, wp, np, 0, rows, 0, n, &o);
        CHECK(memcmp(y0, y1, ys) == 0, "vnni qmm %lldx%lldx%lld kind %d differs from the reference", (long long)rows,
              (long long)k, (long long)n, (int)kind);
    }
    free(a), free(w), free(wp), free(colsum), free(corr), free(mult), free(add), free(post), free(y0), free(y1);
}

static void set(er_tensor *t, er_dtype dt, int ndim, const int64_t *dims, void *data)
{
    er_tensor_set_shape(t, dt, dims, ndim);
    t->data = data;
}

/* Runs the reference op, then prepare + the packed run, and returns the largest difference
 * (relative for float outputs). */
static double ref_vs_packed(const char *domain, const char *op_type, er_attr *attrs, int n_attrs, er_tensor **in,
                            int n_in)
{
    er_node node = { .name = "mm", .op_type = op_type, .domain = domain, .n_in = n_in, .n_out = 1, .n_attrs = n_attrs,
                     .attrs = attrs };
    char err[256] = "";
    const er_op *op = er_op_find_ref(domain, op_type);
    er_kctx ctx = { .node = &node, .opset = 13, .err = err, .err_size = sizeof err };
    er_tensor y_ref, y_fast;
    er_tensor *out[1] = { &y_ref };
    CHECK(op && op->infer(&ctx, in, n_in, out, 1) == ER_OK, "%s infer: %s", op_type, err);
    if (!op || failures) return INFINITY;
    size_t bytes = er_tensor_nbytes(&y_ref);
    void *ws = malloc(ctx.workspace_bytes + 1), *r = malloc(bytes), *f = malloc(bytes);
    y_ref.data = r;
    ctx.workspace = ws;
    CHECK(op->run(&ctx, in, n_in, out, 1) == ER_OK, "%s ref run: %s", op_type, err);
    y_fast = y_ref;
    y_fast.data = f;
    out[0] = &y_fast;
    void *state = NULL;
    CHECK(op->prepare(&ctx, in, n_in, out, 1, &state) == ER_OK && state, "%s prepare did not pack: %s", op_type, err);
    ctx.state = state;
    CHECK(state && op->run(&ctx, in, n_in, out, 1) == ER_OK, "%s packed run: %s", op_type, err);
    double worst = 0;
    for (int64_t i = 0; i < er_tensor_numel(&y_ref); i++) {
        double a, b;
        switch (y_ref.dtype) {
        case ER_F32: a = ((float *)r)[i], b = ((float *)f)[i]; break;
        case ER_I32: a = ((int32_t *)r)[i], b = ((int32_t *)f)[i]; break;
        case ER_I8: a = ((int8_t *)r)[i], b = ((int8_t *)f)[i]; break;
        default: a = ((uint8_t *)r)[i], b = ((uint8_t *)f)[i]; break;
        }
        double d = fabs(a - b) / (y_ref.dtype == ER_F32 ? fmax(1.0, fabs(a)) : 1.0);
        worst = d > worst ? d : worst;
    }
    er_qmm_release(state);
    free(ws), free(r), free(f);
    return worst;
}

#define K 37
#define N 70
#define ROWS 6

static void test_ops(void)
{
    static uint8_t a[ROWS * K];
    static int8_t b[K * N];
    static float bs[N], cf[N];
    static int32_t ci[N];
    static int8_t bz[N];
    for (int i = 0; i < ROWS * K; i++) a[i] = (uint8_t)rnd();
    for (int i = 0; i < K * N; i++) b[i] = (int8_t)(rnd() % 255 - 127);
    for (int i = 0; i < N; i++) {
        bs[i] = 0.001f * (float)(1 + rnd() % 20);
        cf[i] = (float)(rnd() % 100) / 25.0f - 2.0f;
        ci[i] = (int32_t)(rnd() % 2001) - 1000;
    }
    float as = 0.05f, ys = 0.4f;
    uint8_t az = 131, yz = 120;
    int8_t az_s = -7, yz_s = 3;
    int64_t da[3] = { 2, ROWS / 2, K }, db[2] = { K, N }, dbt[2] = { N, K }, dn[1] = { N };
    er_tensor t[9];
    er_tensor *in[9];
    for (int i = 0; i < 9; i++) in[i] = &t[i];

    /* QGemm (edgerun) with batched A, per-column scales, float C, float output */
    set(&t[0], ER_U8, 3, da, a);
    set(&t[1], ER_F32, 0, NULL, &as);
    set(&t[2], ER_U8, 0, NULL, &az);
    set(&t[3], ER_I8, 2, db, b);
    set(&t[4], ER_F32, 1, dn, bs);
    set(&t[5], ER_I8, 1, dn, bz);
    set(&t[6], ER_F32, 1, dn, cf);
    double d = ref_vs_packed("edgerun", "QGemm", NULL, 0, in, 7);
    CHECK(d <= 1e-5, "QGemm float out: packed vs reference relative difference %g (allowed 1e-5)", d);

    /* com.microsoft QGemm, transB, int32 C, int8 A and int8 output */
    set(&t[0], ER_I8, 3, da, a);
    set(&t[2], ER_I8, 0, NULL, &az_s);
    set(&t[3], ER_I8, 2, dbt, b);
    set(&t[6], ER_I32, 1, dn, ci);
    set(&t[7], ER_F32, 0, NULL, &ys);
    set(&t[8], ER_I8, 0, NULL, &yz_s);
    er_attr tb[1] = { { .name = "transB", .type = ER_ATTR_INT, .i = 1 } };
    d = ref_vs_packed("com.microsoft", "QGemm", tb, 1, in, 9);
    CHECK(d <= 1, "QGemm int8 out: packed vs reference differ by %g (allowed 1: float vs double requant)", d);

    /* QLinearMatMul, per-tensor B scale, uint8 output */
    set(&t[0], ER_U8, 3, da, a);
    set(&t[2], ER_U8, 0, NULL, &az);
    set(&t[3], ER_I8, 2, db, b);
    int64_t one[1] = { 1 };
    set(&t[4], ER_F32, 1, one, bs);
    set(&t[5], ER_I8, 1, one, bz);
    set(&t[6], ER_F32, 0, NULL, &ys);
    set(&t[7], ER_U8, 0, NULL, &yz);
    d = ref_vs_packed("", "QLinearMatMul", NULL, 0, in, 8);
    CHECK(d <= 1, "QLinearMatMul: packed vs reference differ by %g (allowed 1)", d);

    /* MatMulInteger: exact */
    set(&t[1], ER_I8, 2, db, b);
    set(&t[2], ER_U8, 0, NULL, &az);
    set(&t[3], ER_I8, 0, NULL, &bz[0]);
    d = ref_vs_packed("", "MatMulInteger", NULL, 0, in, 4);
    CHECK(d == 0, "MatMulInteger: packed vs reference differ by %g (must be exact)", d);
}

/* Runs a packed op (prepare + run) into y; false when it does not pack or fails. */
static bool run_packed(const char *op_type, er_tensor **in, int n_in, er_tensor *y, void *data)
{
    er_node node = { .name = "mm", .op_type = op_type, .domain = "edgerun", .n_in = n_in, .n_out = 1 };
    char err[256] = "";
    const er_op *op = er_op_find("edgerun", op_type);
    er_kctx ctx = { .node = &node, .opset = 1, .err = err, .err_size = sizeof err };
    er_tensor *out[1] = { y };
    void *state = NULL;
    bool ok = op && op->infer(&ctx, in, n_in, out, 1) == ER_OK;
    y->data = data;
    ok = ok && op->prepare(&ctx, in, n_in, out, 1, &state) == ER_OK && state;
    ctx.state = state;
    ok = ok && op->run(&ctx, in, n_in, out, 1) == ER_OK;
    CHECK(ok, "%s packed run: %s", op_type, err);
    if (op) op->release(state);
    return ok;
}

/* QGemmDQ equals QGemm's 8-bit output put through DequantizeLinear ((q - zp) * scale in
 * float) and the Add of its row, bit for bit; a row of the wrong length is refused. */
static void test_qgemm_dq(void)
{
    static uint8_t a[ROWS * K], q[ROWS * N];
    static int8_t b[K * N], bz[N];
    static float bs[N], cf[N], post[N], f[ROWS * N];
    for (int i = 0; i < ROWS * K; i++) a[i] = (uint8_t)rnd();
    for (int i = 0; i < K * N; i++) b[i] = (int8_t)(rnd() % 255 - 127);
    for (int i = 0; i < N; i++) {
        bs[i] = 0.001f * (float)(1 + rnd() % 20);
        cf[i] = (float)(rnd() % 100) / 25.0f - 2.0f;
        post[i] = (float)(rnd() % 1000) / 37.0f - 13.0f;
    }
    float as = 0.05f, ys = 0.4f;
    uint8_t az = 131, yz = 120;
    int64_t da[3] = { 2, ROWS / 2, K }, db[2] = { K, N }, dn[1] = { N }, dn1[1] = { N - 1 };
    er_tensor t[10], y;
    er_tensor *in[10];
    for (int i = 0; i < 10; i++) in[i] = &t[i];
    set(&t[0], ER_U8, 3, da, a), set(&t[1], ER_F32, 0, NULL, &as), set(&t[2], ER_U8, 0, NULL, &az);
    set(&t[3], ER_I8, 2, db, b), set(&t[4], ER_F32, 1, dn, bs), set(&t[5], ER_I8, 1, dn, bz);
    set(&t[6], ER_F32, 1, dn, cf), set(&t[7], ER_F32, 0, NULL, &ys), set(&t[8], ER_U8, 0, NULL, &yz);
    set(&t[9], ER_F32, 1, dn, post);
    if (!run_packed("QGemm", in, 9, &y, q)) return;
    for (int with_post = 0; with_post < 2; with_post++) {
        if (!run_packed("QGemmDQ", in, 9 + with_post, &y, f)) return;
        int bad = y.dtype != ER_F32;
        for (int i = 0; i < ROWS * N; i++) {
            float d = (float)(q[i] - yz) * ys;
            bad += f[i] != (with_post ? d + post[i % N] : d);
        }
        CHECK(bad == 0, "QGemmDQ%s: %d of %d values differ from QGemm + DequantizeLinear", with_post ? " + row" : "", bad,
              ROWS * N);
    }
    set(&t[9], ER_F32, 1, dn1, post);
    er_node node = { .name = "mm", .op_type = "QGemmDQ", .domain = "edgerun", .n_in = 10, .n_out = 1 };
    char err[256] = "";
    er_kctx ctx = { .node = &node, .opset = 1, .err = err, .err_size = sizeof err };
    er_tensor *out[1] = { &y };
    CHECK(er_op_find("edgerun", "QGemmDQ")->infer(&ctx, in, 10, out, 1) == ER_ERR_SHAPE && strstr(err, "float32 values"),
          "QGemmDQ must refuse a row of N - 1 values: %s", err);
}

/* Depthwise QLinearConv: packed (direct kernel) vs reference op. */
static void test_depthwise(int64_t c, int64_t h, int64_t w, int k, int stride, int pad, bool x_signed)
{
    int64_t nx = 2 * c * h * w;
    uint8_t *x = malloc((size_t)nx);
    int8_t *wt = malloc((size_t)(c * k * k)), *wz = calloc((size_t)c, 1);
    float *ws = malloc(sizeof(float) * (size_t)c);
    int32_t *b = malloc(sizeof(int32_t) * (size_t)c);
    for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < c * k * k; i++) wt[i] = (int8_t)(rnd() % 255 - 127);
    for (int64_t i = 0; i < c; i++) ws[i] = 0.002f * (float)(1 + rnd() % 10), b[i] = (int32_t)(rnd() % 4001) - 2000;
    float xs = 0.03f, ys = 0.2f;
    uint8_t xz = 100, yz = 7;
    int8_t xz_s = -20;
    er_tensor t[9], y_ref, y_fast;
    int64_t dx[4] = { 2, c, h, w }, dw[4] = { c, 1, k, k }, dc[1] = { c };
    set(&t[0], x_signed ? ER_I8 : ER_U8, 4, dx, x);
    set(&t[1], ER_F32, 0, NULL, &xs);
    set(&t[2], x_signed ? ER_I8 : ER_U8, 0, NULL, x_signed ? (void *)&xz_s : (void *)&xz);
    set(&t[3], ER_I8, 4, dw, wt);
    set(&t[4], ER_F32, 1, dc, ws);
    set(&t[5], ER_I8, 1, dc, wz);
    set(&t[6], ER_F32, 0, NULL, &ys);
    set(&t[7], ER_U8, 0, NULL, &yz);
    set(&t[8], ER_I32, 1, dc, b);
    er_tensor *in[9];
    for (int i = 0; i < 9; i++) in[i] = &t[i];
    int64_t pads[4] = { pad, pad, pad, pad }, strides[2] = { stride, stride };
    er_attr attrs[3] = {
        { .name = "pads", .type = ER_ATTR_INTS, .n = 4, .ints = pads },
        { .name = "strides", .type = ER_ATTR_INTS, .n = 2, .ints = strides },
        { .name = "group", .type = ER_ATTR_INT, .i = c },
    };
    er_node node = { .name = "dw", .op_type = "QLinearConv", .domain = "", .n_in = 9, .n_out = 1, .n_attrs = 3, .attrs = attrs };
    char err[256] = "";
    const er_op *op = er_op_find_ref("", "QLinearConv");
    er_kctx ctx = { .node = &node, .opset = 13, .err = err, .err_size = sizeof err };
    er_tensor *out[1] = { &y_ref };
    CHECK(op && op->infer(&ctx, in, 9, out, 1) == ER_OK, "depthwise infer: %s", err);
    if (!op || failures) return;
    int64_t total = er_tensor_numel(&y_ref);
    void *wsb = malloc(ctx.workspace_bytes);
    uint8_t *r = malloc((size_t)total), *f = malloc((size_t)total);
    y_ref.data = r;
    ctx.workspace = wsb;
    CHECK(op->run(&ctx, in, 9, out, 1) == ER_OK, "depthwise ref run: %s", err);
    y_fast = y_ref;
    y_fast.data = f;
    out[0] = &y_fast;
    void *state = NULL;
    CHECK(er_qconv_prepare(&ctx, in, 9, out, 1, &state) == ER_OK && state, "depthwise prepare did not pack: %s", err);
    ctx.state = state;
    CHECK(state && op->run(&ctx, in, 9, out, 1) == ER_OK, "depthwise packed run: %s", err);
    int worst = 0;
    for (int64_t i = 0; i < total; i++) worst = ER_MAX(worst, abs((int)r[i] - (int)f[i]));
    CHECK(worst <= 1, "depthwise %lldx%lldx%lld k%d s%d p%d%s differs from the reference by %d (allowed 1)",
          (long long)c, (long long)h, (long long)w, k, stride, pad, x_signed ? " int8" : "", worst);
    er_qconv_release(state);
    free(wsb), free(r), free(f), free(x), free(wt), free(wz), free(ws), free(b);
}

/* The AVX-512 row kernel against the portable one, on a padded plane with slack. */
static void test_dw_rows(void)
{
    if (er_cpu_isa() != ER_ISA_AVX512) return;
    static uint8_t plane[8 * 80 + ER_QDW_SLACK];
    static float planef[8 * 80];
    static int8_t w[25];
    for (size_t i = 0; i < sizeof plane; i++) plane[i] = (uint8_t)rnd();
    for (int i = 0; i < 25; i++) w[i] = (int8_t)(rnd() % 255 - 127);
    int bad = 0;
    for (int stride = 1; stride <= 3; stride++)
        for (int k = 1; k <= 5; k += 2)
            for (int sg = 0; sg < 2; sg++) {
                int64_t ow = (80 - k) / stride + 1;
                uint8_t y0[2 * 80], y1[2 * 80];
                er_qdw_plane_f32(plane, 8, 80, stride, planef);
                er_qdw_row r = { .x = plane, .xf = planef, .pw = 80, .w = w, .kh = k, .kw = k, .stride = stride, .ow = ow,
                                 .bias = -12345, .mult = 0.0021f, .zp = sg ? -3.0f : 100.0f, .is_signed = sg, .y = y0,
                                 .rows = 2, .sh = stride };
                er_qdw_row_ref(&r);
                r.y = y1;
                er_qdw_row_avx512(&r);
                bad += memcmp(y0, y1, (size_t)(2 * ow)) != 0;
            }
    CHECK(bad == 0, "depthwise AVX-512 rows differ from the portable kernel in %d of 18 cases", bad);
    static float f0[8 * 77], f1[8 * 77];
    const int64_t widths[] = { 5, 61, 64, 77 };
    for (int stride = 1; stride <= 2; stride++)
        for (size_t i = 0; i < ER_ARRAY_LEN(widths); i++) {
            int64_t pw = widths[i];
            er_qdw_plane_f32(plane, 8, pw, stride, f0);
            er_qdw_plane_f32_avx512(plane, 8, pw, stride, f1);
            CHECK(memcmp(f0, f1, sizeof(float) * (size_t)(8 * pw)) == 0, "AVX-512 float plane (width %lld, stride %d) "
                  "differs from the portable one", (long long)pw, stride);
        }
}

/* The AVX-512 plane padder against the portable one: every byte of the padded plane, int8
 * (flipped) and uint8, borders wider and narrower than a 64-byte store. */
static void test_dw_pad(void)
{
    if (er_cpu_isa() != ER_ISA_AVX512) return;
    static uint8_t x[70 * 130], d0[80 * 140 + 64], d1[80 * 140 + 64];
    for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)rnd();
    const int64_t geo[][4] = { { 7, 7, 1, 1 }, { 56, 56, 1, 1 }, { 13, 130, 2, 3 }, { 70, 60, 0, 0 }, { 3, 64, 0, 2 } };
    int bad = 0;
    for (size_t i = 0; i < ER_ARRAY_LEN(geo); i++)
        for (int f = 0; f < 2; f++) {
            const int64_t ih = geo[i][0], iw = geo[i][1], pt = geo[i][2], pl = geo[i][3];
            const int64_t ph = ih + 2 * pt + 1, pw = iw + 2 * pl + 1;
            er_qdw_pad(x, ih, iw, pt, pl, ph, pw, 77, f ? 0x80 : 0, d0);
            er_qdw_pad_avx512(x, ih, iw, pt, pl, ph, pw, 77, f ? 0x80 : 0, d1);
            bad += memcmp(d0, d1, (size_t)(ph * pw)) != 0;
        }
    CHECK(bad == 0, "AVX-512 plane padding differs from the portable one in %d of 10 cases", bad);
}

/* The VNNI plane kernel against the portable row kernel over whole output planes: narrow
 * planes (blocks spanning output rows), wide ones (blocks split inside a row), strides 1-3,
 * kernels 1x1 to 7x7 (two 4-tap words per kernel row past 4), both output types. */
static void test_dw_vnni(void)
{
    if (!er_qdw_vnni_usable()) return;
    static uint8_t plane[120 * 120 + ER_QDW_SLACK];
    static uint8_t y0[120 * 120], y1[120 * 120];
    static int8_t w[49];
    static int32_t wp[ER_QDW_VNNI_MAX_WORDS];
    for (size_t i = 0; i < sizeof plane; i++) plane[i] = (uint8_t)rnd();
    for (int i = 0; i < 49; i++) w[i] = (int8_t)(rnd() % 256 - 128);
    const int geo[][4] = { /* output h, w, stride, kernel */
                           { 7, 7, 1, 3 }, { 7, 7, 2, 3 }, { 14, 14, 1, 3 }, { 14, 14, 2, 3 }, { 28, 28, 1, 3 },
                           { 56, 56, 2, 3 }, { 112, 112, 1, 3 }, { 5, 9, 3, 3 }, { 9, 21, 1, 5 }, { 7, 7, 2, 5 },
                           { 6, 40, 1, 7 }, { 3, 2, 1, 1 }, { 1, 1, 1, 3 } };
    int bad = 0, cases = 0;
    for (size_t gi = 0; gi < ER_ARRAY_LEN(geo); gi++)
        for (int sg = 0; sg < 2; sg++) {
            const int oh = geo[gi][0], ow = geo[gi][1], st = geo[gi][2], k = geo[gi][3];
            const int64_t pw = (int64_t)(ow - 1) * st + k + 1;
            er_qdw_plan plan;
            CHECK(er_qdw_plan_init(&plan, oh, ow, st, st, k, k, pw), "VNNI depthwise plan %dx%d s%d k%d refused", oh, ow, st, k);
            if (failures) return;
            er_qdw_pack_w(w, k, k, wp);
            er_qdw_row r = { .x = plane, .pw = pw, .w = w, .kh = k, .kw = k, .stride = st, .sh = st, .ow = ow,
                             .bias = -9000 + 700 * k, .mult = 0.0037f, .zp = sg ? -5.0f : 90.0f, .is_signed = sg,
                             .y = y0, .rows = oh };
            er_qdw_row_ref(&r);
            er_qdw_req q = { .bias = r.bias, .mult = r.mult, .zp = (int32_t)r.zp, .is_signed = sg };
            memset(y1, 0xa5, sizeof y1);
            er_qdw_plane_avx512vnni(&plan, plane, wp, &q, y1);
            bad += memcmp(y0, y1, (size_t)(oh * ow)) != 0 || y1[oh * ow] != 0xa5;
            cases++;
            er_qdw_plan_free(&plan);
        }
    CHECK(bad == 0, "depthwise VNNI planes differ from the portable kernel (or write past the plane) in %d of %d cases",
          bad, cases);
    er_qdw_plan plan;
    CHECK(!er_qdw_plan_init(&plan, 4, 4, 1, 1, 3, 9, 16), "a 9-tap kernel row must be refused by the VNNI plan");
}

static void test_qmaxpool(int k, int stride, int pad, int ceil, bool is_signed, int64_t width)
{
    static uint8_t x[2 * 3 * 13 * 150], y0[2 * 3 * 13 * 150], y1[2 * 3 * 13 * 150];
    for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)rnd();
    int64_t dx[4] = { 2, 3, 13, width }, ks[2] = { k, k }, st[2] = { stride, stride }, pads[4] = { pad, pad, pad, pad };
    er_attr attrs[4] = {
        { .name = "kernel_shape", .type = ER_ATTR_INTS, .n = 2, .ints = ks },
        { .name = "strides", .type = ER_ATTR_INTS, .n = 2, .ints = st },
        { .name = "pads", .type = ER_ATTR_INTS, .n = 4, .ints = pads },
        { .name = "ceil_mode", .type = ER_ATTR_INT, .i = ceil },
    };
    er_node node = { .name = "mp", .op_type = "MaxPool", .domain = "", .n_in = 1, .n_out = 1, .n_attrs = 4, .attrs = attrs };
    char err[256] = "";
    er_kctx ctx = { .node = &node, .opset = 13, .err = err, .err_size = sizeof err };
    er_tensor t, y;
    set(&t, is_signed ? ER_I8 : ER_U8, 4, dx, x);
    er_tensor *in[1] = { &t }, *out[1] = { &y };
    const er_op *ref = er_op_find_ref("", "MaxPool");
    CHECK(ref && ref->infer(&ctx, in, 1, out, 1) == ER_OK, "MaxPool infer: %s", err);
    if (!ref || failures) return;
    void *ws = malloc(ctx.workspace_bytes);
    ctx.workspace = ws;
    y.data = y0;
    CHECK(ref->run(&ctx, in, 1, out, 1) == ER_OK, "reference MaxPool: %s", err);
    y.data = y1;
    CHECK(er_qmaxpool_run(&ctx, in, 1, out, 1) == ER_OK, "8-bit MaxPool: %s", err);
    CHECK(memcmp(y0, y1, (size_t)er_tensor_numel(&y)) == 0,
          "8-bit MaxPool k%d s%d p%d ceil %d%s width %lld differs from the reference", k, stride, pad, ceil,
          is_signed ? " int8" : "", (long long)width);
    free(ws);
}

static void test_quantize_kernel(void)
{
    if (er_cpu_isa() != ER_ISA_AVX512) return;
    enum { NQ = 203 };
    static float x[NQ];
    for (int i = 0; i < NQ; i++) x[i] = ((float)(rnd() % 4001) - 2000.0f) / 8.0f;   /* many exact halves */
    x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 2.5f, x[4] = -2.5f, x[5] = 1e30f;
    int bad = 0;
    for (int sg = 0; sg < 2; sg++) {
        uint8_t y[NQ];
        const float scale = 0.5f;
        const int32_t zp = sg ? -3 : 17;
        er_quantize_f32_q8_avx512(x, NQ, scale, zp, sg, y);
        for (int i = 0; i < NQ; i++) {
            double v = x[i] / scale, lo = sg ? -128 : 0, hi = sg ? 127 : 255;
            v = isnan(v) ? zp : nearbyint(v) + zp;
            v = v < lo ? lo : v > hi ? hi : v;
            bad += (sg ? (int8_t)y[i] : y[i]) != (int)v;
        }
    }
    CHECK(bad == 0, "AVX-512 QuantizeLinear: %d of %d values wrong", bad, 2 * NQ);
}

/* QAdd's expectation: the unfused nodes' float32 steps (DequantizeLinear, Add, QuantizeLinear). */
static int qadd_expect(const er_qadd_params *p, int32_t a, int32_t b)
{
    float da = (float)(a - p->za) * p->sa, db = (float)(b - p->zb) * p->sb;
    float sum = da + db;
    float v = sum / p->sy;
    double lo = p->y_signed ? -128 : 0, hi = p->y_signed ? 127 : 255;
    double q = isnan(v) ? p->zy : nearbyint(v) + p->zy;
    return (int)(q < lo ? lo : q > hi ? hi : q);
}

static void test_qadd(void)
{
    enum { QN = 1000 };
    static uint8_t a[QN], b[QN], y0[QN], y1[QN];
    for (int i = 0; i < QN; i++) a[i] = (uint8_t)rnd(), b[i] = (uint8_t)rnd();
    int bad = 0, bad_simd = 0;
    for (int sx = 0; sx < 2; sx++)
        for (int sy = 0; sy < 2; sy++) {
            er_qadd_params p = { .sa = 0.0213f, .sb = 0.0371f, .sy = 0.0449f, .za = sx ? -7 : 131, .zb = sx ? 3 : 97,
                                 .zy = sy ? -11 : 60, .x_signed = sx, .y_signed = sy };
            er_qadd_ref(&p, a, b, QN, y0);
            for (int i = 0; i < QN; i++) {
                int32_t av = sx ? (int8_t)a[i] : a[i], bv = sx ? (int8_t)b[i] : b[i];
                bad += (sy ? (int8_t)y0[i] : y0[i]) != qadd_expect(&p, av, bv);
            }
            if (er_cpu_isa() != ER_ISA_AVX512) continue;
            memset(y1, 0x5a, sizeof y1);
            er_qadd_avx512(&p, a, b, QN - 3, y1);
            bad_simd += memcmp(y0, y1, QN - 3) != 0 || y1[QN - 3] != 0x5a;
        }
    CHECK(bad == 0, "QAdd portable kernel: %d of %d values differ from the unfused float steps", bad, 4 * QN);
    CHECK(bad_simd == 0, "QAdd AVX-512 kernel differs from the portable one (or writes past n) in %d of 4 cases", bad_simd);

    /* the op: [2,3,4] + [3,1] broadcast, uint8 in, int8 out */
    const int64_t da[3] = { 2, 3, 4 }, db[2] = { 3, 1 };
    float sa = 0.05f, sb = 0.11f, syv = 0.07f;
    uint8_t za = 120, zb = 9;
    int8_t zy = 4;
    uint8_t out[24];
    er_tensor t[8], y;
    set(&t[0], ER_U8, 3, da, a), set(&t[1], ER_F32, 0, NULL, &sa), set(&t[2], ER_U8, 0, NULL, &za);
    set(&t[3], ER_U8, 2, db, b), set(&t[4], ER_F32, 0, NULL, &sb), set(&t[5], ER_U8, 0, NULL, &zb);
    set(&t[6], ER_F32, 0, NULL, &syv), set(&t[7], ER_I8, 0, NULL, &zy);
    er_tensor *in[8] = { &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7] }, *outp[1] = { &y };
    er_node node = { .name = "qadd", .op_type = "QAdd", .domain = "edgerun", .n_in = 8, .n_out = 1 };
    char err[256] = "";
    er_kctx ctx = { .node = &node, .err = err, .err_size = sizeof err };
    const er_op *op = er_op_find("edgerun", "QAdd");
    CHECK(op && op->infer(&ctx, in, 8, outp, 1) == ER_OK && y.dtype == ER_I8 && y.ndim == 3 && y.dims[2] == 4,
          "QAdd infer: %s", err);
    if (failures) return;
    y.data = out;
    CHECK(op->run(&ctx, in, 8, outp, 1) == ER_OK, "QAdd run: %s", err);
    er_qadd_params p = { .sa = sa, .sb = sb, .sy = syv, .za = za, .zb = zb, .zy = zy, .x_signed = false, .y_signed = true };
    int bad_op = 0;
    for (int i = 0; i < 24; i++) bad_op += (int8_t)out[i] != qadd_expect(&p, a[i], b[i / 4 % 3]);
    CHECK(bad_op == 0, "QAdd op with broadcasting: %d of 24 values wrong", bad_op);
    t[3].dtype = ER_I8;
    CHECK(op->infer(&ctx, in, 8, outp, 1) == ER_ERR_DTYPE && strstr(err, "both be uint8"), "QAdd must refuse mixed A/B types: %s", err);
}

/* QuantDequant (both kernels, through the op) against the reference QuantizeLinear then
 * DequantizeLinear, bit for bit (memcmp: a -0 must come out +0 as through the 8-bit value). */
static void test_qfake(void)
{
    enum { NF = 203 };
    static float x[NF], y0[NF], y1[NF];
    static uint8_t q[NF];
    for (int i = 0; i < NF; i++) x[i] = ((float)(rnd() % 4001) - 2000.0f) / 16.0f;
    x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = -0.01f, x[4] = 0.25f, x[5] = -0.75f;
    int64_t dx[1] = { NF };
    float scale = 0.5f;
    int bad = 0;
    for (int sg = 0; sg < 2; sg++) {
        uint8_t zu = 17;
        int8_t zs = -3;
        er_tensor t[3], tq, ty;
        set(&t[0], ER_F32, 1, dx, x), set(&t[1], ER_F32, 0, NULL, &scale);
        set(&t[2], sg ? ER_I8 : ER_U8, 0, NULL, sg ? (void *)&zs : (void *)&zu);
        er_tensor *in[3] = { &t[0], &t[1], &t[2] }, *out[1] = { &tq };
        er_node node = { .name = "q", .op_type = "QuantizeLinear", .domain = "", .n_in = 3, .n_out = 1 };
        char err[256] = "";
        er_kctx ctx = { .node = &node, .opset = 13, .err = err, .err_size = sizeof err };
        const er_op *qop = er_op_find_ref("", "QuantizeLinear"), *dop = er_op_find_ref("", "DequantizeLinear");
        bool ok = qop->infer(&ctx, in, 3, out, 1) == ER_OK;
        tq.data = q;
        ok = ok && qop->run(&ctx, in, 3, out, 1) == ER_OK;
        er_tensor *din[3] = { &tq, &t[1], &t[2] }, *dout[1] = { &ty };
        node.op_type = "DequantizeLinear";
        ok = ok && dop->infer(&ctx, din, 3, dout, 1) == ER_OK;
        ty.data = y0;
        ok = ok && dop->run(&ctx, din, 3, dout, 1) == ER_OK;
        CHECK(ok, "reference QuantizeLinear / DequantizeLinear: %s", err);
        node.op_type = "QuantDequant";
        node.domain = "edgerun";
        const er_op *fop = er_op_find("edgerun", "QuantDequant");
        ok = fop && fop->infer(&ctx, in, 3, dout, 1) == ER_OK;
        ty.data = y1;
        ok = ok && fop->run(&ctx, in, 3, dout, 1) == ER_OK;
        CHECK(ok, "QuantDequant: %s", err);
        bad += memcmp(y0, y1, sizeof y0) != 0;
        er_qfake_ref(x, NF, scale, sg ? zs : zu, sg, y1);
        bad += memcmp(y0, y1, sizeof y0) != 0;
        if (er_cpu_isa() == ER_ISA_AVX512) {
            er_qfake_avx512(x, NF, scale, sg ? zs : zu, sg, y1);
            bad += memcmp(y0, y1, sizeof y0) != 0;
        }
    }
    CHECK(bad == 0, "QuantDequant differs from QuantizeLinear + DequantizeLinear in %d of 6 checks", bad);
}

/* infer of a DequantizeLinear / QuantizeLinear must fail with code `want` and a message containing `msg`. */
static void expect_qdq_error(const char *op_type, er_tensor **in, int n_in, int64_t axis, er_status want, const char *msg)
{
    er_attr at[1] = { { .name = "axis", .type = ER_ATTR_INT, .i = axis } };
    er_node node = { .name = "bad", .op_type = op_type, .domain = "", .n_in = n_in, .n_out = 1, .n_attrs = 1, .attrs = at };
    char err[256] = "";
    er_kctx ctx = { .node = &node, .opset = 13, .err = err, .err_size = sizeof err };
    er_tensor y;
    er_tensor *out[1] = { &y };
    const er_op *op = er_op_find_ref("", op_type);
    er_status st = op ? op->infer(&ctx, in, n_in, out, 1) : ER_OK;
    CHECK(st == want && strstr(err, msg), "%s: got status %d and '%s', expected %d with '%s'", op_type, (int)st, err,
          (int)want, msg);
}

static void test_bad_params(void)
{
    static int8_t xq[12];
    static float xf[12];
    float s3[3] = { 0.1f, 0.2f, 0.3f }, s4[4] = { 0.1f, 0.2f, 0.3f, 0.4f }, neg = -0.5f, zero = 0.0f;
    int8_t z4[4] = { 0 };
    uint8_t zu = 0;
    int64_t dx[2] = { 3, 4 }, d3[1] = { 3 }, d4[1] = { 4 };
    er_tensor t[3];
    er_tensor *in[3] = { &t[0], &t[1], &t[2] };
    set(&t[0], ER_I8, 2, dx, xq);
    set(&t[1], ER_F32, 1, d3, s3);
    set(&t[2], ER_I8, 1, d4, z4);
    /* 3 scales along axis 1, which has 4 entries */
    expect_qdq_error("DequantizeLinear", in, 2, 1, ER_ERR_SHAPE, "scale has 3 values");
    /* 4 scales but 3 zero points */
    set(&t[1], ER_F32, 1, d4, s4);
    set(&t[2], ER_I8, 1, d3, z4);
    expect_qdq_error("DequantizeLinear", in, 3, 1, ER_ERR_SHAPE, "zero point has 3 values");
    /* a uint8 zero point for int8 data */
    set(&t[1], ER_F32, 0, NULL, s4);
    set(&t[2], ER_U8, 0, NULL, &zu);
    expect_qdq_error("DequantizeLinear", in, 3, 1, ER_ERR_DTYPE, "zero point is uint8, expected int8");
    /* negative and zero scales */
    set(&t[1], ER_F32, 0, NULL, &neg);
    expect_qdq_error("DequantizeLinear", in, 2, 1, ER_ERR_FORMAT, "must be positive");
    set(&t[0], ER_F32, 2, dx, xf);
    set(&t[1], ER_F32, 0, NULL, &zero);
    expect_qdq_error("QuantizeLinear", in, 2, 1, ER_ERR_FORMAT, "must be positive");
}

int main(void)
{
    const int64_t shapes[][3] = { { 1, 1, 1 }, { 3, 4, 5 }, { 4, 7, 64 }, { 5, 64, 70 }, { 9, 257, 130 }, { 2, 3, 17 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int kind = ER_QMM_I32; kind <= ER_QMM_I8_F32; kind++)
            for (int sa = 0; sa < 2; sa++)
                test_kernel(shapes[s][0], shapes[s][1], shapes[s][2], s % 2 == 1, sa == 1, (er_qmm_kind)kind);
    test_ops();
    test_qgemm_dq();
    test_depthwise(5, 9, 21, 3, 1, 1, false);
    test_depthwise(3, 12, 37, 3, 2, 1, true);
    test_depthwise(4, 7, 7, 5, 2, 2, false);
    test_depthwise(2, 6, 40, 5, 1, 0, true);
    test_dw_rows();
    test_dw_vnni();
    test_dw_pad();
    test_qmaxpool(3, 2, 1, 0, false, 17);
    test_qmaxpool(3, 2, 1, 1, true, 17);
    test_qmaxpool(2, 2, 0, 0, false, 17);
    test_qmaxpool(3, 1, 1, 0, true, 17);
    test_qmaxpool(3, 2, 1, 0, false, 150);   /* rows wider than one vector */
    test_qmaxpool(5, 1, 2, 0, true, 150);
    test_qmaxpool(3, 3, 1, 0, false, 150);   /* stride 3: the portable kernel */
    test_quantize_kernel();
    test_qadd();
    test_qfake();
    test_bad_params();
    printf("%s (%s)\n", failures ? "test_quant_mm: FAILED" : "test_quant_mm: ok",
           er_cpu_vnni() ? "VNNI kernel checked" : "no VNNI: portable kernel only");
    return failures != 0;
}
