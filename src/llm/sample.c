#include "llm/sample.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct cand {
    int32_t id;
    float logit;
    float p;
} cand;

struct er_sampler {
    er_sample_params p;
    int n_vocab;
    uint64_t rng;
    cand *c;
};

er_sampler *er_sampler_create(const er_sample_params *p, int n_vocab)
{
    er_sampler *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = *p;
    s->n_vocab = n_vocab;
    s->rng = p->seed ^ 0x9e3779b97f4a7c15ull;
    s->c = malloc((size_t)n_vocab * sizeof *s->c);
    if (!s->c) {
        free(s);
        return NULL;
    }
    return s;
}

void er_sampler_free(er_sampler *s)
{
    if (!s) return;
    free(s->c);
    free(s);
}

/* splitmix64: small, fast and reproducible across platforms for a given seed */
static double next_uniform(er_sampler *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static void apply_penalty(const er_sampler *s, float *logits, const int32_t *hist, int n)
{
    float pen = s->p.repeat_penalty;
    if (pen == 1.0f || pen <= 0 || s->p.repeat_last_n == 0) return;
    int from = s->p.repeat_last_n > 0 && n > s->p.repeat_last_n ? n - s->p.repeat_last_n : 0;
    /* each distinct token is penalized once, however often it recurs */
    for (int i = from; i < n; i++) {
        int32_t id = hist[i];
        if (id < 0 || id >= s->n_vocab) continue;
        bool seen = false;
        for (int j = from; j < i && !seen; j++) seen = hist[j] == id;
        if (seen) continue;
        logits[id] = logits[id] > 0 ? logits[id] / pen : logits[id] * pen;
    }
}

static int32_t argmax(const float *v, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static int by_logit_desc(const void *a, const void *b)
{
    float x = ((const cand *)a)->logit, y = ((const cand *)b)->logit;
    return (x < y) - (x > y);
}

int32_t er_sampler_sample(er_sampler *s, float *logits, const int32_t *history, int n_history)
{
    apply_penalty(s, logits, history, n_history);
    if (s->p.temperature <= 0) return argmax(logits, s->n_vocab);
    float t = s->p.temperature, mx = logits[argmax(logits, s->n_vocab)];
    /* candidates more than e^-30 below the best cannot be drawn in double precision
     * sums; dropping them before the sort keeps sampling cheap for large vocabularies */
    int n = 0;
    for (int i = 0; i < s->n_vocab; i++)
        if ((logits[i] - mx) / t > -30.0f) s->c[n++] = (cand){i, logits[i], 0};
    qsort(s->c, (size_t)n, sizeof *s->c, by_logit_desc);
    if (s->p.top_k > 0 && s->p.top_k < n) n = s->p.top_k;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        s->c[i].p = expf((s->c[i].logit - mx) / t);
        sum += s->c[i].p;
    }
    for (int i = 0; i < n; i++) s->c[i].p = (float)(s->c[i].p / sum);
    if (s->p.min_p > 0) {
        float floor_p = s->p.min_p * s->c[0].p;
        int k = 1;
        while (k < n && s->c[k].p >= floor_p) k++;
        n = k;
    }
    if (s->p.top_p < 1.0f) {
        double cum = 0;
        int k = 0;
        while (k < n) {
            cum += s->c[k++].p;
            if (cum >= s->p.top_p) break;
        }
        n = k;
    }
    double total = 0;
    for (int i = 0; i < n; i++) total += s->c[i].p;
    double r = next_uniform(s) * total;
    for (int i = 0; i < n; i++) {
        r -= s->c[i].p;
        if (r <= 0) return s->c[i].id;
    }
    return s->c[n - 1].id;
}
