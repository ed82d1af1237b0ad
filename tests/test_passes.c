/* Graph passes: small random graphs built here run with the passes off (opt_level 0) and on;
 * the outputs must agree, and the pass must have fired (or, where fusing would be wrong, must
 * not have). Each graph also runs with EDGERUN_ISA=ref, where fused ops use their reference
 * versions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "runtime/model.h"
#include "runtime/session.h"

static int failures, checks;

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static int value(er_graph *g, const char *name) { return er_graph_add_value(g, name); }

/* A random (or, with fill, constant) f32 initializer. */
static int init(er_graph *g, const char *name, const int64_t *dims, int nd, unsigned *seed, const float *fill)
{
    int v = value(g, name);
    er_const *c = er_pool_alloc(&g->pool, sizeof *c);
    int64_t n = er_shape_numel(dims, nd);
    float *d = er_pool_alloc(&g->pool, sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) d[i] = fill ? fill[i] : 0.5f * frand(seed);
    c->dtype = ER_F32;
    c->ndim = nd;
    if (nd) memcpy(c->dims, dims, sizeof(int64_t) * (size_t)nd);
    c->data = d;
    c->nbytes = sizeof(float) * (size_t)n;
    g->values[v].init = c;
    g->values[v].dtype = ER_F32;
    g->values[v].ndim = nd;
    if (nd) memcpy(g->values[v].dims, dims, sizeof(int64_t) * (size_t)nd);
    return v;
}

static er_node *node(er_graph *g, const char *op, int n_in, const int *in, int out)
{
    er_node *n = er_graph_add_node(g, op, n_in, 1);
    for (int k = 0; k < n_in; k++) n->in[k] = in[k];
    n->out[0] = out;
    return n;
}

static void node_ints(er_graph *g, er_node *n, const char *name, const int64_t *v, int count)
{
    er_attr *a = er_pool_alloc(&g->pool, sizeof(er_attr) * (size_t)(n->n_attrs + 1));
    if (n->n_attrs) memcpy(a, n->attrs, sizeof(er_attr) * (size_t)n->n_attrs);
    int64_t *copy = er_pool_alloc(&g->pool, sizeof(int64_t) * (size_t)count);
    memcpy(copy, v, sizeof(int64_t) * (size_t)count);
    a[n->n_attrs++] = (er_attr){ .name = name, .type = ER_ATTR_INTS, .n = count, .ints = copy };
    n->attrs = a;
}

static void node_int(er_graph *g, er_node *n, const char *name, int64_t v)
{
    er_attr *a = er_pool_alloc(&g->pool, sizeof(er_attr) * (size_t)(n->n_attrs + 1));
    if (n->n_attrs) memcpy(a, n->attrs, sizeof(er_attr) * (size_t)n->n_attrs);
    a[n->n_attrs++] = (er_attr){ .name = name, .type = ER_ATTR_INT, .i = v };
    n->attrs = a;
}

/* Conv with a random WxHxK kernel and bias on value x (C channels) giving M channels. */
static int conv(er_graph *g, const char *name, int x, int c, int m, int k, int group, unsigned *seed)
{
    char wn[64], bn[64], yn[64];
    snprintf(wn, sizeof wn, "%s_w", name);
    snprintf(bn, sizeof bn, "%s_b", name);
    snprintf(yn, sizeof yn, "%s_y", name);
    int64_t wd[4] = { m, c / group, k, k }, bd[1] = { m };
    int in[3] = { x, init(g, wn, wd, 4, seed, NULL), init(g, bn, bd, 1, seed, NULL) };
    int y = value(g, yn);
    er_node *n = node(g, "Conv", 3, in, y);
    int64_t pads[4] = { k / 2, k / 2, k / 2, k / 2 };
    node_ints(g, n, "pads", pads, 4);
    if (group > 1) node_int(g, n, "group", group);
    return y;
}

static er_graph *graph_begin(int c, int h, int w, int *x)
{
    er_graph *g = er_graph_new();
    g->opsets = er_pool_alloc(&g->pool, sizeof(er_opset));
    g->opsets[0] = (er_opset){ "", 13 };
    g->n_opsets = 1;
    *x = value(g, "x");
    int64_t d[4] = { 1, c, h, w };
    g->values[*x].dtype = ER_F32;
    g->values[*x].ndim = 4;
    memcpy(g->values[*x].dims, d, sizeof d);
    g->inputs = er_pool_alloc(&g->pool, sizeof(int));
    g->inputs[0] = *x;
    g->n_inputs = 1;
    return g;
}

static void graph_outputs(er_graph *g, int n, const int *outs)
{
    g->outputs = er_pool_alloc(&g->pool, sizeof(int) * (size_t)n);
    memcpy(g->outputs, outs, sizeof(int) * (size_t)n);
    g->n_outputs = n;
}

/* Runs the graph at opt_level; copies output k into *out (malloc'ed); returns node count. */
static int run_graph(er_graph *g, int opt, const float *x, int64_t x_n, float **out, int64_t *out_n, int k,
                     bool *has_fused)
{
    er_model model = { g, { 0 } };
    er_session_options o;
    er_session_options_init(&o);
    o.opt_level = opt;
    o.n_threads = 2;
    er_session *s = NULL;
    er_msg msg;
    if (er_session_create(&model, &o, &s, &msg) != ER_OK) {
        printf("  session: %s\n", msg.text);
        return -1;
    }
    const er_value *xv = &g->values[g->inputs[0]];
    int n_nodes = -1;
    er_tensor_view view;
    if (x_n == er_shape_numel(xv->dims, xv->ndim) &&
        er_session_set_input(s, xv->name, ER_F32, xv->dims, xv->ndim, x) == ER_OK && er_session_run(s) == ER_OK &&
        er_session_output(s, k, &view) == ER_OK) {
        *out_n = (int64_t)(view.nbytes / sizeof(float));
        *out = malloc(view.nbytes);
        memcpy(*out, view.data, view.nbytes);
        er_session_stats stats;
        er_session_stats_get(s, &stats);
        n_nodes = stats.n_optimized_nodes;
        const er_graph *sg = er_session_graph(s);
        *has_fused = false;
        for (int i = 0; i < sg->n_nodes; i++) *has_fused |= strcmp(sg->nodes[i].domain, "edgerun") == 0;
    } else {
        printf("  run: %s\n", er_session_error(s));
    }
    er_session_free(s);
    return n_nodes;
}

/* Compares every output with passes off and on; want_nodes: node count expected after the
 * passes; want_fused: whether an edgerun fused op must appear. */
static void check(const char *what, er_graph *g, int want_nodes, bool want_fused)
{
    const er_value *xv = &g->values[g->inputs[0]];
    int64_t n = er_shape_numel(xv->dims, xv->ndim);
    float *x = malloc(sizeof(float) * (size_t)n);
    unsigned seed = 4242;
    for (int64_t i = 0; i < n; i++) x[i] = 2.0f * frand(&seed);
    for (int k = 0; k < g->n_outputs; k++) {
        float *a = NULL, *b = NULL;
        int64_t na = 0, nb = 0;
        bool fa = false, fb = false;
        int nodes0 = run_graph(g, 0, x, n, &a, &na, k, &fa);
        int nodes1 = run_graph(g, 1, x, n, &b, &nb, k, &fb);
        checks++;
        double max_err = 0;
        for (int64_t i = 0; a && b && na == nb && i < na; i++) {
            double e = fabs((double)a[i] - b[i]);
            if (!(e <= max_err)) max_err = e;
        }
        bool ok = a && b && na == nb && max_err <= 1e-4 && nodes1 == want_nodes && fb == want_fused && nodes0 > 0;
        if (!ok) {
            failures++;
            printf("FAIL %s (ISA %s) output %d: max err %g, nodes %d -> %d (want %d), fused %d (want %d)\n", what,
                   getenv("EDGERUN_ISA") ? getenv("EDGERUN_ISA") : "auto", k, max_err, nodes0, nodes1, want_nodes,
                   fb, want_fused);
        }
        free(a);
        free(b);
    }
    free(x);
}

static void test_conv_relu(void)
{
    int x;
    unsigned seed = 1;
    er_graph *g = graph_begin(5, 9, 11, &x);
    int y = conv(g, "c1", x, 5, 8, 3, 1, &seed), r = value(g, "r");
    node(g, "Relu", 1, &y, r);
    graph_outputs(g, 1, &r);
    check("Conv+Relu", g, 1, true);
    er_graph_free(g);
}

/* ResNet basic block: conv-BN-relu-conv-BN + shortcut conv, add, relu. */
static void test_residual_block(void)
{
    int x;
    unsigned seed = 2;
    er_graph *g = graph_begin(6, 8, 8, &x);
    int a = conv(g, "a", x, 6, 10, 3, 1, &seed);
    int64_t cd[1] = { 10 };
    float var[10];
    for (int i = 0; i < 10; i++) var[i] = 0.5f + 0.1f * (float)i;
    int bn_in[5] = { a, init(g, "s", cd, 1, &seed, NULL), init(g, "bb", cd, 1, &seed, NULL),
                     init(g, "mu", cd, 1, &seed, NULL), init(g, "var", cd, 1, &seed, var) };
    int an = value(g, "an");
    node(g, "BatchNormalization", 5, bn_in, an);
    int ar = value(g, "ar");
    node(g, "Relu", 1, &an, ar);
    int b = conv(g, "b", ar, 10, 10, 3, 1, &seed);
    int sc = conv(g, "sc", x, 6, 10, 1, 1, &seed);
    int sum = value(g, "sum"), out = value(g, "out");
    int add_in[2] = { sc, b };
    node(g, "Add", 2, add_in, sum);
    node(g, "Relu", 1, &sum, out);
    graph_outputs(g, 1, &out);
    /* a+BN+Relu, b+Add+Relu, sc. */
    check("residual block", g, 3, true);
    er_graph_free(g);
}

static void test_silu_clip_dw(void)
{
    int x;
    unsigned seed = 3;
    er_graph *g = graph_begin(4, 10, 7, &x);
    int y = conv(g, "c", x, 4, 12, 1, 1, &seed), s = value(g, "sig"), m = value(g, "silu");
    node(g, "Sigmoid", 1, &y, s);
    int mul_in[2] = { s, y };
    node(g, "Mul", 2, mul_in, m);
    int d = conv(g, "dw", m, 12, 12, 3, 12, &seed);
    int64_t sd[1] = { 1 };
    float lo = 0.0f, hi = 0.75f;
    int clip_in[3] = { d, init(g, "lo", sd, 0, &seed, &lo), init(g, "hi", sd, 0, &seed, &hi) };
    int c = value(g, "clip");
    node(g, "Clip", 3, clip_in, c);
    int e = conv(g, "e", c, 12, 6, 3, 1, &seed), l = value(g, "leaky");
    node(g, "LeakyRelu", 1, &e, l);
    int h = value(g, "hs");
    int f = conv(g, "f", l, 6, 6, 1, 1, &seed);
    node(g, "HardSwish", 1, &f, h);
    graph_outputs(g, 1, &h);
    check("SiLU, depthwise+Clip, LeakyRelu, HardSwish", g, 4, true);
    er_graph_free(g);
}

/* Fusing would be wrong: the conv output is also a graph output, or the Add operand is a
 * constant (it may broadcast), or the activation comes before the Add. */
static void test_no_fusion(void)
{
    int x;
    unsigned seed = 4;
    er_graph *g = graph_begin(3, 6, 6, &x);
    int y = conv(g, "c", x, 3, 4, 3, 1, &seed), r = value(g, "r");
    node(g, "Relu", 1, &y, r);
    int z = conv(g, "z", r, 4, 4, 3, 1, &seed);
    int64_t bd[4] = { 1, 1, 1, 6 };   /* varies along width: neither a bias nor a residual */
    int add_in[2] = { z, init(g, "k", bd, 4, &seed, NULL) }, s = value(g, "s");
    node(g, "Add", 2, add_in, s);
    int outs[2] = { y, s };
    graph_outputs(g, 2, outs);
    check("no fusion", g, 4, false);
    er_graph_free(g);
}

/* Conv → Mul(per-channel) → Add(per-channel) folds into the Conv; x·Clip(x+3,0,6)/6 becomes
 * HardSwish and joins it too (paddle2onnx's form). */
static void test_affine_hardswish(void)
{
    int x;
    unsigned seed = 5;
    er_graph *g = graph_begin(4, 7, 9, &x);
    int y = conv(g, "c", x, 4, 6, 3, 1, &seed);
    int64_t cd[3] = { 6, 1, 1 }, sd[1] = { 1 };
    int mul_in[2] = { y, init(g, "scale", cd, 3, &seed, NULL) }, ym = value(g, "ym");
    node(g, "Mul", 2, mul_in, ym);
    int add_in[2] = { init(g, "shift", cd, 3, &seed, NULL), ym }, ya = value(g, "ya");
    node(g, "Add", 2, add_in, ya);
    float three = 3.0f, zero = 0.0f, six = 6.0f;
    int p3_in[2] = { ya, init(g, "three", sd, 0, &seed, &three) }, p3 = value(g, "p3");
    node(g, "Add", 2, p3_in, p3);
    int clip_in[3] = { p3, init(g, "zero", sd, 0, &seed, &zero), init(g, "six", sd, 0, &seed, &six) }, cl = value(g, "cl");
    node(g, "Clip", 3, clip_in, cl);
    int m_in[2] = { ya, cl }, mm = value(g, "mm");
    node(g, "Mul", 2, m_in, mm);
    int d_in[2] = { mm, init(g, "six2", sd, 0, &seed, &six) }, out = value(g, "out");
    node(g, "Div", 2, d_in, out);
    graph_outputs(g, 1, &out);
    check("affine fold + HardSwish pattern", g, 1, true);
    er_graph_free(g);
}

/* Weights given by Constant nodes (paddle2onnx's style) become initializers, so BN folding
 * and fusion still apply: Constant W, Constant B → Conv → Relu ends as one FusedConv. */
static void test_constant_weights(void)
{
    int x;
    unsigned seed = 6;
    er_graph *g = graph_begin(3, 8, 8, &x);
    int64_t wd[4] = { 5, 3, 3, 3 }, bd[1] = { 5 };
    int tmp_w = init(g, "w_src", wd, 4, &seed, NULL), tmp_b = init(g, "b_src", bd, 1, &seed, NULL);
    int wv = value(g, "w"), bv = value(g, "b");
    int cw[2] = { wv, bv }, src[2] = { tmp_w, tmp_b };
    for (int k = 0; k < 2; k++) {
        er_node *c = node(g, "Constant", 0, NULL, cw[k]);
        er_attr *a = er_pool_alloc(&g->pool, sizeof *a);
        *a = (er_attr){ .name = "value", .type = ER_ATTR_TENSOR, .t = g->values[src[k]].init };
        c->attrs = a;
        c->n_attrs = 1;
        g->values[src[k]].init = NULL;   /* only the Constant nodes hold the data now */
    }
    int in[3] = { x, wv, bv }, y = value(g, "y"), r = value(g, "r");
    er_node *cv = node(g, "Conv", 3, in, y);
    int64_t pads[4] = { 1, 1, 1, 1 };
    node_ints(g, cv, "pads", pads, 4);
    node(g, "Relu", 1, &y, r);
    graph_outputs(g, 1, &r);
    check("Constant-node weights", g, 1, true);
    er_graph_free(g);
}

/* The Add operand fused as residual may broadcast (a per-channel value computed from a
 * global pool): FusedConv adds it with broadcasting. */
static void test_broadcast_residual(void)
{
    int x;
    unsigned seed = 7;
    er_graph *g = graph_begin(4, 6, 10, &x);
    int y = conv(g, "c", x, 4, 8, 3, 1, &seed);
    int gp = value(g, "gap");
    node(g, "GlobalAveragePool", 1, &x, gp);
    int s1 = conv(g, "s", gp, 4, 8, 1, 1, &seed);
    int add_in[2] = { y, s1 }, sum = value(g, "sum"), out = value(g, "out");
    node(g, "Add", 2, add_in, sum);
    node(g, "Relu", 1, &sum, out);
    graph_outputs(g, 1, &out);
    check("broadcast residual", g, 3, true);
    er_graph_free(g);
}

/* A one-element float constant. */
static int scalar(er_graph *g, const char *name, float v)
{
    unsigned seed = 0;
    return init(g, name, NULL, 0, &seed, &v);
}

/* y = op(a, b) as a new value named name. */
static int binary(er_graph *g, const char *op, int a, int b, const char *name)
{
    int in[2] = { a, b }, y = value(g, name);
    node(g, op, 2, in, y);
    return y;
}

static int unary(er_graph *g, const char *op, int a, const char *name)
{
    int y = value(g, name);
    node(g, op, 1, &a, y);
    return y;
}

/* x · 0.5 · (1 + Erf(x/√2)) in one of the exporters' orders (variant 0: torch's
 * ((x·e)·0.5) with Div; 1: (x·0.5)·e with Mul by 1/√2; 2: (0.5·e)·x). */
static int gelu_pattern(er_graph *g, int x, int variant, const char *p)
{
    char n[8][32];
    for (int i = 0; i < 8; i++) snprintf(n[i], sizeof n[i], "%s%d", p, i);
    int s = variant == 1 ? binary(g, "Mul", scalar(g, n[0], 0.70710678f), x, n[1])
                         : binary(g, "Div", x, scalar(g, n[0], 1.41421356f), n[1]);
    int e = binary(g, "Add", scalar(g, n[2], 1.0f), unary(g, "Erf", s, n[3]), n[4]);
    int half = scalar(g, n[5], 0.5f);
    if (variant == 0) return binary(g, "Mul", binary(g, "Mul", x, e, n[6]), half, n[7]);
    if (variant == 1) return binary(g, "Mul", binary(g, "Mul", x, half, n[6]), e, n[7]);
    return binary(g, "Mul", x, binary(g, "Mul", half, e, n[6]), n[7]);
}

/* MatMul by a constant [k×n] weight. */
static int matmul(er_graph *g, int x, int k, int n, const char *name, unsigned *seed)
{
    char wn[64];
    snprintf(wn, sizeof wn, "%s_w", name);
    int64_t wd[2] = { k, n };
    return binary(g, "MatMul", x, init(g, wn, wd, 2, seed, NULL), name);
}

/* MatMul + bias + GELU (torch's erf form) and MatMul + bias + Relu: two FusedMatMul. */
static void test_matmul_gelu(void)
{
    int x;
    unsigned seed = 8;
    er_graph *g = graph_begin(2, 5, 12, &x);
    int64_t bd[1] = { 16 }, bd2[1] = { 7 };
    int h = binary(g, "Add", init(g, "b1", bd, 1, &seed, NULL), matmul(g, x, 12, 16, "mm1", &seed), "h");
    int a = gelu_pattern(g, h, 0, "ge");
    int y = binary(g, "Add", matmul(g, a, 16, 7, "mm2", &seed), init(g, "b2", bd2, 1, &seed, NULL), "y");
    int r = unary(g, "Relu", y, "r");
    graph_outputs(g, 1, &r);
    check("MatMul+bias, GELU pattern, MatMul+bias+Relu", g, 2, true);
    er_graph_free(g);
}

/* The other GELU orders become a Gelu node (no MatMul to join). */
static void test_gelu_variants(void)
{
    for (int v = 1; v < 3; v++) {
        int x;
        er_graph *g = graph_begin(3, 4, 5, &x);
        int y = gelu_pattern(g, x, v, "ge");
        graph_outputs(g, 1, &y);
        check(v == 1 ? "GELU (x*0.5)*e" : "GELU x*(0.5*e)", g, 1, false);
        er_graph_free(g);
    }
}

/* torch's LayerNorm decomposition → LayerNormalization; then MatMul + Relu without bias. */
static void test_layernorm(void)
{
    int x;
    unsigned seed = 9;
    er_graph *g = graph_begin(2, 6, 10, &x);
    int64_t ax[1] = { -1 }, cd[1] = { 10 };
    int m = unary(g, "ReduceMean", x, "m");
    node_ints(g, &g->nodes[g->n_nodes - 1], "axes", ax, 1);
    int d = binary(g, "Sub", x, m, "d");
    int p = binary(g, "Pow", d, scalar(g, "two", 2.0f), "p");
    int v = unary(g, "ReduceMean", p, "v");
    node_ints(g, &g->nodes[g->n_nodes - 1], "axes", ax, 1);
    int s = unary(g, "Sqrt", binary(g, "Add", v, scalar(g, "eps", 1e-5f), "ve"), "s");
    int n = binary(g, "Div", d, s, "n");
    int ga = binary(g, "Mul", n, init(g, "gamma", cd, 1, &seed, NULL), "ga");
    int y = binary(g, "Add", ga, init(g, "beta", cd, 1, &seed, NULL), "y");
    int r = unary(g, "Relu", matmul(g, y, 10, 9, "mm", &seed), "r");
    graph_outputs(g, 1, &r);
    check("LayerNorm pattern + MatMul+Relu", g, 2, true);
    er_graph_free(g);
}

/* Fusing would be wrong: the MatMul result is a graph output; the bias varies by row
 * ([5×4] broadcast, not a vector); the LayerNorm mean is also a graph output. */
static void test_matmul_no_fusion(void)
{
    int x;
    unsigned seed = 10;
    er_graph *g = graph_begin(1, 5, 6, &x);
    int a = matmul(g, x, 6, 4, "mm1", &seed);
    int r = unary(g, "Relu", a, "r");
    int64_t bd[2] = { 5, 4 }, ax[1] = { -1 };
    int b = binary(g, "Add", matmul(g, r, 4, 4, "mm2", &seed), init(g, "b", bd, 2, &seed, NULL), "b_out");
    int m = unary(g, "ReduceMean", b, "m");
    node_ints(g, &g->nodes[g->n_nodes - 1], "axes", ax, 1);
    int d = binary(g, "Sub", b, m, "d");
    int v = unary(g, "ReduceMean", binary(g, "Mul", d, d, "p"), "v");
    node_ints(g, &g->nodes[g->n_nodes - 1], "axes", ax, 1);
    int s = unary(g, "Sqrt", binary(g, "Add", v, scalar(g, "eps", 1e-5f), "ve"), "s");
    int64_t cd[1] = { 4 };
    int y = binary(g, "Mul", binary(g, "Div", d, s, "n"), init(g, "gamma", cd, 1, &seed, NULL), "y");
    int outs[3] = { a, y, m };
    graph_outputs(g, 3, outs);
    check("MatMul/LayerNorm no fusion", g, 12, false);
    er_graph_free(g);
}

/* ---- attention fusion ---- */

static int i64_init(er_graph *g, const char *name, const int64_t *v, int n)
{
    int id = value(g, name);
    er_const *c = er_pool_alloc(&g->pool, sizeof *c);
    int64_t *d = er_pool_alloc(&g->pool, sizeof(int64_t) * (size_t)n);
    memcpy(d, v, sizeof(int64_t) * (size_t)n);
    *c = (er_const){ .dtype = ER_I64, .ndim = 1, .dims = { n }, .data = d, .nbytes = sizeof(int64_t) * (size_t)n };
    g->values[id].init = c;
    g->values[id].dtype = ER_I64;
    g->values[id].ndim = 1;
    g->values[id].dims[0] = n;
    return id;
}

static int transpose(er_graph *g, int x, const int64_t *perm, int rank, const char *name)
{
    int y = unary(g, "Transpose", x, name);
    node_ints(g, &g->nodes[g->n_nodes - 1], "perm", perm, rank);
    return y;
}

/* BERT as HF exports it: x [1, S=7, H=3, D=5] projected to q, k, v; heads by Transpose
 * (0,2,1,3) and keys by (0,2,3,1); scores / √D + mask [1,1,1,S]; softmax; · V; Transpose
 * back. Everything from the three transposes to the last becomes one Attention. */
static void test_attention_rank4(void)
{
    int x;
    unsigned seed = 11;
    er_graph *g = graph_begin(7, 3, 5, &x);
    static const int64_t ph[4] = { 0, 2, 1, 3 }, pk[4] = { 0, 2, 3, 1 }, md[4] = { 1, 1, 1, 7 };
    static const float mask[7] = { 0, 0, -10000, 0, 0, 0, -10000 };
    int q = transpose(g, matmul(g, x, 5, 5, "q", &seed), ph, 4, "qt");
    int k = transpose(g, matmul(g, x, 5, 5, "k", &seed), pk, 4, "kt");
    int v = transpose(g, matmul(g, x, 5, 5, "v", &seed), ph, 4, "vt");
    int s = binary(g, "Div", binary(g, "MatMul", q, k, "s"), scalar(g, "sqrt_d", 2.2360680f), "sd");
    int sm = binary(g, "Add", s, init(g, "mask", md, 4, &seed, mask), "sm");
    int p = unary(g, "Softmax", sm, "p");
    node_int(g, &g->nodes[g->n_nodes - 1], "axis", -1);
    int y = transpose(g, binary(g, "MatMul", p, v, "o"), ph, 4, "y");
    graph_outputs(g, 1, &y);
    check("attention rank 4, mask, scale on scores, output transposed", g, 4, true);
    er_graph_free(g);
}

/* torch's MultiheadAttention: x [1, S=9, H=2, D=8] projected and reshaped to [S, H, D];
 * heads by Transpose (1,0,2), keys (1,2,0); Q scaled by Mul(1/√D) before the product; the
 * result stays [H, S, D] (no final transpose). */
static void test_attention_rank3(void)
{
    int x;
    unsigned seed = 12;
    er_graph *g = graph_begin(9, 2, 8, &x);
    static const int64_t shape[3] = { 9, 2, 8 }, ph[3] = { 1, 0, 2 }, pk[3] = { 1, 2, 0 };
    int sh = i64_init(g, "shape", shape, 3);
    int q = transpose(g, binary(g, "Reshape", matmul(g, x, 8, 8, "q", &seed), sh, "qr"), ph, 3, "qt");
    int k = transpose(g, binary(g, "Reshape", matmul(g, x, 8, 8, "k", &seed), sh, "kr"), pk, 3, "kt");
    int v = transpose(g, binary(g, "Reshape", matmul(g, x, 8, 8, "v", &seed), sh, "vr"), ph, 3, "vt");
    int qs = binary(g, "Mul", scalar(g, "inv_sqrt_d", 0.35355339f), q, "qs");
    int p = unary(g, "Softmax", binary(g, "MatMul", qs, k, "s"), "p");
    int y = binary(g, "MatMul", p, v, "y");
    graph_outputs(g, 1, &y);
    check("attention rank 3, scale on Q", g, 7, true);
    er_graph_free(g);
}

/* Not fused: the probabilities are also a graph output; the softmax runs over the queries
 * (axis 1 of [H, S, S]). */
static void test_attention_no_fusion(void)
{
    for (int variant = 0; variant < 2; variant++) {
        int x;
        er_graph *g = graph_begin(6, 2, 4, &x);
        static const int64_t shape[3] = { 6, 2, 4 }, ph[3] = { 1, 0, 2 }, pk[3] = { 1, 2, 0 };
        int sh = i64_init(g, "shape", shape, 3);
        int r = binary(g, "Reshape", x, sh, "r");
        int q = transpose(g, r, ph, 3, "qt"), k = transpose(g, r, pk, 3, "kt");
        int v = transpose(g, unary(g, "Relu", r, "rv"), ph, 3, "vt");
        int p = unary(g, "Softmax", binary(g, "MatMul", q, k, "s"), "p");
        node_int(g, &g->nodes[g->n_nodes - 1], "axis", variant ? 1 : 2);
        int outs[2] = { binary(g, "MatMul", p, v, "y"), p };
        graph_outputs(g, variant ? 1 : 2, outs);
        check(variant ? "attention softmax over queries" : "attention probabilities read outside", g, 8, false);
        er_graph_free(g);
    }
}

/* ---- transpose / reshape elimination ---- */

/* Transposes that cancel vanish, chained ones compose, chained Reshapes become one; a
 * Reshape whose shape has a 0 (copy the input's dim) and a Transpose whose result has
 * another reader stay. */
static void test_layout_elimination(void)
{
    static const int64_t p1[4] = { 0, 2, 3, 1 }, p2[4] = { 0, 3, 1, 2 }, p3[4] = { 0, 2, 1, 3 }, p4[4] = { 0, 1, 3, 2 };
    static const int64_t s1[2] = { 4, 30 }, s2[3] = { 5, 4, 6 }, s3[3] = { 0, 6, 5 };
    struct {
        const char *what;
        int want;
    } cases[5] = { { "Transpose pair cancels", 1 }, { "Transpose pair composes", 2 }, { "Reshape pair merges", 2 },
                   { "Reshape with 0 stays", 3 }, { "Transpose read twice stays", 5 } };
    for (int c = 0; c < 5; c++) {
        int x, y;
        er_graph *g = graph_begin(4, 5, 6, &x);
        if (c == 0) y = transpose(g, transpose(g, x, p1, 4, "t1"), p2, 4, "t2");
        else if (c == 1) y = transpose(g, transpose(g, x, p3, 4, "t1"), p4, 4, "t2");
        else if (c == 4) {
            int t1 = transpose(g, x, p3, 4, "t1");
            y = binary(g, "Add", transpose(g, t1, p3, 4, "t2"), transpose(g, unary(g, "Relu", t1, "r1"), p3, 4, "t3"),
                       "sum");
        } else {
            int r1 = binary(g, "Reshape", x, i64_init(g, "s1", s1, 2), "r1");
            y = binary(g, "Reshape", r1, i64_init(g, "s2", c == 2 ? s2 : s3, 3), "r2");
        }
        int out = c == 4 ? y : unary(g, "Relu", y, "out");
        graph_outputs(g, 1, &out);
        check(cases[c].what, g, cases[c].want, false);
        er_graph_free(g);
    }
}

/* ---- MatMul + bias + residual ---- */

/* h = x·W1; y = Relu(h·W2 + b2 + h): the residual Add joins the FusedMatMul's epilogue. Then
 * a residual that broadcasts (a per-row mean of h, [1, 3, 4, 1] against [1, 3, 4, 6]) and
 * one that is constant (stays a separate Add). */
static void test_matmul_residual(void)
{
    for (int c = 0; c < 3; c++) {
        int x;
        unsigned seed = 14;
        er_graph *g = graph_begin(3, 4, 6, &x);
        int64_t bd[1] = { 6 }, zd[4] = { 1, 3, 4, 6 }, ax[1] = { -1 };
        int h = matmul(g, x, 6, 6, "h", &seed);
        int z = h;
        if (c == 1) {
            z = unary(g, "ReduceMean", h, "hm");
            node_ints(g, &g->nodes[g->n_nodes - 1], "axes", ax, 1);
        } else if (c == 2) {
            z = init(g, "zc", zd, 4, &seed, NULL);
        }
        int b = binary(g, "Add", matmul(g, h, 6, 6, "mm2", &seed), init(g, "b2", bd, 1, &seed, NULL), "b");
        int y = unary(g, "Relu", binary(g, "Add", b, z, "r"), "y");
        graph_outputs(g, 1, &y);
        static const char *what[3] = { "MatMul+bias+residual+Relu", "MatMul+bias+broadcast residual",
                                       "MatMul+bias, constant residual not fused" };
        check(what[c], g, 2 + c, true);
        er_graph_free(g);
    }
}

int main(void)
{
    static const char *isas[] = { NULL, "ref" };
    for (size_t i = 0; i < 2; i++) {
        if (isas[i]) setenv("EDGERUN_ISA", isas[i], 1);
        test_conv_relu();
        test_residual_block();
        test_silu_clip_dw();
        test_no_fusion();
        test_affine_hardswish();
        test_constant_weights();
        test_broadcast_residual();
        test_matmul_gelu();
        test_gelu_variants();
        test_layernorm();
        test_matmul_no_fusion();
        test_attention_rank4();
        test_attention_rank3();
        test_attention_no_fusion();
        test_layout_elimination();
        test_matmul_residual();
    }
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
