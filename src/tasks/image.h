/* Image helpers for the task pipelines: geometry, resampling and tensor packing of
 * 8-bit RGB images (er_image from edgerun_tasks.h). */
#ifndef ER_TASKS_IMAGE_H
#define ER_TASKS_IMAGE_H

#include "edgerun_tasks.h"

/* Allocates an uninitialised w x h image; ER_ERR_NOMEM or ER_ERR_INVALID_ARG on bad sizes. */
er_status er_image_alloc(er_image *img, int width, int height);

/* Bilinear resampling with pixel centres aligned (the convention of OpenCV's INTER_LINEAR). */
er_status er_image_resize(const er_image *src, int width, int height, er_image *dst);

/* Area (box-filter) resampling for shrinking: each output pixel averages the source pixels it
 * covers, weighted by coverage, so thin strokes and fine texture are not aliased away as
 * bilinear sampling does (OpenCV's INTER_AREA). Enlarging falls back to bilinear. */
er_status er_image_resize_area(const er_image *src, int width, int height, er_image *dst);

/* Samples the quadrilateral quad (tl, tr, br, bl in src pixels) into a width x height image
 * through the perspective map taking the quad's corners to the output's corners. Samples
 * outside src repeat the border. */
er_status er_image_warp_quad(const er_image *src, const float (*quad)[2], int width, int height,
                             er_image *dst);

/* Quarter turn counter-clockwise (so a line of vertical text reads left to right). */
er_status er_image_rotate90(const er_image *src, er_image *dst);
void er_image_rotate180(er_image *img);

/* Packs img into planar float [3][height][stride] in B, G, R plane order (PP-OCR models were
 * trained on BGR images): value = (pixel / 255 - mean[c]) / std[c]. Columns from img->width up
 * to stride are set to pad. */
void er_image_to_chw_bgr(const er_image *img, int stride, const float mean[3], const float std[3],
                         float pad, float *out);

#endif
