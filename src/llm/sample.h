/* Token sampling: repetition penalty, temperature, top-k, top-p, min-p, seeded RNG. */
#ifndef ER_LLM_SAMPLE_H
#define ER_LLM_SAMPLE_H

#include <stdint.h>

typedef struct er_sample_params {
    float temperature;      /* <= 0: greedy */
    int top_k;              /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    int repeat_last_n;      /* how many recent tokens the penalty looks at */
    uint64_t seed;
} er_sample_params;

typedef struct er_sampler er_sampler;

er_sampler *er_sampler_create(const er_sample_params *p, int n_vocab);
void er_sampler_free(er_sampler *s);
/* Picks the next token. logits (n_vocab) are modified in place by the penalty. */
int32_t er_sampler_sample(er_sampler *s, float *logits, const int32_t *history, int n_history);

#endif
