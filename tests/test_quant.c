/* INT8 kernels and the quantization tool's building blocks:
 *  - the VNNI GEMM and the SSE packer agree bit for bit with their portable references;
 *  - the VNNI channels-in-lanes conv kernel (7- and 14-wide tiles) equals its reference;
 *  - the portable GEMM equals a plain int32 triple loop with the same float requantization;
 *  - the packed QLinearConv (prepare + run) matches the reference QLinearConv op within 1 LSB;
 *  - the ONNX writer round-trips a graph through the reader;
 *  - er_quantize rejects an empty calibration set and a model with nothing to quantize;
 *  - an embedding table read by Gather is stored int8 per row (each value within half a step)
 *    behind DequantizeLinear, the QDQ fusion turns that pair into GatherDQ, and GatherDQ
 *    equals DequantizeLinear → Gather bit for bit, negative indices included;
 *  - raising an opset-9 graph rewrites Clip's attributes into inputs and keeps the old
 *    Softmax meaning through Flatten/Reshape, and refuses Upsample by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/op.h"
#include "backend/cpu/qgemm.h"
#include "backend/cpu/qgemm_conv.h"
#include "core/cpu.h"
#include "format/onnx.h"
#include "format/onnx_write.h"
#include "quant/qdq_fuse.h"
#include "quant/quantize.h"
#include "check.h"

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

static void test_qgemm(int64_t m, int64_t k, int64_t n, bool is_signed)
{
    int64_t k4 = (k + 3) / 4, np = (n + 15) / 16 * 16;
    int8_t *w = calloc((size_t)(m * k4 * 4), 1);
    uint8_t *x = malloc((size_t)(k * n)), *xp = calloc((size_t)(k4 * np * 4), 1), *xp2 = calloc((size_t)(k4 * np * 4), 1);
    int32_t *bias = malloc(sizeof(int32_t) * (size_t)m);
    float *mult = malloc(sizeof(float) * (size_t)m);
    uint8_t *y0 = malloc((size_t)(m * n)), *y1 = malloc((size_t)(m * n)), *y2 = malloc((size_t)(m * n));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < k; j++) w[i * k4 * 4 + j] = (int8_t)(rnd() % 255 - 127);
    for (int64_t i = 0; i < k * n; i++) x[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < m; i++) {
        bias[i] = (int32_t)(rnd() % 20001) - 10000;
        mult[i] = 1.0f / (float)(k * 64) * (1.0f + (float)(rnd() % 100) / 100.0f);
    }
    er_qgemm_pack_x(x, n, k, n, 7, xp);
    er_qgemm_out o = { .bias = bias, .mult = mult, .zp = is_signed ? -3 : 5, .is_signed = is_signed, .y = y0, .ldy = n };
    er_qgemm_u8s8_ref((const int32_t *)w, xp, k4, np, 0, m, 0, n, &o);
    /* the reference GEMM against a plain loop over the unpacked operands */
    int bad = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            int32_t acc = 0;
            for (int64_t kk = 0; kk < k; kk++) acc += w[i * k4 * 4 + kk] * x[kk * n + j];
            float v = nearbyintf((float)(acc + bias[i]) * mult[i]) + (float)o.zp;
            float lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
            v = v < lo ? lo : v > hi ? hi : v;
            int want = (int)v, got = is_signed ? (int8_t)y0[i * n + j] : y0[i * n + j];
            bad += want != got;
        }
    CHECK(bad == 0, "qgemm ref %lldx%lldx%lld: %d mismatches vs the plain loop", (long long)m, (long long)k,
          (long long)n, bad);
    if (er_cpu_vnni()) {
        er_qgemm_pack_x_avx512(x, n, k, n, 7, xp2);
        CHECK(memcmp(xp, xp2, (size_t)(k4 * np * 4)) == 0, "avx512 pack differs (k %lld n %lld)", (long long)k,
              (long long)n);
        o.y = y1;
        er_qgemm_u8s8_avx512vnni((const int32_t *)w, xp, k4, np, 0, m, 0, n, &o);
        CHECK(memcmp(y0, y1, (size_t)(m * n)) == 0, "vnni qgemm %lldx%lldx%lld differs from the reference",
              (long long)m, (long long)k, (long long)n);
    }
    if (m % 16 == 0) {
        /* output channels in the lanes: both kernels equal the reference bit for bit */
        int32_t *wt = malloc(sizeof(int32_t) * (size_t)(m * k4));
        er_qgemm_pack_wt((const int32_t *)w, m, k4, wt);
        o.y = y2;
        memset(y2, 0, (size_t)(m * n));
        er_qgemm_t_u8s8_ref(wt, xp, k4, np, 0, m, 0, n, &o);
        CHECK(memcmp(y0, y2, (size_t)(m * n)) == 0, "transposed qgemm ref %lldx%lldx%lld differs from the reference",
              (long long)m, (long long)k, (long long)n);
        if (er_cpu_vnni()) {
            memset(y2, 0, (size_t)(m * n));
            er_qgemm_t_u8s8_avx512vnni(wt, xp, k4, np, 0, m, 0, n, &o);
            CHECK(memcmp(y0, y2, (size_t)(m * n)) == 0, "transposed vnni qgemm %lldx%lldx%lld differs from the reference",
                  (long long)m, (long long)k, (long long)n);
        }
        free(wt);
    }
    free(w), free(x), free(xp), free(xp2), free(bias), free(mult), free(y0), free(y1), free(y2);
}

static void set(er_tensor *t, er_dtype dt, int ndim, const int64_t *dims, void *data)
{
    er_tensor_set_shape(t, dt, dims, ndim);
    t->data = data;
}

/* The AVX-512 implicit-im2col packer against the portable one over the bytes both define. */
static void test_pack4(void)
{
    if (!er_cpu_vnni()) return;
    static uint8_t src[4][4096], d0[64 * 4 * 20 + 64], d1[64 * 4 * 20 + 64];
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4096; i++) src[j][i] = (uint8_t)rnd();
    const uint8_t *r[4] = { src[0], src[1] + 3, src[2] + 100, src[3] + 7 };
    const int64_t widths[] = { 1, 7, 16, 30, 56, 64 };
    for (int64_t sw = 1; sw <= 3; sw++)
        for (size_t i = 0; i < ER_ARRAY_LEN(widths); i++) {
            int64_t n = widths[i], rows = 5, step = 3 * 64 + 1;
            er_qgemm_pack4(r, sw, n, rows, step, d0);
            er_qgemm_pack4_avx512(r, sw, n, rows, step, d1);
            CHECK(memcmp(d0, d1, (size_t)(n * rows * 4)) == 0, "AVX-512 pack4 n %lld stride %lld differs",
                  (long long)n, (long long)sw);
        }
}

/* The VNNI channels-in-lanes conv kernel against its portable reference, bit for bit, on
 * plane shapes that take each tile form: 7-wide segments paired within a row (14 wide) and
 * across rows (7 wide, 21 wide), widths that never pair (13: 7 + 6; 9: 5 + 4; 8; a single
 * 7-wide row), column steps 4 and 8, 32-row blocks and 16-row remainders. Rows outside
 * [m0, m1) must stay untouched. */
static void test_tconv_kernel(int64_t oh, int64_t ow, int64_t cstep, int64_t m0, int64_t m1, bool is_signed)
{
    if (!er_cpu_vnni()) return;
    const int64_t M = 64, k4 = 37, rstep = ow * cstep + 12, plane = oh * rstep + 64, n = oh * ow;
    uint8_t *x = malloc((size_t)(k4 * plane));
    int32_t *wt = malloc(sizeof(int32_t) * (size_t)(M * k4)), *bias = malloc(sizeof(int32_t) * (size_t)M);
    float *mult = malloc(sizeof(float) * (size_t)M);
    int64_t goff[37];
    uint8_t *y0 = malloc((size_t)(M * n)), *y1 = malloc((size_t)(M * n));
    for (int64_t i = 0; i < k4 * plane; i++) x[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < M * k4; i++) wt[i] = (int32_t)rnd() ^ (int32_t)(rnd() << 24);
    for (int64_t g = 0; g < k4; g++) goff[g] = g * 7 % k4 * plane;
    for (int64_t m = 0; m < M; m++) {
        bias[m] = (int32_t)(rnd() % 40001) - 20000;
        mult[m] = 0.0004f + 0.0001f * (float)(rnd() % 20);
    }
    memset(y0, 0xa5, (size_t)(M * n));
    memset(y1, 0xa5, (size_t)(M * n));
    er_qgemm_out o = { .bias = bias, .mult = mult, .zp = is_signed ? -5 : 120, .is_signed = is_signed, .y = y0, .ldy = n };
    const er_qgemm_conv_geom geo = { .oh = oh, .ow = ow, .rstep = rstep, .cstep = cstep };
    er_qgemm_t_conv_ref(wt, x, goff, k4, m0, m1, &geo, &o);
    o.y = y1;
    er_qgemm_t_conv_avx512vnni(wt, x, goff, k4, m0, m1, &geo, &o);
    CHECK(memcmp(y0, y1, (size_t)(M * n)) == 0, "VNNI t_conv %lldx%lld cstep %lld rows %lld-%lld%s differs from the "
          "reference", (long long)oh, (long long)ow, (long long)cstep, (long long)m0, (long long)m1,
          is_signed ? " int8" : "");
    free(x), free(wt), free(bias), free(mult), free(y0), free(y1);
}

typedef struct {
    int64_t c, h, w, m, g, kh, kw, stride, pad;
    bool x_signed;
    int64_t dil;              /* 0: no dilations attribute */
} qconv_case;

/* QLinearConv with packed weights vs the reference kernel on one shape. */
static void test_qconv_packed(const qconv_case *q)
{
    const int64_t N = 1, C = q->c, H = q->h, W = q->w, M = q->m, G = q->g, KH = q->kh, KW = q->kw;
    uint8_t *x = malloc((size_t)(N * C * H * W));
    int8_t *w = malloc((size_t)(M * (C / G) * KH * KW));
    float *ws = malloc(sizeof(float) * (size_t)M);
    int8_t *wz = calloc((size_t)M, 1);
    int32_t *b = malloc(sizeof(int32_t) * (size_t)M);
    for (int64_t i = 0; i < N * C * H * W; i++) x[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < M * (C / G) * KH * KW; i++) w[i] = (int8_t)(rnd() % 255 - 127);
    for (int64_t i = 0; i < M; i++) {
        ws[i] = 0.002f + 0.0005f * (float)(rnd() % 40);
        b[i] = (int32_t)(rnd() % 6001) - 3000;
    }
    float xs = 0.02f, ys = 0.5f;
    uint8_t xz = q->x_signed ? (uint8_t)(int8_t)-11 : 117, yz = 121;
    er_tensor t[9], y_ref, y_fast;
    int64_t dx[4] = { N, C, H, W }, dw[4] = { M, C / G, KH, KW }, d6[1] = { M };
    er_dtype xt = q->x_signed ? ER_I8 : ER_U8;
    set(&t[0], xt, 4, dx, x);
    set(&t[1], ER_F32, 0, NULL, &xs);
    set(&t[2], xt, 0, NULL, &xz);
    set(&t[3], ER_I8, 4, dw, w);
    set(&t[4], ER_F32, 1, d6, ws);
    set(&t[5], ER_I8, 1, d6, wz);
    set(&t[6], ER_F32, 0, NULL, &ys);
    set(&t[7], ER_U8, 0, NULL, &yz);
    set(&t[8], ER_I32, 1, d6, b);
    er_tensor *in[9];
    for (int i = 0; i < 9; i++) in[i] = &t[i];
    const int64_t pads[4] = { q->pad, q->pad, q->pad, q->pad }, strides[2] = { q->stride, q->stride };
    const int64_t dils[2] = { q->dil, q->dil };
    er_attr attrs[4] = {
        { .name = "pads", .type = ER_ATTR_INTS, .n = 4, .ints = pads },
        { .name = "strides", .type = ER_ATTR_INTS, .n = 2, .ints = strides },
        { .name = "group", .type = ER_ATTR_INT, .i = G },
        { .name = "dilations", .type = ER_ATTR_INTS, .n = 2, .ints = dils },
    };
    er_node node = { .name = "qc", .op_type = "QLinearConv", .domain = "", .n_in = 9, .n_out = 1,
                     .n_attrs = q->dil ? 4 : 3, .attrs = attrs };
    char err[256] = "";
    const er_op *op = er_op_find_ref("", "QLinearConv");
    er_kctx ctx = { .node = &node, .opset = 13, .err = err, .err_size = sizeof err };
    er_tensor *out[1] = { &y_ref };
    CHECK(op && op->infer(&ctx, in, 9, out, 1) == ER_OK, "infer: %s", err);
    if (!op || failures) return;
    int64_t total = er_tensor_numel(&y_ref);
    void *ws_buf = malloc(ctx.workspace_bytes + 1);
    uint8_t *r = malloc((size_t)total), *f = malloc((size_t)total);
    y_ref.data = r;
    ctx.workspace = ws_buf;
    CHECK(op->run(&ctx, in, 9, out, 1) == ER_OK, "ref run: %s", err);
    y_fast = y_ref;
    y_fast.data = f;
    out[0] = &y_fast;
    void *state = NULL;
    CHECK(er_qconv_prepare(&ctx, in, 9, out, 1, &state) == ER_OK && state, "prepare did not pack: %s", err);
    ctx.state = state;
    CHECK(op->run(&ctx, in, 9, out, 1) == ER_OK, "packed run: %s", err);
    int worst = 0;
    for (int64_t i = 0; i < total; i++) worst = ER_MAX(worst, abs((int)r[i] - (int)f[i]));
    CHECK(worst <= 1, "packed QLinearConv C%lld %lldx%lld M%lld g%lld k%lldx%lld s%lld p%lld d%lld%s differs from the "
          "reference by %d (allowed 1: float vs double requant)", (long long)C, (long long)H, (long long)W, (long long)M,
          (long long)G, (long long)KH, (long long)KW, (long long)q->stride, (long long)q->pad, (long long)q->dil,
          q->x_signed ? " int8" : "", worst);
    er_qconv_release(state);
    free(ws_buf), free(r), free(f), free(x), free(w), free(ws), free(wz), free(b);
}

/* A tiny graph Y = MatMul(X, W) written and read back. */
static er_graph *tiny_graph(bool with_matmul)
{
    er_graph *g = er_graph_new();
    static float wdata[6] = { 1, -2, 3, 0.5f, -0.25f, 4 };
    static er_const wc = { .dtype = ER_F32, .ndim = 2, .dims = { 3, 2 }, .data = wdata, .nbytes = sizeof wdata };
    int x = er_graph_add_value(g, "X"), w = er_graph_add_value(g, "W"), y = er_graph_add_value(g, "Y");
    g->values[x].dtype = ER_F32;
    g->values[x].ndim = 2;
    g->values[x].dims[0] = -1;
    g->values[x].dim_names[0] = "N";
    g->values[x].dims[1] = 3;
    g->values[w].init = &wc;
    er_node *n = er_graph_add_node(g, with_matmul ? "MatMul" : "Relu", with_matmul ? 2 : 1, 1);
    n->in[0] = x;
    if (with_matmul) n->in[1] = w;
    n->out[0] = y;
    n->name = "mm";
    g->inputs = er_pool_alloc(&g->pool, sizeof(int));
    g->outputs = er_pool_alloc(&g->pool, sizeof(int));
    g->inputs[0] = x;
    g->outputs[0] = y;
    g->n_inputs = g->n_outputs = 1;
    g->opsets = er_pool_alloc(&g->pool, sizeof(er_opset));
    g->opsets[0] = (er_opset){ "", 13 };
    g->n_opsets = 1;
    return g;
}

static void test_writer_roundtrip(void)
{
    er_graph *g = tiny_graph(true), *back = NULL;
    void *buf = NULL;
    size_t size = 0;
    char err[256] = "";
    CHECK(er_onnx_serialize(g, &buf, &size, err, sizeof err) == ER_OK, "serialize: %s", err);
    CHECK(er_onnx_parse(buf, size, NULL, false, &back, err, sizeof err) == ER_OK, "parse back: %s", err);
    if (back) {
        int w = er_graph_find_value(back, "W");
        CHECK(back->n_nodes == 1 && strcmp(back->nodes[0].op_type, "MatMul") == 0, "node lost");
        CHECK(w >= 0 && back->values[w].init && back->values[w].init->nbytes == 24 &&
                  memcmp(back->values[w].init->data, g->values[1].init->data, 24) == 0,
              "initializer W did not round-trip");
        int x = back->inputs[0];
        CHECK(back->n_inputs == 1 && back->values[x].dtype == ER_F32 && back->values[x].ndim == 2 &&
                  back->values[x].dim_names[0] && strcmp(back->values[x].dim_names[0], "N") == 0 &&
                  back->values[x].dims[1] == 3,
              "input type/shape did not round-trip");
        CHECK(er_graph_opset(back, "") == 13, "opset lost");
    }
    er_graph_free(back);
    free(buf);
    er_graph_free(g);
}

static void test_quantize_errors(void)
{
    er_quant_options o;
    er_quant_options_init(&o);
    er_quant_result res;
    char err[512] = "";
    er_graph *g = tiny_graph(true);
    CHECK(er_quantize(g, &o, NULL, 0, &res, err, sizeof err) == ER_ERR_INVALID_ARG && strstr(err, "empty"),
          "empty calibration set: got '%s'", err);
    CHECK(res.graph == NULL, "a failed quantize left a graph");
    er_graph_free(g);
    g = tiny_graph(false);
    o.mode = ER_QUANT_DYNAMIC;
    err[0] = 0;
    CHECK(er_quantize(g, &o, NULL, 0, &res, err, sizeof err) == ER_ERR_UNSUPPORTED && strstr(err, "no quantizable"),
          "no quantizable node: got '%s'", err);
    er_graph_free(g);
    /* dynamic MatMul: int8 weights within half a step of the float ones */
    g = tiny_graph(true);
    err[0] = 0;
    CHECK(er_quantize(g, &o, NULL, 0, &res, err, sizeof err) == ER_OK, "dynamic quantize: %s", err);
    if (res.graph) {
        int v = er_graph_find_value(res.graph, "W_quantized"), s = er_graph_find_value(res.graph, "W_scale");
        CHECK(v >= 0 && s >= 0, "W_quantized / W_scale missing");
        if (v >= 0 && s >= 0) {
            const int8_t *q = res.graph->values[v].init->data;
            const float *sc = res.graph->values[s].init->data;
            const float *wf = g->values[1].init->data;
            for (int i = 0; i < 6; i++)
                CHECK(fabsf(q[i] * sc[i % 2] - wf[i]) <= 0.5f * sc[i % 2] + 1e-6f, "weight %d: %d * %g vs %g", i, q[i],
                      (double)sc[i % 2], (double)wf[i]);
        }
    }
    er_quant_result_free(&res);
    er_graph_free(g);
}

/* ids [2,3] (int64) → Gather(T [300,16]) → MatMul(W [16,2]) → Y */
static er_graph *embed_graph(void)
{
    enum { V = 300, D = 16 };
    static float tdata[V * D];
    static float wdata[D * 2];
    for (int i = 0; i < V * D; i++) tdata[i] = (float)((int)(rnd() % 2001) - 1000) * 1e-3f * (float)(1 + i / D % 7);
    for (int i = 0; i < D * 2; i++) wdata[i] = (float)((int)(rnd() % 201) - 100) * 1e-2f;
    static er_const tc = { .dtype = ER_F32, .ndim = 2, .dims = { V, D }, .data = tdata, .nbytes = sizeof tdata };
    static er_const wc = { .dtype = ER_F32, .ndim = 2, .dims = { D, 2 }, .data = wdata, .nbytes = sizeof wdata };
    er_graph *g = er_graph_new();
    int x = er_graph_add_value(g, "ids"), t = er_graph_add_value(g, "T"), e = er_graph_add_value(g, "E");
    int w = er_graph_add_value(g, "W"), y = er_graph_add_value(g, "Y");
    g->values[x].dtype = ER_I64;
    g->values[x].ndim = 2;
    g->values[x].dims[0] = 2;
    g->values[x].dims[1] = 3;
    g->values[t].init = &tc;
    g->values[w].init = &wc;
    er_node *n = er_graph_add_node(g, "Gather", 2, 1);
    n->in[0] = t, n->in[1] = x, n->out[0] = e, n->name = "emb";
    n = er_graph_add_node(g, "MatMul", 2, 1);
    n->in[0] = e, n->in[1] = w, n->out[0] = y, n->name = "mm";
    g->inputs = er_pool_alloc(&g->pool, sizeof(int));
    g->outputs = er_pool_alloc(&g->pool, sizeof(int));
    g->inputs[0] = x;
    g->outputs[0] = y;
    g->n_inputs = g->n_outputs = 1;
    g->opsets = er_pool_alloc(&g->pool, sizeof(er_opset));
    g->opsets[0] = (er_opset){ "", 13 };
    g->n_opsets = 1;
    return g;
}

static const er_node *find_op(const er_graph *g, const char *op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op_type && strcmp(g->nodes[i].op_type, op) == 0) return &g->nodes[i];
    return NULL;
}

/* GatherDQ of the quantized table against DequantizeLinear then a plain row copy. */
static void check_gather_dq(const er_const *tq, const er_const *ts)
{
    int64_t ids[6] = { 0, 299, -1, 17, 150, -300 }, idims[2] = { 2, 3 }, sdims[1] = { tq->dims[0] };
    static int8_t zp[300];
    float y[6 * 16];
    for (int r = 0; r < 300; r++) zp[r] = (int8_t)(r % 5 - 2);
    er_tensor in_t[4], y_t;
    memset(in_t, 0, sizeof in_t), memset(&y_t, 0, sizeof y_t);
    set(&in_t[0], ER_I8, 2, tq->dims, (void *)tq->data);
    set(&in_t[1], ER_F32, 1, sdims, (void *)ts->data);
    set(&in_t[2], ER_I8, 1, sdims, zp);
    set(&in_t[3], ER_I64, 2, idims, ids);
    er_tensor *in[4] = { &in_t[0], &in_t[1], &in_t[2], &in_t[3] }, *out[1] = { &y_t };
    er_node node = { .name = "gdq", .op_type = "GatherDQ", .domain = "edgerun", .n_in = 4, .n_out = 1 };
    char err[256] = "";
    const er_op *op = er_op_find("edgerun", "GatherDQ");
    er_kctx ctx = { .node = &node, .opset = 1, .err = err, .err_size = sizeof err };
    CHECK(op && op->infer(&ctx, in, 4, out, 1) == ER_OK, "GatherDQ infer: %s", err);
    if (!op || failures) return;
    CHECK(y_t.dtype == ER_F32 && y_t.ndim == 3 && y_t.dims[0] == 2 && y_t.dims[1] == 3 && y_t.dims[2] == 16,
          "GatherDQ output shape");
    y_t.data = y;
    CHECK(op->run(&ctx, in, 4, out, 1) == ER_OK, "GatherDQ run: %s", err);
    const int8_t *q = tq->data;
    const float *s = ts->data;
    for (int j = 0; j < 6; j++) {
        int64_t r = ids[j] < 0 ? ids[j] + 300 : ids[j];
        for (int e = 0; e < 16; e++) {
            float want = (float)(q[r * 16 + e] - zp[r]) * s[r];
            CHECK(memcmp(&y[j * 16 + e], &want, sizeof want) == 0, "GatherDQ row %lld [%d]: %g vs %g", (long long)r, e,
                  (double)y[j * 16 + e], (double)want);
        }
    }
    ids[4] = 300;
    err[0] = 0;
    CHECK(op->run(&ctx, in, 4, out, 1) == ER_ERR_INVALID_ARG && strstr(err, "out of range"),
          "GatherDQ index 300 of 300 rows: got '%s'", err);
}

static void test_embedding_table(void)
{
    er_quant_options o;
    er_quant_options_init(&o);
    o.mode = ER_QUANT_DYNAMIC;
    er_quant_result res;
    char err[512] = "";
    er_graph *g = embed_graph();
    CHECK(er_quantize(g, &o, NULL, 0, &res, err, sizeof err) == ER_OK, "quantize with a table: %s", err);
    if (!res.graph) {
        er_graph_free(g);
        return;
    }
    int v = er_graph_find_value(res.graph, "T_quantized"), s = er_graph_find_value(res.graph, "T_scale");
    const er_node *dq = find_op(res.graph, "DequantizeLinear"), *ga = find_op(res.graph, "Gather");
    CHECK(v >= 0 && s >= 0 && res.graph->values[v].init->dtype == ER_I8 && res.graph->values[s].init->nbytes == 300 * 4,
          "T is not int8 with one scale per row");
    CHECK(dq && ga && res.graph->values[ga->in[0]].name && strcmp(res.graph->values[ga->in[0]].name, "T_DequantizeLinear_Output") == 0,
          "Gather does not read the dequantized table");
    if (v < 0 || s < 0 || failures) {
        er_quant_result_free(&res);
        er_graph_free(g);
        return;
    }
    const er_const *tq = res.graph->values[v].init, *ts = res.graph->values[s].init, *tf = g->values[1].init;
    const int8_t *q = tq->data;
    const float *sc = ts->data, *f = tf->data;
    for (int i = 0; i < 300 * 16; i++)
        CHECK(fabsf((float)q[i] * sc[i / 16] - f[i]) <= 0.5f * sc[i / 16] + 1e-7f, "table value %d: %d * %g vs %g", i,
              q[i], (double)sc[i / 16], (double)f[i]);
    check_gather_dq(tq, ts);
    er_pass_fuse_qdq(res.graph);
    CHECK(find_op(res.graph, "GatherDQ") && !find_op(res.graph, "Gather"), "DequantizeLinear → Gather was not fused");
    er_quant_result_free(&res);
    er_graph_free(g);
}

/* X [2,3,4] → Clip(min -1, max 2) → Softmax(axis 1) → Y at opset 9, or Upsample instead. */
static er_graph *old_graph(bool upsample)
{
    er_graph *g = er_graph_new();
    int x = er_graph_add_value(g, "X"), c = er_graph_add_value(g, "C"), y = er_graph_add_value(g, "Y");
    g->values[x].dtype = ER_F32;
    g->values[x].ndim = 3;
    g->values[c].ndim = 3;
    static er_attr clip_attrs[2] = { { .name = "min", .type = ER_ATTR_FLOAT, .f = -1.0f },
                                     { .name = "max", .type = ER_ATTR_FLOAT, .f = 2.0f } };
    static er_attr sm_attr = { .name = "axis", .type = ER_ATTR_INT, .i = 1 };
    er_node *n = er_graph_add_node(g, "Clip", 1, 1);
    n->in[0] = x;
    n->out[0] = c;
    n->attrs = clip_attrs;
    n->n_attrs = 2;
    n = er_graph_add_node(g, upsample ? "Upsample" : "Softmax", 1, 1);
    n->name = "last";
    n->in[0] = c;
    n->out[0] = y;
    n->attrs = &sm_attr;
    n->n_attrs = !upsample;
    g->inputs = er_pool_alloc(&g->pool, sizeof(int));
    g->outputs = er_pool_alloc(&g->pool, sizeof(int));
    g->inputs[0] = x;
    g->outputs[0] = y;
    g->n_inputs = g->n_outputs = 1;
    g->opsets = er_pool_alloc(&g->pool, sizeof(er_opset));
    g->opsets[0] = (er_opset){ "", 9 };
    g->n_opsets = 1;
    return g;
}

static float scalar_input(const er_graph *g, const er_node *n, int k)
{
    const er_const *c = k < n->n_in && n->in[k] >= 0 ? g->values[n->in[k]].init : NULL;
    return c && c->dtype == ER_F32 && c->ndim == 0 ? *(const float *)c->data : NAN;
}

static void test_raise_opset(void)
{
    char err[512] = "";
    er_graph *g = old_graph(false), *r = NULL;
    CHECK(er_quant_raise_opset(g, 13, &r, err, sizeof err) == ER_OK, "raise: %s", err);
    if (r) {
        static const char *const want[] = { "Clip", "Flatten", "Softmax", "Shape", "Reshape" };
        CHECK(r->n_nodes == 5 && er_graph_opset(r, "") == 13, "%d nodes, opset %lld", r->n_nodes,
              (long long)er_graph_opset(r, ""));
        for (int i = 0; i < r->n_nodes && i < 5; i++)
            CHECK(strcmp(r->nodes[i].op_type, want[i]) == 0, "node %d is %s, want %s", i, r->nodes[i].op_type, want[i]);
        const er_node *clip = &r->nodes[0];
        CHECK(clip->n_in == 3 && clip->n_attrs == 0 && scalar_input(r, clip, 1) == -1.0f &&
                  scalar_input(r, clip, 2) == 2.0f,
              "Clip bounds not moved into inputs");
        CHECK(r->n_nodes == 5 && er_attr_int(&r->nodes[1], "axis", 0) == 1 && r->nodes[2].n_attrs == 0 &&
                  r->nodes[4].out[0] == er_graph_find_value(r, "Y"),
              "Softmax not wrapped as Flatten(axis 1) → Softmax(last axis) → Reshape to Y");
    }
    er_graph_free(r);
    er_graph_free(g);
    g = old_graph(true);
    r = NULL;
    CHECK(er_quant_raise_opset(g, 13, &r, err, sizeof err) == ER_ERR_UNSUPPORTED && !r && strstr(err, "'last' (Upsample)"),
          "Upsample: got '%s'", err);
    er_graph_free(g);
}

int main(void)
{
    const int64_t shapes[][3] = { { 1, 1, 1 }, { 8, 4, 16 }, { 7, 13, 33 }, { 17, 64, 100 }, { 64, 576, 49 }, { 3, 5, 15 },
                                  { 48, 37, 13 }, { 16, 9, 1 }, { 32, 160, 196 }, { 80, 64, 8 } };
    for (size_t i = 0; i < ER_ARRAY_LEN(shapes); i++) {
        test_qgemm(shapes[i][0], shapes[i][1], shapes[i][2], false);
        test_qgemm(shapes[i][0], shapes[i][1], shapes[i][2], true);
    }
    const qconv_case convs[] = {
        { 8, 9, 11, 6, 2, 3, 3, 2, 1, false },   { 16, 10, 13, 24, 1, 3, 3, 1, 1, false },
        { 3, 23, 21, 16, 1, 7, 7, 2, 3, false }, { 32, 7, 9, 40, 1, 1, 1, 1, 0, false },
        { 12, 9, 8, 20, 1, 1, 1, 2, 0, false },  { 13, 6, 17, 9, 1, 3, 3, 1, 1, true },
        { 24, 5, 5, 17, 1, 1, 1, 1, 0, true },   { 5, 33, 35, 70, 1, 3, 3, 1, 0, false },
        { 6, 12, 15, 10, 1, 3, 3, 1, 2, false, 2 }, { 7, 11, 9, 9, 1, 3, 3, 2, 1, true, 2 },
        /* K x N past the packed chunk budget: im2col and GEMM a chunk of columns at a time */
        { 64, 30, 30, 16, 1, 3, 3, 1, 1, false }, { 64, 64, 64, 8, 1, 3, 3, 2, 1, true },
        { 400, 30, 30, 8, 1, 1, 1, 1, 0, false },
        /* stride 1, channels a multiple of 4: no im2col, the GEMM over the padded width */
        { 8, 7, 60, 16, 2, 5, 5, 1, 2, false }, { 12, 9, 20, 8, 1, 3, 1, 1, 0, false },
        { 64, 26, 26, 24, 1, 3, 3, 1, 1, false },
        /* output channels in the lanes (small planes, channels a multiple of 16) */
        { 32, 7, 7, 48, 1, 3, 3, 1, 1, false }, { 16, 9, 9, 32, 2, 3, 3, 2, 1, true },
        { 64, 7, 7, 16, 1, 1, 1, 1, 0, false },
        /* 14x14 outputs with K >= 256 (196 of 208 lanes): also channels in the lanes */
        { 32, 14, 14, 32, 1, 3, 3, 1, 1, false }, { 64, 28, 28, 48, 1, 3, 3, 2, 1, true },
        /* channels in the lanes reading the interleaved input in place: stride 2, 3x1 stride 2,
         * groups, 16-row remainders */
        { 64, 28, 28, 48, 1, 3, 3, 2, 1, false }, { 64, 14, 14, 32, 1, 3, 1, 2, 0, false },
        { 32, 7, 7, 64, 2, 3, 3, 1, 1, false }, { 16, 11, 11, 80, 1, 3, 3, 2, 1, false },
    };
    for (size_t i = 0; i < ER_ARRAY_LEN(convs); i++) test_qconv_packed(&convs[i]);
    const int64_t tconv_geoms[][3] = { { 7, 7, 4 }, { 7, 7, 8 }, { 14, 14, 4 }, { 5, 13, 4 }, { 3, 21, 8 },
                                       { 6, 9, 4 }, { 1, 7, 4 }, { 4, 8, 8 } };
    for (size_t i = 0; i < ER_ARRAY_LEN(tconv_geoms); i++) {
        test_tconv_kernel(tconv_geoms[i][0], tconv_geoms[i][1], tconv_geoms[i][2], 0, 64, false);
        test_tconv_kernel(tconv_geoms[i][0], tconv_geoms[i][1], tconv_geoms[i][2], 16, 64, true);
        test_tconv_kernel(tconv_geoms[i][0], tconv_geoms[i][1], tconv_geoms[i][2], 0, 48, false);
    }
    test_pack4();
    test_writer_roundtrip();
    test_quantize_errors();
    test_embedding_table();
    test_raise_opset();
    if (!er_cpu_vnni()) printf("note: no AVX-512 VNNI here; only the portable kernels were checked\n");
    printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
