/* Sampling: greedy is the argmax; the draw frequencies of temperature sampling follow the
 * softmax; top-k, top-p and min-p keep exactly the tokens they should; the repetition penalty
 * divides positive and multiplies negative logits once per distinct token; seeds repeat. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llm/sample.h"
#include "check.h"

enum { NV = 6, DRAWS = 40000 };
static const float base[NV] = {1.0f, 3.0f, 2.0f, -1.0f, 0.5f, 2.5f};

static void draw(er_sample_params p, int *hist)
{
    er_sampler *s = er_sampler_create(&p, NV);
    memset(hist, 0, NV * sizeof *hist);
    for (int i = 0; i < DRAWS; i++) {
        float l[NV];
        memcpy(l, base, sizeof l);
        hist[er_sampler_sample(s, l, NULL, 0)]++;
    }
    er_sampler_free(s);
}

static er_sample_params params(float temp, int top_k, float top_p, float min_p)
{
    er_sample_params p = {temp, top_k, top_p, min_p, 1.0f, 64, 1234};
    return p;
}

int main(void)
{
    int h[NV];
    draw(params(0, 0, 1, 0), h);
    CHECK(h[1] == DRAWS, "greedy picked something other than the argmax");
    draw(params(1, 1, 1, 0), h);
    CHECK(h[1] == DRAWS, "top-k 1 is not greedy");
    /* T = 0.7: frequencies within 4 standard deviations of softmax(l / T) */
    draw(params(0.7f, 0, 1, 0), h);
    double z = 0, p[NV];
    for (int i = 0; i < NV; i++) z += exp(base[i] / 0.7);
    for (int i = 0; i < NV; i++) {
        p[i] = exp(base[i] / 0.7) / z;
        double sd = sqrt(DRAWS * p[i] * (1 - p[i]));
        CHECK(fabs(h[i] - DRAWS * p[i]) <= 4 * sd + 1, "token %d drawn %d times, expected %.0f", i, h[i], DRAWS * p[i]);
    }
    /* top-k 2 keeps tokens 1 and 5 in ratio e^0.5 */
    draw(params(1, 2, 1, 0), h);
    CHECK(h[0] + h[2] + h[3] + h[4] == 0, "top-k 2 drew outside the top two");
    CHECK(fabs((double)h[1] / h[5] - exp(0.5)) < 0.1, "top-k ratio %f", (double)h[1] / h[5]);
    /* top-p 0.6 at T=1: p = .46 .28 .17 ... → keeps the top two (cumulative .74) */
    draw(params(1, 0, 0.6f, 0), h);
    CHECK(h[1] > 0 && h[5] > 0 && h[0] + h[2] + h[3] + h[4] == 0, "top-p kept %d %d %d %d %d %d", h[0], h[1], h[2], h[3], h[4], h[5]);
    /* min-p 0.5: keeps tokens with p >= p_max / 2, i.e. logit >= 3 - ln 2 → tokens 1, 5 */
    draw(params(1, 0, 1, 0.5f), h);
    CHECK(h[1] > 0 && h[5] > 0 && h[0] + h[2] + h[3] + h[4] == 0, "min-p kept %d %d %d %d %d %d", h[0], h[1], h[2], h[3], h[4], h[5]);
    /* repetition penalty 2: token 1 (3 → 1.5) and token 3 (-1 → -2), once each */
    er_sample_params rp = {0, 0, 1, 0, 2.0f, 64, 0};
    er_sampler *s = er_sampler_create(&rp, NV);
    float l[NV];
    memcpy(l, base, sizeof l);
    int32_t hist[] = {1, 3, 1, 1};
    int32_t tok = er_sampler_sample(s, l, hist, 4);
    CHECK(l[1] == 1.5f && l[3] == -2.0f && l[0] == 1.0f, "penalty gave %g %g", l[1], l[3]);
    CHECK(tok == 5, "after the penalty the argmax is token 5, got %d", tok);
    er_sampler_free(s);
    /* the same seed repeats the same draws; another seed does not */
    er_sample_params a = params(1, 0, 1, 0), b = a;
    b.seed = 99;
    er_sampler *sa = er_sampler_create(&a, NV), *sa2 = er_sampler_create(&a, NV), *sb = er_sampler_create(&b, NV);
    int same = 1, differ = 0;
    for (int i = 0; i < 200; i++) {
        float x[NV], y[NV], w[NV];
        memcpy(x, base, sizeof x), memcpy(y, base, sizeof y), memcpy(w, base, sizeof w);
        int32_t ta = er_sampler_sample(sa, x, NULL, 0), tb = er_sampler_sample(sa2, y, NULL, 0);
        same &= ta == tb;
        differ |= ta != er_sampler_sample(sb, w, NULL, 0);
    }
    CHECK(same && differ, "seeding: same %d differ %d", same, differ);
    er_sampler_free(sa), er_sampler_free(sa2), er_sampler_free(sb);
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
