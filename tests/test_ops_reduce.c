/* Reduction and along-axis reference kernels against naive loops and hand-computed values. */
#include "opsew_harness.h"

/* x[i,j,k] = i*100 + j*10 + k - 50 on [2,3,4]. */
static float g_x[24];
static const int64_t g_dims[3] = { 2, 3, 4 };

static void fill_x(void)
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) g_x[(i * 3 + j) * 4 + k] = (float)(i * 100 + j * 10 + k - 50);
}

static void test_reduce_sum_axes_input(void)
{
    er_tensor X = t_tensor(ER_F32, 3, g_dims, g_x), Y;
    int64_t axes[1] = { -2 }, da[1] = { 1 };
    er_tensor A = t_tensor(ER_I64, 1, da, axes);
    er_tensor *in[2] = { &X, &A };
    t_node n;
    t_node_init(&n, "ReduceSum");
    t_attr_int(&n, "keepdims", 0);
    CHECK(t_run_op(&n, 13, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t dy[2] = { 2, 4 };
    double want[8];
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            double s = 0;
            for (int j = 0; j < 3; j++) s += g_x[(i * 3 + j) * 4 + k];
            want[i * 4 + k] = s;
        }
    CHECK(t_shape_is(&Y, 2, dy) && t_close(&Y, want, 8, 0, 0));
    t_free(&Y, 1);
    /* Axes from a graph input whose value is unknown: the shape depends on data. */
    er_tensor U = t_tensor(ER_I64, 1, da, NULL);
    er_tensor *in2[2] = { &X, &U };
    CHECK(t_run_op(&n, 13, NULL, in2, 2, &Y, 1) == ER_DYNAMIC);
    /* Empty axes: all dims, or identity with noop_with_empty_axes. */
    er_tensor *in1[1] = { &X };
    t_node_init(&n, "ReduceSum");
    CHECK(t_run_op(&n, 13, NULL, in1, 1, &Y, 1) == ER_OK);
    int64_t d111[3] = { 1, 1, 1 };
    double total = 0;
    for (int i = 0; i < 24; i++) total += g_x[i];
    CHECK(t_shape_is(&Y, 3, d111) && t_close(&Y, &total, 1, 0, 0));
    t_free(&Y, 1);
    t_attr_int(&n, "noop_with_empty_axes", 1);
    CHECK(t_run_op(&n, 13, NULL, in1, 1, &Y, 1) == ER_OK);
    double same[24];
    for (int i = 0; i < 24; i++) same[i] = g_x[i];
    CHECK(t_shape_is(&Y, 3, g_dims) && t_close(&Y, same, 24, 0, 0));
    t_free(&Y, 1);
}

static void test_reduce_attr_axes(void)
{
    er_tensor X = t_tensor(ER_F32, 3, g_dims, g_x), Y;
    er_tensor *in[1] = { &X };
    int64_t axes[2] = { 0, 2 };
    t_node n;
    t_node_init(&n, "ReduceMean");
    t_attr_ints(&n, "axes", axes, 2);
    CHECK(t_run_op(&n, 11, NULL, in, 1, &Y, 1) == ER_OK);
    int64_t dy[3] = { 1, 3, 1 };
    /* mean over i,k of i*100 + j*10 + k - 50 = 50 + 10j + 1.5 - 50 */
    double want[3] = { 1.5, 11.5, 21.5 };
    CHECK(t_shape_is(&Y, 3, dy) && t_close(&Y, want, 3, 1e-9, 0));
    t_free(&Y, 1);

    t_node_init(&n, "ReduceL2");
    t_attr_ints(&n, "axes", axes + 1, 1);
    t_attr_int(&n, "keepdims", 0);
    CHECK(t_run_op(&n, 11, NULL, in, 1, &Y, 1) == ER_OK);
    double want2[6];
    for (int r = 0; r < 6; r++) {
        double s = 0;
        for (int k = 0; k < 4; k++) s += (double)g_x[r * 4 + k] * g_x[r * 4 + k];
        want2[r] = sqrt(s);
    }
    CHECK(t_close(&Y, want2, 6, 0, 1e-6));
    t_free(&Y, 1);

    /* Huge values: a naive log(sum(exp)) overflows. */
    float big[2] = { 1000, 1000 };
    int64_t d2[1] = { 2 };
    er_tensor B = t_tensor(ER_F32, 1, d2, big);
    er_tensor *bin[1] = { &B };
    t_node_init(&n, "ReduceLogSumExp");
    CHECK(t_run_op(&n, 13, NULL, bin, 1, &Y, 1) == ER_OK);
    double want3 = 1000 + log(2.0);
    CHECK(t_close(&Y, &want3, 1, 0, 1e-7));
    t_free(&Y, 1);

    int32_t iv[6] = { 3, -7, 5, 2, 9, -1 };
    int64_t di[2] = { 2, 3 };
    er_tensor I = t_tensor(ER_I32, 2, di, iv);
    er_tensor *iin[1] = { &I };
    t_node_init(&n, "ReduceMax");
    CHECK(t_run_op(&n, 13, NULL, iin, 1, &Y, 1) == ER_OK);
    int64_t want_max = 9;
    CHECK(Y.dtype == ER_I32 && t_equal_i64(&Y, &want_max, 1));
    t_free(&Y, 1);
    t_node_init(&n, "ReduceProd");
    int64_t ax1[1] = { 1 };
    t_attr_ints(&n, "axes", ax1, 1);
    CHECK(t_run_op(&n, 13, NULL, iin, 1, &Y, 1) == ER_OK);
    int64_t want_prod[2] = { -105, -18 };
    CHECK(t_equal_i64(&Y, want_prod, 2));
    t_free(&Y, 1);
}

static void test_argmax(void)
{
    float v[6] = { 1, 5, 5, 7, 2, 7 };
    int64_t d[2] = { 2, 3 };
    er_tensor X = t_tensor(ER_F32, 2, d, v), Y;
    er_tensor *in[1] = { &X };
    t_node n;
    t_node_init(&n, "ArgMax");
    t_attr_int(&n, "axis", 1);
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y, 1) == ER_OK);
    int64_t want_first[2] = { 1, 0 }, d21[2] = { 2, 1 };
    CHECK(Y.dtype == ER_I64 && t_shape_is(&Y, 2, d21) && t_equal_i64(&Y, want_first, 2));
    t_free(&Y, 1);
    t_attr_int(&n, "select_last_index", 1);
    t_attr_int(&n, "keepdims", 0);
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y, 1) == ER_OK);
    int64_t want_last[2] = { 2, 2 }, d2[1] = { 2 };
    CHECK(t_shape_is(&Y, 1, d2) && t_equal_i64(&Y, want_last, 2));
    t_free(&Y, 1);
    t_node_init(&n, "ArgMin");
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y, 1) == ER_OK);
    int64_t want_min[3] = { 0, 1, 0 };
    CHECK(t_equal_i64(&Y, want_min, 3));
    t_free(&Y, 1);
}

static void test_cumsum(void)
{
    int32_t v[6] = { 1, 2, 3, 4, 5, 6 };
    int64_t d[2] = { 2, 3 };
    int32_t axis = 1;
    er_tensor X = t_tensor(ER_I32, 2, d, v), A = t_tensor(ER_I32, 0, NULL, &axis), Y;
    er_tensor *in[2] = { &X, &A };
    t_node n;
    t_node_init(&n, "CumSum");
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want[6] = { 1, 3, 6, 4, 9, 15 };
    CHECK(t_equal_i64(&Y, want, 6));
    t_free(&Y, 1);
    t_attr_int(&n, "exclusive", 1);
    t_attr_int(&n, "reverse", 1);
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want_er[6] = { 5, 3, 0, 11, 6, 0 };
    CHECK(t_equal_i64(&Y, want_er, 6));
    t_free(&Y, 1);
    /* Along axis 0 (strided lines), reverse only. */
    axis = 0;
    t_node_init(&n, "CumSum");
    t_attr_int(&n, "reverse", 1);
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want_r0[6] = { 5, 7, 9, 4, 5, 6 };
    CHECK(t_equal_i64(&Y, want_r0, 6));
    t_free(&Y, 1);
}

static void test_topk(void)
{
    float v[8] = { 3, 1, 3, 2, 0, 5, 5, -1 };
    int64_t d[2] = { 2, 4 }, k = 2, dk[1] = { 1 };
    er_tensor X = t_tensor(ER_F32, 2, d, v), K = t_tensor(ER_I64, 1, dk, &k), Y[2];
    er_tensor *in[2] = { &X, &K };
    t_node n;
    t_node_init(&n, "TopK");
    CHECK(t_run_op(&n, 11, NULL, in, 2, Y, 2) == ER_OK);
    double want_v[4] = { 3, 3, 5, 5 };
    int64_t want_i[4] = { 0, 2, 1, 2 }, dy[2] = { 2, 2 };
    CHECK(t_shape_is(&Y[0], 2, dy) && t_close(&Y[0], want_v, 4, 0, 0) && t_equal_i64(&Y[1], want_i, 4));
    t_free(Y, 2);
    t_attr_int(&n, "largest", 0);
    t_attr_int(&n, "axis", 0);
    CHECK(t_run_op(&n, 11, NULL, in, 2, Y, 2) == ER_OK);
    double want_sv[8] = { 0, 1, 3, -1, 3, 5, 5, 2 };
    int64_t want_si[8] = { 1, 0, 0, 1, 0, 1, 1, 0 };
    CHECK(t_close(&Y[0], want_sv, 8, 0, 0) && t_equal_i64(&Y[1], want_si, 8));
    t_free(Y, 2);
    er_tensor KU = t_tensor(ER_I64, 1, dk, NULL);
    er_tensor *in2[2] = { &X, &KU };
    CHECK(t_run_op(&n, 11, NULL, in2, 2, Y, 2) == ER_DYNAMIC);
    k = 5;
    t_node_init(&n, "TopK");
    CHECK(t_run_op(&n, 11, NULL, in, 2, Y, 2) == ER_ERR_INVALID_ARG);
}

static void softmax_ref(const float *x, int64_t outer, int64_t nn, int64_t inner, double *y)
{
    for (int64_t a = 0; a < outer; a++)
        for (int64_t b = 0; b < inner; b++) {
            double mx = -INFINITY, s = 0;
            for (int64_t i = 0; i < nn; i++) mx = fmax(mx, x[(a * nn + i) * inner + b]);
            for (int64_t i = 0; i < nn; i++) s += exp(x[(a * nn + i) * inner + b] - mx);
            for (int64_t i = 0; i < nn; i++) y[(a * nn + i) * inner + b] = exp(x[(a * nn + i) * inner + b] - mx) / s;
        }
}

static void test_softmax_family(void)
{
    float xs[24];
    for (int i = 0; i < 24; i++) xs[i] = g_x[i] * 0.05f;
    er_tensor X = t_tensor(ER_F32, 3, g_dims, xs), Y;
    er_tensor *in[1] = { &X };
    double want[24];
    t_node n;
    /* opset 13, axis 1 of [2,3,4]: strided lines. */
    t_node_init(&n, "Softmax");
    t_attr_int(&n, "axis", 1);
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y, 1) == ER_OK);
    softmax_ref(xs, 2, 3, 4, want);
    CHECK(t_close(&Y, want, 24, 1e-7, 1e-5));
    t_free(&Y, 1);
    /* opset 11, axis 1: coerced to [2, 12]. */
    CHECK(t_run_op(&n, 11, NULL, in, 1, &Y, 1) == ER_OK);
    softmax_ref(xs, 2, 12, 1, want);
    CHECK(t_close(&Y, want, 24, 1e-7, 1e-5));
    t_free(&Y, 1);
    /* LogSoftmax default axis (-1) = log of softmax over the last dim. */
    t_node_init(&n, "LogSoftmax");
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y, 1) == ER_OK);
    softmax_ref(xs, 6, 4, 1, want);
    for (int i = 0; i < 24; i++) want[i] = log(want[i]);
    CHECK(t_close(&Y, want, 24, 1e-6, 1e-5));
    t_free(&Y, 1);
    /* f64 along the last axis uses the converting path. */
    double xd[4] = { 1, 2, 3, 4 };
    int64_t d4[1] = { 4 };
    er_tensor XD = t_tensor(ER_F64, 1, d4, xd);
    er_tensor *din[1] = { &XD };
    t_node_init(&n, "Softmax");
    CHECK(t_run_op(&n, 13, NULL, din, 1, &Y, 1) == ER_OK);
    double s = exp(1.0) + exp(2.0) + exp(3.0) + exp(4.0);
    double want_d[4] = { exp(1.0) / s, exp(2.0) / s, exp(3.0) / s, exp(4.0) / s };
    CHECK(t_close(&Y, want_d, 4, 0, 1e-12));
    t_free(&Y, 1);

    float h[6] = { 1, 3, 3, -1, -2, -1 };
    int64_t dh[2] = { 2, 3 };
    er_tensor H = t_tensor(ER_F32, 2, dh, h);
    er_tensor *hin[1] = { &H };
    t_node_init(&n, "Hardmax");
    CHECK(t_run_op(&n, 13, NULL, hin, 1, &Y, 1) == ER_OK);
    double want_h[6] = { 0, 1, 0, 1, 0, 0 };
    CHECK(t_close(&Y, want_h, 6, 0, 0));
    t_free(&Y, 1);

    float l[4] = { 3, 4, 0, -2 };
    int64_t dl[2] = { 2, 2 };
    er_tensor L = t_tensor(ER_F32, 2, dl, l);
    er_tensor *lin[1] = { &L };
    t_node_init(&n, "LpNormalization");
    CHECK(t_run_op(&n, 1, NULL, lin, 1, &Y, 1) == ER_OK);
    double want_l2[4] = { 0.6, 0.8, 0, -1 };
    CHECK(t_close(&Y, want_l2, 4, 1e-7, 0));
    t_free(&Y, 1);
    t_attr_int(&n, "p", 1);
    t_attr_int(&n, "axis", 0);
    CHECK(t_run_op(&n, 1, NULL, lin, 1, &Y, 1) == ER_OK);
    double want_l1[4] = { 1, 4.0 / 6, 0, -2.0 / 6 };
    CHECK(t_close(&Y, want_l1, 4, 1e-7, 0));
    t_free(&Y, 1);
}

/* Threaded softmax over many rows matches the single-threaded result bit for bit. */
static void test_threaded(void)
{
    enum { R = 512, C = 100 };
    float *x = malloc(sizeof(float) * R * C);
    for (int i = 0; i < R * C; i++) x[i] = (float)((i * 37) % 101) * 0.1f;
    int64_t d[2] = { R, C };
    er_tensor X = t_tensor(ER_F32, 2, d, x), Y1, Y2;
    er_tensor *in[1] = { &X };
    er_threadpool *pool = er_threadpool_create(2);
    t_node n;
    t_node_init(&n, "Softmax");
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y1, 1) == ER_OK);
    CHECK(t_run_op(&n, 13, pool, in, 1, &Y2, 1) == ER_OK);
    CHECK(memcmp(Y1.data, Y2.data, sizeof(float) * R * C) == 0);
    t_free(&Y1, 1);
    t_free(&Y2, 1);
    t_node_init(&n, "ReduceMean");
    CHECK(t_run_op(&n, 13, pool, in, 1, &Y1, 1) == ER_OK);
    double s = 0;
    for (int i = 0; i < R * C; i++) s += x[i];
    s /= R * C;
    CHECK(t_close(&Y1, &s, 1, 0, 1e-6));
    t_free(&Y1, 1);
    er_threadpool_free(pool);
    free(x);
}

int main(void)
{
    fill_x();
    test_reduce_sum_axes_input();
    test_reduce_attr_axes();
    test_argmax();
    test_cumsum();
    test_topk();
    test_softmax_family();
    test_threaded();
    if (g_fail) {
        fprintf(stderr, "test_ops_reduce: %d check(s) failed\n", g_fail);
        return 1;
    }
    printf("test_ops_reduce: all checks passed\n");
    return 0;
}
