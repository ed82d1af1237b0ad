/* Class-wise NMS of the detection pipeline against a direct reference implementation on
 * random boxes, plus IoU on hand-computed cases. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/nms.h"
#include "check.h"

static er_detection box(float x0, float y0, float x1, float y1, float score, int cls)
{
    er_detection d = {x0, y0, x1, y1, score, cls, NULL};
    return d;
}

static void test_iou(void)
{
    er_detection a = box(0, 0, 10, 10, 1, 0), b = box(5, 0, 15, 10, 1, 0), c = box(20, 20, 30, 30, 1, 0);
    CHECK(fabsf(er_box_iou(&a, &b) - 50.0f / 150.0f) < 1e-6f, "half overlap: %g", er_box_iou(&a, &b));
    CHECK(er_box_iou(&a, &c) == 0, "disjoint: %g", er_box_iou(&a, &c));
    CHECK(fabsf(er_box_iou(&a, &a) - 1) < 1e-6f, "self: %g", er_box_iou(&a, &a));
    er_detection empty = box(3, 3, 3, 8, 1, 0);
    CHECK(er_box_iou(&a, &empty) == 0, "empty box: %g", er_box_iou(&a, &empty));
}

/* Reference: IoU in double; repeatedly take the best remaining box (lowest index on ties),
 * drop the remaining boxes of its class that overlap it. */
static double ref_iou(const er_detection *a, const er_detection *b)
{
    double aa = ((double)a->x1 - a->x0) * ((double)a->y1 - a->y0);
    double ab = ((double)b->x1 - b->x0) * ((double)b->y1 - b->y0);
    double iw = fmin(a->x1, b->x1) - fmax(a->x0, b->x0), ih = fmin(a->y1, b->y1) - fmax(a->y0, b->y0);
    if (aa <= 0 || ab <= 0 || iw <= 0 || ih <= 0) return 0;
    return iw * ih / (aa + ab - iw * ih);
}

static int ref_nms(const er_detection *b, int n, float thr, int max_keep, int *keep)
{
    char *alive = malloc((size_t)n);
    memset(alive, 1, (size_t)n);
    int kept = 0;
    while (kept < max_keep) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (alive[i] && (best < 0 || b[i].score > b[best].score)) best = i;
        if (best < 0) break;
        keep[kept++] = best;
        alive[best] = 0;
        for (int i = 0; i < n; i++)
            if (alive[i] && b[i].class_id == b[best].class_id && ref_iou(&b[i], &b[best]) > thr) alive[i] = 0;
    }
    free(alive);
    return kept;
}

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f;
}

static void test_random(void)
{
    unsigned seed = 12345;
    int total_kept = 0, total = 0;
    for (int trial = 0; trial < 300; trial++) {
        int n = 1 + (int)(frand(&seed) * 200);
        int classes = 1 + trial % 4;
        float thr = 0.2f + 0.6f * frand(&seed);
        int max_keep = trial % 5 == 0 ? 5 : n;
        er_detection *b = malloc(sizeof(*b) * (size_t)n);
        int *k1 = malloc(sizeof(int) * (size_t)n), *k2 = malloc(sizeof(int) * (size_t)n);
        for (int i = 0; i < n; i++) {
            float x = frand(&seed) * 100, y = frand(&seed) * 100;
            float w = 5 + frand(&seed) * 40, h = 5 + frand(&seed) * 40;
            /* Quantized scores make ties, which both must break by index. */
            b[i] = box(x, y, x + w, y + h, (float)(int)(frand(&seed) * 20) / 20.0f, (int)(frand(&seed) * classes));
        }
        int n1 = er_nms_classwise(b, n, thr, max_keep, k1);
        int n2 = ref_nms(b, n, thr, max_keep, k2);
        bool same = n1 == n2 && memcmp(k1, k2, sizeof(int) * (size_t)n1) == 0;
        CHECK(same, "trial %d (n=%d, classes=%d, iou=%.3f, max=%d): kept %d, reference %d", trial, n, classes,
              thr, max_keep, n1, n2);
        total_kept += n1;
        total += n;
        free(b);
        free(k1);
        free(k2);
    }
    /* Guards against a vacuous pass where nothing or everything is suppressed. */
    CHECK(total_kept > total / 10 && total_kept < total, "kept %d of %d boxes overall", total_kept, total);
}

static void test_classwise(void)
{
    er_detection b[3] = {box(0, 0, 10, 10, 0.9f, 0), box(1, 1, 11, 11, 0.8f, 1), box(1, 0, 11, 10, 0.7f, 0)};
    int keep[3];
    int n = er_nms_classwise(b, 3, 0.5f, 10, keep);
    CHECK(n == 2 && keep[0] == 0 && keep[1] == 1, "overlapping boxes of another class survive: n=%d", n);
    CHECK(er_nms_classwise(b, 0, 0.5f, 10, keep) == 0, "no boxes");
}

int main(void)
{
    test_iou();
    test_classwise();
    test_random();
    printf("test_nms_task: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
