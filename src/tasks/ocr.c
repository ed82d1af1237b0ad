/* PP-OCR pipeline: DB text detection → per-box crop → 180° direction classifier → CRNN/SVTR
 * recognition with CTC decoding. Pre- and post-processing follow PaddleOCR's inference
 * defaults so the published models see the inputs they were trained on. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "edgerun_tasks.h"
#include "tasks/ctc.h"
#include "tasks/db_post.h"
#include "tasks/image.h"
#include "tasks/word_gaps.h"

#define DET_MULTIPLE 32      /* the detector downsamples by 32 */
#define REC_HEIGHT 48
#define REC_MIN_WIDTH 320    /* PP-OCRv4 rec_image_shape 3,48,320: narrower lines are padded */
#define REC_WIDTH_STEP 32    /* pad widths to a multiple so sessions re-plan less often */
#define CLS_HEIGHT 48
#define CLS_WIDTH 192
#define TALL_CROP_RATIO 1.5f /* crops this much taller than wide hold vertical text */
/* An ink-free run this many mean character advances wide separates two words. Tuned on
 * rendered Latin lines (tools/render_text.py, seeds 7, 11, 23): gaps inside words stay below
 * 0.42 even in the monospaced font, gaps between words rarely fall under 0.47. */
#define WORD_GAP_ADVANCES 0.45f

typedef struct ocr_net {
    er_model *model;
    er_session *session;
    const char *input;    /* name of the model's first input (owned by the model) */
} ocr_net;

struct er_ocr {
    er_ocr_options opt;
    ocr_net det, rec, cls;
    er_charset charset;
    char err[1024];
};

static const float DET_MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float DET_STD[3] = {0.229f, 0.224f, 0.225f};
static const float HALF[3] = {0.5f, 0.5f, 0.5f};

void er_ocr_options_init(er_ocr_options *o)
{
    memset(o, 0, sizeof(*o));
    o->use_cls = 1;
    o->max_side = 960;
    o->det_thresh = 0.3f;
    o->box_thresh = 0.6f;
    o->unclip_ratio = 1.5f;
    o->cls_thresh = 0.9f;
    o->drop_score = 0.5f;
}

static er_status ocr_fail(er_ocr *o, er_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static er_status ocr_fail(er_ocr *o, er_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    er_vfail(o->err, sizeof(o->err), st, fmt, ap);
    va_end(ap);
    return st;
}

const char *er_ocr_error(const er_ocr *ocr) { return ocr ? ocr->err : "no OCR pipeline"; }

static void net_free(ocr_net *n)
{
    er_session_free(n->session);
    er_model_free(n->model);
    memset(n, 0, sizeof(*n));
}

static er_status net_open(ocr_net *n, const char *what, const char *path, int n_threads,
                          er_msg *msg)
{
    char why[sizeof(msg->text)];
    er_msg m = {{0}};
    er_status st = er_model_load_file(path, &n->model, &m);
    if (st == ER_OK && er_model_num_inputs(n->model) < 1) {
        snprintf(m.text, sizeof(m.text), "model has no inputs");
        st = ER_ERR_FORMAT;
    }
    er_value_info info;
    if (st == ER_OK) st = er_model_input_info(n->model, 0, &info);
    if (st == ER_OK) {
        n->input = info.name;
        er_session_options so;
        er_session_options_init(&so);
        so.n_threads = n_threads;
        st = er_session_create(n->model, &so, &n->session, &m);
    }
    if (st == ER_OK) return ER_OK;
    snprintf(why, sizeof(why), "%s", m.text);
    net_free(n);
    return er_fail(msg->text, sizeof(msg->text), st, "%s model '%s': %s", what, path, why);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static er_status ocr_open(er_ocr *o, const char *dir, er_msg *msg)
{
    static const char *defaults[4] = {"ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx",
                                      "ch_ppocr_mobile_v2.0_cls_infer.onnx", "ppocr_keys_v1.txt"};
    const char *given[4] = {o->opt.det_model, o->opt.rec_model, o->opt.cls_model, o->opt.keys};
    char *paths[4] = {0};
    er_status st = ER_OK;
    for (int i = 0; i < 4 && st == ER_OK; i++) {
        paths[i] = given[i] ? strdup(given[i]) : join_path(dir ? dir : ".", defaults[i]);
        if (!paths[i]) st = er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    }
    static const char *what[4] = {"detection model", "recognition model",
                                  "direction classifier model", "dictionary"};
    for (int i = 0; i < 4 && st == ER_OK; i++)
        if ((i != 2 || o->opt.use_cls) && access(paths[i], R_OK) != 0)
            st = er_fail(msg->text, sizeof(msg->text), ER_ERR_IO, "OCR %s '%s' not found", what[i],
                         paths[i]);
    if (st == ER_OK) st = er_charset_load(paths[3], &o->charset, msg);
    if (st == ER_OK) st = net_open(&o->det, "detection", paths[0], o->opt.n_threads, msg);
    if (st == ER_OK) st = net_open(&o->rec, "recognition", paths[1], o->opt.n_threads, msg);
    if (st == ER_OK && o->opt.use_cls)
        st = net_open(&o->cls, "direction classifier", paths[2], o->opt.n_threads, msg);
    for (int i = 0; i < 4; i++) free(paths[i]);
    return st;
}

er_status er_ocr_create(const char *model_dir, const er_ocr_options *opts, er_ocr **ocr,
                        er_msg *msg)
{
    er_msg local;
    if (!msg) msg = &local;
    msg->text[0] = 0;
    if (!ocr) return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG, "ocr is NULL");
    *ocr = NULL;
    er_ocr *o = calloc(1, sizeof(*o));
    if (!o) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    if (opts) o->opt = *opts;
    else er_ocr_options_init(&o->opt);
    if (o->opt.max_side < DET_MULTIPLE || o->opt.unclip_ratio <= 0 || o->opt.det_thresh <= 0 ||
        o->opt.det_thresh >= 1) {
        free(o);
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG,
                       "bad OCR options: max_side must be >= %d, unclip_ratio > 0, "
                       "det_thresh in (0, 1)", DET_MULTIPLE);
    }
    er_status st = ocr_open(o, model_dir, msg);
    if (st != ER_OK) {
        er_ocr_free(o);
        return st;
    }
    *ocr = o;
    return ER_OK;
}

void er_ocr_free(er_ocr *o)
{
    if (!o) return;
    net_free(&o->det);
    net_free(&o->rec);
    net_free(&o->cls);
    er_charset_free(&o->charset);
    free(o);
}

void er_ocr_result_free(er_ocr_result *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_lines; i++) free(r->lines[i].text);
    free(r->lines);
    memset(r, 0, sizeof(*r));
}

/* Runs net on one NCHW float input and returns its first output, checked to be float of
 * rank `rank`. */
static er_status net_run(er_ocr *o, ocr_net *n, const char *what, const float *x, int c, int h,
                         int w, int rank, er_tensor_view *out)
{
    const int64_t dims[4] = {1, c, h, w};
    er_status st = er_session_set_input(n->session, n->input, ER_F32, dims, 4, x);
    if (st == ER_OK) st = er_session_run(n->session);
    if (st == ER_OK) st = er_session_output(n->session, 0, out);
    if (st != ER_OK)
        return ocr_fail(o, st, "%s model on a %dx%d input: %s", what, w, h,
                        er_session_error(n->session));
    if (out->dtype != ER_F32 || out->ndim != rank || out->dims[0] != 1 || !out->data) {
        char buf[96];
        return ocr_fail(o, ER_ERR_FORMAT, "%s model returned %s %s, expected float of rank %d",
                        what, er_dtype_name(out->dtype),
                        er_shape_str(out->dims, out->ndim, buf, sizeof(buf)), rank);
    }
    return ER_OK;
}

/* Planar float buffer of 3 x h x w; NULL when the size is absurd or memory is short. */
static float *alloc_planes(int h, int w)
{
    if (h <= 0 || w <= 0 || (int64_t)h * w > (1LL << 28)) return NULL;
    return malloc(sizeof(float) * 3 * (size_t)h * (size_t)w);
}

static int det_side(int side, float ratio)
{
    int s = (int)((float)side * ratio);
    s = (int)lrintf((float)s / DET_MULTIPLE) * DET_MULTIPLE;
    return s < DET_MULTIPLE ? DET_MULTIPLE : s;
}

static er_status detect(er_ocr *o, const er_image *img, er_text_box **boxes, int *n_boxes)
{
    int longest = ER_MAX(img->width, img->height);
    float ratio = longest > o->opt.max_side ? (float)o->opt.max_side / (float)longest : 1.f;
    int w = det_side(img->width, ratio), h = det_side(img->height, ratio);
    er_image small;
    er_status st = er_image_resize(img, w, h, &small);
    if (st != ER_OK) return ocr_fail(o, st, "cannot resize the image to %dx%d", w, h);
    float *x = alloc_planes(h, w);
    if (!x) {
        er_image_free(&small);
        return ocr_fail(o, ER_ERR_NOMEM, "out of memory for the detection input");
    }
    er_image_to_chw_bgr(&small, w, DET_MEAN, DET_STD, 0.f, x);
    er_image_free(&small);
    er_tensor_view out;
    st = net_run(o, &o->det, "detection", x, 3, h, w, 4, &out);
    free(x);
    if (st != ER_OK) return st;
    if (out.dims[1] != 1 || out.dims[2] != h || out.dims[3] != w)
        return ocr_fail(o, ER_ERR_FORMAT, "detection map is %lldx%lld, expected %dx%d",
                        (long long)out.dims[3], (long long)out.dims[2], w, h);
    er_db_params p = {o->opt.det_thresh, o->opt.box_thresh, o->opt.unclip_ratio, 1000};
    st = er_db_boxes(out.data, w, h, img->width, img->height, &p, boxes, n_boxes);
    if (st != ER_OK) return ocr_fail(o, st, "detection post-processing failed (%s)", er_status_str(st));
    return ER_OK;
}

static float dist2(const float *a, const float *b)
{
    return sqrtf((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));
}

/* Straightened image of the box; tall crops are turned so the text runs horizontally. */
static er_status crop_box(const er_image *img, const er_text_box *b, er_image *crop)
{
    int w = (int)fmaxf(dist2(b->pts[0], b->pts[1]), dist2(b->pts[2], b->pts[3]));
    int h = (int)fmaxf(dist2(b->pts[0], b->pts[3]), dist2(b->pts[1], b->pts[2]));
    er_status st = er_image_warp_quad(img, (const float (*)[2])b->pts, w, h, crop);
    if (st != ER_OK || (float)h < TALL_CROP_RATIO * (float)w) return st;
    er_image turned;
    st = er_image_rotate90(crop, &turned);
    er_image_free(crop);
    *crop = turned;
    return st;
}

/* Resizes crop to height `height`, width proportional but at most max_w, and packs it
 * normalised to [-1, 1] into a zero-padded planar buffer `stride` wide. */
static er_status pack_line(const er_image *crop, int height, int max_w, int stride, float *x)
{
    int w = (int)ceilf((float)height * (float)crop->width / (float)crop->height);
    w = w < 1 ? 1 : (w > max_w ? max_w : w);
    er_image r;
    er_status st = er_image_resize(crop, w, height, &r);
    if (st != ER_OK) return st;
    er_image_to_chw_bgr(&r, stride, HALF, HALF, 0.f, x);
    er_image_free(&r);
    return ER_OK;
}

static er_status classify(er_ocr *o, er_image *crop, int *rotated)
{
    *rotated = 0;
    float *x = alloc_planes(CLS_HEIGHT, CLS_WIDTH);
    if (!x) return ocr_fail(o, ER_ERR_NOMEM, "out of memory for the classifier input");
    er_status st = pack_line(crop, CLS_HEIGHT, CLS_WIDTH, CLS_WIDTH, x);
    er_tensor_view out;
    if (st == ER_OK) st = net_run(o, &o->cls, "direction classifier", x, 3, CLS_HEIGHT, CLS_WIDTH, 2, &out);
    else ocr_fail(o, st, "cannot prepare a line for the classifier");
    free(x);
    if (st != ER_OK) return st;
    if (out.dims[1] != 2)
        return ocr_fail(o, ER_ERR_FORMAT, "direction classifier has %lld classes, expected 2",
                        (long long)out.dims[1]);
    const float *p = out.data;
    if (p[1] > p[0] && p[1] > o->opt.cls_thresh) {
        er_image_rotate180(crop);
        *rotated = 1;
    }
    return ER_OK;
}

/* Text of the recognition output for the line in x (REC_HEIGHT x stride, text in the first
 * `width` columns), with spaces put back at the word gaps of the image. */
static er_status decode_line(er_ocr *o, const er_tensor_view *out, const float *x, int stride,
                             int width, char **text, float *score)
{
    int T = (int)out->dims[1];
    er_ctc_sym *syms = NULL;
    int n = 0;
    uint8_t *gaps = NULL;
    er_status st = er_ctc_greedy_path(out->data, T, (int)out->dims[2], &syms, &n);
    if (st == ER_OK && n > 0 && !(gaps = malloc((size_t)n))) st = ER_ERR_NOMEM;
    if (st == ER_OK && n > 1 && T > 0) {
        er_line_planes line = {x, REC_HEIGHT, stride, width};
        st = er_word_gaps(&line, (float)stride / (float)T, syms, n, WORD_GAP_ADVANCES, gaps);
    }
    if (st == ER_OK) st = er_ctc_text(syms, n, &o->charset, gaps, text, score);
    free(syms);
    free(gaps);
    if (st != ER_OK) return ocr_fail(o, st, "CTC decoding failed (%s)", er_status_str(st));
    return ER_OK;
}

static er_status recognize(er_ocr *o, const er_image *crop, char **text, float *score)
{
    int w = (int)ceilf((float)REC_HEIGHT * (float)crop->width / (float)crop->height);
    int stride = ER_MAX(REC_MIN_WIDTH, (w + REC_WIDTH_STEP - 1) / REC_WIDTH_STEP * REC_WIDTH_STEP);
    float *x = alloc_planes(REC_HEIGHT, stride);
    if (!x) return ocr_fail(o, ER_ERR_NOMEM, "out of memory for a %d px wide text line", stride);
    er_status st = pack_line(crop, REC_HEIGHT, stride, stride, x);
    er_tensor_view out;
    if (st == ER_OK) st = net_run(o, &o->rec, "recognition", x, 3, REC_HEIGHT, stride, 3, &out);
    else ocr_fail(o, st, "cannot prepare a line for recognition");
    if (st == ER_OK && out.dims[2] != o->charset.n + 1)
        st = ocr_fail(o, ER_ERR_FORMAT, "recognition model has %lld classes but the dictionary "
                      "gives %d (+1 blank)", (long long)out.dims[2], o->charset.n);
    if (st == ER_OK) st = decode_line(o, &out, x, stride, ER_MIN(ER_MAX(w, 1), stride), text, score);
    free(x);
    return st;
}

/* Classifies and recognises one box; *line->text stays NULL when the line is dropped. */
static er_status read_box(er_ocr *o, const er_image *img, const er_text_box *b, er_ocr_line *line,
                          er_ocr_result *r)
{
    memset(line, 0, sizeof(*line));
    er_image crop;
    er_status st = crop_box(img, b, &crop);
    if (st == ER_ERR_INVALID_ARG) return ER_OK; /* a box too thin to hold a pixel row */
    if (st != ER_OK) return ocr_fail(o, st, "cannot crop a text box");
    double t0 = er_now();
    if (o->opt.use_cls) st = classify(o, &crop, &line->rotated);
    double t1 = er_now();
    float score = 0;
    char *text = NULL;
    if (st == ER_OK) st = recognize(o, &crop, &text, &score);
    r->cls_seconds += t1 - t0;
    r->rec_seconds += er_now() - t1;
    er_image_free(&crop);
    if (st != ER_OK) return st;
    if (score < o->opt.drop_score || !text[0]) {
        free(text);
        return ER_OK;
    }
    memcpy(line->box, b->pts, sizeof(line->box));
    line->text = text;
    line->score = score;
    line->box_score = b->score;
    line->row = b->row;
    return ER_OK;
}

er_status er_ocr_run(er_ocr *o, const er_image *img, er_ocr_result *r)
{
    if (!o) return ER_ERR_INVALID_ARG;
    o->err[0] = 0;
    if (!r) return ocr_fail(o, ER_ERR_INVALID_ARG, "result is NULL");
    memset(r, 0, sizeof(*r));
    if (!img || !img->data || img->width <= 0 || img->height <= 0)
        return ocr_fail(o, ER_ERR_INVALID_ARG, "empty image");
    double t0 = er_now();
    er_text_box *boxes;
    int n;
    er_status st = detect(o, img, &boxes, &n);
    r->det_seconds = er_now() - t0;
    if (st != ER_OK) return st;
    r->n_boxes = n;
    r->lines = calloc((size_t)(n > 0 ? n : 1), sizeof(*r->lines));
    if (!r->lines) {
        free(boxes);
        return ocr_fail(o, ER_ERR_NOMEM, "out of memory for %d lines", n);
    }
    for (int i = 0; i < n && st == ER_OK; i++) {
        er_ocr_line *line = &r->lines[r->n_lines];
        st = read_box(o, img, &boxes[i], line, r);
        if (st == ER_OK && line->text) r->n_lines++;
    }
    free(boxes);
    if (st != ER_OK) er_ocr_result_free(r);
    return st;
}
