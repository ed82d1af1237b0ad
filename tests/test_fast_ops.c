/* Every optimized op (er_ops_fast) against its reference on randomized shapes, including odd
 * sizes, tails, groups, strides, padding and dilation, for each ISA level the CPU has
 * (EDGERUN_ISA caps it) and for 1 and 2 threads. Fused ops are checked against their
 * reference versions (unfused kernel + epilogue). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/fast.h"
#include "core/cpu.h"

static int failures, checks;

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static const er_op *find_fast(const char *domain, const char *name)
{
    for (const er_op *op = er_ops_fast; op->name; op++)
        if (strcmp(op->name, name) == 0 && strcmp(op->domain ? op->domain : "", domain) == 0) return op;
    return NULL;
}

/* Node attributes built on the stack. */
typedef struct attrs {
    er_attr a[12];
    int n;
} attrs;

static void attr_ints(attrs *t, const char *name, const int64_t *v, int n)
{
    t->a[t->n++] = (er_attr){ .name = name, .type = ER_ATTR_INTS, .n = n, .ints = v };
}
static void attr_int(attrs *t, const char *name, int64_t v)
{
    t->a[t->n++] = (er_attr){ .name = name, .type = ER_ATTR_INT, .i = v };
}
static void attr_float(attrs *t, const char *name, float v)
{
    t->a[t->n++] = (er_attr){ .name = name, .type = ER_ATTR_FLOAT, .f = v };
}
static void attr_str(attrs *t, const char *name, const char *v)
{
    t->a[t->n++] = (er_attr){ .name = name, .type = ER_ATTR_STRING, .s = v, .s_len = strlen(v) };
}

static er_tensor *tensor_new(const int64_t *dims, int ndim, unsigned *seed)
{
    er_tensor *t = calloc(1, sizeof *t);
    er_tensor_set_shape(t, ER_F32, dims, ndim);
    int64_t n = er_tensor_numel(t);
    float *d = er_aligned_alloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) d[i] = seed ? frand(seed) : 0.0f;
    t->data = d;
    return t;
}

static void tensor_free(er_tensor *t)
{
    if (!t) return;
    er_aligned_free(t->data);
    free(t);
}

/* Runs op: infer and prepare see the data of the inputs in const_mask only (as at planning),
 * run sees all. Returns the output, or NULL with err set. */
static er_tensor *run_op_masked(const er_op *op, const er_node *node, er_threadpool *pool, er_tensor **in,
                                int n_in, unsigned const_mask, char *err)
{
    er_kctx ctx = { .pool = pool, .node = node, .opset = 17, .err = err, .err_size = 256 };
    er_tensor *out = calloc(1, sizeof *out);
    er_tensor *outs[1] = { out };
    void *saved[8] = { 0 };
    for (int k = 0; k < n_in && k < 8; k++)
        if (in[k] && !(const_mask >> k & 1u)) {
            saved[k] = in[k]->data;
            in[k]->data = NULL;
        }
    er_status st = op->infer(&ctx, in, n_in, outs, 1);
    int64_t n = er_tensor_numel(out);
    out->data = er_aligned_alloc(sizeof(float) * (size_t)(n ? n : 1));
    void *ws = ctx.workspace_bytes ? er_aligned_alloc(ctx.workspace_bytes) : NULL;
    void *state = NULL;
    if (st == ER_OK && op->prepare) st = op->prepare(&ctx, in, n_in, outs, 1, &state);
    for (int k = 0; k < n_in && k < 8; k++)
        if (saved[k]) in[k]->data = saved[k];
    ctx.state = state;
    ctx.workspace = ws;
    if (st == ER_OK) st = op->run(&ctx, in, n_in, outs, 1);
    if (state && op->release) op->release(state);
    er_aligned_free(ws);
    if (st != ER_OK) { tensor_free(out); return NULL; }
    return out;
}

static er_tensor *run_op(const er_op *op, const er_node *node, er_threadpool *pool, er_tensor **in,
                         int n_in, char *err)
{
    return run_op_masked(op, node, pool, in, n_in, ~0u, err);
}

static void compare(const char *what, const er_tensor *got, const er_tensor *want, double tol)
{
    checks++;
    if (!got || !want || !er_shape_equal(got->dims, got->ndim, want->dims, want->ndim)) {
        failures++;
        printf("FAIL %s: missing output or shape mismatch\n", what);
        return;
    }
    const float *g = got->data, *w = want->data;
    double max_err = 0;
    for (int64_t i = 0; i < er_tensor_numel(got); i++) {
        double e = fabs((double)g[i] - w[i]);
        if (!(e <= max_err)) max_err = e;
    }
    if (!(max_err <= tol)) {
        failures++;
        printf("FAIL %s: max err %g > %g\n", what, max_err, tol);
    }
}

typedef struct conv_case {
    int n, c, h, w, m, kh, kw, sh, sw, p0, p1, dil, group;
    bool bias;
    bool one_d;
} conv_case;

static const conv_case conv_cases[] = {
    { 1, 3, 17, 19, 8, 3, 3, 1, 1, 1, 1, 1, 1, true, false },     /* stem-like, odd sizes */
    { 1, 16, 14, 14, 33, 1, 1, 1, 1, 0, 0, 1, 1, true, false },   /* 1×1 as plain GEMM, M tail */
    { 2, 24, 9, 11, 40, 1, 1, 2, 2, 0, 0, 1, 1, false, false },   /* strided 1×1, batch 2 */
    { 1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, true, false },
    { 1, 13, 23, 21, 29, 3, 3, 2, 2, 1, 0, 1, 1, true, false },   /* asymmetric pads */
    { 1, 7, 12, 15, 9, 5, 3, 1, 2, 2, 1, 2, 1, true, false },     /* dilation 2 */
    { 1, 300, 7, 7, 20, 3, 3, 1, 1, 1, 1, 1, 1, true, false },    /* K > KC */
    { 1, 32, 10, 10, 48, 3, 3, 1, 1, 1, 1, 1, 4, true, false },   /* grouped */
    { 1, 32, 15, 15, 32, 3, 3, 1, 1, 1, 1, 1, 32, true, false },  /* depthwise 3×3 s1 */
    { 2, 17, 16, 13, 17, 3, 3, 2, 2, 1, 1, 1, 17, true, false },  /* depthwise 3×3 s2 */
    { 1, 8, 20, 20, 8, 5, 5, 1, 1, 2, 2, 1, 8, false, false },    /* depthwise 5×5 */
    { 1, 64, 40, 40, 64, 3, 3, 1, 1, 1, 1, 1, 64, true, false },  /* depthwise, large enough to thread */
    { 1, 9, 11, 21, 9, 3, 3, 2, 2, 0, 0, 1, 9, true, false },     /* depthwise unpadded s2, odd width */
    { 1, 3, 5, 70, 3, 3, 3, 1, 2, 1, 1, 1, 3, true, false },      /* depthwise wide rows, stride (1,2) */
    { 1, 5, 3, 40, 5, 5, 5, 2, 1, 2, 2, 1, 5, true, false },      /* depthwise 5×5 on 3 rows */
    { 1, 6, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 6, true, false },      /* channel multiplier 2 */
    { 1, 16, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 16, true, false },    /* depthwise flat plane, width < 16 */
    { 1, 8, 14, 14, 8, 3, 3, 1, 1, 1, 1, 1, 8, true, false },     /* depthwise flat plane, width 14 */
    { 1, 5, 5, 3, 5, 3, 3, 1, 1, 1, 1, 1, 5, false, false },      /* depthwise flat plane, width 3 */
    { 1, 4, 6, 9, 4, 3, 3, 1, 1, 2, 1, 1, 4, true, false },       /* depthwise flat, more rows out than in */
    { 1, 4, 6, 9, 4, 3, 3, 1, 1, 0, 2, 1, 4, true, false },       /* depthwise s1, wider out than in */
    { 1, 12, 14, 14, 12, 3, 3, 2, 2, 1, 1, 1, 12, true, false },  /* depthwise s2 padded, even size */
    { 1, 7, 7, 7, 7, 3, 3, 2, 2, 1, 1, 1, 7, true, false },       /* depthwise s2 padded, odd size */
    { 1, 3, 9, 40, 3, 3, 3, 2, 2, 2, 2, 1, 3, true, false },      /* depthwise s2 pad 2, row tail */
    { 1, 5, 1, 37, 11, 1, 4, 1, 3, 0, 2, 1, 1, true, true },      /* 1-D */
    { 1, 4, 3, 3, 5, 3, 3, 1, 1, 0, 0, 1, 1, true, false },       /* 1×1 output */
    { 1, 10, 6, 29, 20, 3, 3, 1, 1, 1, 1, 1, 1, true, false },    /* wide rows, row tail */
    { 2, 8, 5, 60, 13, 3, 3, 1, 1, 1, 1, 2, 1, true, false },     /* dilation 2, batch 2 */
    { 1, 40, 4, 30, 24, 3, 3, 1, 1, 1, 1, 1, 1, false, false },   /* K > KC, wide rows */
    { 1, 3, 9, 33, 30, 1, 1, 1, 1, 0, 0, 1, 1, true, false },     /* 1×1, N tail */
    { 1, 16, 13, 17, 20, 3, 3, 1, 1, 1, 1, 1, 1, true, false },   /* Winograd, odd output dims */
    { 1, 12, 14, 14, 9, 3, 3, 1, 1, 0, 0, 1, 1, true, false },    /* Winograd, unpadded */
    { 1, 300, 8, 16, 12, 3, 3, 1, 1, 1, 1, 1, 1, true, false },   /* Winograd, C > KC */
    { 2, 9, 11, 14, 10, 3, 3, 1, 1, 0, 2, 1, 1, true, false },    /* Winograd, asymmetric pads, batch 2 */
};

static void conv_node(const conv_case *cc, attrs *t, int64_t *ints, er_node *node, const char *op,
                      const char *domain, int n_in)
{
    int nsp = cc->one_d ? 1 : 2;
    int64_t *st = ints, *pads = ints + 2, *dil = ints + 6;
    st[0] = cc->one_d ? cc->sw : cc->sh;
    st[1] = cc->sw;
    if (cc->one_d) {
        pads[0] = cc->p0;
        pads[1] = cc->p1;
    } else {
        pads[0] = pads[1] = cc->p0;
        pads[2] = pads[3] = cc->p1;
    }
    dil[0] = dil[1] = cc->dil;
    attr_ints(t, "strides", st, nsp);
    attr_ints(t, "pads", pads, 2 * nsp);
    attr_ints(t, "dilations", dil, nsp);
    attr_int(t, "group", cc->group);
    *node = (er_node){ .name = "t", .op_type = op, .domain = domain, .n_in = n_in, .n_out = 1,
                       .n_attrs = t->n, .attrs = t->a };
}

static void check_conv(const conv_case *cc, er_threadpool *pool, er_act act, bool residual)
{
    unsigned seed = (unsigned)(cc->c * 977 + cc->m * 31 + cc->h + act * 7 + residual);
    int64_t xd[4] = { cc->n, cc->c, cc->h, cc->w }, wd[4] = { cc->m, cc->c / cc->group, cc->kh, cc->kw };
    int64_t bd[1] = { cc->m };
    if (cc->one_d) {
        xd[2] = cc->w;
        wd[2] = cc->kw;
    }
    int nd = cc->one_d ? 3 : 4;
    er_tensor *x = tensor_new(xd, nd, &seed), *w = tensor_new(wd, nd, &seed);
    er_tensor *b = cc->bias ? tensor_new(bd, 1, &seed) : NULL;
    bool fused = act != ER_ACT_NONE || residual;
    attrs t = { .n = 0 };
    int64_t ints[8];
    er_node node;
    conv_node(cc, &t, ints, &node, fused ? "FusedConv" : "Conv", fused ? ER_FUSED_DOMAIN : "",
              residual ? 4 : 3);
    if (act != ER_ACT_NONE) attr_str(&t, "activation", er_act_name(act));
    if (act == ER_ACT_CLIP) { attr_float(&t, "alpha", -0.25f); attr_float(&t, "beta", 0.5f); }
    if (act == ER_ACT_LEAKY_RELU) attr_float(&t, "alpha", 0.1f);
    node.n_attrs = t.n;
    er_tensor *in[4] = { x, w, b, NULL };
    char err[256] = "";
    const er_op *ref = er_op_find_ref(node.domain, node.op_type);
    er_tensor *want = NULL, *z = NULL;
    if (residual) {
        er_tensor *shape = run_op(ref, &node, NULL, in, 3, err);
        if (shape) z = tensor_new(shape->dims, shape->ndim, &seed);
        tensor_free(shape);
        in[3] = z;
    }
    want = run_op(ref, &node, NULL, in, node.n_in, err);
    er_tensor *got = run_op(find_fast(node.domain, node.op_type), &node, pool, in, node.n_in, err);
    char what[512];
    snprintf(what, sizeof what, "%s %s c=%d m=%d %dx%d k=%dx%d s=%d,%d g=%d act=%d res=%d thr=%d %s",
             node.op_type, er_isa_name(er_cpu_isa()), cc->c, cc->m, cc->h, cc->w, cc->kh, cc->kw,
             cc->sh, cc->sw, cc->group, (int)act, residual, er_threadpool_size(pool), err);
    compare(what, got, want, 1e-5 * (cc->c / cc->group * cc->kh * cc->kw) + 1e-5);
    tensor_free(x); tensor_free(w); tensor_free(b); tensor_free(z);
    tensor_free(want); tensor_free(got);
}

static void conv_suite(er_threadpool *pool)
{
    for (size_t i = 0; i < ER_ARRAY_LEN(conv_cases); i++) check_conv(&conv_cases[i], pool, ER_ACT_NONE, false);
    static const er_act acts[] = { ER_ACT_RELU, ER_ACT_CLIP, ER_ACT_LEAKY_RELU, ER_ACT_SIGMOID,
                                   ER_ACT_SILU, ER_ACT_HARDSWISH, ER_ACT_GELU };
    for (size_t a = 0; a < ER_ARRAY_LEN(acts); a++)
        for (size_t i = 0; i < ER_ARRAY_LEN(conv_cases); i += 3)
            check_conv(&conv_cases[i], pool, acts[a], a % 2 == 0);
    for (size_t i = 1; i < ER_ARRAY_LEN(conv_cases); i += 2) check_conv(&conv_cases[i], pool, ER_ACT_NONE, true);
    /* depthwise ReLU and Clip without a residual: applied inside the AVX-512 kernel's store */
    for (size_t i = 0; i < ER_ARRAY_LEN(conv_cases); i++)
        if (conv_cases[i].group == conv_cases[i].c && conv_cases[i].m == conv_cases[i].c) {
            check_conv(&conv_cases[i], pool, ER_ACT_RELU, false);
            check_conv(&conv_cases[i], pool, ER_ACT_CLIP, false);
        }
}

/* Direct conv (conv_direct_avx512.c, output channels in lanes): strided convs and small output
 * planes. Row widths that split into uneven pixel tiles, channel counts off the 32-lane block,
 * padded and in-place inputs, strides 1/2/3, groups, batches, and each epilogue form. */
static const conv_case direct_cases[] = {
    { 1, 3, 45, 38, 64, 7, 7, 2, 2, 3, 3, 1, 1, true, false },    /* stem: 7×7 s2 pad 3 */
    { 1, 3, 30, 61, 40, 7, 7, 2, 2, 3, 3, 1, 1, true, false },    /* stem, M tail, width 31 = 11+10+10 */
    { 1, 24, 29, 31, 48, 3, 3, 2, 2, 1, 1, 1, 1, true, false },   /* 3×3 s2, width 16 = 8+8 */
    { 2, 16, 15, 15, 33, 3, 3, 2, 2, 1, 1, 1, 1, false, false },  /* 3×3 s2 odd size, batch 2 */
    { 1, 40, 14, 14, 70, 1, 1, 2, 2, 0, 0, 1, 1, true, false },   /* 1×1 s2, read in place */
    { 1, 6, 7, 7, 70, 3, 3, 1, 1, 1, 1, 1, 1, true, false },      /* 7×7 output, 3×3 s1 (under 8 channels: not Winograd) */
    { 1, 300, 5, 6, 24, 3, 3, 1, 1, 1, 1, 1, 1, true, false },    /* small output, K > 256 */
    { 1, 12, 20, 23, 17, 3, 3, 3, 3, 1, 1, 1, 1, true, false },   /* stride 3 */
    { 1, 16, 18, 21, 32, 3, 3, 2, 2, 2, 2, 2, 2, true, false },   /* grouped, dilated, strided */
    { 1, 8, 9, 40, 16, 5, 3, 1, 2, 2, 1, 1, 1, true, false },     /* stride (1,2) */
    { 1, 6, 8, 8, 9, 3, 3, 2, 2, 0, 0, 1, 1, true, false },       /* s2 unpadded, last column unread */
    { 1, 3, 64, 70, 16, 3, 3, 2, 2, 1, 1, 1, 1, true, false },    /* 16 channels: one-vector tiles, 18+17 */
    { 1, 8, 4, 32, 16, 3, 3, 1, 1, 0, 1, 1, 1, true, false },     /* one-vector tiles, s1, 2×32 output */
    { 1, 10, 21, 21, 48, 3, 3, 2, 2, 1, 1, 1, 1, true, false },   /* 32 + 16 channels */
    { 1, 200, 6, 9, 40, 1, 1, 1, 1, 0, 0, 1, 1, true, false },    /* plain 1×1 with K >= 192 */
    { 1, 4, 5, 5, 8, 1, 1, 1, 1, 1, 1, 1, 1, false, false },      /* padded 1×1 */
    { 1, 6, 20, 25, 20, 5, 5, 1, 1, 2, 2, 1, 1, true, false },    /* 5×5 s1, wide rows */
    { 1, 3, 301, 299, 16, 3, 3, 2, 2, 1, 1, 1, 1, true, false },  /* padded rows per window (large input) */
    { 1, 8, 190, 187, 40, 3, 3, 3, 3, 2, 1, 2, 1, true, false },  /* window: stride 3, dilation 2, 32 + 8 */
};

static void direct_suite(er_threadpool *pool)
{
    for (size_t i = 0; i < ER_ARRAY_LEN(direct_cases); i++) {
        check_conv(&direct_cases[i], pool, ER_ACT_NONE, false);
        check_conv(&direct_cases[i], pool, ER_ACT_RELU, true);
        check_conv(&direct_cases[i], pool, ER_ACT_CLIP, i % 2 == 0);
        check_conv(&direct_cases[i], pool, ER_ACT_SILU, i % 2 == 1);
    }
}

/* Winograd (winograd*.c: F(4×4, 3×3) with AVX-512, else F(2×2, 3×3)): several blocks that
 * start and end inside tile rows, one block shared by two threads (small planes), rows wider
 * than 16 tiles, partial last tiles, output channels off the 8-channel panel, C past the V
 * budget, valid and asymmetric padding, batch 2, and the epilogue forms. Each case must take
 * the Winograd path. */
static const conv_case wino_cases[] = {
    { 1, 40, 14, 14, 20, 3, 3, 1, 1, 1, 1, 1, 1, true, false },   /* one block: threads split it */
    { 1, 24, 37, 45, 19, 3, 3, 1, 1, 1, 1, 1, 1, true, false },   /* many blocks, M tail, odd sizes */
    { 1, 16, 9, 70, 8, 3, 3, 1, 1, 1, 1, 1, 1, false, false },    /* 18 tiles per row */
    { 1, 8, 18, 18, 8, 3, 3, 1, 1, 0, 0, 1, 1, true, false },     /* valid padding, 16×16 output */
    { 1, 300, 8, 64, 12, 3, 3, 1, 1, 1, 1, 1, 1, true, false },   /* C > KC, one tile row per block */
    { 2, 17, 21, 30, 33, 3, 3, 1, 1, 0, 2, 1, 1, true, false },   /* asymmetric pads, batch 2 */
    { 1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, true, false },   /* ResNet layer1 */
};

/* Small planes, where AVX-512 uses F(2×2, 3×3) (the SGEMM path leaves them to im2col). */
static const conv_case wino_small_cases[] = {
    { 1, 33, 7, 7, 17, 3, 3, 1, 1, 1, 1, 1, 1, true, false },     /* 7×7: partial last tiles */
    { 2, 16, 10, 10, 24, 3, 3, 1, 1, 0, 0, 1, 1, true, false },   /* 8×8 valid, batch 2 */
    { 1, 260, 8, 8, 40, 3, 3, 1, 1, 1, 1, 1, 1, false, false },   /* C > KC */
};

static void wino_check(const conv_case *cc, size_t i, er_threadpool *pool)
{
    int oh = cc->h + cc->p0 + cc->p1 - 2, ow = cc->w + cc->p0 + cc->p1 - 2;
    er_dw_geom g = { cc->h, cc->w, oh, ow, 3, 3, 1, 1, cc->p0, cc->p0, 1, 1 };
    checks++;
    if (!er_wino_applicable(&g, 1, cc->c, cc->m)) {
        failures++;
        printf("FAIL winograd case c=%d m=%d %dx%d does not take the Winograd path\n", cc->c, cc->m, cc->h, cc->w);
    }
    check_conv(cc, pool, ER_ACT_NONE, false);
    check_conv(cc, pool, ER_ACT_RELU, true);
    check_conv(cc, pool, ER_ACT_SILU, i % 2 == 0);
}

static void wino_suite(er_threadpool *pool)
{
    for (size_t i = 0; i < ER_ARRAY_LEN(wino_cases); i++) wino_check(&wino_cases[i], i, pool);
    if (er_sgemm_kernel_select()->isa == ER_ISA_AVX512)
        for (size_t i = 0; i < ER_ARRAY_LEN(wino_small_cases); i++) wino_check(&wino_small_cases[i], i, pool);
}

typedef struct pool_case {
    int c, h, w, kh, kw, sh, sw, p0, p1, dil, ceil;
} pool_case;

static const pool_case pool_cases[] = {
    { 16, 112, 112, 3, 3, 2, 2, 1, 1, 1, 0 },   /* ResNet stem */
    { 5, 13, 17, 3, 3, 2, 2, 1, 1, 1, 1 },      /* ceil mode, odd sizes */
    { 3, 9, 10, 2, 2, 2, 2, 0, 0, 1, 0 },
    { 4, 20, 21, 5, 5, 1, 1, 2, 2, 1, 0 },      /* SPPF-style */
    { 2, 11, 12, 3, 2, 3, 3, 1, 0, 2, 1 },      /* stride 3, dilation 2 */
};

static void check_maxpool(const pool_case *pc, er_threadpool *pool)
{
    unsigned seed = (unsigned)(pc->c * 13 + pc->h * 7 + pc->w);
    int64_t xd[4] = { 1, pc->c, pc->h, pc->w }, ks[2] = { pc->kh, pc->kw }, st[2] = { pc->sh, pc->sw };
    int64_t pads[4] = { pc->p0, pc->p1, pc->p1, pc->p0 }, dil[2] = { pc->dil, pc->dil };
    er_tensor *x = tensor_new(xd, 4, &seed);
    attrs t = { .n = 0 };
    attr_ints(&t, "kernel_shape", ks, 2);
    attr_ints(&t, "strides", st, 2);
    attr_ints(&t, "pads", pads, 4);
    attr_ints(&t, "dilations", dil, 2);
    attr_int(&t, "ceil_mode", pc->ceil);
    er_node node = { .name = "p", .op_type = "MaxPool", .domain = "", .n_in = 1, .n_out = 1, .n_attrs = t.n, .attrs = t.a };
    er_tensor *in[1] = { x };
    char err[256] = "";
    er_tensor *want = run_op(er_op_find_ref("", "MaxPool"), &node, NULL, in, 1, err);
    er_tensor *got = run_op(find_fast("", "MaxPool"), &node, pool, in, 1, err);
    char what[512];
    snprintf(what, sizeof what, "MaxPool %s c=%d %dx%d k=%dx%d s=%d ceil=%d %s", er_isa_name(er_cpu_isa()), pc->c,
             pc->h, pc->w, pc->kh, pc->kw, pc->sh, pc->ceil, err);
    compare(what, got, want, 0.0);
    tensor_free(x); tensor_free(want); tensor_free(got);
}

typedef struct mm_case {
    int64_t a[4], b[4];
    int na, nb;
    bool b_const;
} mm_case;

static const mm_case mm_cases[] = {
    { { 2, 3, 37, 50 }, { 50, 45 }, 4, 2, true },      /* batch rows folded into M */
    { { 5, 70 }, { 70, 33 }, 2, 2, true },
    { { 3, 9, 300 }, { 300, 40 }, 3, 2, true },        /* K > KC */
    { { 2, 4, 17, 64 }, { 2, 4, 64, 29 }, 4, 4, false }, /* attention-style batched */
    { { 13, 7 }, { 7, 70 }, 2, 2, false },
    { { 2, 1, 5, 6 }, { 3, 6, 7 }, 4, 3, false },      /* broadcast: reference path */
    { { 8 }, { 8, 3 }, 1, 2, true },                   /* 1-D A: reference path */
};

static void check_matmul(const mm_case *mc, er_threadpool *pool)
{
    unsigned seed = (unsigned)(mc->a[0] * 7 + mc->b[mc->nb - 1]);
    er_tensor *a = tensor_new(mc->a, mc->na, &seed), *b = tensor_new(mc->b, mc->nb, &seed);
    er_node node = { .name = "mm", .op_type = "MatMul", .domain = "", .n_in = 2, .n_out = 1 };
    er_tensor *in[2] = { a, b };
    char err[256] = "";
    er_tensor *want = run_op(er_op_find_ref("", "MatMul"), &node, NULL, in, 2, err);
    er_tensor *got = run_op_masked(find_fast("", "MatMul"), &node, pool, in, 2, mc->b_const ? 3u : 1u, err);
    char what[512];
    snprintf(what, sizeof what, "MatMul %s K=%lld const=%d %s", er_isa_name(er_cpu_isa()),
             (long long)mc->b[mc->nb - 2], mc->b_const, err);
    compare(what, got, want, 1e-5 * (double)mc->b[mc->nb - 2] + 1e-5);
    tensor_free(a); tensor_free(b); tensor_free(want); tensor_free(got);
}

typedef struct gemm_case {
    int m, k, n, ta, tb, c_kind;   /* c_kind: 0 none, 1 [N], 2 [1,N], 3 [M,N] */
    float alpha, beta;
} gemm_case;

static const gemm_case gemm_cases[] = {
    { 1, 512, 1000, 0, 1, 1, 1.0f, 1.0f },   /* classifier head */
    { 7, 33, 65, 0, 0, 0, 1.0f, 1.0f },
    { 9, 20, 31, 0, 1, 2, 1.0f, 0.5f },
    { 6, 10, 12, 1, 0, 1, 1.0f, 1.0f },      /* transA: reference path */
    { 6, 10, 12, 0, 1, 3, 2.0f, 1.0f },      /* alpha, full C: reference path */
};

static void check_gemm(const gemm_case *gc, er_threadpool *pool)
{
    unsigned seed = (unsigned)(gc->m * 11 + gc->n);
    int64_t ad[2] = { gc->ta ? gc->k : gc->m, gc->ta ? gc->m : gc->k };
    int64_t bd[2] = { gc->tb ? gc->n : gc->k, gc->tb ? gc->k : gc->n };
    int64_t cd[2] = { gc->c_kind == 3 ? gc->m : 1, gc->n };
    er_tensor *a = tensor_new(ad, 2, &seed), *b = tensor_new(bd, 2, &seed);
    er_tensor *c = gc->c_kind == 0 ? NULL : gc->c_kind == 1 ? tensor_new(cd + 1, 1, &seed) : tensor_new(cd, 2, &seed);
    attrs t = { .n = 0 };
    attr_int(&t, "transA", gc->ta);
    attr_int(&t, "transB", gc->tb);
    attr_float(&t, "alpha", gc->alpha);
    attr_float(&t, "beta", gc->beta);
    er_node node = { .name = "g", .op_type = "Gemm", .domain = "", .n_in = c ? 3 : 2, .n_out = 1, .n_attrs = t.n, .attrs = t.a };
    er_tensor *in[3] = { a, b, c };
    char err[256] = "";
    er_tensor *want = run_op(er_op_find_ref("", "Gemm"), &node, NULL, in, node.n_in, err);
    er_tensor *got = run_op_masked(find_fast("", "Gemm"), &node, pool, in, node.n_in, 6u, err);
    char what[512];
    snprintf(what, sizeof what, "Gemm %s m=%d k=%d n=%d ta=%d tb=%d c=%d %s", er_isa_name(er_cpu_isa()), gc->m,
             gc->k, gc->n, gc->ta, gc->tb, gc->c_kind, err);
    compare(what, got, want, 1e-5 * gc->k + 1e-5);
    tensor_free(a); tensor_free(b); tensor_free(c); tensor_free(want); tensor_free(got);
}

/* Unary-style ops: Erf, Softmax over several axes, Pow with exponents 2 (fast) and 3. */
static void check_eltwise(er_threadpool *pool)
{
    unsigned seed = 99;
    int64_t xd[3] = { 3, 97, 129 }, sd[1] = { 1 };   /* above the size that goes multi-threaded */
    er_tensor *x = tensor_new(xd, 3, &seed), *e = tensor_new(sd, 1, NULL);
    for (int64_t i = 0; i < er_tensor_numel(x); i++) ((float *)x->data)[i] *= 4.0f;
    char err[256] = "", what[512];
    er_tensor *in[2] = { x, e };
    er_node erf = { .name = "e", .op_type = "Erf", .domain = "", .n_in = 1, .n_out = 1 };
    er_tensor *want = run_op(er_op_find_ref("", "Erf"), &erf, NULL, in, 1, err);
    er_tensor *got = run_op(find_fast("", "Erf"), &erf, pool, in, 1, err);
    snprintf(what, sizeof what, "Erf %s %s", er_isa_name(er_cpu_isa()), err);
    compare(what, got, want, 1e-6);
    tensor_free(want); tensor_free(got);
    for (int64_t axis = -1; axis <= 1; axis++) {
        attrs t = { .n = 0 };
        attr_int(&t, "axis", axis);
        er_node sm = { .name = "s", .op_type = "Softmax", .domain = "", .n_in = 1, .n_out = 1, .n_attrs = t.n, .attrs = t.a };
        want = run_op(er_op_find_ref("", "Softmax"), &sm, NULL, in, 1, err);
        got = run_op(find_fast("", "Softmax"), &sm, pool, in, 1, err);
        snprintf(what, sizeof what, "Softmax %s axis=%lld %s", er_isa_name(er_cpu_isa()), (long long)axis, err);
        compare(what, got, want, 1e-6);
        tensor_free(want); tensor_free(got);
    }
    for (int p = 2; p <= 3; p++) {
        ((float *)e->data)[0] = (float)p;
        er_node pw = { .name = "p", .op_type = "Pow", .domain = "", .n_in = 2, .n_out = 1 };
        want = run_op(er_op_find_ref("", "Pow"), &pw, NULL, in, 2, err);
        got = run_op(find_fast("", "Pow"), &pw, pool, in, 2, err);
        snprintf(what, sizeof what, "Pow %s p=%d %s", er_isa_name(er_cpu_isa()), p, err);
        compare(what, got, want, 1e-5);
        tensor_free(want); tensor_free(got);
    }
    tensor_free(x); tensor_free(e);
}

/* Nearest Resize by integer factors (fast path) and cases that must take the reference. */
static void check_resize(er_threadpool *pool)
{
    static const struct {
        float sh, sw;
        const char *coord, *nearest;
    } cases[] = {
        { 2, 2, "asymmetric", "floor" }, { 3, 2, "asymmetric", "round_prefer_floor" },
        { 2, 3, "asymmetric", "floor" }, { 2, 2, "half_pixel", "round_prefer_floor" },
    };
    unsigned seed = 5;
    int64_t xd[4] = { 1, 3, 5, 7 }, rd[1] = { 0 }, sd[1] = { 4 };
    er_tensor *x = tensor_new(xd, 4, &seed), *roi = tensor_new(rd, 1, NULL), *sc = tensor_new(sd, 1, NULL);
    for (size_t i = 0; i < ER_ARRAY_LEN(cases); i++) {
        float *f = sc->data;
        f[0] = f[1] = 1.0f;
        f[2] = cases[i].sh;
        f[3] = cases[i].sw;
        attrs t = { .n = 0 };
        attr_str(&t, "mode", "nearest");
        attr_str(&t, "coordinate_transformation_mode", cases[i].coord);
        attr_str(&t, "nearest_mode", cases[i].nearest);
        er_node node = { .name = "r", .op_type = "Resize", .domain = "", .n_in = 3, .n_out = 1, .n_attrs = t.n, .attrs = t.a };
        er_tensor *in[3] = { x, roi, sc };
        char err[256] = "", what[512];
        er_tensor *want = run_op(er_op_find_ref("", "Resize"), &node, NULL, in, 3, err);
        er_tensor *got = run_op(find_fast("", "Resize"), &node, pool, in, 3, err);
        snprintf(what, sizeof what, "Resize %s x%gx%g %s %s %s", er_isa_name(er_cpu_isa()), cases[i].sh, cases[i].sw,
                 cases[i].coord, cases[i].nearest, err);
        compare(what, got, want, 0.0);
        tensor_free(want); tensor_free(got);
    }
    tensor_free(x); tensor_free(roi); tensor_free(sc);
}

/* ConvTranspose: kernel == stride (fast path), and an overlapping, padded one (reference). */
static void check_convt(er_threadpool *pool)
{
    static const struct {
        int n, c, h, w, m, kh, kw, sh, sw, pad;
        bool bias;
    } cases[] = {
        { 1, 24, 9, 13, 16, 2, 2, 2, 2, 0, true },
        { 2, 5, 4, 7, 3, 3, 2, 3, 2, 0, false },
        { 1, 4, 5, 5, 6, 3, 3, 2, 2, 1, true },
    };
    for (size_t i = 0; i < ER_ARRAY_LEN(cases); i++) {
        unsigned seed = (unsigned)(17 + i);
        int64_t xd[4] = { cases[i].n, cases[i].c, cases[i].h, cases[i].w };
        int64_t wd[4] = { cases[i].c, cases[i].m, cases[i].kh, cases[i].kw }, bd[1] = { cases[i].m };
        int64_t st[2] = { cases[i].sh, cases[i].sw }, pads[4] = { cases[i].pad, cases[i].pad, cases[i].pad, cases[i].pad };
        er_tensor *x = tensor_new(xd, 4, &seed), *w = tensor_new(wd, 4, &seed);
        er_tensor *b = cases[i].bias ? tensor_new(bd, 1, &seed) : NULL;
        attrs t = { .n = 0 };
        attr_ints(&t, "strides", st, 2);
        attr_ints(&t, "pads", pads, 4);
        er_node node = { .name = "ct", .op_type = "ConvTranspose", .domain = "", .n_in = b ? 3 : 2, .n_out = 1,
                         .n_attrs = t.n, .attrs = t.a };
        er_tensor *in[3] = { x, w, b };
        char err[256] = "", what[512];
        er_tensor *want = run_op(er_op_find_ref("", "ConvTranspose"), &node, NULL, in, node.n_in, err);
        er_tensor *got = run_op(find_fast("", "ConvTranspose"), &node, pool, in, node.n_in, err);
        snprintf(what, sizeof what, "ConvTranspose %s k=%dx%d s=%d,%d pad=%d %s", er_isa_name(er_cpu_isa()), cases[i].kh,
                 cases[i].kw, cases[i].sh, cases[i].sw, cases[i].pad, err);
        compare(what, got, want, 1e-5 * cases[i].c + 1e-5);
        tensor_free(x); tensor_free(w); tensor_free(b); tensor_free(want); tensor_free(got);
    }
}

/* Add/Sub/Mul/Div on equal shapes, scalars and per-channel operands in both orders, and a
 * general broadcast (reference path); GlobalAveragePool; Sigmoid. */
static void check_binary(er_threadpool *pool)
{
    static const char *ops[] = { "Add", "Sub", "Mul", "Div" };
    static const int64_t shapes[][5] = {
        /* ndim, dims... of the second operand; the first is 2×6×45×70 (large enough to thread) */
        { 4, 2, 6, 45, 70 }, { 1, 1 }, { 3, 6, 1, 1 }, { 4, 1, 6, 1, 1 }, { 2, 45, 1 }, { 4, 1, 1, 1, 70 },
    };
    unsigned seed = 31;
    int64_t ad[4] = { 2, 6, 45, 70 };
    er_tensor *a = tensor_new(ad, 4, &seed);
    for (size_t s = 0; s < ER_ARRAY_LEN(shapes); s++) {
        er_tensor *b = tensor_new(shapes[s] + 1, (int)shapes[s][0], &seed);
        for (int64_t i = 0; i < er_tensor_numel(b); i++) ((float *)b->data)[i] += 2.5f;   /* no division by ~0 */
        for (size_t o = 0; o < ER_ARRAY_LEN(ops); o++)
            for (int order = 0; order < 2; order++) {
                er_node node = { .name = "b", .op_type = ops[o], .domain = "", .n_in = 2, .n_out = 1 };
                er_tensor *in[2] = { order ? b : a, order ? a : b };
                char err[256] = "", what[512];
                er_tensor *want = run_op(er_op_find_ref("", ops[o]), &node, NULL, in, 2, err);
                er_tensor *got = run_op(find_fast("", ops[o]), &node, pool, in, 2, err);
                snprintf(what, sizeof what, "%s %s operand shape %zu order %d %s", ops[o], er_isa_name(er_cpu_isa()), s,
                         order, err);
                compare(what, got, want, 1e-6);
                tensor_free(want); tensor_free(got);
            }
        tensor_free(b);
    }
    static const char *unary[] = { "GlobalAveragePool", "Sigmoid" };
    for (size_t u = 0; u < ER_ARRAY_LEN(unary); u++) {
        for (int64_t i = 0; i < er_tensor_numel(a); i++) ((float *)a->data)[i] *= 3.0f;
        er_node node = { .name = "u", .op_type = unary[u], .domain = "", .n_in = 1, .n_out = 1 };
        er_tensor *in[1] = { a };
        char err[256] = "", what[512];
        er_tensor *want = run_op(er_op_find_ref("", unary[u]), &node, NULL, in, 1, err);
        er_tensor *got = run_op(find_fast("", unary[u]), &node, pool, in, 1, err);
        snprintf(what, sizeof what, "%s %s %s", unary[u], er_isa_name(er_cpu_isa()), err);
        compare(what, got, want, 1e-5);
        tensor_free(want); tensor_free(got);
    }
    tensor_free(a);
}

/* FusedConv whose residual broadcasts: smaller than the conv output ([1,M,1,1]), and larger
 * (the output grows to the residual's shape), for a GEMM conv and a depthwise one. */
static void check_fused_broadcast(er_threadpool *pool)
{
    static const struct {
        int c, m, h, w, group;
        int64_t z[4];
    } cases[] = {
        { 6, 8, 9, 11, 1, { 1, 8, 1, 1 } },
        { 6, 8, 1, 11, 1, { 1, 8, 5, 11 } },
        { 8, 8, 1, 13, 8, { 2, 8, 3, 13 } },
    };
    for (size_t i = 0; i < ER_ARRAY_LEN(cases); i++) {
        unsigned seed = (unsigned)(71 + i);
        int64_t xd[4] = { 1, cases[i].c, cases[i].h, cases[i].w }, wd[4] = { cases[i].m, cases[i].c / cases[i].group, 1, 3 };
        int64_t bd[1] = { cases[i].m }, pads[4] = { 0, 1, 0, 1 };
        er_tensor *x = tensor_new(xd, 4, &seed), *w = tensor_new(wd, 4, &seed), *b = tensor_new(bd, 1, &seed);
        er_tensor *z = tensor_new(cases[i].z, 4, &seed);
        attrs t = { .n = 0 };
        attr_ints(&t, "pads", pads, 4);
        attr_int(&t, "group", cases[i].group);
        attr_str(&t, "activation", "Relu");
        er_node node = { .name = "fb", .op_type = "FusedConv", .domain = ER_FUSED_DOMAIN, .n_in = 4, .n_out = 1,
                         .n_attrs = t.n, .attrs = t.a };
        er_tensor *in[4] = { x, w, b, z };
        char err[256] = "", what[512];
        er_tensor *want = run_op(er_op_find_ref(ER_FUSED_DOMAIN, "FusedConv"), &node, NULL, in, 4, err);
        er_tensor *got = run_op(find_fast(ER_FUSED_DOMAIN, "FusedConv"), &node, pool, in, 4, err);
        snprintf(what, sizeof what, "FusedConv broadcast residual %s case %zu %s", er_isa_name(er_cpu_isa()), i, err);
        compare(what, got, want, 1e-5);
        /* the reference itself against conv + numpy-broadcast add + relu, done here */
        er_node conv = { .name = "c", .op_type = "Conv", .domain = "", .n_in = 3, .n_out = 1, .n_attrs = 2, .attrs = t.a };
        er_tensor *c = run_op(er_op_find_ref("", "Conv"), &conv, NULL, in, 3, err);
        checks++;
        bool ok = want && c;
        for (int64_t k = 0; ok && k < er_tensor_numel(want); k++) {
            int64_t rem = k, oc = 0, oz = 0, sc = 1, sz = 1;
            for (int d = 3; d >= 0; d--) {
                int64_t idx = rem % want->dims[d];
                rem /= want->dims[d];
                oc += (c->dims[d] == 1 ? 0 : idx) * sc;
                oz += (z->dims[d] == 1 ? 0 : idx) * sz;
                sc *= c->dims[d];
                sz *= z->dims[d];
            }
            float v = ((float *)c->data)[oc] + ((float *)z->data)[oz];
            ok = fabsf((v > 0 ? v : 0) - ((float *)want->data)[k]) <= 1e-5f;
        }
        if (!ok) {
            failures++;
            printf("FAIL reference FusedConv broadcast case %zu %s\n", i, err);
        }
        tensor_free(x); tensor_free(w); tensor_free(b); tensor_free(z); tensor_free(want); tensor_free(got); tensor_free(c);
    }
}

/* ---- Depthwise kernels 5 and 7 wide, pools read in place (depthwise_avx512.c, pool_*.c) ----
 * Depthwise: 5×5 and 7×7 planes with strides (1,1), (2,1), (2,2), non-square kernels, rows
 * wider than one 256-output band, kernels taller than the plane and padding wider than the
 * kernel's reach (rows of bias only), 3×3 stride 2 on 64-byte aligned rows; each without and
 * with the in-kernel clamp and the residual epilogue. MaxPool: stride-2 row tails, ceil-mode overhang, 2-wide windows.
 * AveragePool: windows inside the plane (fast path) and padded or overhanging windows (the
 * reference path), both count_include_pad settings. Softmax: rows around the 16-lane block. */
static const conv_case wide_dw_cases[] = {
    { 1, 6, 12, 80, 6, 5, 5, 1, 1, 2, 2, 1, 6, true, false },     /* PP-OCR rec 5×5 s1 */
    { 1, 5, 12, 37, 5, 5, 5, 2, 1, 2, 2, 1, 5, true, false },     /* stride (2,1), odd width */
    { 1, 4, 9, 45, 4, 5, 5, 2, 2, 2, 2, 1, 4, true, false },      /* 5×5 s2, odd sizes */
    { 1, 3, 11, 29, 3, 7, 7, 1, 1, 3, 3, 1, 3, true, false },     /* 7×7 s1 */
    { 1, 3, 12, 40, 3, 7, 7, 2, 2, 3, 3, 1, 3, false, false },    /* 7×7 s2 */
    { 1, 4, 6, 21, 4, 3, 5, 1, 1, 1, 2, 1, 4, true, false },      /* 3×5 */
    { 1, 4, 8, 19, 4, 5, 3, 1, 2, 2, 1, 1, 4, true, false },      /* 5×3, stride (1,2) */
    { 1, 2, 3, 300, 2, 3, 3, 1, 1, 0, 0, 1, 2, true, false },     /* 3×3 valid, 298 outputs a row */
    { 1, 2, 6, 300, 2, 5, 5, 1, 1, 0, 0, 1, 2, true, false },     /* 5×5 valid, 296 outputs a row */
    { 1, 3, 2, 96, 3, 5, 5, 1, 1, 2, 2, 1, 3, true, false },      /* 5×5 on 2 rows */
    { 1, 2, 5, 9, 2, 5, 5, 1, 1, 6, 6, 1, 2, true, false },       /* rows and columns of padding only */
    { 2, 3, 7, 18, 3, 5, 5, 2, 2, 1, 3, 1, 3, true, false },      /* batch 2, asymmetric pads */
    { 1, 5, 10, 32, 5, 3, 3, 2, 2, 1, 1, 1, 5, true, false },     /* 3×3 s2 on aligned rows */
    { 2, 3, 9, 48, 3, 3, 3, 2, 2, 1, 0, 1, 3, true, false },      /* aligned rows, no end padding */
    { 1, 2, 6, 112, 2, 3, 3, 2, 2, 1, 1, 1, 2, false, false },    /* aligned, MobileNet width */
};

/* ---- Depthwise 3×3 stride 2 (depthwise_avx512.c): rows with one column of padding swept with
 * the odd lanes carried from chunk to chunk (any width: aligned or not, block tails, chunks past
 * the row from extra end padding), and output rows of at most 7 packed two to a vector (odd
 * row counts, row stride 1 and 3, other column paddings, a single output row). */
static const conv_case dw_s2_cases[] = {
    { 1, 4, 10, 56, 4, 3, 3, 2, 2, 1, 1, 1, 4, true, false },     /* MobileNet width 56 */
    { 1, 3, 9, 57, 3, 3, 3, 2, 2, 1, 1, 1, 3, true, false },      /* odd width, second block tail */
    { 1, 3, 8, 17, 3, 3, 3, 2, 2, 1, 1, 1, 3, false, false },     /* 9 outputs a row */
    { 1, 2, 6, 40, 2, 3, 3, 2, 2, 1, 5, 1, 2, true, false },      /* end padding: chunks past the row */
    { 1, 2, 6, 64, 2, 3, 3, 2, 2, 1, 33, 1, 2, true, false },     /* aligned rows, a chunk past the row */
    { 1, 3, 7, 70, 3, 3, 3, 1, 2, 1, 1, 1, 3, true, false },      /* stride (1,2) */
    { 2, 5, 14, 14, 5, 3, 3, 2, 2, 1, 1, 1, 5, true, false },     /* MobileNet 14×14 → 7×7, batch 2 */
    { 1, 4, 13, 13, 4, 3, 3, 2, 2, 1, 1, 1, 4, true, false },     /* 7×7 out from odd input */
    { 1, 3, 9, 8, 3, 3, 3, 1, 2, 1, 1, 1, 3, true, false },       /* pairs with row stride 1 */
    { 1, 3, 11, 12, 3, 3, 3, 3, 2, 1, 1, 1, 3, false, false },    /* pairs with row stride 3 */
    { 1, 4, 9, 11, 4, 3, 3, 2, 2, 0, 0, 1, 4, true, false },      /* pairs unpadded */
    { 1, 4, 6, 9, 4, 3, 3, 2, 2, 2, 2, 1, 4, true, false },       /* pairs pad 2 */
    { 1, 2, 2, 5, 2, 3, 3, 2, 2, 1, 1, 1, 2, true, false },       /* one output row */
};

static void dw_s2_suite(er_threadpool *pool)
{
    for (size_t i = 0; i < ER_ARRAY_LEN(dw_s2_cases); i++) {
        check_conv(&dw_s2_cases[i], pool, ER_ACT_NONE, false);
        check_conv(&dw_s2_cases[i], pool, ER_ACT_CLIP, false);
        check_conv(&dw_s2_cases[i], pool, ER_ACT_RELU, true);
    }
}

static const pool_case wide_pool_cases[] = {
    { 3, 9, 37, 3, 3, 2, 2, 1, 1, 1, 0 },    /* stride 2, row tail */
    { 3, 9, 41, 2, 2, 2, 2, 0, 0, 1, 1 },    /* 2×2 ceil mode: last window overhangs */
    { 2, 7, 50, 3, 3, 1, 1, 1, 1, 1, 0 },    /* stride 1 */
    { 2, 5, 33, 3, 2, 1, 2, 0, 1, 1, 0 },    /* 3×2, stride (1,2) */
    { 4, 2, 96, 2, 2, 2, 2, 0, 0, 1, 0 },    /* PP-OCR cls */
    { 1, 4, 200, 3, 3, 2, 2, 1, 1, 1, 0 },   /* 100 outputs a row */
};

typedef struct avg_case {
    pool_case p;
    int include_pad;
} avg_case;

static const avg_case avg_cases[] = {
    { { 5, 3, 80, 3, 2, 3, 2, 0, 0, 1, 0 }, 0 },    /* PP-OCR rec: windows inside */
    { { 3, 9, 23, 3, 3, 2, 2, 0, 0, 1, 0 }, 1 },    /* inside, last column unread */
    { { 2, 8, 19, 2, 2, 1, 1, 0, 0, 1, 0 }, 0 },    /* stride 1 */
    { { 2, 8, 19, 3, 3, 3, 3, 0, 0, 1, 0 }, 0 },    /* stride 3 */
    { { 2, 7, 9, 3, 3, 2, 2, 1, 1, 1, 0 }, 0 },     /* padded: reference path */
    { { 2, 7, 9, 3, 3, 2, 2, 1, 1, 1, 0 }, 1 },
    { { 2, 9, 9, 2, 2, 2, 2, 0, 0, 1, 1 }, 0 },     /* ceil overhang: reference path */
};

static void check_avgpool(const avg_case *ac, er_threadpool *pool)
{
    const pool_case *pc = &ac->p;
    unsigned seed = (unsigned)(pc->c * 17 + pc->h * 5 + pc->w);
    int64_t xd[4] = { 1, pc->c, pc->h, pc->w }, ks[2] = { pc->kh, pc->kw }, st[2] = { pc->sh, pc->sw };
    int64_t pads[4] = { pc->p0, pc->p1, pc->p1, pc->p0 }, dil[2] = { pc->dil, pc->dil };
    er_tensor *x = tensor_new(xd, 4, &seed);
    attrs t = { .n = 0 };
    attr_ints(&t, "kernel_shape", ks, 2);
    attr_ints(&t, "strides", st, 2);
    attr_ints(&t, "pads", pads, 4);
    attr_ints(&t, "dilations", dil, 2);
    attr_int(&t, "ceil_mode", pc->ceil);
    attr_int(&t, "count_include_pad", ac->include_pad);
    er_node node = { .name = "a", .op_type = "AveragePool", .domain = "", .n_in = 1, .n_out = 1, .n_attrs = t.n,
                     .attrs = t.a };
    er_tensor *in[1] = { x };
    char err[256] = "";
    er_tensor *want = run_op(er_op_find_ref("", "AveragePool"), &node, NULL, in, 1, err);
    er_tensor *got = run_op(find_fast("", "AveragePool"), &node, pool, in, 1, err);
    char what[512];
    snprintf(what, sizeof what, "AveragePool %s c=%d %dx%d k=%dx%d s=%d,%d p=%d,%d ceil=%d incl=%d %s",
             er_isa_name(er_cpu_isa()), pc->c, pc->h, pc->w, pc->kh, pc->kw, pc->sh, pc->sw, pc->p0, pc->p1,
             pc->ceil, ac->include_pad, err);
    compare(what, got, want, 1e-6);
    tensor_free(x); tensor_free(want); tensor_free(got);
}

/* Softmax rows shorter than one 16-lane block, with a tail, and as long as PP-OCR rec's
 * 6625 classes (partial max and sum per lane, then combined). */
static void check_softmax_rows(er_threadpool *pool)
{
    static const int64_t shapes[][2] = { { 7, 5 }, { 3, 16 }, { 5, 33 }, { 4, 6625 } };
    for (size_t i = 0; i < ER_ARRAY_LEN(shapes); i++) {
        unsigned seed = (unsigned)(31 + i);
        er_tensor *x = tensor_new(shapes[i], 2, &seed);
        for (int64_t k = 0; k < er_tensor_numel(x); k++) ((float *)x->data)[k] *= 8.0f;
        attrs t = { .n = 0 };
        attr_int(&t, "axis", -1);
        er_node sm = { .name = "s", .op_type = "Softmax", .domain = "", .n_in = 1, .n_out = 1, .n_attrs = t.n,
                       .attrs = t.a };
        er_tensor *in[1] = { x };
        char err[256] = "", what[256];
        er_tensor *want = run_op(er_op_find_ref("", "Softmax"), &sm, NULL, in, 1, err);
        er_tensor *got = run_op(find_fast("", "Softmax"), &sm, pool, in, 1, err);
        snprintf(what, sizeof what, "Softmax %s rows %lld x %lld %s", er_isa_name(er_cpu_isa()),
                 (long long)shapes[i][0], (long long)shapes[i][1], err);
        compare(what, got, want, 1e-6);
        tensor_free(x); tensor_free(want); tensor_free(got);
    }
}

static void wide_dw_pool_suite(er_threadpool *pool)
{
    for (size_t i = 0; i < ER_ARRAY_LEN(wide_dw_cases); i++) {
        check_conv(&wide_dw_cases[i], pool, ER_ACT_NONE, false);
        check_conv(&wide_dw_cases[i], pool, ER_ACT_CLIP, false);
        check_conv(&wide_dw_cases[i], pool, ER_ACT_RELU, true);
    }
    for (size_t i = 0; i < ER_ARRAY_LEN(wide_pool_cases); i++) check_maxpool(&wide_pool_cases[i], pool);
    for (size_t i = 0; i < ER_ARRAY_LEN(avg_cases); i++) check_avgpool(&avg_cases[i], pool);
    check_softmax_rows(pool);
}

int main(void)
{
    static const char *isas[] = { "ref", "avx2", "avx512" };
    er_isa best = er_cpu_isa();
    for (int level = 0; level <= (int)best; level++) {
        setenv("EDGERUN_ISA", isas[level], 1);
        for (int threads = 1; threads <= 2; threads++) {
            er_threadpool *pool = er_threadpool_create(threads);
            conv_suite(pool);
            direct_suite(pool);
            wino_suite(pool);
            for (size_t i = 0; i < ER_ARRAY_LEN(pool_cases); i++) check_maxpool(&pool_cases[i], pool);
            for (size_t i = 0; i < ER_ARRAY_LEN(mm_cases); i++) check_matmul(&mm_cases[i], pool);
            for (size_t i = 0; i < ER_ARRAY_LEN(gemm_cases); i++) check_gemm(&gemm_cases[i], pool);
            check_eltwise(pool);
            check_resize(pool);
            check_convt(pool);
            check_binary(pool);
            check_fused_broadcast(pool);
            wide_dw_pool_suite(pool);
            dw_s2_suite(pool);
            er_threadpool_free(pool);
        }
    }
    unsetenv("EDGERUN_ISA");
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
