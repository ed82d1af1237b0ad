/* edgerun tasks — ready-made pipelines on top of the edgerun runtime (edgerun.h).
 *
 * Images are 8-bit RGB, row-major, 3 bytes per pixel. Every call returns an er_status;
 * constructors report through an optional er_msg, a pipeline object keeps its last message
 * (er_ocr_error). */
#ifndef EDGERUN_TASKS_H
#define EDGERUN_TASKS_H

#include "edgerun.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct er_image {
    int width;
    int height;
    uint8_t *data;        /* width * height * 3 bytes, RGB */
} er_image;

/* Decodes a JPEG, PNG or BMP file (any channel count) into RGB. */
er_status er_image_load(const char *path, er_image *img, er_msg *msg);
er_status er_image_write_png(const char *path, const er_image *img, er_msg *msg);
void er_image_free(er_image *img);
/* Draws the closed polygon pts[0..n) with lines `thickness` pixels wide. */
void er_image_draw_polygon(er_image *img, const float (*pts)[2], int n, const uint8_t rgb[3],
                           int thickness);

/* ---- OCR (PP-OCR: text detection → direction classification → recognition) ---- */

typedef struct er_ocr er_ocr;

typedef struct er_ocr_options {
    const char *det_model;   /* paths; NULL: the PP-OCRv4 file names inside model_dir */
    const char *rec_model;
    const char *cls_model;
    const char *keys;        /* dictionary, one symbol per line */
    int use_cls;             /* 1: run the direction classifier (default) */
    int n_threads;           /* 0: one per core */
    int max_side;            /* detection input: longest side limit in pixels (960) */
    float det_thresh;        /* probability map binarisation threshold (0.3) */
    float box_thresh;        /* minimum mean probability inside a box (0.6) */
    float unclip_ratio;      /* box growth, area * ratio / perimeter (1.5) */
    float cls_thresh;        /* confidence needed to turn a line by 180° (0.9) */
    float drop_score;        /* lines recognised with less confidence are dropped (0.5) */
} er_ocr_options;

typedef struct er_ocr_line {
    float box[4][2];         /* image pixels: top-left, top-right, bottom-right, bottom-left */
    char *text;              /* UTF-8 */
    float score;             /* mean probability of the decoded characters */
    float box_score;         /* mean text probability inside the detected box */
    int rotated;             /* 1 when the classifier turned the line by 180° */
    int row;                 /* text row: boxes split from one line of text share it */
} er_ocr_line;

typedef struct er_ocr_result {
    int n_lines;
    er_ocr_line *lines;      /* reading order: top to bottom, left to right */
    int n_boxes;             /* boxes detected, before recognition dropped any */
    double det_seconds, cls_seconds, rec_seconds;
} er_ocr_result;

void er_ocr_options_init(er_ocr_options *opts);
/* model_dir holds ch_PP-OCRv4_det_infer.onnx, ch_PP-OCRv4_rec_infer.onnx,
 * ch_ppocr_mobile_v2.0_cls_infer.onnx and ppocr_keys_v1.txt unless opts names the files. */
er_status er_ocr_create(const char *model_dir, const er_ocr_options *opts, er_ocr **ocr,
                        er_msg *msg);
er_status er_ocr_run(er_ocr *ocr, const er_image *img, er_ocr_result *result);
const char *er_ocr_error(const er_ocr *ocr);
void er_ocr_result_free(er_ocr_result *result);
void er_ocr_free(er_ocr *ocr);

#ifdef __cplusplus
}
#endif
#endif
