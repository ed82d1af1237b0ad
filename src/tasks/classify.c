/* Image classification: preprocess → model → softmax → top-K. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/task_common.h"

struct er_classifier {
    er_vision_options opt;
    er_task_net net;
    er_labels labels;
    int width, height;
    float *input;          /* preprocessed image, 3 * width * height */
    int64_t input_dims[4];
    float *probs;          /* per class, of the last run */
    int n_classes;         /* known after the first run */
    char err[1024];
};

const char *er_classify_error(const er_classifier *c) { return c ? c->err : "no classifier"; }

int er_classify_num_classes(const er_classifier *c) { return c ? c->n_classes : 0; }

void er_classify_free(er_classifier *c)
{
    if (!c) return;
    er_task_net_close(&c->net);
    er_labels_free(&c->labels);
    free(c->input);
    free(c->probs);
    free(c);
}

static er_status classifier_setup(er_classifier *c, const char *path, er_msg *msg)
{
    char err[512];
    er_status st = er_task_net_open(&c->net, path, c->opt.n_threads, msg);
    if (st != ER_OK) return st;
    st = er_vision_input_size(&c->net.input, &c->opt, &c->width, &c->height, err, sizeof(err));
    if (st != ER_OK) return er_fail(msg->text, sizeof(msg->text), st, "model '%s': %s", path, err);
    if (c->opt.labels[0] && (st = er_labels_load(c->opt.labels, &c->labels, msg)) != ER_OK) return st;
    c->input = malloc(sizeof(float) * 3 * (size_t)c->width * (size_t)c->height);
    if (!c->input) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    bool nchw = c->opt.layout == ER_LAYOUT_NCHW;
    int64_t dims[4] = {1, nchw ? 3 : c->height, nchw ? c->height : c->width, nchw ? c->width : 3};
    memcpy(c->input_dims, dims, sizeof(dims));
    return ER_OK;
}

er_status er_classify_create(const char *model_path, const er_vision_options *opts,
                             er_classifier **out, er_msg *msg)
{
    er_msg local;
    if (!msg) msg = &local;
    msg->text[0] = 0;
    if (!out || !model_path)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG, "classifier or model path is NULL");
    *out = NULL;
    er_classifier *c = calloc(1, sizeof(*c));
    if (!c) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    if (opts) c->opt = *opts;
    else er_vision_options_init(&c->opt);
    for (int k = 0; k < 3; k++)
        if (!(c->opt.std[k] > 0)) {
            free(c);
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG, "std must be > 0");
        }
    er_status st = classifier_setup(c, model_path, msg);
    if (st != ER_OK) {
        er_classify_free(c);
        return st;
    }
    *out = c;
    return ER_OK;
}

/* Accepts [C], [1, C] and [1, C, 1, 1]: every dim but one equal to 1. */
static int64_t class_count(const er_tensor_view *v)
{
    int64_t n = 1;
    int big = 0;
    for (int d = 0; d < v->ndim; d++) {
        n *= v->dims[d];
        big += v->dims[d] != 1;
    }
    return big <= 1 ? n : -1;
}

static er_status run_model(er_classifier *c, er_tensor_view *out)
{
    er_session *s = c->net.session;
    er_status st = er_session_set_input(s, c->net.input.name, ER_F32, c->input_dims, 4, c->input);
    if (st == ER_OK) st = er_session_run(s);
    if (st == ER_OK) st = er_session_output(s, 0, out);
    if (st != ER_OK) return er_task_fail(c->err, sizeof(c->err), st, "classifier model: %s", er_session_error(s));
    int64_t n = class_count(out);
    if (out->dtype != ER_F32 || n < 1 || n > (1 << 24)) {
        char buf[96];
        return er_task_fail(c->err, sizeof(c->err), ER_ERR_FORMAT,
                            "classifier output '%s' is %s %s; expected float scores [1, classes]",
                            out->name, er_dtype_name(out->dtype), er_shape_str(out->dims, out->ndim, buf, sizeof(buf)));
    }
    if (n != c->n_classes) {
        float *p = realloc(c->probs, sizeof(float) * (size_t)n);
        if (!p) return er_task_fail(c->err, sizeof(c->err), ER_ERR_NOMEM, "out of memory");
        c->probs = p;
        c->n_classes = (int)n;
    }
    return ER_OK;
}

/* Models that end in Softmax already output probabilities; a second softmax would flatten
 * them. */
static bool is_distribution(const float *x, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (!(x[i] >= 0)) return false;
        sum += x[i];
    }
    return n > 1 && fabs(sum - 1.0) < 1e-3;
}

er_status er_classify_run(er_classifier *c, const er_image *img, int top_k, er_class_score *out,
                          int *n_out)
{
    if (!c) return ER_ERR_INVALID_ARG;
    if (!img || !img->data || !out || !n_out || top_k < 1)
        return er_task_fail(c->err, sizeof(c->err), ER_ERR_INVALID_ARG, "image, output or top_k (>= 1) missing");
    *n_out = 0;
    er_letterbox lb;
    er_status st = er_vision_preprocess(img, &c->opt, c->width, c->height, c->input, &lb);
    if (st != ER_OK) return er_task_fail(c->err, sizeof(c->err), st, "cannot resize the image to %dx%d", c->width, c->height);
    er_tensor_view v;
    if ((st = run_model(c, &v)) != ER_OK) return st;
    if (c->labels.count && c->labels.count != c->n_classes)
        return er_task_fail(c->err, sizeof(c->err), ER_ERR_SHAPE,
                            "the label file has %d labels but the model scores %d classes",
                            c->labels.count, c->n_classes);
    const float *logits = v.data;
    if (is_distribution(logits, c->n_classes)) memcpy(c->probs, logits, sizeof(float) * (size_t)c->n_classes);
    else er_softmax(logits, c->n_classes, c->probs);
    int k_max = ER_MIN(top_k, c->n_classes);
    /* Partial selection sort: K is small. */
    for (int k = 0; k < k_max; k++) {
        int best = -1;
        for (int i = 0; i < c->n_classes; i++) {
            bool taken = false;
            for (int j = 0; j < k && !taken; j++) taken = out[j].index == i;
            if (!taken && (best < 0 || c->probs[i] > c->probs[best])) best = i;
        }
        out[k].index = best;
        out[k].prob = c->probs[best];
        out[k].logit = logits[best];
        out[k].label = best < c->labels.count ? c->labels.names[best] : NULL;
    }
    *n_out = k_max;
    return ER_OK;
}

er_status er_classify_tensors(const er_classifier *c, er_tensor_view *input, er_tensor_view *output)
{
    if (!c || !input || !output || !c->n_classes) return ER_ERR_INVALID_ARG;
    memset(input, 0, sizeof(*input));
    input->name = c->net.input.name;
    input->dtype = ER_F32;
    input->ndim = 4;
    memcpy(input->dims, c->input_dims, sizeof(c->input_dims));
    input->data = c->input;
    input->nbytes = sizeof(float) * 3 * (size_t)c->width * (size_t)c->height;
    return er_session_output(c->net.session, 0, output);
}
