/* Driver for tests/llm_test.sh: evaluates a token list, writes the logits of every position
 * (float32, [n_tokens, n_vocab]) and prints the greedy continuation decoded token by token
 * through the KV cache.
 *   llm_logits MODEL.gguf 1,2,3 OUT.f32 [GREEDY_TOKENS [THREADS]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/model.h"

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf TOKENS OUT.f32 [GREEDY [THREADS]]\n", argv[0]);
        return 2;
    }
    int n_greedy = argc > 4 ? atoi(argv[4]) : 0;
    int n_threads = argc > 5 ? atoi(argv[5]) : 1;
    char err[512];
    er_gguf *g;
    er_llm_model *m;
    if (er_gguf_open(argv[1], &g, err, sizeof err) != ER_OK || er_llm_model_load(g, &m, err, sizeof err) != ER_OK) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    int32_t tokens[4096];
    int n = 0;
    for (char *p = argv[2]; *p && n < 4096;) {
        tokens[n++] = (int32_t)strtol(p, &p, 10);
        if (*p == ',') p++;
    }
    int nv = m->cfg.n_vocab;
    er_llm_state *s;
    er_threadpool *pool = er_threadpool_create(n_threads);
    float *logits = malloc((size_t)(n + 1) * nv * sizeof *logits);
    if (!pool || !logits || er_llm_state_create(m, n + n_greedy + 1, 16, n_threads, &s, err, sizeof err) != ER_OK) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    if (er_llm_forward(m, s, pool, tokens, n, 0, logits, true, err, sizeof err) != ER_OK) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(logits, sizeof *logits, (size_t)n * nv, f) != (size_t)n * nv) return 1;
    fclose(f);
    printf("kernels %s\ngreedy:", m->kern->isa);
    int32_t tok = argmax(logits + (size_t)(n - 1) * nv, nv);
    for (int i = 0; i < n_greedy; i++) {
        printf("%s%d", i ? "," : "", tok);
        if (er_llm_forward(m, s, pool, &tok, 1, n + i, logits, false, err, sizeof err) != ER_OK) {
            fprintf(stderr, "error: %s\n", err);
            return 1;
        }
        tok = argmax(logits, nv);
    }
    printf("\n");
    free(logits);
    er_llm_state_free(s);
    er_threadpool_free(pool);
    er_llm_model_free(m);
    return 0;
}
