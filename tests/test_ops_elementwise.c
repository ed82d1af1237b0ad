/* Elementwise reference kernels against hand-computed values and numeric identities. */
#include "opsew_harness.h"

static void test_add_broadcast_f32(void)
{
    float a[6] = { 1, 2, 3, 4, 5, 6 }, b[3] = { 10, 20, 30 };
    int64_t da[2] = { 2, 3 }, db[1] = { 3 };
    er_tensor A = t_tensor(ER_F32, 2, da, a), B = t_tensor(ER_F32, 1, db, b), Y;
    er_tensor *in[2] = { &A, &B };
    t_node n;
    t_node_init(&n, "Add");
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_OK);
    double want[6] = { 11, 22, 33, 14, 25, 36 };
    CHECK(Y.dtype == ER_F32 && t_shape_is(&Y, 2, da));
    CHECK(t_close(&Y, want, 6, 0, 0));
    t_free(&Y, 1);
    /* [2,1] - [3] broadcasts both ways to [2,3]. */
    int64_t dc[2] = { 2, 1 };
    er_tensor C = t_tensor(ER_F32, 2, dc, a);
    er_tensor *in2[2] = { &C, &B };
    t_node_init(&n, "Sub");
    CHECK(t_run_op(&n, 14, NULL, in2, 2, &Y, 1) == ER_OK);
    double want2[6] = { -9, -19, -29, -8, -18, -28 };
    CHECK(t_shape_is(&Y, 2, da) && t_close(&Y, want2, 6, 0, 0));
    t_free(&Y, 1);
}

static void test_int_arith(void)
{
    int32_t a[4] = { -7, 7, 5, 2147483647 }, b[4] = { 2, -2, 0, 1 };
    int64_t d[1] = { 4 };
    er_tensor A = t_tensor(ER_I32, 1, d, a), B = t_tensor(ER_I32, 1, d, b), Y;
    er_tensor *in[2] = { &A, &B };
    t_node n;
    t_node_init(&n, "Div");
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_OK);
    /* C truncation toward zero; division by zero must not trap. */
    int64_t want_div[4] = { -3, -3, 0, 2147483647 };
    CHECK(Y.dtype == ER_I32 && t_equal_i64(&Y, want_div, 4));
    t_free(&Y, 1);
    t_node_init(&n, "Add");
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want_add[4] = { -5, 5, 5, -2147483647 - 1 };
    CHECK(t_equal_i64(&Y, want_add, 4));
    t_free(&Y, 1);

    uint8_t u[2] = { 250, 3 }, v[2] = { 10, 5 };
    int64_t d2[1] = { 2 };
    er_tensor U = t_tensor(ER_U8, 1, d2, u), V = t_tensor(ER_U8, 1, d2, v);
    er_tensor *in2[2] = { &U, &V };
    t_node_init(&n, "Add");
    CHECK(t_run_op(&n, 14, NULL, in2, 2, &Y, 1) == ER_OK);
    int64_t want_u8[2] = { 4, 8 };
    CHECK(Y.dtype == ER_U8 && t_equal_i64(&Y, want_u8, 2));
    t_free(&Y, 1);
}

static void test_mod(void)
{
    int64_t a[4] = { -7, 7, -7, 7 }, b[4] = { 3, -3, -3, 3 };
    int64_t d[1] = { 4 };
    er_tensor A = t_tensor(ER_I64, 1, d, a), B = t_tensor(ER_I64, 1, d, b), Y;
    er_tensor *in[2] = { &A, &B };
    t_node n;
    t_node_init(&n, "Mod");
    CHECK(t_run_op(&n, 13, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want_py[4] = { 2, -2, -1, 1 };
    CHECK(t_equal_i64(&Y, want_py, 4));
    t_free(&Y, 1);
    t_attr_int(&n, "fmod", 1);
    CHECK(t_run_op(&n, 13, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want_c[4] = { -1, 1, -1, 1 };
    CHECK(t_equal_i64(&Y, want_c, 4));
    t_free(&Y, 1);
    float fa[2] = { -7.5f, 7.5f }, fb[2] = { 2, 2 };
    int64_t d2[1] = { 2 };
    er_tensor FA = t_tensor(ER_F32, 1, d2, fa), FB = t_tensor(ER_F32, 1, d2, fb);
    er_tensor *fin[2] = { &FA, &FB };
    CHECK(t_run_op(&n, 13, NULL, fin, 2, &Y, 1) == ER_OK);
    double want_f[2] = { -1.5, 1.5 };
    CHECK(t_close(&Y, want_f, 2, 0, 0));
    t_free(&Y, 1);
    t_node_init(&n, "Mod");
    CHECK(t_run_op(&n, 13, NULL, fin, 2, &Y, 1) == ER_ERR_INVALID_ARG);
}

static void test_pow_mixed(void)
{
    float base[3] = { 2, 3, 4 };
    int64_t e[3] = { 3, 2, -1 };
    int64_t d[1] = { 3 };
    er_tensor A = t_tensor(ER_F32, 1, d, base), B = t_tensor(ER_I64, 1, d, e), Y;
    er_tensor *in[2] = { &A, &B };
    t_node n;
    t_node_init(&n, "Pow");
    CHECK(t_run_op(&n, 15, NULL, in, 2, &Y, 1) == ER_OK);
    double want[3] = { 8, 9, 0.25 };
    CHECK(Y.dtype == ER_F32 && t_close(&Y, want, 3, 0, 1e-7));
    t_free(&Y, 1);
    int32_t ib[3] = { 1, 2, 3 };
    float fe[3] = { 4, 5, 6 };
    er_tensor IA = t_tensor(ER_I32, 1, d, ib), FE = t_tensor(ER_F32, 1, d, fe);
    er_tensor *in2[2] = { &IA, &FE };
    CHECK(t_run_op(&n, 15, NULL, in2, 2, &Y, 1) == ER_OK);
    int64_t want_i[3] = { 1, 32, 729 };
    CHECK(Y.dtype == ER_I32 && t_equal_i64(&Y, want_i, 3));
    t_free(&Y, 1);
}

static void test_compare_where(void)
{
    int64_t a[3] = { 1, 5, 3 }, b[1] = { 3 };
    int64_t d[1] = { 3 }, d1[1] = { 1 };
    er_tensor A = t_tensor(ER_I64, 1, d, a), B = t_tensor(ER_I64, 1, d1, b), C;
    er_tensor *in[2] = { &A, &B };
    t_node n;
    t_node_init(&n, "Less");
    CHECK(t_run_op(&n, 13, NULL, in, 2, &C, 1) == ER_OK);
    int64_t want_lt[3] = { 1, 0, 0 };
    CHECK(C.dtype == ER_BOOL && t_equal_i64(&C, want_lt, 3));
    /* Where(cond[3], x[2,1], y scalar) -> [2,3] */
    double x[2] = { 10, 20 }, yv = -1;
    int64_t dx[2] = { 2, 1 };
    er_tensor X = t_tensor(ER_F64, 2, dx, x), Yt = t_tensor(ER_F64, 0, NULL, &yv), O;
    er_tensor *win[3] = { &C, &X, &Yt };
    t_node_init(&n, "Where");
    CHECK(t_run_op(&n, 16, NULL, win, 3, &O, 1) == ER_OK);
    double want[6] = { 10, -1, -1, 20, -1, -1 };
    int64_t dout[2] = { 2, 3 };
    CHECK(O.dtype == ER_F64 && t_shape_is(&O, 2, dout) && t_close(&O, want, 6, 0, 0));
    t_free(&O, 1);
    t_free(&C, 1);
}

static void test_clip(void)
{
    float x[5] = { -3, -1, 0, 2, 9 }, lo = -1.5f, hi = 4;
    int64_t d[1] = { 5 };
    er_tensor X = t_tensor(ER_F32, 1, d, x), L = t_tensor(ER_F32, 0, NULL, &lo), Y;
    er_tensor *in[3] = { &X, &L, NULL };
    t_node n;
    t_node_init(&n, "Clip");
    CHECK(t_run_op(&n, 13, NULL, in, 3, &Y, 1) == ER_OK);
    double want_lo[5] = { -1.5, -1, 0, 2, 9 };
    CHECK(t_close(&Y, want_lo, 5, 0, 0));
    t_free(&Y, 1);
    er_tensor H = t_tensor(ER_F32, 0, NULL, &hi);
    er_tensor *in2[3] = { &X, NULL, &H };
    CHECK(t_run_op(&n, 13, NULL, in2, 3, &Y, 1) == ER_OK);
    double want_hi[5] = { -3, -1, 0, 2, 4 };
    CHECK(t_close(&Y, want_hi, 5, 0, 0));
    t_free(&Y, 1);
    t_attr_float(&n, "min", 0);
    t_attr_float(&n, "max", 1);
    er_tensor *in3[1] = { &X };
    CHECK(t_run_op(&n, 6, NULL, in3, 1, &Y, 1) == ER_OK);
    double want_attr[5] = { 0, 0, 0, 1, 1 };
    CHECK(t_close(&Y, want_attr, 5, 0, 0));
    t_free(&Y, 1);
    int32_t ix[3] = { -5, 3, 100 }, ilo = 0, ihi = 10;
    int64_t d3[1] = { 3 };
    er_tensor IX = t_tensor(ER_I32, 1, d3, ix), IL = t_tensor(ER_I32, 0, NULL, &ilo),
              IH = t_tensor(ER_I32, 0, NULL, &ihi);
    er_tensor *in4[3] = { &IX, &IL, &IH };
    t_node_init(&n, "Clip");
    CHECK(t_run_op(&n, 13, NULL, in4, 3, &Y, 1) == ER_OK);
    int64_t want_i[3] = { 0, 3, 10 };
    CHECK(t_equal_i64(&Y, want_i, 3));
    t_free(&Y, 1);
}

/* Activations checked through identities that use other code paths (double vs f32). */
static void test_activation_identities(void)
{
    enum { N = 41 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = -10.0f + 0.5f * (float)i;
    int64_t d[1] = { N };
    er_tensor X = t_tensor(ER_F32, 1, d, x), Y;
    er_tensor *in[1] = { &X };
    double want[N];
    t_node n;

    t_node_init(&n, "Sigmoid");
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y, 1) == ER_OK);
    for (int i = 0; i < N; i++) want[i] = 0.5 * (1.0 + tanh(0.5 * x[i]));
    CHECK(t_close(&Y, want, N, 1e-7, 1e-6));
    t_free(&Y, 1);

    t_node_init(&n, "Softplus");
    CHECK(t_run_op(&n, 13, NULL, in, 1, &Y, 1) == ER_OK);
    for (int i = 0; i < N; i++) want[i] = log(1.0 + exp((double)x[i]));
    CHECK(t_close(&Y, want, N, 1e-7, 1e-6));
    t_free(&Y, 1);

    t_node_init(&n, "HardSwish");
    CHECK(t_run_op(&n, 14, NULL, in, 1, &Y, 1) == ER_OK);
    for (int i = 0; i < N; i++) want[i] = x[i] <= -3 ? 0 : x[i] >= 3 ? x[i] : x[i] * (x[i] + 3) / 6;
    CHECK(t_close(&Y, want, N, 1e-6, 1e-6));
    t_free(&Y, 1);

    t_node_init(&n, "LeakyRelu");
    t_attr_float(&n, "alpha", 0.25f);
    CHECK(t_run_op(&n, 16, NULL, in, 1, &Y, 1) == ER_OK);
    for (int i = 0; i < N; i++) want[i] = x[i] < 0 ? 0.25 * x[i] : x[i];
    CHECK(t_close(&Y, want, N, 0, 0));
    t_free(&Y, 1);

    t_node_init(&n, "Selu");
    CHECK(t_run_op(&n, 6, NULL, in, 1, &Y, 1) == ER_OK);
    for (int i = 0; i < N; i++)
        want[i] = x[i] > 0 ? 1.0507009873554805 * x[i] : 1.0507009873554805 * 1.6732632423543772 * expm1(x[i]);
    CHECK(t_close(&Y, want, N, 1e-6, 1e-6));
    t_free(&Y, 1);

    float g[3] = { -1, 0, 1 };
    int64_t d3[1] = { 3 };
    er_tensor G = t_tensor(ER_F32, 1, d3, g);
    er_tensor *gin[1] = { &G };
    t_node_init(&n, "Gelu");
    CHECK(t_run_op(&n, 20, NULL, gin, 1, &Y, 1) == ER_OK);
    double want_g[3] = { -0.15865525393145707, 0, 0.8413447460685429 };
    CHECK(t_close(&Y, want_g, 3, 1e-6, 1e-6));
    t_free(&Y, 1);
    t_attr_str(&n, "approximate", "tanh");
    CHECK(t_run_op(&n, 20, NULL, gin, 1, &Y, 1) == ER_OK);
    double want_gt[3] = { -0.15880800939172324, 0, 0.8411919906082768 };
    CHECK(t_close(&Y, want_gt, 3, 1e-6, 1e-6));
    t_free(&Y, 1);
}

static void test_f16_and_cast(void)
{
    uint16_t h[3] = { er_f32_to_f16(1.5f), er_f32_to_f16(-2.0f), er_f32_to_f16(0.25f) };
    uint16_t s = er_f32_to_f16(4.0f);
    int64_t d[1] = { 3 };
    er_tensor H = t_tensor(ER_F16, 1, d, h), S = t_tensor(ER_F16, 0, NULL, &s), Y;
    er_tensor *in[2] = { &H, &S };
    t_node n;
    t_node_init(&n, "Mul");
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_OK);
    double want[3] = { 6, -8, 1 };
    CHECK(Y.dtype == ER_F16 && t_close(&Y, want, 3, 0, 0));
    t_free(&Y, 1);

    float f[5] = { -2.7f, 2.7f, 0.0f, NAN, 300.0f };
    int64_t d5[1] = { 5 };
    er_tensor F = t_tensor(ER_F32, 1, d5, f);
    er_tensor *cin[1] = { &F };
    t_node_init(&n, "Cast");
    t_attr_int(&n, "to", ER_BOOL);
    CHECK(t_run_op(&n, 13, NULL, cin, 1, &Y, 1) == ER_OK);
    int64_t want_b[5] = { 1, 1, 0, 1, 1 };
    CHECK(Y.dtype == ER_BOOL && t_equal_i64(&Y, want_b, 5));
    t_free(&Y, 1);
    t_node_init(&n, "Cast");
    t_attr_int(&n, "to", ER_I32);
    er_tensor F4 = t_tensor(ER_F32, 1, d, f);
    er_tensor *cin4[1] = { &F4 };
    CHECK(t_run_op(&n, 13, NULL, cin4, 1, &Y, 1) == ER_OK);
    int64_t want_i[3] = { -2, 2, 0 };
    CHECK(Y.dtype == ER_I32 && t_equal_i64(&Y, want_i, 3));
    t_free(&Y, 1);
    int64_t big[2] = { 9007199254740993LL, -5 };
    int64_t d2[1] = { 2 };
    er_tensor B = t_tensor(ER_I64, 1, d2, big);
    er_tensor *bin[1] = { &B };
    t_node_init(&n, "Cast");
    t_attr_int(&n, "to", ER_U8);
    CHECK(t_run_op(&n, 13, NULL, bin, 1, &Y, 1) == ER_OK);
    int64_t want_u8[2] = { 1, 251 };
    CHECK(Y.dtype == ER_U8 && t_equal_i64(&Y, want_u8, 2));
    t_free(&Y, 1);
    uint64_t u[2] = { 18446744073709551615ULL, 7 };
    er_tensor U = t_tensor(ER_U64, 1, d2, u);
    er_tensor *uin[1] = { &U };
    t_node_init(&n, "Cast");
    t_attr_int(&n, "to", ER_F32);
    CHECK(t_run_op(&n, 13, NULL, uin, 1, &Y, 1) == ER_OK);
    double want_u[2] = { 18446744073709551616.0, 7 };
    CHECK(t_close(&Y, want_u, 2, 0, 1e-7));
    t_free(&Y, 1);
    /* CastLike takes the dtype of its second input. */
    double like = 0;
    er_tensor L = t_tensor(ER_F64, 0, NULL, &like);
    er_tensor *lin[2] = { &B, &L };
    t_node_init(&n, "CastLike");
    CHECK(t_run_op(&n, 15, NULL, lin, 2, &Y, 1) == ER_OK);
    double want_d[2] = { 9007199254740992.0, -5 };
    CHECK(Y.dtype == ER_F64 && t_close(&Y, want_d, 2, 0, 0));
    t_free(&Y, 1);
}

static void test_variadic(void)
{
    float a[2] = { 1, 2 }, b[1] = { 10 }, c[4] = { 100, 200, 300, 400 };
    int64_t da[1] = { 2 }, db[1] = { 1 }, dc[2] = { 2, 2 };
    er_tensor A = t_tensor(ER_F32, 1, da, a), B = t_tensor(ER_F32, 1, db, b), C = t_tensor(ER_F32, 2, dc, c), Y;
    er_tensor *in[3] = { &A, &B, &C };
    t_node n;
    t_node_init(&n, "Sum");
    CHECK(t_run_op(&n, 13, NULL, in, 3, &Y, 1) == ER_OK);
    double want_sum[4] = { 111, 212, 311, 412 };
    CHECK(t_shape_is(&Y, 2, dc) && t_close(&Y, want_sum, 4, 0, 0));
    t_free(&Y, 1);
    t_node_init(&n, "Mean");
    CHECK(t_run_op(&n, 13, NULL, in, 3, &Y, 1) == ER_OK);
    double want_mean[4] = { 37, 212.0 / 3, 311.0 / 3, 412.0 / 3 };
    CHECK(t_close(&Y, want_mean, 4, 0, 1e-6));
    t_free(&Y, 1);
    float nanv[2] = { NAN, -1 };
    er_tensor Nn = t_tensor(ER_F32, 1, da, nanv);
    er_tensor *in2[2] = { &A, &Nn };
    t_node_init(&n, "Max");
    CHECK(t_run_op(&n, 13, NULL, in2, 2, &Y, 1) == ER_OK);
    double want_max[2] = { NAN, 2 };
    CHECK(t_close(&Y, want_max, 2, 0, 0));
    t_free(&Y, 1);
    er_tensor *in1[1] = { &C };
    t_node_init(&n, "Min");
    CHECK(t_run_op(&n, 13, NULL, in1, 1, &Y, 1) == ER_OK);
    double want_min[4] = { 100, 200, 300, 400 };
    CHECK(t_close(&Y, want_min, 4, 0, 0));
    t_free(&Y, 1);
}

static void test_bits_and_logic(void)
{
    uint8_t a[3] = { 200, 1, 16 }, s[3] = { 1, 7, 2 };
    int64_t d[1] = { 3 };
    er_tensor A = t_tensor(ER_U8, 1, d, a), S = t_tensor(ER_U8, 1, d, s), Y;
    er_tensor *in[2] = { &A, &S };
    t_node n;
    t_node_init(&n, "BitShift");
    t_attr_str(&n, "direction", "LEFT");
    CHECK(t_run_op(&n, 11, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want_l[3] = { 144, 128, 64 };
    CHECK(t_equal_i64(&Y, want_l, 3));
    t_free(&Y, 1);
    t_node_init(&n, "BitShift");
    t_attr_str(&n, "direction", "RIGHT");
    CHECK(t_run_op(&n, 11, NULL, in, 2, &Y, 1) == ER_OK);
    int64_t want_r[3] = { 100, 0, 4 };
    CHECK(t_equal_i64(&Y, want_r, 3));
    t_free(&Y, 1);
    int8_t x[2] = { 5, -1 };
    int64_t d2[1] = { 2 };
    er_tensor X = t_tensor(ER_I8, 1, d2, x);
    er_tensor *nin[1] = { &X };
    t_node_init(&n, "BitwiseNot");
    CHECK(t_run_op(&n, 18, NULL, nin, 1, &Y, 1) == ER_OK);
    int64_t want_n[2] = { -6, 0 };
    CHECK(t_equal_i64(&Y, want_n, 2));
    t_free(&Y, 1);
    uint8_t p[4] = { 0, 0, 1, 1 }, q[4] = { 0, 1, 0, 1 };
    int64_t d4[1] = { 4 };
    er_tensor P = t_tensor(ER_BOOL, 1, d4, p), Q = t_tensor(ER_BOOL, 1, d4, q);
    er_tensor *lin[2] = { &P, &Q };
    t_node_init(&n, "Xor");
    CHECK(t_run_op(&n, 7, NULL, lin, 2, &Y, 1) == ER_OK);
    int64_t want_x[4] = { 0, 1, 1, 0 };
    CHECK(Y.dtype == ER_BOOL && t_equal_i64(&Y, want_x, 4));
    t_free(&Y, 1);
}

static void test_errors(void)
{
    float a[6] = { 0 };
    int32_t b[4] = { 0 };
    int64_t da[2] = { 2, 3 }, db[1] = { 4 };
    er_tensor A = t_tensor(ER_F32, 2, da, a), B = t_tensor(ER_I32, 1, db, b), BF = t_tensor(ER_F32, 1, db, a), Y;
    er_tensor *in[2] = { &A, &B };
    t_node n;
    t_node_init(&n, "Add");
    CHECK(t_run_op(&n, 14, NULL, in, 2, &Y, 1) == ER_ERR_DTYPE);
    CHECK(strstr(g_err, "Add 't'") != NULL);
    er_tensor *in2[2] = { &A, &BF };
    CHECK(t_run_op(&n, 14, NULL, in2, 2, &Y, 1) == ER_ERR_SHAPE);
    CHECK(strstr(g_err, "[2,3]") != NULL);
    er_tensor *in3[1] = { &B };
    t_node_init(&n, "Sqrt");
    CHECK(t_run_op(&n, 13, NULL, in3, 1, &Y, 1) == ER_ERR_DTYPE);
    /* PRelu slope must broadcast to X, not the other way round. */
    float s[6] = { 0 };
    int64_t dx[1] = { 3 };
    er_tensor X3 = t_tensor(ER_F32, 1, dx, s);
    er_tensor *pin[2] = { &X3, &A };
    t_node_init(&n, "PRelu");
    CHECK(t_run_op(&n, 16, NULL, pin, 2, &Y, 1) == ER_ERR_SHAPE);
    t_node_init(&n, "Cast");
    er_tensor *cin[1] = { &A };
    CHECK(t_run_op(&n, 13, NULL, cin, 1, &Y, 1) == ER_ERR_FORMAT);
}

/* A large per-channel broadcast on the thread pool against a naive loop. */
static void test_threaded_broadcast(void)
{
    enum { NB = 2, C = 16, HW = 3000 };
    int64_t dx[4] = { NB, C, 1, HW }, db[4] = { 1, C, 1, 1 };
    float *x = malloc(sizeof(float) * NB * C * HW), b[C];
    for (int i = 0; i < NB * C * HW; i++) x[i] = (float)((i * 7919) % 1000) * 0.01f - 5.0f;
    for (int c = 0; c < C; c++) b[c] = (float)c - 8.0f;
    er_tensor X = t_tensor(ER_F32, 4, dx, x), B = t_tensor(ER_F32, 4, db, b), Y;
    er_tensor *in[2] = { &X, &B };
    er_threadpool *pool = er_threadpool_create(2);
    t_node n;
    t_node_init(&n, "PRelu");
    CHECK(t_run_op(&n, 16, pool, in, 2, &Y, 1) == ER_OK);
    int bad = 0;
    for (int i = 0; i < NB * C * HW; i++) {
        float ch = b[(i / HW) % C];
        float want = x[i] < 0 ? x[i] * ch : x[i];
        bad += ((float *)Y.data)[i] != want;
    }
    CHECK(bad == 0);
    t_free(&Y, 1);
    t_node_init(&n, "Mul");
    CHECK(t_run_op(&n, 14, pool, in, 2, &Y, 1) == ER_OK);
    bad = 0;
    for (int i = 0; i < NB * C * HW; i++) bad += ((float *)Y.data)[i] != x[i] * b[(i / HW) % C];
    CHECK(bad == 0);
    t_free(&Y, 1);
    er_threadpool_free(pool);
    free(x);
}

int main(void)
{
    test_add_broadcast_f32();
    test_int_arith();
    test_mod();
    test_pow_mixed();
    test_compare_where();
    test_clip();
    test_activation_identities();
    test_f16_and_cast();
    test_variadic();
    test_bits_and_logic();
    test_errors();
    test_threaded_broadcast();
    if (g_fail) {
        fprintf(stderr, "test_ops_elementwise: %d check(s) failed\n", g_fail);
        return 1;
    }
    printf("test_ops_elementwise: all checks passed\n");
    return 0;
}
