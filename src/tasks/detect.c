/* YOLO-family object detection: letterbox → model → decode (v5 or v8 layout) → class-wise
 * NMS → boxes in original image pixels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/font5x7.h"
#include "tasks/image.h"
#include "tasks/nms.h"
#include "tasks/task_common.h"

struct er_detector {
    er_detect_options opt;
    er_task_net net;
    er_labels labels;
    int width, height;
    float *input;
    int64_t input_dims[4];
    int has_run;
    char err[1024];
};

void er_detect_options_init(er_detect_options *o)
{
    memset(o, 0, sizeof(*o));
    er_vision_options_init(&o->vision);
    o->vision.letterbox = 1;
    o->conf = 0.25f;
    o->iou = 0.45f;
    o->max_det = 300;
}

const char *er_detect_error(const er_detector *d) { return d ? d->err : "no detector"; }

void er_detect_free(er_detector *d)
{
    if (!d) return;
    er_task_net_close(&d->net);
    er_labels_free(&d->labels);
    free(d->input);
    free(d);
}

void er_detect_result_free(er_detect_result *r)
{
    if (!r) return;
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static er_status check_options(const er_detect_options *o, er_msg *msg)
{
    bool ok = o->conf >= 0 && o->conf <= 1 && o->iou >= 0 && o->iou <= 1 && o->max_det > 0 &&
              (o->format == ER_YOLO_AUTO || o->format == ER_YOLO_V5 || o->format == ER_YOLO_V8);
    for (int k = 0; k < 3; k++) ok = ok && o->vision.std[k] > 0;
    if (ok) return ER_OK;
    return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG,
                   "bad detection options: conf and iou must lie in [0, 1], max_det > 0, std > 0, "
                   "format auto, 5 or 8");
}

static er_status detector_setup(er_detector *d, const char *path, er_msg *msg)
{
    char err[512];
    er_status st = er_task_net_open(&d->net, path, d->opt.vision.n_threads, msg);
    if (st != ER_OK) return st;
    st = er_vision_input_size(&d->net.input, &d->opt.vision, &d->width, &d->height, err, sizeof(err));
    if (st != ER_OK) return er_fail(msg->text, sizeof(msg->text), st, "model '%s': %s", path, err);
    if (d->opt.vision.labels[0] && (st = er_labels_load(d->opt.vision.labels, &d->labels, msg)) != ER_OK)
        return st;
    d->input = malloc(sizeof(float) * 3 * (size_t)d->width * (size_t)d->height);
    if (!d->input) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    bool nchw = d->opt.vision.layout == ER_LAYOUT_NCHW;
    int64_t dims[4] = {1, nchw ? 3 : d->height, nchw ? d->height : d->width, nchw ? d->width : 3};
    memcpy(d->input_dims, dims, sizeof(dims));
    return ER_OK;
}

er_status er_detect_create(const char *model_path, const er_detect_options *opts,
                           er_detector **out, er_msg *msg)
{
    er_msg local;
    if (!msg) msg = &local;
    msg->text[0] = 0;
    if (!out || !model_path)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG, "detector or model path is NULL");
    *out = NULL;
    er_detector *d = calloc(1, sizeof(*d));
    if (!d) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    if (opts) d->opt = *opts;
    else er_detect_options_init(&d->opt);
    er_status st = check_options(&d->opt, msg);
    if (st == ER_OK) st = detector_setup(d, model_path, msg);
    if (st != ER_OK) {
        er_detect_free(d);
        return st;
    }
    *out = d;
    return ER_OK;
}

/* How to read the output tensor: box k's field f is at data[k * k_stride + f * f_stride]. */
typedef struct yolo_layout {
    int64_t n_boxes;
    int n_classes;
    int objectness;        /* v5: field 4 is objectness, classes follow */
    int64_t k_stride, f_stride;
} yolo_layout;

static er_status pick_layout(er_detector *d, const er_tensor_view *v, yolo_layout *L)
{
    char buf[96];
    if (v->dtype != ER_F32 || v->ndim != 3 || v->dims[0] != 1)
        return er_task_fail(d->err, sizeof(d->err), ER_ERR_FORMAT,
                            "detector output '%s' is %s %s; expected float [1, N, 5+C] (YOLOv5) "
                            "or [1, 4+C, N] (YOLOv8)",
                            v->name, er_dtype_name(v->dtype), er_shape_str(v->dims, v->ndim, buf, sizeof(buf)));
    int64_t a = v->dims[1], b = v->dims[2];
    er_yolo_format f = d->opt.format;
    int nl = d->labels.count;
    if (f == ER_YOLO_AUTO) {
        if (nl && b == 5 + nl && a != 4 + nl) f = ER_YOLO_V5;
        else if (nl && a == 4 + nl && b != 5 + nl) f = ER_YOLO_V8;
        else f = a < b ? ER_YOLO_V8 : ER_YOLO_V5; /* boxes outnumber fields in real models */
    }
    int64_t fields = f == ER_YOLO_V5 ? b : a;
    memset(L, 0, sizeof(*L));
    L->objectness = f == ER_YOLO_V5;
    L->n_boxes = f == ER_YOLO_V5 ? a : b;
    L->k_stride = f == ER_YOLO_V5 ? b : 1;
    L->f_stride = f == ER_YOLO_V5 ? 1 : b;
    int64_t n_classes = fields - (L->objectness ? 5 : 4);
    if (n_classes < 1 || n_classes > 1 << 20 || L->n_boxes < 1)
        return er_task_fail(d->err, sizeof(d->err), ER_ERR_FORMAT,
                            "detector output %s has too few fields per box for the YOLOv%d layout",
                            er_shape_str(v->dims, v->ndim, buf, sizeof(buf)), (int)f);
    if (nl && nl != n_classes)
        return er_task_fail(d->err, sizeof(d->err), ER_ERR_SHAPE,
                            "the label file has %d labels but the model (YOLOv%d layout, output %s) "
                            "scores %lld classes", nl, (int)f, er_shape_str(v->dims, v->ndim, buf, sizeof(buf)),
                            (long long)n_classes);
    L->n_classes = (int)n_classes;
    return ER_OK;
}

static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Candidate boxes over the confidence threshold, in image pixels. */
static er_status decode(er_detector *d, const float *y, const yolo_layout *L, const er_letterbox *lb,
                        const er_image *img, er_detection **out, int *n_out)
{
    int cap = 0, n = 0;
    er_detection *c = NULL;
    for (int64_t k = 0; k < L->n_boxes; k++) {
        const float *p = y + k * L->k_stride;
        float obj = L->objectness ? p[4 * L->f_stride] : 1.0f;
        if (!(obj > d->opt.conf) && L->objectness) continue;
        const float *cls = p + (L->objectness ? 5 : 4) * L->f_stride;
        int best = 0;
        for (int j = 1; j < L->n_classes; j++)
            if (cls[j * L->f_stride] > cls[best * L->f_stride]) best = j;
        float score = obj * cls[best * L->f_stride];
        if (!(score > d->opt.conf)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            er_detection *g = realloc(c, sizeof(*c) * (size_t)cap);
            if (!g) {
                free(c);
                return er_task_fail(d->err, sizeof(d->err), ER_ERR_NOMEM, "out of memory");
            }
            c = g;
        }
        float cx = p[0], cy = p[L->f_stride], w = p[2 * L->f_stride], h = p[3 * L->f_stride];
        er_detection *e = &c[n];
        e->x0 = clampf((cx - w / 2 - lb->pad_x) / lb->scale_x, 0, (float)img->width);
        e->y0 = clampf((cy - h / 2 - lb->pad_y) / lb->scale_y, 0, (float)img->height);
        e->x1 = clampf((cx + w / 2 - lb->pad_x) / lb->scale_x, 0, (float)img->width);
        e->y1 = clampf((cy + h / 2 - lb->pad_y) / lb->scale_y, 0, (float)img->height);
        if (!(e->x1 > e->x0 && e->y1 > e->y0)) continue; /* wholly in the letterbox padding */
        n++;
        e->score = score;
        e->class_id = best;
        e->label = best < d->labels.count ? d->labels.names[best] : NULL;
    }
    *out = c;
    *n_out = n;
    return ER_OK;
}

static er_status run_model(er_detector *d, er_tensor_view *out)
{
    er_session *s = d->net.session;
    er_status st = er_session_set_input(s, d->net.input.name, ER_F32, d->input_dims, 4, d->input);
    if (st == ER_OK) st = er_session_run(s);
    if (st == ER_OK) st = er_session_output(s, 0, out);
    if (st != ER_OK) return er_task_fail(d->err, sizeof(d->err), st, "detector model: %s", er_session_error(s));
    return ER_OK;
}

static er_status suppress(er_detector *d, er_detection *cand, int n, er_detect_result *r)
{
    int *keep = malloc(sizeof(int) * (size_t)(n ? n : 1));
    r->items = malloc(sizeof(er_detection) * (size_t)(n ? n : 1));
    int kept = keep && r->items ? er_nms_classwise(cand, n, d->opt.iou, d->opt.max_det, keep) : -1;
    if (kept < 0) {
        free(keep);
        er_detect_result_free(r);
        return er_task_fail(d->err, sizeof(d->err), ER_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < kept; i++) r->items[i] = cand[keep[i]];
    r->count = kept;
    r->candidates = n;
    free(keep);
    return ER_OK;
}

er_status er_detect_run(er_detector *d, const er_image *img, er_detect_result *r)
{
    if (!d) return ER_ERR_INVALID_ARG;
    if (!img || !img->data || !r) return er_task_fail(d->err, sizeof(d->err), ER_ERR_INVALID_ARG, "image or result is NULL");
    memset(r, 0, sizeof(*r));
    er_letterbox lb;
    er_status st = er_vision_preprocess(img, &d->opt.vision, d->width, d->height, d->input, &lb);
    if (st != ER_OK) return er_task_fail(d->err, sizeof(d->err), st, "cannot resize the image to %dx%d", d->width, d->height);
    er_tensor_view v;
    yolo_layout L;
    if ((st = run_model(d, &v)) != ER_OK || (st = pick_layout(d, &v, &L)) != ER_OK) return st;
    d->has_run = 1;
    er_detection *cand = NULL;
    int n = 0;
    if ((st = decode(d, v.data, &L, &lb, img, &cand, &n)) != ER_OK) return st;
    st = suppress(d, cand, n, r);
    free(cand);
    return st;
}

er_status er_detect_tensors(const er_detector *d, er_tensor_view *input, er_tensor_view *output)
{
    if (!d || !input || !output || !d->has_run) return ER_ERR_INVALID_ARG;
    memset(input, 0, sizeof(*input));
    input->name = d->net.input.name;
    input->dtype = ER_F32;
    input->ndim = 4;
    memcpy(input->dims, d->input_dims, sizeof(d->input_dims));
    input->data = d->input;
    input->nbytes = sizeof(float) * 3 * (size_t)d->width * (size_t)d->height;
    return er_session_output(d->net.session, 0, output);
}

/* Distinct, saturated colours so neighbouring classes differ. */
static void class_color(int id, uint8_t rgb[3])
{
    static const uint8_t palette[8][3] = {{230, 25, 75},  {60, 180, 75},  {0, 130, 200}, {245, 130, 48},
                                          {145, 30, 180}, {70, 200, 200}, {240, 50, 230}, {128, 128, 0}};
    memcpy(rgb, palette[(unsigned)id % 8], 3);
}

static void fill_rect(er_image *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
    x0 = ER_MAX(x0, 0);
    y0 = ER_MAX(y0, 0);
    x1 = ER_MIN(x1, img->width);
    y1 = ER_MIN(y1, img->height);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) memcpy(img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3, rgb, 3);
}

void er_detect_draw(er_image *img, const er_detect_result *r)
{
    static const uint8_t white[3] = {255, 255, 255};
    if (!img || !img->data || !r) return;
    int side = ER_MIN(img->width, img->height);
    int scale = side >= 600 ? 2 : 1;
    int thick = ER_MAX(1, side / 300);
    for (int i = r->count - 1; i >= 0; i--) {
        const er_detection *e = &r->items[i];
        uint8_t rgb[3];
        class_color(e->class_id, rgb);
        const float pts[4][2] = {{e->x0, e->y0}, {e->x1, e->y0}, {e->x1, e->y1}, {e->x0, e->y1}};
        er_image_draw_polygon(img, pts, 4, rgb, thick);
        char text[96];
        if (e->label) snprintf(text, sizeof(text), "%s %.2f", e->label, e->score);
        else snprintf(text, sizeof(text), "%d %.2f", e->class_id, e->score);
        int tw = er_font_width(text, scale) + 2 * scale, th = (ER_FONT_H + 2) * scale;
        int tx = (int)e->x0, ty = (int)e->y0 - th;
        if (ty < 0) ty = (int)e->y0;
        fill_rect(img, tx, ty, tx + tw, ty + th, rgb);
        er_font_draw(img, tx + scale, ty + scale, text, scale, white);
    }
}
