/* Differentiable-binarisation (DB) text detector post-processing: probability map → boxes. */
#ifndef ER_TASKS_DB_POST_H
#define ER_TASKS_DB_POST_H

#include "edgerun.h"

typedef struct er_text_box {
    float pts[4][2];      /* top-left, top-right, bottom-right, bottom-left */
    float score;          /* mean probability inside the box before growing it */
    int row;              /* text row (reading order) the box belongs to */
} er_text_box;

typedef struct er_db_params {
    float thresh;         /* binarisation threshold on the probability map */
    float box_thresh;     /* minimum mean probability inside a candidate */
    float unclip_ratio;   /* growth distance = area * ratio / perimeter */
    int max_candidates;
} er_db_params;

/* A rotated rectangle as four corners in drawing order, and its sides. */
typedef struct er_rrect {
    float pts[4][2];
    float w, h;
} er_rrect;

/* Minimum-area enclosing rectangle of n points (rotating calipers on the convex hull).
 * hull must have room for 2 * n + 2 points. */
er_rrect er_min_area_rect(const float (*pts)[2], int n, float (*hull)[2]);

/* Corners of r ordered top-left, top-right, bottom-right, bottom-left. */
void er_rrect_order(const er_rrect *r, float out[4][2]);

/* Boxes found in the map `prob` (map_h x map_w), scaled to an image of img_w x img_h and
 * sorted in reading order. *boxes is malloc'ed (NULL when none). */
er_status er_db_boxes(const float *prob, int map_w, int map_h, int img_w, int img_h,
                      const er_db_params *p, er_text_box **boxes, int *n_boxes);

/* Reading order: boxes are grouped into rows (a box belongs to a row when its centre lies
 * within half a box height of the row's first box extended along that box's slant, so
 * slightly rotated lines stay together), rows top to bottom, boxes left to right. */
void er_sort_boxes(er_text_box *boxes, int n);

#endif
