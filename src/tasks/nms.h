/* Non-maximum suppression for the detection pipeline. */
#ifndef ER_TASKS_NMS_H
#define ER_TASKS_NMS_H

#include "edgerun_tasks.h"

/* Intersection over union of two corner boxes; 0 when either is empty. */
float er_box_iou(const er_detection *a, const er_detection *b);

/* Greedy class-wise NMS. Visits boxes by descending score (ties: lower index first) and keeps
 * a box unless a kept box of the same class overlaps it with IoU > iou. Writes the indices of
 * the kept boxes, best first, to keep[0..return) and stops after max_keep. Returns -1 when
 * out of memory. */
int er_nms_classwise(const er_detection *boxes, int n, float iou, int max_keep, int *keep);

#endif
