#include "tasks/nms.h"

#include <stdlib.h>

float er_box_iou(const er_detection *a, const er_detection *b)
{
    float area_a = (a->x1 - a->x0) * (a->y1 - a->y0);
    float area_b = (b->x1 - b->x0) * (b->y1 - b->y0);
    if (!(area_a > 0) || !(area_b > 0)) return 0;
    float iw = (a->x1 < b->x1 ? a->x1 : b->x1) - (a->x0 > b->x0 ? a->x0 : b->x0);
    float ih = (a->y1 < b->y1 ? a->y1 : b->y1) - (a->y0 > b->y0 ? a->y0 : b->y0);
    if (iw <= 0 || ih <= 0) return 0;
    float inter = iw * ih;
    return inter / (area_a + area_b - inter);
}

typedef struct scored {
    float score;
    int index;
} scored;

static int by_score_desc(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int er_nms_classwise(const er_detection *boxes, int n, float iou, int max_keep, int *keep)
{
    if (n <= 0 || max_keep <= 0) return 0;
    scored *order = malloc(sizeof(scored) * (size_t)n);
    if (!order) return -1;
    for (int i = 0; i < n; i++) order[i] = (scored){boxes[i].score, i};
    qsort(order, (size_t)n, sizeof(scored), by_score_desc);
    int kept = 0;
    for (int i = 0; i < n && kept < max_keep; i++) {
        const er_detection *cand = &boxes[order[i].index];
        int suppressed = 0;
        for (int k = 0; k < kept && !suppressed; k++) {
            const er_detection *b = &boxes[keep[k]];
            suppressed = b->class_id == cand->class_id && er_box_iou(b, cand) > iou;
        }
        if (!suppressed) keep[kept++] = order[i].index;
    }
    free(order);
    return kept;
}
