#include "tasks/task_common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/image.h"

#define SIDECAR_MAX_BYTES (1 << 16)
#define LETTERBOX_GRAY 114

er_status er_task_fail(char *buf, size_t size, er_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    er_vfail(buf, size, st, fmt, ap);
    va_end(ap);
    return st;
}

/* ---- sidecar JSON ---- */

typedef struct json_cur {
    const char *p;
    char *err;
    size_t err_size;
} json_cur;

static void skip_ws(json_cur *c)
{
    while (*c->p && isspace((unsigned char)*c->p)) c->p++;
}

static er_status json_error(json_cur *c, const char *what)
{
    if (!*c->p) return er_task_fail(c->err, c->err_size, ER_ERR_FORMAT, "%s at the end of the text", what);
    return er_task_fail(c->err, c->err_size, ER_ERR_FORMAT, "%s near '%.20s'", what, c->p);
}

/* Strings: escapes of quote, backslash and slash only; the sidecars hold file names. */
static er_status parse_string(json_cur *c, char *out, size_t size)
{
    size_t n = 0;
    if (*c->p != '"') return json_error(c, "expected a string");
    c->p++;
    while (*c->p && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            ch = *c->p++;
            if (ch != '"' && ch != '\\' && ch != '/') return json_error(c, "unsupported string escape");
        }
        if (n + 1 >= size) return json_error(c, "string too long");
        out[n++] = ch;
    }
    if (*c->p != '"') return json_error(c, "unterminated string");
    c->p++;
    out[n] = 0;
    return ER_OK;
}

static er_status parse_scalar(json_cur *c, er_json_value *v, int item)
{
    if (*c->p == '"') {
        if (item > 0) return json_error(c, "arrays of strings are not supported");
        v->kind = ER_JSON_STR;
        return parse_string(c, v->str, sizeof(v->str));
    }
    if (strncmp(c->p, "true", 4) == 0 || strncmp(c->p, "false", 5) == 0) {
        v->num[item] = c->p[0] == 't';
        c->p += c->p[0] == 't' ? 4 : 5;
        if (item == 0 && v->kind != ER_JSON_ARRAY) v->kind = ER_JSON_BOOL;
        return ER_OK;
    }
    char *end = NULL;
    double x = strtod(c->p, &end);
    if (end == c->p || !isfinite(x)) return json_error(c, "expected a number, string or bool");
    c->p = end;
    v->num[item] = x;
    if (item == 0 && v->kind != ER_JSON_ARRAY) v->kind = ER_JSON_NUM;
    return ER_OK;
}

static er_status parse_value(json_cur *c, er_json_value *v)
{
    skip_ws(c);
    if (*c->p != '[') {
        v->n_items = 1;
        return parse_scalar(c, v, 0);
    }
    c->p++;
    v->kind = ER_JSON_ARRAY;
    v->n_items = 0;
    skip_ws(c);
    if (*c->p == ']') {
        c->p++;
        return ER_OK;
    }
    for (;;) {
        skip_ws(c);
        if (v->n_items == ER_SIDECAR_MAX_ITEMS) return json_error(c, "array too long");
        er_status st = parse_scalar(c, v, v->n_items++);
        if (st != ER_OK) return st;
        skip_ws(c);
        if (*c->p == ']') {
            c->p++;
            return ER_OK;
        }
        if (*c->p != ',') return json_error(c, "expected ',' or ']'");
        c->p++;
    }
}

er_status er_sidecar_parse(const char *text, er_sidecar *sc, char *err, size_t err_size)
{
    json_cur c = {text, err, err_size};
    sc->n = 0;
    skip_ws(&c);
    if (*c.p != '{') return json_error(&c, "expected a JSON object");
    c.p++;
    skip_ws(&c);
    if (*c.p == '}') c.p++;
    else
        for (;;) {
            skip_ws(&c);
            if (sc->n == ER_SIDECAR_MAX_KEYS) return json_error(&c, "too many keys");
            er_json_value *v = &sc->values[sc->n];
            memset(v, 0, sizeof(*v));
            er_status st = parse_string(&c, v->key, sizeof(v->key));
            if (st != ER_OK) return st;
            skip_ws(&c);
            if (*c.p != ':') return json_error(&c, "expected ':'");
            c.p++;
            if ((st = parse_value(&c, v)) != ER_OK) return st;
            sc->n++;
            skip_ws(&c);
            if (*c.p == '}') {
                c.p++;
                break;
            }
            if (*c.p != ',') return json_error(&c, "expected ',' or '}'");
            c.p++;
        }
    skip_ws(&c);
    if (*c.p) return json_error(&c, "text after the JSON object");
    return ER_OK;
}

const er_json_value *er_sidecar_get(const er_sidecar *sc, const char *key)
{
    for (int i = 0; i < sc->n; i++)
        if (strcmp(sc->values[i].key, key) == 0) return &sc->values[i];
    return NULL;
}

void er_sidecar_path(const er_sidecar *sc, const char *rel, char *out, size_t size)
{
    /* A path longer than `size` is cut; opening it then fails with its (cut) name. */
    size_t used = 0;
    if (size < 2) {
        if (size) out[0] = 0;
        return;
    }
    if (rel[0] != '/' && sc->dir[0]) {
        size_t dl = strlen(sc->dir);
        if (dl > size - 2) dl = size - 2;
        memcpy(out, sc->dir, dl);
        out[dl] = '/';
        used = dl + 1;
    }
    size_t rl = strlen(rel);
    if (rl > size - 1 - used) rl = size - 1 - used;
    memcpy(out + used, rel, rl);
    out[used + rl] = 0;
}

static er_status read_text(const char *path, char **text, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return er_task_fail(err, err_size, ER_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char *buf = malloc(SIDECAR_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return er_task_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, SIDECAR_MAX_BYTES + 1, f);
    fclose(f);
    if (n > SIDECAR_MAX_BYTES) {
        free(buf);
        return er_task_fail(err, err_size, ER_ERR_FORMAT, "'%s' is larger than %d bytes", path,
                            SIDECAR_MAX_BYTES);
    }
    buf[n] = 0;
    *text = buf;
    return ER_OK;
}

static bool candidate_path(const char *model_path, int which, char *out, size_t size)
{
    size_t len = strlen(model_path);
    if (which == 0) {
        if (len < 5 || strcmp(model_path + len - 5, ".onnx") != 0) return false;
        return snprintf(out, size, "%.*s.json", (int)(len - 5), model_path) < (int)size;
    }
    return snprintf(out, size, "%s.json", model_path) < (int)size;
}

er_status er_sidecar_read(const char *model_path, er_sidecar *sc, int *found, er_msg *msg)
{
    *found = 0;
    memset(sc, 0, sizeof(*sc));
    for (int which = 0; which < 2 && !*found; which++) {
        FILE *probe;
        if (!candidate_path(model_path, which, sc->path, sizeof(sc->path))) continue;
        if (!(probe = fopen(sc->path, "rb"))) continue;
        fclose(probe);
        *found = 1;
    }
    if (!*found) return ER_OK;
    char *text = NULL, err[512];
    er_status st = read_text(sc->path, &text, err, sizeof(err));
    if (st == ER_OK) {
        st = er_sidecar_parse(text, sc, err, sizeof(err));
        free(text);
    }
    if (st != ER_OK) return er_fail(msg->text, sizeof(msg->text), st, "sidecar '%s': %s", sc->path, err);
    const char *slash = strrchr(sc->path, '/');
    if (slash) snprintf(sc->dir, sizeof(sc->dir), "%.*s", (int)(slash - sc->path), sc->path);
    return ER_OK;
}

/* ---- labels ---- */

er_status er_labels_load(const char *path, er_labels *labels, er_msg *msg)
{
    er_msg local;
    if (!msg) msg = &local;
    memset(labels, 0, sizeof(*labels));
    char *text = NULL, err[512];
    er_status st = read_text(path, &text, err, sizeof(err));
    if (st == ER_OK && !strchr(text, '\n') && strlen(text) == SIDECAR_MAX_BYTES)
        st = er_task_fail(err, sizeof(err), ER_ERR_FORMAT, "no line breaks");
    if (st != ER_OK) {
        free(text);
        return er_fail(msg->text, sizeof(msg->text), st, "label file: %s", err);
    }
    int lines = 1;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    labels->names = calloc((size_t)lines, sizeof(char *));
    for (char *line = text, *next; labels->names && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r') line[--n] = 0;
        if (!(labels->names[labels->count] = strdup(line))) break;
        labels->count++;
        if (!next) break;
    }
    bool ok = labels->names && (labels->count == lines || labels->count == lines - 1);
    free(text);
    if (!ok) {
        er_labels_free(labels);
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory reading labels");
    }
    return ER_OK;
}

void er_labels_free(er_labels *labels)
{
    if (!labels) return;
    for (int i = 0; i < labels->count; i++) free(labels->names[i]);
    free(labels->names);
    memset(labels, 0, sizeof(*labels));
}

/* ---- vision options ---- */

void er_vision_options_init(er_vision_options *o)
{
    memset(o, 0, sizeof(*o));
    for (int c = 0; c < 3; c++) o->std[c] = 1.0f;
    o->layout = ER_LAYOUT_NCHW;
}

static er_status read_triple(const er_sidecar *sc, const char *key, float out[3], er_msg *msg)
{
    const er_json_value *v = er_sidecar_get(sc, key);
    if (!v) return ER_OK;
    if (v->kind == ER_JSON_NUM) {
        out[0] = out[1] = out[2] = (float)v->num[0];
        return ER_OK;
    }
    if (v->kind != ER_JSON_ARRAY || v->n_items != 3)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT,
                       "sidecar '%s': \"%s\" must be a number or 3 numbers", sc->path, key);
    for (int c = 0; c < 3; c++) out[c] = (float)v->num[c];
    return ER_OK;
}

static er_status read_vision(const er_sidecar *sc, void *opts, er_msg *msg)
{
    er_vision_options *o = opts;
    er_status st = read_triple(sc, "mean", o->mean, msg);
    if (st == ER_OK) st = read_triple(sc, "std", o->std, msg);
    if (st != ER_OK) return st;
    const er_json_value *v = er_sidecar_get(sc, "size");
    if (v) {
        bool ok = (v->kind == ER_JSON_NUM || (v->kind == ER_JSON_ARRAY && v->n_items == 2)) &&
                  v->num[0] >= 1 && v->num[0] <= 8192;
        double h = v->kind == ER_JSON_NUM ? v->num[0] : v->num[1];
        if (!ok || h < 1 || h > 8192)
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT,
                           "sidecar '%s': \"size\" must be n or [width, height] in 1..8192", sc->path);
        o->width = (int)v->num[0];
        o->height = (int)h;
    }
    if ((v = er_sidecar_get(sc, "layout"))) {
        if (v->kind == ER_JSON_STR && strcmp(v->str, "nchw") == 0) o->layout = ER_LAYOUT_NCHW;
        else if (v->kind == ER_JSON_STR && strcmp(v->str, "nhwc") == 0) o->layout = ER_LAYOUT_NHWC;
        else
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT,
                           "sidecar '%s': \"layout\" must be \"nchw\" or \"nhwc\"", sc->path);
    }
    if ((v = er_sidecar_get(sc, "bgr"))) o->bgr = v->num[0] != 0;
    if ((v = er_sidecar_get(sc, "letterbox"))) o->letterbox = v->num[0] != 0;
    if ((v = er_sidecar_get(sc, "resize"))) {
        if (v->kind == ER_JSON_STR && strcmp(v->str, "area") == 0) o->resize_area = 1;
        else if (v->kind == ER_JSON_STR && strcmp(v->str, "bilinear") == 0) o->resize_area = 0;
        else
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT,
                           "sidecar '%s': \"resize\" must be \"bilinear\" or \"area\"", sc->path);
    }
    if ((v = er_sidecar_get(sc, "labels"))) {
        if (v->kind != ER_JSON_STR)
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT,
                           "sidecar '%s': \"labels\" must be a file name", sc->path);
        er_sidecar_path(sc, v->str, o->labels, sizeof(o->labels));
    }
    return ER_OK;
}

er_status er_sidecar_load(const char *model_path, void *opts, er_sidecar_apply_fn apply, int *found,
                          er_msg *msg)
{
    er_msg local;
    int dummy;
    if (!msg) msg = &local;
    if (!found) found = &dummy;
    if (!model_path || !opts)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG, "model path or options is NULL");
    er_sidecar *sc = malloc(sizeof(*sc));
    if (!sc) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    er_status st = er_sidecar_read(model_path, sc, found, msg);
    if (st == ER_OK && *found) st = apply(sc, opts, msg);
    free(sc);
    return st;
}

er_status er_vision_options_load_sidecar(const char *model_path, er_vision_options *o,
                                         int *found, er_msg *msg)
{
    return er_sidecar_load(model_path, o, read_vision, found, msg);
}

/* ---- model opening ---- */

er_status er_task_net_open(er_task_net *net, const char *path, int n_threads, er_msg *msg)
{
    memset(net, 0, sizeof(*net));
    er_msg m = {{0}};
    er_status st = er_model_load_file(path, &net->model, msg);
    if (st != ER_OK) return st; /* the loader's message names the file */
    if (er_model_num_inputs(net->model) < 1) {
        snprintf(m.text, sizeof(m.text), "model has no inputs");
        st = ER_ERR_FORMAT;
    }
    if (st == ER_OK && er_model_num_outputs(net->model) < 1) {
        snprintf(m.text, sizeof(m.text), "model has no outputs");
        st = ER_ERR_FORMAT;
    }
    if (st == ER_OK) st = er_model_input_info(net->model, 0, &net->input);
    if (st == ER_OK) {
        er_session_options so;
        er_session_options_init(&so);
        so.n_threads = n_threads;
        st = er_session_create(net->model, &so, &net->session, &m);
    }
    if (st == ER_OK) return ER_OK;
    char why[sizeof(m.text)];
    snprintf(why, sizeof(why), "%s", m.text);
    er_task_net_close(net);
    return er_fail(msg->text, sizeof(msg->text), st, "model '%s': %s", path, why);
}

void er_task_net_close(er_task_net *net)
{
    er_session_free(net->session);
    er_model_free(net->model);
    memset(net, 0, sizeof(*net));
}

/* ---- preprocessing ---- */

er_status er_vision_input_size(const er_value_info *in, const er_vision_options *o, int *width,
                               int *height, char *err, size_t err_size)
{
    if (in->dtype != ER_F32)
        return er_task_fail(err, err_size, ER_ERR_UNSUPPORTED, "input '%s' is %s; only float32 image inputs are supported",
                            in->name, er_dtype_name(in->dtype));
    if (in->ndim != 4)
        return er_task_fail(err, err_size, ER_ERR_SHAPE, "input '%s' has rank %d, expected a 4-D image tensor",
                            in->name, in->ndim);
    int c_axis = o->layout == ER_LAYOUT_NCHW ? 1 : 3;
    int h_axis = o->layout == ER_LAYOUT_NCHW ? 2 : 1;
    if (in->dims[c_axis] >= 0 && in->dims[c_axis] != 3)
        return er_task_fail(err, err_size, ER_ERR_SHAPE,
                            "input '%s' has %lld channels on axis %d, expected 3 for layout %s",
                            in->name, (long long)in->dims[c_axis], c_axis,
                            o->layout == ER_LAYOUT_NCHW ? "nchw" : "nhwc");
    int64_t h = in->dims[h_axis], w = in->dims[h_axis + 1];
    *width = w > 0 ? (int)w : o->width;
    *height = h > 0 ? (int)h : o->height;
    if (*width <= 0 || *height <= 0)
        return er_task_fail(err, err_size, ER_ERR_INVALID_ARG,
                            "input '%s' has no fixed size; give one (--size or \"size\" in the sidecar)",
                            in->name);
    if (*width > 8192 || *height > 8192)
        return er_task_fail(err, err_size, ER_ERR_INVALID_ARG, "input size %dx%d is too large",
                            *width, *height);
    return ER_OK;
}

static er_status fit_image(const er_image *img, const er_vision_options *o, int w, int h,
                           er_image *dst, er_letterbox *lb)
{
    er_status (*resize)(const er_image *, int, int, er_image *) =
        o->resize_area ? er_image_resize_area : er_image_resize;
    if (!o->letterbox) {
        lb->scale_x = (float)w / (float)img->width;
        lb->scale_y = (float)h / (float)img->height;
        lb->pad_x = lb->pad_y = 0;
        return resize(img, w, h, dst);
    }
    float r = ER_MIN((float)w / (float)img->width, (float)h / (float)img->height);
    int nw = ER_MAX(1, (int)lroundf((float)img->width * r));
    int nh = ER_MAX(1, (int)lroundf((float)img->height * r));
    int px = (w - nw) / 2, py = (h - nh) / 2;
    er_image scaled;
    er_status st = resize(img, nw, nh, &scaled);
    if (st == ER_OK) st = er_image_alloc(dst, w, h);
    if (st != ER_OK) {
        er_image_free(&scaled);
        return st;
    }
    memset(dst->data, LETTERBOX_GRAY, (size_t)w * (size_t)h * 3);
    for (int y = 0; y < nh; y++)
        memcpy(dst->data + ((size_t)(y + py) * (size_t)w + (size_t)px) * 3,
               scaled.data + (size_t)y * (size_t)nw * 3, (size_t)nw * 3);
    er_image_free(&scaled);
    lb->scale_x = lb->scale_y = r;
    lb->pad_x = (float)px;
    lb->pad_y = (float)py;
    return ER_OK;
}

er_status er_vision_preprocess(const er_image *img, const er_vision_options *o, int w, int h,
                               float *out, er_letterbox *lb)
{
    if (!img || !img->data || img->width <= 0 || img->height <= 0) return ER_ERR_INVALID_ARG;
    er_image fit;
    er_status st = fit_image(img, o, w, h, &fit, lb);
    if (st != ER_OK) return st;
    float scale[3], shift[3];
    for (int c = 0; c < 3; c++) {
        scale[c] = 1.0f / (255.0f * o->std[c]);
        shift[c] = o->mean[c] / o->std[c];
    }
    size_t plane = (size_t)w * (size_t)h;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            int dc = o->bgr ? 2 - c : c;
            float v = (float)fit.data[i * 3 + (size_t)c] * scale[c] - shift[c];
            if (o->layout == ER_LAYOUT_NCHW) out[(size_t)dc * plane + i] = v;
            else out[i * 3 + (size_t)dc] = v;
        }
    er_image_free(&fit);
    return ER_OK;
}

void er_softmax(const float *x, int n, float *out)
{
    float m = x[0];
    for (int i = 1; i < n; i++) m = ER_MAX(m, x[i]);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (out[i] = expf(x[i] - m));
    for (int i = 0; i < n; i++) out[i] = (float)(out[i] / sum);
}
