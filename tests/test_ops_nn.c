/* Unit tests for the reference NN kernels (src/backend/cpu/ref/nn_*.c). Every expected value
 * is worked out by hand from the ONNX operator definitions (the arithmetic is in the comments),
 * so a wrong index, padding split, rounding rule or normalisation fails a check. The ONNX
 * conformance suite (tools/gen_onnx_tests.py + conformance) covers the same ops more widely. */
#include "opsew_harness.h"

#define TOL 1e-5
#define F(...) ((const float[]){ __VA_ARGS__ })
#define D(...) ((const double[]){ __VA_ARGS__ })
#define I64(...) ((const int64_t[]){ __VA_ARGS__ })

static er_tensor tf(int nd, const int64_t *dims, const float *data) { return t_tensor(ER_F32, nd, dims, data); }

/* Like t_run_op, but always the reference kernel of er_ops_nn, whatever the registry would
 * dispatch to (these tests check the oracle itself). */
static er_status nn_run(t_node *n, int64_t opset, er_tensor **in, int n_in, er_tensor *out, int n_out)
{
    const er_op *op = er_ops_nn;
    while (op->name && strcmp(op->name, n->node.op_type) != 0) op++;
    if (!op->name) {
        fprintf(stderr, "op %s is not in er_ops_nn\n", n->node.op_type);
        return ER_ERR_UNSUPPORTED;
    }
    n->node.n_in = n_in;
    n->node.n_out = n_out;
    er_tensor *outs[4];
    for (int k = 0; k < n_out; k++) {
        memset(&out[k], 0, sizeof out[k]);
        outs[k] = &out[k];
    }
    g_err[0] = 0;
    er_kctx ctx = { .node = &n->node, .opset = opset, .err = g_err, .err_size = sizeof g_err };
    er_status st = op->infer(&ctx, in, n_in, outs, n_out);
    if (st != ER_OK) return st;
    for (int k = 0; k < n_out; k++) {
        size_t b = er_tensor_nbytes(&out[k]);
        out[k].data = malloc(b ? b : 1);
    }
    ctx.workspace = ctx.workspace_bytes ? malloc(ctx.workspace_bytes) : NULL;
    st = op->run(&ctx, in, n_in, outs, n_out);
    free(ctx.workspace);
    if (st != ER_OK) fprintf(stderr, "%s run failed: %s\n", n->node.op_type, g_err);
    return st;
}

/* Runs a single-output float op and compares shape and values. */
static void expect_f32(t_node *n, int64_t opset, er_tensor **in, int n_in, int nd, const int64_t *dims,
                       const double *want)
{
    er_tensor out[1];
    er_status st = nn_run(n, opset, in, n_in, out, 1);
    CHECK(st == ER_OK);
    if (st != ER_OK) {
        fprintf(stderr, "  %s: %s\n", n->node.op_type, g_err);
        return;
    }
    CHECK(t_shape_is(&out[0], nd, dims));
    CHECK(t_close(&out[0], want, er_shape_numel(dims, nd), TOL, TOL));
    t_free(out, 1);
}

static void test_conv_basic(void)
{
    /* X = 0..8 as 3x3, W = 2x2 ones: window sums 0+1+3+4=8, 12, 20, 24. */
    const float *x = F(0, 1, 2, 3, 4, 5, 6, 7, 8);
    er_tensor X = tf(4, I64(1, 1, 3, 3), x), W = tf(4, I64(1, 1, 2, 2), F(1, 1, 1, 1));
    er_tensor *in[3] = { &X, &W, NULL };
    t_node n;
    t_node_init(&n, "Conv");
    expect_f32(&n, 13, in, 2, 4, I64(1, 1, 2, 2), D(8, 12, 20, 24));

    /* pads 1, stride 2: windows at rows/cols -1 and 1 -> {0}, {1,2}, {3,6}, {4,5,7,8}; bias +1 */
    er_tensor B = tf(1, I64(1), F(1));
    in[2] = &B;
    t_node_init(&n, "Conv");
    t_attr_ints(&n, "pads", I64(1, 1, 1, 1), 4);
    t_attr_ints(&n, "strides", I64(2, 2), 2);
    expect_f32(&n, 13, in, 3, 4, I64(1, 1, 2, 2), D(1, 4, 10, 25));
}

static void test_conv_group_dilation(void)
{
    /* Depthwise (group 2), dilation 2: ch0 = x[i] - x[i+2] = -2; ch1 = 2 * x[i]. */
    er_tensor X = tf(3, I64(1, 2, 5), F(1, 2, 3, 4, 5, 10, 20, 30, 40, 50));
    er_tensor W = tf(3, I64(2, 1, 2), F(1, -1, 2, 0));
    er_tensor *in[2] = { &X, &W };
    t_node n;
    t_node_init(&n, "Conv");
    t_attr_int(&n, "group", 2);
    t_attr_ints(&n, "dilations", I64(2), 1);
    expect_f32(&n, 13, in, 2, 3, I64(1, 2, 3), D(-2, -2, -2, 20, 40, 60));
}

static void test_conv_auto_pad(void)
{
    /* k=2 on [1,2,3,4] needs one pad unit: SAME_UPPER puts it at the end (3,5,7,4+0),
     * SAME_LOWER at the start (0+1,3,5,7). */
    er_tensor X = tf(3, I64(1, 1, 4), F(1, 2, 3, 4)), W = tf(3, I64(1, 1, 2), F(1, 1));
    er_tensor *in[2] = { &X, &W };
    t_node n;
    t_node_init(&n, "Conv");
    t_attr_str(&n, "auto_pad", "SAME_UPPER");
    expect_f32(&n, 13, in, 2, 3, I64(1, 1, 4), D(3, 5, 7, 4));
    t_node_init(&n, "Conv");
    t_attr_str(&n, "auto_pad", "SAME_LOWER");
    expect_f32(&n, 13, in, 2, 3, I64(1, 1, 4), D(1, 3, 5, 7));
    /* VALID ignores pads */
    t_node_init(&n, "Conv");
    t_attr_str(&n, "auto_pad", "VALID");
    t_attr_ints(&n, "pads", I64(3, 3), 2);
    expect_f32(&n, 13, in, 2, 3, I64(1, 1, 3), D(3, 5, 7));
}

static void test_conv_3d(void)
{
    /* 2x2x2 ones kernel over 1..8: the single output is 36. */
    er_tensor X = tf(5, I64(1, 1, 2, 2, 2), F(1, 2, 3, 4, 5, 6, 7, 8));
    er_tensor W = tf(5, I64(1, 1, 2, 2, 2), F(1, 1, 1, 1, 1, 1, 1, 1));
    er_tensor *in[2] = { &X, &W };
    t_node n;
    t_node_init(&n, "Conv");
    expect_f32(&n, 13, in, 2, 5, I64(1, 1, 1, 1, 1), D(36));
}

static void test_conv_errors(void)
{
    /* W expects 2 input channels, X has 3. */
    er_tensor X = tf(4, I64(1, 3, 2, 2), F(0)), W = tf(4, I64(1, 2, 1, 1), F(0));
    er_tensor *in[2] = { &X, &W };
    er_tensor out[1];
    t_node n;
    t_node_init(&n, "Conv");
    CHECK(nn_run(&n, 13, in, 2, out, 1) == ER_ERR_SHAPE);
    CHECK(strstr(g_err, "channels") != NULL);
    /* kernel larger than the unpadded input */
    er_tensor X2 = tf(4, I64(1, 1, 2, 2), F(0)), W2 = tf(4, I64(1, 1, 3, 3), F(0));
    er_tensor *in2[2] = { &X2, &W2 };
    t_node_init(&n, "Conv");
    CHECK(nn_run(&n, 13, in2, 2, out, 1) == ER_ERR_SHAPE);
}

static void test_conv_transpose(void)
{
    /* x = [1, 2], w = [1, 1, 1], stride 2: 1 spreads to 0..2, 2 to 2..4 -> [1,1,3,2,2]. */
    er_tensor X = tf(3, I64(1, 1, 2), F(1, 2)), W = tf(3, I64(1, 1, 3), F(1, 1, 1));
    er_tensor *in[2] = { &X, &W };
    t_node n;
    t_node_init(&n, "ConvTranspose");
    t_attr_ints(&n, "strides", I64(2), 1);
    expect_f32(&n, 13, in, 2, 3, I64(1, 1, 5), D(1, 1, 3, 2, 2));
    /* output_padding adds a zero column at the end */
    t_node_init(&n, "ConvTranspose");
    t_attr_ints(&n, "strides", I64(2), 1);
    t_attr_ints(&n, "output_padding", I64(1), 1);
    expect_f32(&n, 13, in, 2, 3, I64(1, 1, 6), D(1, 1, 3, 2, 2, 0));
    /* output_shape 6 gives total padding -1, all of it at the end: the same result */
    t_node_init(&n, "ConvTranspose");
    t_attr_ints(&n, "strides", I64(2), 1);
    t_attr_ints(&n, "output_shape", I64(6), 1);
    expect_f32(&n, 13, in, 2, 3, I64(1, 1, 6), D(1, 1, 3, 2, 2, 0));
    /* pads crop one from each side */
    t_node_init(&n, "ConvTranspose");
    t_attr_ints(&n, "strides", I64(2), 1);
    t_attr_ints(&n, "pads", I64(1, 1), 2);
    expect_f32(&n, 13, in, 2, 3, I64(1, 1, 3), D(1, 3, 2));
    /* group 2, one output channel each: W[c] scales channel c (2 and -1) */
    er_tensor X2 = tf(3, I64(1, 2, 2), F(1, 2, 3, 4)), W2 = tf(3, I64(2, 1, 1), F(2, -1));
    er_tensor *in2[2] = { &X2, &W2 };
    t_node_init(&n, "ConvTranspose");
    t_attr_int(&n, "group", 2);
    expect_f32(&n, 13, in2, 2, 3, I64(1, 2, 2), D(2, 4, -3, -4));
}

static void test_maxpool(void)
{
    /* [[1,5,2],[7,3,9],[4,8,6]], k2 s1: maxima 7 (flat 3), 9 (5), 8 (7), 9 (5). */
    er_tensor X = tf(4, I64(1, 1, 3, 3), F(1, 5, 2, 7, 3, 9, 4, 8, 6));
    er_tensor *in[1] = { &X };
    er_tensor out[2];
    t_node n;
    t_node_init(&n, "MaxPool");
    t_attr_ints(&n, "kernel_shape", I64(2, 2), 2);
    CHECK(nn_run(&n, 12, in, 1, out, 2) == ER_OK);
    CHECK(t_close(&out[0], D(7, 9, 8, 9), 4, 0, 0));
    CHECK(t_equal_i64(&out[1], I64(3, 5, 7, 5), 4));
    t_free(out, 2);
    /* column-major indices: h + w * H -> 1, 7, 5, 7 */
    t_node_init(&n, "MaxPool");
    t_attr_ints(&n, "kernel_shape", I64(2, 2), 2);
    t_attr_int(&n, "storage_order", 1);
    CHECK(nn_run(&n, 12, in, 1, out, 2) == ER_OK);
    CHECK(t_equal_i64(&out[1], I64(1, 7, 5, 7), 4));
    t_free(out, 2);

    /* 4x4 of 0..15, k3 s2: floor gives 1x1 (10); ceil_mode adds the clipped windows 11, 14, 15 */
    float v[16];
    for (int i = 0; i < 16; i++) v[i] = (float)i;
    er_tensor X4 = tf(4, I64(1, 1, 4, 4), v);
    er_tensor *in4[1] = { &X4 };
    t_node_init(&n, "MaxPool");
    t_attr_ints(&n, "kernel_shape", I64(3, 3), 2);
    t_attr_ints(&n, "strides", I64(2, 2), 2);
    expect_f32(&n, 12, in4, 1, 4, I64(1, 1, 1, 1), D(10));
    t_node_init(&n, "MaxPool");
    t_attr_ints(&n, "kernel_shape", I64(3, 3), 2);
    t_attr_ints(&n, "strides", I64(2, 2), 2);
    t_attr_int(&n, "ceil_mode", 1);
    expect_f32(&n, 12, in4, 1, 4, I64(1, 1, 2, 2), D(10, 11, 14, 15));

    /* uint8 goes through the float path and back exactly */
    er_tensor U = t_tensor(ER_U8, 3, I64(1, 1, 4), (const uint8_t[]){ 200, 3, 255, 0 });
    er_tensor *inu[1] = { &U };
    t_node_init(&n, "MaxPool");
    t_attr_ints(&n, "kernel_shape", I64(2), 1);
    CHECK(nn_run(&n, 12, inu, 1, out, 1) == ER_OK);
    CHECK(out[0].dtype == ER_U8 && t_close(&out[0], D(200, 255, 255), 3, 0, 0));
    t_free(out, 1);
}

static void test_avgpool(void)
{
    /* [[1,2],[3,4]], k2 s1 pads 1: 3x3 windows. Without padding counted: 1, 1.5, 2, 2, 2.5, 3,
     * 3, 3.5, 4; counting the padding every window divides by 4. */
    er_tensor X = tf(4, I64(1, 1, 2, 2), F(1, 2, 3, 4));
    er_tensor *in[1] = { &X };
    t_node n;
    t_node_init(&n, "AveragePool");
    t_attr_ints(&n, "kernel_shape", I64(2, 2), 2);
    t_attr_ints(&n, "pads", I64(1, 1, 1, 1), 4);
    expect_f32(&n, 11, in, 1, 4, I64(1, 1, 3, 3), D(1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4));
    t_node_init(&n, "AveragePool");
    t_attr_ints(&n, "kernel_shape", I64(2, 2), 2);
    t_attr_ints(&n, "pads", I64(1, 1, 1, 1), 4);
    t_attr_int(&n, "count_include_pad", 1);
    expect_f32(&n, 11, in, 1, 4, I64(1, 1, 3, 3), D(0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1));
}

static void test_global_and_lp_pool(void)
{
    er_tensor X = tf(4, I64(1, 2, 1, 2), F(3, 4, -1, 5));
    er_tensor *in[1] = { &X };
    t_node n;
    t_node_init(&n, "GlobalAveragePool");
    expect_f32(&n, 13, in, 1, 4, I64(1, 2, 1, 1), D(3.5, 2));
    t_node_init(&n, "GlobalMaxPool");
    expect_f32(&n, 13, in, 1, 4, I64(1, 2, 1, 1), D(4, 5));
    /* L2 of (3,4) is 5 */
    t_node_init(&n, "LpPool");
    t_attr_ints(&n, "kernel_shape", I64(1, 2), 2);
    expect_f32(&n, 11, in, 1, 4, I64(1, 2, 1, 1), D(5, 5.0990195));
}

static void test_batchnorm(void)
{
    /* ch0: (x-1)/sqrt(4) -> 0, 0.5; ch1: (x-3)/1*2+1 -> 1, 3 (epsilon 0). */
    er_tensor X = tf(4, I64(1, 2, 1, 2), F(1, 2, 3, 4));
    er_tensor S = tf(1, I64(2), F(1, 2)), B = tf(1, I64(2), F(0, 1));
    er_tensor M = tf(1, I64(2), F(1, 3)), V = tf(1, I64(2), F(4, 1));
    er_tensor *in[5] = { &X, &S, &B, &M, &V };
    t_node n;
    t_node_init(&n, "BatchNormalization");
    t_attr_float(&n, "epsilon", 0.0f);
    expect_f32(&n, 15, in, 5, 4, I64(1, 2, 1, 2), D(0, 0.5, 1, 3));

    /* training: batch mean 2.5, variance 1.25; running mean 0*0.9 + 2.5*0.1 = 0.25,
     * running var 1*0.9 + 1.25*0.1 = 1.025; y = (x - 2.5) / sqrt(1.25). */
    er_tensor X1 = tf(4, I64(1, 1, 1, 4), F(1, 2, 3, 4));
    er_tensor S1 = tf(1, I64(1), F(1)), B1 = tf(1, I64(1), F(0)), M1 = tf(1, I64(1), F(0)), V1 = tf(1, I64(1), F(1));
    er_tensor *in1[5] = { &X1, &S1, &B1, &M1, &V1 };
    er_tensor out[3];
    t_node_init(&n, "BatchNormalization");
    t_attr_float(&n, "epsilon", 0.0f);
    t_attr_int(&n, "training_mode", 1);
    CHECK(nn_run(&n, 15, in1, 5, out, 3) == ER_OK);
    const double r = 1.0 / sqrt(1.25);
    CHECK(t_close(&out[0], D(-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r), 4, TOL, TOL));
    CHECK(t_close(&out[1], D(0.25), 1, TOL, TOL));
    CHECK(t_close(&out[2], D(1.025), 1, TOL, TOL));
    t_free(out, 3);
}

static void test_instance_layer_group_norm(void)
{
    /* [1,2,3,4]: mean 2.5, variance 1.25 -> (x - 2.5) / 1.118034 */
    er_tensor X = tf(3, I64(1, 1, 4), F(1, 2, 3, 4));
    er_tensor S = tf(1, I64(1), F(2)), B = tf(1, I64(1), F(1));
    er_tensor *in[3] = { &X, &S, &B };
    t_node n;
    t_node_init(&n, "InstanceNormalization");
    t_attr_float(&n, "epsilon", 0.0f);
    const double r = 1.0 / sqrt(1.25);
    expect_f32(&n, 6, in, 3, 3, I64(1, 1, 4), D(1 - 3 * r, 1 - r, 1 + r, 1 + 3 * r));

    /* rows [1,3] (mean 2, var 1) and [2,6] (mean 4, var 4) both normalise to [-1, 1];
     * scale [1,2], bias [0,1] -> [-1, 3]. Mean = [2,4], InvStdDev = [1, 0.5]. */
    er_tensor L = tf(2, I64(2, 2), F(1, 3, 2, 6));
    er_tensor LS = tf(1, I64(2), F(1, 2)), LB = tf(1, I64(2), F(0, 1));
    er_tensor *lin[3] = { &L, &LS, &LB };
    er_tensor out[3];
    t_node_init(&n, "LayerNormalization");
    t_attr_float(&n, "epsilon", 0.0f);
    CHECK(nn_run(&n, 17, lin, 3, out, 3) == ER_OK);
    CHECK(t_close(&out[0], D(-1, 3, -1, 3), 4, TOL, TOL));
    CHECK(t_shape_is(&out[1], 2, I64(2, 1)) && t_close(&out[1], D(2, 4), 2, TOL, TOL));
    CHECK(t_close(&out[2], D(1, 0.5), 2, TOL, TOL));
    t_free(out, 3);
    /* axis 0 normalises all four values: mean 3, var 3.5; a scalar-like scale [1] broadcasts */
    er_tensor one = tf(1, I64(1), F(1));
    er_tensor *lin0[2] = { &L, &one };
    t_node_init(&n, "LayerNormalization");
    t_attr_int(&n, "axis", 0);
    t_attr_float(&n, "epsilon", 0.0f);
    const double q = 1.0 / sqrt(3.5);
    expect_f32(&n, 17, lin0, 2, 2, I64(2, 2), D(-2 * q, 0, -q, 3 * q));

    /* groups {1,3} and {2,6} -> [-1, 1, -1, 1] */
    er_tensor G = tf(4, I64(1, 4, 1, 1), F(1, 3, 2, 6));
    er_tensor GS = tf(1, I64(2), F(1, 1)), GB = tf(1, I64(2), F(0, 0));
    er_tensor *gin[3] = { &G, &GS, &GB };
    t_node_init(&n, "GroupNormalization");
    t_attr_int(&n, "num_groups", 2);
    t_attr_float(&n, "epsilon", 0.0f);
    expect_f32(&n, 18, gin, 3, 4, I64(1, 4, 1, 1), D(-1, 1, -1, 1));
}

static void test_gemm(void)
{
    /* A' = [[1,3,5],[2,4,6]], B = [[1,0],[0,1],[1,1]]: A'B = [[6,8],[8,10]];
     * alpha 0.5 -> [[3,4],[4,5]]; + beta 2 * C [1,2] -> [[5,8],[6,9]]. */
    er_tensor A = tf(2, I64(3, 2), F(1, 2, 3, 4, 5, 6));
    er_tensor B = tf(2, I64(3, 2), F(1, 0, 0, 1, 1, 1)), Bt = tf(2, I64(2, 3), F(1, 0, 1, 0, 1, 1));
    er_tensor C = tf(1, I64(2), F(1, 2));
    er_tensor *in[3] = { &A, &B, &C };
    t_node n;
    t_node_init(&n, "Gemm");
    t_attr_int(&n, "transA", 1);
    t_attr_float(&n, "alpha", 0.5f);
    t_attr_float(&n, "beta", 2.0f);
    expect_f32(&n, 13, in, 3, 2, I64(2, 2), D(5, 8, 6, 9));
    in[1] = &Bt;
    t_node_init(&n, "Gemm");
    t_attr_int(&n, "transA", 1);
    t_attr_int(&n, "transB", 1);
    t_attr_float(&n, "alpha", 0.5f);
    t_attr_float(&n, "beta", 2.0f);
    expect_f32(&n, 13, in, 3, 2, I64(2, 2), D(5, 8, 6, 9));
    /* without C, and C [2,1] broadcast along rows */
    t_node_init(&n, "Gemm");
    t_attr_int(&n, "transA", 1);
    t_attr_int(&n, "transB", 1);
    expect_f32(&n, 13, in, 2, 2, I64(2, 2), D(6, 8, 8, 10));
    er_tensor Ccol = tf(2, I64(2, 1), F(10, 20));
    in[2] = &Ccol;
    t_node_init(&n, "Gemm");
    t_attr_int(&n, "transA", 1);
    t_attr_int(&n, "transB", 1);
    expect_f32(&n, 13, in, 3, 2, I64(2, 2), D(16, 18, 28, 30));
}

static void test_matmul(void)
{
    er_tensor M = tf(2, I64(2, 2), F(1, 2, 3, 4)), v = tf(1, I64(2), F(1, 2)), ones = tf(1, I64(2), F(1, 1));
    t_node n;
    /* [1,2] @ [[1,2],[3,4]] = [7,10]; [[1,2],[3,4]] @ [1,1] = [3,7]; vector . vector = 3 */
    er_tensor *in[2] = { &v, &M };
    t_node_init(&n, "MatMul");
    expect_f32(&n, 13, in, 2, 1, I64(2), D(7, 10));
    in[0] = &M;
    in[1] = &ones;
    t_node_init(&n, "MatMul");
    expect_f32(&n, 13, in, 2, 1, I64(2), D(3, 7));
    in[0] = &v;
    t_node_init(&n, "MatMul");
    expect_f32(&n, 13, in, 2, 0, I64(0), D(3));
    /* batch broadcast: A [2,1,1,2] rows [1,1], [2,2]; B [3,2,1] columns [1,2], [3,4], [5,6]
     * -> [2,3,1,1]: 3, 7, 11, 6, 14, 22. */
    er_tensor A = tf(4, I64(2, 1, 1, 2), F(1, 1, 2, 2)), B = tf(3, I64(3, 2, 1), F(1, 2, 3, 4, 5, 6));
    er_tensor *bin[2] = { &A, &B };
    t_node_init(&n, "MatMul");
    expect_f32(&n, 13, bin, 2, 4, I64(2, 3, 1, 1), D(3, 7, 11, 6, 14, 22));
    /* inner dimension mismatch */
    er_tensor *bad[2] = { &M, &B };
    er_tensor out[1];
    er_tensor B3 = tf(2, I64(3, 1), F(1, 2, 3));
    bad[1] = &B3;
    t_node_init(&n, "MatMul");
    CHECK(nn_run(&n, 13, bad, 2, out, 1) == ER_ERR_SHAPE);
}

/* Resize-13 of a 1-D tensor with the given sizes (or scales when sizes is NULL). */
static void resize_1d(t_node *n, const float *x, int64_t len, const float *scale, const int64_t *size,
                      const float *roi, int64_t out_len, const double *want)
{
    er_tensor X = tf(1, &len, x);
    er_tensor R = tf(1, I64(2), roi ? roi : F(0, 1));
    er_tensor S = tf(1, I64(1), scale), Z = t_tensor(ER_I64, 1, I64(1), size);
    er_tensor *in[4] = { &X, roi ? &R : NULL, scale ? &S : NULL, size ? &Z : NULL };
    expect_f32(n, 13, in, 4, 1, &out_len, want);
}

static void test_resize(void)
{
    t_node n;
    /* nearest, asymmetric, floor: [1,2] x2 -> [1,1,2,2] */
    t_node_init(&n, "Resize");
    t_attr_str(&n, "coordinate_transformation_mode", "asymmetric");
    t_attr_str(&n, "nearest_mode", "floor");
    resize_1d(&n, F(1, 2), 2, F(2), NULL, NULL, 4, D(1, 1, 2, 2));
    /* linear, half_pixel, x2 on [1,3]: sources -0.25, 0.25, 0.75, 1.25 (clamped) -> 1, 1.5, 2.5, 3 */
    t_node_init(&n, "Resize");
    t_attr_str(&n, "mode", "linear");
    resize_1d(&n, F(1, 3), 2, F(2), NULL, NULL, 4, D(1, 1.5, 2.5, 3));
    /* linear, align_corners, sizes 3 on [1,3]: 1, 2, 3 */
    t_node_init(&n, "Resize");
    t_attr_str(&n, "mode", "linear");
    t_attr_str(&n, "coordinate_transformation_mode", "align_corners");
    resize_1d(&n, F(1, 3), 2, NULL, I64(3), NULL, 3, D(1, 2, 3));
    /* nearest round_prefer_ceil, half_pixel, 4 -> 3 on [0,10,20,30]: sources 1/6, 1.5, 17/6
     * round to 0, 2 (0.5 goes up), 3 */
    t_node_init(&n, "Resize");
    t_attr_str(&n, "nearest_mode", "round_prefer_ceil");
    resize_1d(&n, F(0, 10, 20, 30), 4, NULL, I64(3), NULL, 3, D(0, 20, 30));
    t_node_init(&n, "Resize");
    resize_1d(&n, F(0, 10, 20, 30), 4, NULL, I64(3), NULL, 3, D(0, 10, 30));
    /* tf_crop_and_resize, roi [0, 1.5], 4 outputs: sources 0, 1.5, 3, 4.5 -> 0, 15, 30, and
     * the extrapolation value -1 for the last */
    t_node_init(&n, "Resize");
    t_attr_str(&n, "mode", "linear");
    t_attr_str(&n, "coordinate_transformation_mode", "tf_crop_and_resize");
    t_attr_float(&n, "extrapolation_value", -1.0f);
    resize_1d(&n, F(0, 10, 20, 30), 4, NULL, I64(4), F(0, 1.5f), 4, D(0, 15, 30, -1));
    /* cubic (A = -0.75), scale 0.5: sources 0.5 and 2.5, weights -0.09375, 0.59375, 0.59375,
     * -0.09375 over clamped indices [0,0,1,2] -> 4.0625 and [1,2,3,3] -> 25.9375 */
    t_node_init(&n, "Resize");
    t_attr_str(&n, "mode", "cubic");
    resize_1d(&n, F(0, 10, 20, 30), 4, F(0.5f), NULL, NULL, 2, D(4.0625, 25.9375));
    /* antialiased linear 4 -> 2: filter width doubles; source 0.5 reads -1..2 with weights
     * 1,3,3,1 / 8 (index -1 clamps to 0): (1+3)*1 + 3*2 + 3 = 13/8 = 1.625; source 2.5 ->
     * (2 + 9 + 12 + 4) / 8 = 3.375 */
    t_node_init(&n, "Resize");
    t_attr_str(&n, "mode", "linear");
    t_attr_int(&n, "antialias", 1);
    resize_1d(&n, F(1, 2, 3, 4), 4, NULL, I64(2), NULL, 2, D(1.625, 3.375));

    /* both scales and sizes given */
    float x[2] = { 1, 2 };
    er_tensor X = tf(1, I64(2), x), S = tf(1, I64(1), F(2)), Z = t_tensor(ER_I64, 1, I64(1), I64(4));
    er_tensor *in[4] = { &X, NULL, &S, &Z };
    er_tensor out[1];
    t_node_init(&n, "Resize");
    CHECK(nn_run(&n, 13, in, 4, out, 1) == ER_ERR_FORMAT);
    /* unknown sizes at planning: the shape is data-dependent */
    er_tensor Zu = t_tensor(ER_I64, 1, I64(1), NULL);
    er_tensor *inu[4] = { &X, NULL, NULL, &Zu };
    t_node_init(&n, "Resize");
    CHECK(nn_run(&n, 13, inu, 4, out, 1) == ER_DYNAMIC);
}

static void test_upsample(void)
{
    /* Upsample-9 nearest x[1,2] on a 1x2 map [[1,2]] -> [[1,1,2,2]]; linear (asymmetric):
     * sources 0, .5, 1, 1.5 -> 1, 1.5, 2, 2 */
    er_tensor X = tf(2, I64(1, 2), F(1, 2)), S = tf(1, I64(2), F(1, 2));
    er_tensor *in[2] = { &X, &S };
    t_node n;
    t_node_init(&n, "Upsample");
    expect_f32(&n, 9, in, 2, 2, I64(1, 4), D(1, 1, 2, 2));
    t_node_init(&n, "Upsample");
    t_attr_str(&n, "mode", "linear");
    expect_f32(&n, 9, in, 2, 2, I64(1, 4), D(1, 1.5, 2, 2));
}

static void test_nms(void)
{
    /* Boxes (y1,x1,y2,x2): 0 = [0,0,1,1], 1 = [0,0.1,1,1.1] (IoU 0.9/1.1 = 0.82 with 0),
     * 2 = [0,2,1,3] (disjoint). Scores 0.9, 0.8, 0.7 for class 0. With IoU 0.5 box 1 goes;
     * max 2 per class keeps 0 and 2. Class 1 (scores 0.1, 0.95, 0.2) with score_threshold
     * 0.15 keeps 1 then 2 (0 is below the threshold). */
    er_tensor B = tf(3, I64(1, 3, 4), F(0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 2, 1, 3));
    er_tensor S = tf(3, I64(1, 2, 3), F(0.9f, 0.8f, 0.7f, 0.1f, 0.95f, 0.2f));
    er_tensor M = t_tensor(ER_I64, 1, I64(1), I64(2));
    er_tensor I = tf(1, I64(1), F(0.5f)), T = tf(1, I64(1), F(0.15f));
    er_tensor *in[5] = { &B, &S, &M, &I, &T };
    er_tensor out[1];
    t_node n;
    t_node_init(&n, "NonMaxSuppression");
    CHECK(nn_run(&n, 11, in, 5, out, 1) == ER_OK);
    CHECK(t_shape_is(&out[0], 2, I64(4, 3)));
    CHECK(t_equal_i64(&out[0], I64(0, 0, 0, 0, 0, 2, 0, 1, 1, 0, 1, 2), 12));
    t_free(out, 1);
    /* center_point_box: [xc, yc, w, h] form of the same boxes, no score threshold: class 1
     * keeps 1 then 2 and stops at the limit of 2 */
    er_tensor Bc = tf(3, I64(1, 3, 4), F(0.5f, 0.5f, 1, 1, 0.6f, 0.5f, 1, 1, 2.5f, 0.5f, 1, 1));
    er_tensor *inc[4] = { &Bc, &S, &M, &I };
    t_node_init(&n, "NonMaxSuppression");
    t_attr_int(&n, "center_point_box", 1);
    CHECK(nn_run(&n, 11, inc, 4, out, 1) == ER_OK);
    CHECK(t_equal_i64(&out[0], I64(0, 0, 0, 0, 0, 2, 0, 1, 1, 0, 1, 2), 12));
    t_free(out, 1);
    /* unknown boxes at planning */
    er_tensor Bu = tf(3, I64(1, 3, 4), NULL);
    er_tensor *inu[3] = { &Bu, &S, &M };
    t_node_init(&n, "NonMaxSuppression");
    CHECK(nn_run(&n, 11, inu, 3, out, 1) == ER_DYNAMIC);
}

static void test_depth_space(void)
{
    /* 1x4x1x1 [a,b,c,d], blocksize 2. DCR: depth is [by][bx] -> 2x2 [[a,b],[c,d]]; CRD with
     * one output channel is the same; SpaceToDepth inverts it. */
    er_tensor X = tf(4, I64(1, 4, 1, 1), F(1, 2, 3, 4));
    er_tensor *in[1] = { &X };
    t_node n;
    t_node_init(&n, "DepthToSpace");
    t_attr_int(&n, "blocksize", 2);
    expect_f32(&n, 13, in, 1, 4, I64(1, 1, 2, 2), D(1, 2, 3, 4));
    /* 8 channels, 2 output channels: DCR takes channel (by*2+bx)*2 + k, CRD k*4 + by*2+bx */
    float v[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    er_tensor X8 = tf(4, I64(1, 8, 1, 1), v);
    er_tensor *in8[1] = { &X8 };
    t_node_init(&n, "DepthToSpace");
    t_attr_int(&n, "blocksize", 2);
    expect_f32(&n, 13, in8, 1, 4, I64(1, 2, 2, 2), D(0, 2, 4, 6, 1, 3, 5, 7));
    t_node_init(&n, "DepthToSpace");
    t_attr_int(&n, "blocksize", 2);
    t_attr_str(&n, "mode", "CRD");
    expect_f32(&n, 13, in8, 1, 4, I64(1, 2, 2, 2), D(0, 1, 2, 3, 4, 5, 6, 7));
    /* SpaceToDepth of 1x1x2x2 [[1,2],[3,4]] -> channels (0,0)=1, (0,1)=2, (1,0)=3, (1,1)=4 */
    er_tensor Y = tf(4, I64(1, 1, 2, 2), F(1, 2, 3, 4));
    er_tensor *iny[1] = { &Y };
    t_node_init(&n, "SpaceToDepth");
    t_attr_int(&n, "blocksize", 2);
    expect_f32(&n, 13, iny, 1, 4, I64(1, 4, 1, 1), D(1, 2, 3, 4));
}

int main(void)
{
    test_conv_basic();
    test_conv_group_dilation();
    test_conv_auto_pad();
    test_conv_3d();
    test_conv_errors();
    test_conv_transpose();
    test_maxpool();
    test_avgpool();
    test_global_and_lp_pool();
    test_batchnorm();
    test_instance_layer_group_norm();
    test_gemm();
    test_matmul();
    test_resize();
    test_upsample();
    test_nms();
    test_depth_space();
    if (g_fail) {
        fprintf(stderr, "test_ops_nn: %d check(s) failed\n", g_fail);
        return 1;
    }
    printf("test_ops_nn: all checks passed\n");
    return 0;
}
