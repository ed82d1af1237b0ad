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

/* ---- Image classification, object detection and text classification ----
 *
 * Each pipeline is an opaque handle: *_options_init → optionally *_options_load_sidecar
 * (preprocessing and label files from a JSON file beside the model) → *_create → *_run (any
 * number of times) → *_free. Errors: constructors fill an optional er_msg; a handle keeps the
 * message of its last failed call (er_*_error). For example:
 *
 *     er_vision_options o;
 *     er_vision_options_init(&o);
 *     er_vision_options_load_sidecar("digits_cls.onnx", &o, NULL, &msg);
 *     er_classifier *c;
 *     if (er_classify_create("digits_cls.onnx", &o, &c, &msg) != ER_OK) puts(msg.text);
 *     er_class_score top[3];
 *     int n;
 *     if (er_classify_run(c, &img, 3, top, &n) == ER_OK) printf("%s %.3f\n", top[0].label, top[0].prob);
 *     er_classify_free(c); */

#define ER_TASK_PATH_MAX 1024

typedef enum er_layout {
    ER_LAYOUT_NCHW = 0,
    ER_LAYOUT_NHWC = 1
} er_layout;

/* How an RGB image becomes the model's float input. */
typedef struct er_vision_options {
    int width, height;       /* model input size in pixels; 0: the model's declared size */
    float mean[3];           /* input = (pixel / 255 - mean[c]) / std[c], c in R, G, B order */
    float std[3];
    er_layout layout;
    int bgr;                 /* 1: channels in B, G, R order (after normalisation) */
    int letterbox;           /* 1: keep the aspect ratio, pad with gray 114; 0: stretch */
    int resize_area;         /* 1: area (box-filter) resampling when shrinking; 0: bilinear */
    int n_threads;           /* 0: one per core */
    char labels[ER_TASK_PATH_MAX]; /* label file, one label per line; "": class numbers */
} er_vision_options;

/* Defaults: size from the model, mean 0, std 1, NCHW, RGB, stretch. */
void er_vision_options_init(er_vision_options *opts);
/* Reads MODEL.json (the model path with ".onnx" replaced) or MODEL.onnx.json when one
 * exists: {"size": [w, h] or n, "mean": [3], "std": [3], "layout": "nchw"|"nhwc",
 * "bgr": bool, "letterbox": bool, "resize": "bilinear"|"area",
 * "labels": "file relative to the JSON"}. Fields present
 * overwrite opts. *found (optional) tells whether a sidecar was read. */
er_status er_vision_options_load_sidecar(const char *model_path, er_vision_options *opts,
                                         int *found, er_msg *msg);

/* Label file lines; shared by the pipelines. */
typedef struct er_labels {
    int count;
    char **names;
} er_labels;
er_status er_labels_load(const char *path, er_labels *labels, er_msg *msg);
void er_labels_free(er_labels *labels);

/* Classification: softmax over the model's first output, [1, C] (or [C], [1, C, 1, 1]);
 * an output that already is a distribution (non-negative, summing to 1) is used as it is. */
typedef struct er_classifier er_classifier;

typedef struct er_class_score {
    int index;
    float prob;              /* softmax probability */
    float logit;             /* the model's raw output */
    const char *label;       /* owned by the classifier; NULL without a label file */
} er_class_score;

er_status er_classify_create(const char *model_path, const er_vision_options *opts,
                             er_classifier **cls, er_msg *msg);
/* Writes the top_k best classes, best first, into out[0..*n_out). */
er_status er_classify_run(er_classifier *cls, const er_image *img, int top_k,
                          er_class_score *out, int *n_out);
int er_classify_num_classes(const er_classifier *cls);
/* The preprocessed input and raw output of the last run (valid until the next run/free). */
er_status er_classify_tensors(const er_classifier *cls, er_tensor_view *input,
                              er_tensor_view *output);
const char *er_classify_error(const er_classifier *cls);
void er_classify_free(er_classifier *cls);

/* Detection: YOLO-family outputs, either [1, N, 5+C] (YOLOv5: cx, cy, w, h, objectness,
 * class scores) or [1, 4+C, N] (YOLOv8: cx, cy, w, h, class scores), boxes in input pixels.
 * The layout is told apart by shape; opts.format forces one. */
typedef enum er_yolo_format {
    ER_YOLO_AUTO = 0,
    ER_YOLO_V5 = 5,
    ER_YOLO_V8 = 8
} er_yolo_format;

typedef struct er_detect_options {
    er_vision_options vision; /* letterbox defaults to 1 here */
    float conf;              /* minimum score (v5: objectness x class score) (0.25) */
    float iou;               /* NMS overlap threshold, per class (0.45) */
    int max_det;             /* most boxes kept (300) */
    er_yolo_format format;
} er_detect_options;

typedef struct er_detection {
    float x0, y0, x1, y1;    /* original image pixels */
    float score;
    int class_id;
    const char *label;       /* owned by the detector; NULL without a label file */
} er_detection;

typedef struct er_detect_result {
    int count;
    er_detection *items;     /* best score first */
    int candidates;          /* boxes over conf before NMS */
} er_detect_result;

typedef struct er_detector er_detector;

void er_detect_options_init(er_detect_options *opts);
er_status er_detect_create(const char *model_path, const er_detect_options *opts,
                           er_detector **det, er_msg *msg);
er_status er_detect_run(er_detector *det, const er_image *img, er_detect_result *result);
er_status er_detect_tensors(const er_detector *det, er_tensor_view *input,
                            er_tensor_view *output);
const char *er_detect_error(const er_detector *det);
void er_detect_result_free(er_detect_result *result);
void er_detect_free(er_detector *det);
/* Draws each box with its label and score (built-in 5x7 font). */
void er_detect_draw(er_image *img, const er_detect_result *result);

/* Text classification: BERT WordPiece tokenizer + a BERT-family classifier with inputs
 * input_ids, attention_mask and (optionally) token_type_ids, output logits [1, C] (softmax),
 * or [1, 1] (a binary classifier's logit for class 1: sigmoid). */
typedef struct er_text_options {
    char vocab[ER_TASK_PATH_MAX];  /* WordPiece vocabulary, one piece per line */
    char labels[ER_TASK_PATH_MAX]; /* "": class numbers */
    int lowercase;           /* 1: uncased model (lowercase and strip accents) (1) */
    int max_length;          /* tokens including [CLS] and [SEP]; longer text is cut (128) */
    int n_threads;
} er_text_options;

typedef struct er_text_result {
    int index;               /* best class */
    float prob;
    const char *label;       /* owned by the classifier; NULL without labels */
    int n_classes;
    float probs[16];         /* first min(n_classes, 16) probabilities */
    int n_tokens;            /* after truncation, with [CLS] and [SEP] */
} er_text_result;

typedef struct er_text_classifier er_text_classifier;

void er_text_options_init(er_text_options *opts);
/* Reads MODEL.json beside the model: {"vocab": file, "labels": file, "lowercase": bool,
 * "max_length": n}; paths relative to the JSON. */
er_status er_text_options_load_sidecar(const char *model_path, er_text_options *opts,
                                       int *found, er_msg *msg);
er_status er_text_classify_create(const char *model_path, const er_text_options *opts,
                                  er_text_classifier **tc, er_msg *msg);
er_status er_text_classify_run(er_text_classifier *tc, const char *text, er_text_result *result);
/* Token ids of text as the classifier feeds them; *n gets the count (at most cap written). */
er_status er_text_classify_tokenize(er_text_classifier *tc, const char *text, int32_t *ids,
                                    int cap, int *n);
const char *er_text_classify_error(const er_text_classifier *tc);
void er_text_classify_free(er_text_classifier *tc);

#ifdef __cplusplus
}
#endif
#endif
