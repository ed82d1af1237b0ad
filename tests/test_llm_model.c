/* Forward pass invariants on a random model built in C: the prompt evaluated in batches gives
 * the logits of token-by-token decoding through the KV cache; every kernel set agrees with
 * the reference kernels; threads do not change results. The public API generates, streams,
 * stops on stop strings and refuses prompts longer than the context. PyTorch parity is in
 * tests/llm_test.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerun_llm.h"
#include "llm/model.h"
#include "llm_fixture.h"
#include "check.h"

enum { NV = 320, NT = 11 };
static const int32_t toks[NT] = {1, 280, 275, 5, 300, 7, 281, 290, 2, 276, 277};

static er_llm_model *load(const uint8_t *p, size_t n, const char *isa)
{
    char err[256];
    er_gguf *g;
    er_llm_model *m = NULL;
    if (isa) setenv("EDGERUN_ISA", isa, 1);
    else unsetenv("EDGERUN_ISA");
    if (er_gguf_parse(p, n, &g, err, sizeof err) != ER_OK || er_llm_model_load(g, &m, err, sizeof err) != ER_OK)
        printf("load failed: %s\n", err);
    unsetenv("EDGERUN_ISA");
    return m;
}

/* all-position logits with batches of `batch` tokens */
static void run(er_llm_model *m, int batch, int threads, bool incremental, float *out)
{
    char err[256];
    er_llm_state *s;
    er_threadpool *pool = er_threadpool_create(threads);
    CHECK(er_llm_state_create(m, 32, batch, threads, &s, err, sizeof err) == ER_OK, "%s", err);
    if (incremental) {
        for (int i = 0; i < NT; i++) CHECK(er_llm_forward(m, s, pool, &toks[i], 1, i, out + i * NV, false, err, sizeof err) == ER_OK, "%s", err);
    } else {
        CHECK(er_llm_forward(m, s, pool, toks, NT, 0, out, true, err, sizeof err) == ER_OK, "%s", err);
    }
    er_llm_state_free(s);
    er_threadpool_free(pool);
}

static float max_diff(const float *a, const float *b, int n)
{
    float d = 0;
    for (int i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

static float mean_diff(const float *a, const float *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++) d += fabsf(a[i] - b[i]);
    return (float)(d / n);
}

/* Kernel sets sum in different orders; with Q8_0/Q4_0 weights the activations are rounded
 * to integers, and a value within float noise of a rounding step can land one step apart,
 * moving one position's logits by up to ~0.2 in this model. kernel_tol bounds the largest
 * difference and mean_tol the average (which such rare flips barely move). */
static void test_forward(uint32_t wtype, float kernel_tol, float mean_tol)
{
    fx_model_opts o = {wtype, 64, 2, 4, 2, 96, NV, 64, 3};
    size_t n;
    uint8_t *p = fx_model(&o, &n);
    static float a[NT * NV], b[NT * NV], c[NT * NV];
    const char *name = er_qtype_name(wtype);
    er_llm_model *ref = load(p, n, "ref"), *best = load(p, n, NULL);
    if (!ref || !best) {
        failures++;
        return;
    }
    run(ref, 4, 1, false, a);
    run(ref, 1, 1, true, b);
    CHECK(max_diff(a, b, NT * NV) < 1e-4f, "%s: batched vs incremental logits differ by %g", name, max_diff(a, b, NT * NV));
    float range = 0;
    for (int i = 0; i < NT * NV; i++) range = fmaxf(range, fabsf(a[i]));
    CHECK(range > 1.0f, "%s: degenerate logits (max %g)", name, range);
    run(best, 8, 2, false, c);
    CHECK(max_diff(a, c, NT * NV) < kernel_tol && mean_diff(a, c, NT * NV) < mean_tol,
          "%s: %s kernels differ from ref by %g (mean %g)", name, best->kern->isa, max_diff(a, c, NT * NV),
          mean_diff(a, c, NT * NV));
    run(best, 1, 2, true, b);
    CHECK(max_diff(c, b, NT * NV) < kernel_tol, "%s: %s incremental differs by %g", name, best->kern->isa, max_diff(c, b, NT * NV));
    run(best, 8, 1, false, b);
    CHECK(memcmp(b, c, sizeof b) == 0, "%s: 1 and 2 threads give different logits", name);
    er_llm_model *avx2 = load(p, n, "avx2");
    if (avx2) {
        run(avx2, 5, 2, false, b);
        CHECK(max_diff(a, b, NT * NV) < kernel_tol && mean_diff(a, b, NT * NV) < mean_tol,
              "%s: %s kernels differ from ref by %g (mean %g)", name, avx2->kern->isa, max_diff(a, b, NT * NV),
              mean_diff(a, b, NT * NV));
        er_llm_model_free(avx2);
    }
    printf("%s: kernels %s, |ref - best| max %.2g mean %.2g\n", name, best->kern->isa, max_diff(a, c, NT * NV),
           mean_diff(a, c, NT * NV));
    er_llm_model_free(ref);
    er_llm_model_free(best);
    free(p);
}

static int collect(void *user, const char *s, size_t len)
{
    char *buf = user;
    strncat(buf, s, len);
    return 0;
}

static void test_api(void)
{
    fx_model_opts o = {ER_Q_Q8_0, 64, 2, 4, 2, 96, NV, 64, 5};
    size_t n;
    uint8_t *p = fx_model(&o, &n);
    const char *path = "/tmp/edgerun_test_llm_model.gguf";
    CHECK(fx_write(path, p, n) == 0, "write fixture");
    free(p);
    er_llm *llm;
    er_msg msg;
    er_llm_options opts;
    er_llm_options_init(&opts);
    opts.n_ctx = 24;
    opts.n_threads = 2;
    CHECK(er_llm_load(path, &opts, &llm, &msg) == ER_OK, "load: %s", msg.text);
    if (!llm) return;
    er_llm_info info;
    er_llm_get_info(llm, &info);
    CHECK(info.n_vocab == NV && info.n_ctx == 24 && info.kv_cache_bytes == 2u * 2 * 24 * 32 * 4, "info");
    int32_t ids[16];
    int cnt;
    CHECK(er_llm_tokenize(llm, "hello world", 1, 0, ids, 16, &cnt) == ER_OK && cnt == 3 && ids[0] == 1, "tokenize");
    er_llm_gen_params gp;
    er_llm_gen_params_init(&gp);
    gp.temperature = 0;
    gp.max_tokens = 8;
    er_llm_stats st;
    char out1[4096] = "", out2[4096] = "";
    CHECK(er_llm_generate(llm, "hello world", &gp, collect, out1, &st) == ER_OK, "generate: %s", er_llm_error(llm));
    CHECK(st.n_prompt == 3 && st.n_generated >= 1 && st.n_generated <= 8, "stats %d %d", st.n_prompt, st.n_generated);
    CHECK(er_llm_generate(llm, "hello world", &gp, collect, out2, &st) == ER_OK && strcmp(out1, out2) == 0,
          "greedy generation is not repeatable: '%s' vs '%s'", out1, out2);
    /* a stop string cut from the greedy output ends generation before it */
    if (strlen(out1) >= 4) {
        char stop[3] = {out1[2], out1[3], 0};
        const char *stops[] = {stop};
        char out3[4096] = "";
        gp.stop = stops;
        gp.n_stop = 1;
        CHECK(er_llm_generate(llm, "hello world", &gp, collect, out3, &st) == ER_OK, "generate with stop");
        CHECK(strstr(out3, stop) == NULL && strncmp(out1, out3, strlen(out3)) == 0 && strcmp(st.stop_reason, "stop") == 0,
              "stop string '%s': got '%s' from '%s' (%s)", stop, out3, out1, st.stop_reason);
        gp.n_stop = 0;
    }
    /* sampling with a seed is reproducible */
    gp.temperature = 1.0f;
    gp.seed = 42;
    out1[0] = out2[0] = 0;
    er_llm_generate(llm, "hello", &gp, collect, out1, &st);
    er_llm_generate(llm, "hello", &gp, collect, out2, &st);
    CHECK(strcmp(out1, out2) == 0, "seeded sampling differs");
    /* a prompt longer than the context is refused with a message */
    char longp[512] = "";
    for (int i = 0; i < 30; i++) strcat(longp, " hello");
    CHECK(er_llm_generate(llm, longp, &gp, collect, out1, &st) == ER_ERR_INVALID_ARG &&
          strstr(er_llm_error(llm), "context"), "long prompt: %s", er_llm_error(llm));
    er_llm_free(llm);
    CHECK(er_llm_load("/nonexistent.gguf", NULL, &llm, &msg) == ER_ERR_IO && strstr(msg.text, "nonexistent"), "missing file");
    remove(path);
}

int main(void)
{
    test_forward(ER_Q_F32, 1e-3f, 1e-4f);
    test_forward(ER_Q_F16, 1e-3f, 1e-4f);
    test_forward(ER_Q_BF16, 1e-3f, 1e-4f);
    test_forward(ER_Q_Q8_0, 0.3f, 0.02f);
    test_forward(ER_Q_Q4_0, 0.3f, 0.02f);
    test_api();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
