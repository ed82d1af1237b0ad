/* Session behaviour on tests/fixtures/session_mlp.onnx (see tools/make_session_fixtures.py):
 * results against a plain-C recomputation, shape-subgraph folding, arena reuse, re-planning
 * on a new batch size, two sessions in two threads, and error messages. Also
 * computed_weights.onnx: MatMul and Conv whose weights are computed at run time, run twice
 * with new values (kernels must not pack them at planning). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerun.h"
#include "check.h"

static const char *MODEL = "tests/fixtures/session_mlp.onnx";

static void reference(const float *x, int n, float *y)
{
    for (int r = 0; r < n; r++) {
        float h[16], z[4], mx = -INFINITY, sum = 0;
        for (int j = 0; j < 16; j++) {
            float acc = 0;
            for (int i = 0; i < 8; i++) acc += x[r * 8 + i] * (float)(((i * 16 + j) % 7 - 3) / 4.0);
            acc += (float)((j % 3) / 2.0);
            h[j] = acc > 0 ? acc : 0;
        }
        for (int j = 0; j < 4; j++) {
            float acc = 0;
            for (int i = 0; i < 16; i++) acc += h[i] * (float)(((i * 4 + j) % 5 - 2) / 3.0);
            z[j] = acc;
            if (acc > mx) mx = acc;
        }
        for (int j = 0; j < 4; j++) sum += (z[j] = expf(z[j] - mx));
        for (int j = 0; j < 4; j++) y[r * 4 + j] = z[j] / sum;
    }
}

static void fill(float *x, int count, int seed)
{
    for (int i = 0; i < count; i++) x[i] = (float)((i * 37 + seed * 11) % 23 - 11) / 7.0f;
}

static double run_and_compare(er_session *s, int n, int seed)
{
    float x[8 * 64], want[4 * 64];
    fill(x, n * 8, seed);
    reference(x, n, want);
    int64_t dims[2] = { n, 8 };
    if (er_session_set_input(s, "X", ER_F32, dims, 2, x) != ER_OK) return 1e9;
    if (er_session_run(s) != ER_OK) return 1e9;
    er_tensor_view v;
    if (er_session_output(s, 0, &v) != ER_OK || v.ndim != 2 || v.dims[0] != n || v.dims[1] != 4) return 1e9;
    double err = 0;
    for (int i = 0; i < n * 4; i++) err = fmax(err, fabs(((const float *)v.data)[i] - want[i]));
    return err;
}

/* Largest error of Z = X·(-Y) and O = Conv(I, -W, pad 1) against plain loops, for inputs
 * made from seed. */
static double computed_weights_error(er_session *s, int seed)
{
    float x[4 * 8], y[8 * 5], in[4 * 36], w[3 * 4 * 9];
    fill(x, 32, seed);
    fill(y, 40, seed + 1);
    fill(in, 144, seed + 2);
    fill(w, 108, seed + 3);
    int64_t dx[2] = { 4, 8 }, dy[2] = { 8, 5 }, di[4] = { 1, 4, 6, 6 }, dw[4] = { 3, 4, 3, 3 };
    if (er_session_set_input(s, "X", ER_F32, dx, 2, x) != ER_OK || er_session_set_input(s, "Y", ER_F32, dy, 2, y) != ER_OK ||
        er_session_set_input(s, "I", ER_F32, di, 4, in) != ER_OK || er_session_set_input(s, "W", ER_F32, dw, 4, w) != ER_OK ||
        er_session_run(s) != ER_OK)
        return 1e9;
    er_tensor_view z, o;
    if (er_session_output(s, 0, &z) != ER_OK || er_session_output(s, 1, &o) != ER_OK) return 1e9;
    double err = 0;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 5; c++) {
            float acc = 0;
            for (int k = 0; k < 8; k++) acc -= x[r * 8 + k] * y[k * 5 + c];
            err = fmax(err, fabs(((const float *)z.data)[r * 5 + c] - acc));
        }
    for (int m = 0; m < 3; m++)
        for (int oy = 0; oy < 6; oy++)
            for (int ox = 0; ox < 6; ox++) {
                float acc = 0;
                for (int c = 0; c < 4; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - 1, ix = ox + kx - 1;
                            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6)
                                acc -= in[(c * 6 + iy) * 6 + ix] * w[((m * 4 + c) * 3 + ky) * 3 + kx];
                        }
                err = fmax(err, fabs(((const float *)o.data)[(m * 6 + oy) * 6 + ox] - acc));
            }
    return err;
}

typedef struct {
    const er_model *model;
    double max_err;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    er_session_options o;
    er_session_options_init(&o);
    o.n_threads = 1;
    er_session *s = NULL;
    a->max_err = 1e9;
    if (er_session_create(a->model, &o, &s, NULL) != ER_OK) return NULL;
    double worst = 0;
    for (int it = 0; it < 200; it++) worst = fmax(worst, run_and_compare(s, 1 + it % 7, it));
    a->max_err = worst;
    er_session_free(s);
    return NULL;
}

int main(void)
{
    er_msg msg;
    er_model *m = NULL;
    if (er_model_load_file(MODEL, &m, &msg) != ER_OK) {
        printf("FAIL cannot load %s: %s\nsession: 0 passed, 1 failed\n", MODEL, msg.text);
        return 1;
    }
    for (int opt = 0; opt <= 1; opt++) {
        er_session_options o;
        er_session_options_init(&o);
        o.opt_level = opt;
        o.n_threads = 2;
        er_session *s = NULL;
        CHECK(er_session_create(m, &o, &s, &msg) == ER_OK, "create: %s", msg.text);
        if (!s) continue;
        CHECK(run_and_compare(s, 3, 1) < 1e-5, "batch 3 differs from reference (opt %d)", opt);
        er_session_stats st;
        er_session_stats_get(s, &st);
        /* Shape, Gather, Unsqueeze and Concat fold at planning; 6 nodes remain, and graph
         * passes fuse MatMul + bias + Relu into one. */
        int want_steps = opt ? 4 : 6;
        CHECK(st.n_nodes == want_steps && !st.dynamic, "expected %d static steps, got %d (dynamic %d)", want_steps,
              st.n_nodes, st.dynamic);
        /* Activations: h0,h1,h2,h3 (3x16 floats) and z,Y (3x4). Lifetimes let h0/h2 and h1/h3
         * share memory, so the arena is below the 4*3*16*4 + 2*3*4*4 bytes they would take. */
        CHECK(st.arena_bytes > 0 && st.arena_bytes < 4 * 3 * 16 * 4 + 2 * 3 * 4 * 4, "arena %zu bytes not reused",
              st.arena_bytes);
        CHECK(run_and_compare(s, 17, 2) < 1e-5, "re-planned batch 17 differs (opt %d)", opt);
        CHECK(run_and_compare(s, 3, 3) < 1e-5, "back to batch 3 differs (opt %d)", opt);

        float x[8] = { 0 };
        int64_t good[2] = { 1, 8 }, bad[2] = { 1, 9 };
        CHECK(er_session_set_input(s, "nope", ER_F32, good, 2, x) == ER_ERR_NOT_FOUND &&
                  strstr(er_session_error(s), "'nope'") && strstr(er_session_error(s), "'X'"),
              "wrong name message: %s", er_session_error(s));
        CHECK(er_session_set_input(s, "X", ER_F32, bad, 2, x) == ER_ERR_SHAPE &&
                  strstr(er_session_error(s), "[1,9]"),
              "wrong shape message: %s", er_session_error(s));
        CHECK(er_session_set_input(s, "X", ER_I64, good, 2, x) == ER_ERR_DTYPE &&
                  strstr(er_session_error(s), "float32"),
              "wrong dtype message: %s", er_session_error(s));
        er_session_free(s);
    }
    {
        er_session *s = NULL;
        CHECK(er_session_create(m, NULL, &s, &msg) == ER_OK, "create: %s", msg.text);
        CHECK(s && er_session_run(s) == ER_ERR_INVALID_ARG && strstr(er_session_error(s), "not set"),
              "run without input: %s", s ? er_session_error(s) : "");
        er_session_free(s);
    }
    thread_arg a[2] = { { m, 0 }, { m, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, thread_main, &a[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECK(a[0].max_err < 1e-5 && a[1].max_err < 1e-5, "concurrent sessions: errors %g %g", a[0].max_err, a[1].max_err);
    er_model_free(m);

    const char *cw = "tests/fixtures/computed_weights.onnx";
    CHECK(er_model_load_file(cw, &m, &msg) == ER_OK, "cannot load %s: %s", cw, msg.text);
    er_session *s = NULL;
    if (m) CHECK(er_session_create(m, NULL, &s, &msg) == ER_OK, "create: %s", msg.text);
    if (s) {
        CHECK(computed_weights_error(s, 1) < 1e-4, "computed weights, first run: error %g", computed_weights_error(s, 1));
        CHECK(computed_weights_error(s, 5) < 1e-4, "computed weights, new values: error %g", computed_weights_error(s, 5));
    }
    er_session_free(s);
    er_model_free(m);
    printf("session: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
