/* Text classification with a BERT-family model: WordPiece → input_ids / attention_mask /
 * token_type_ids → logits → softmax. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/task_common.h"
#include "tasks/wordpiece.h"

#define TEXT_MAX_LENGTH 4096

struct er_text_classifier {
    er_text_options opt;
    er_task_net net;
    er_wordpiece *wp;
    er_labels labels;
    int32_t *ids;            /* max_length ids of the last text */
    void *feed;              /* one input tensor's elements, int64 or int32 */
    char err[1024];
};

void er_text_options_init(er_text_options *o)
{
    memset(o, 0, sizeof(*o));
    o->lowercase = 1;
    o->max_length = 128;
}

const char *er_text_classify_error(const er_text_classifier *tc) { return tc ? tc->err : "no text classifier"; }

void er_text_classify_free(er_text_classifier *tc)
{
    if (!tc) return;
    er_task_net_close(&tc->net);
    er_wordpiece_free(tc->wp);
    er_labels_free(&tc->labels);
    free(tc->ids);
    free(tc->feed);
    free(tc);
}

static er_status sidecar_file(const er_sidecar *sc, const char *key, char *out, size_t size, er_msg *msg)
{
    const er_json_value *v = er_sidecar_get(sc, key);
    if (!v) return ER_OK;
    if (v->kind != ER_JSON_STR)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT, "sidecar '%s': \"%s\" must be a file name",
                       sc->path, key);
    er_sidecar_path(sc, v->str, out, size);
    return ER_OK;
}

static er_status read_text_sidecar(const er_sidecar *sc, void *opts, er_msg *msg)
{
    er_text_options *o = opts;
    er_status st = sidecar_file(sc, "vocab", o->vocab, sizeof(o->vocab), msg);
    if (st == ER_OK) st = sidecar_file(sc, "labels", o->labels, sizeof(o->labels), msg);
    if (st != ER_OK) return st;
    const er_json_value *v;
    if ((v = er_sidecar_get(sc, "lowercase"))) o->lowercase = v->num[0] != 0;
    if ((v = er_sidecar_get(sc, "max_length"))) {
        if (v->kind != ER_JSON_NUM || v->num[0] < 2 || v->num[0] > TEXT_MAX_LENGTH)
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT,
                           "sidecar '%s': \"max_length\" must be a number in 2..%d", sc->path, TEXT_MAX_LENGTH);
        o->max_length = (int)v->num[0];
    }
    return ER_OK;
}

er_status er_text_options_load_sidecar(const char *model_path, er_text_options *o, int *found,
                                       er_msg *msg)
{
    return er_sidecar_load(model_path, o, read_text_sidecar, found, msg);
}

/* Every input must be one the tokenizer produces, as a [batch, sequence] integer tensor. */
static er_status check_inputs(er_text_classifier *tc, const char *path, er_msg *msg)
{
    int n = er_model_num_inputs(tc->net.model);
    bool has_ids = false;
    for (int k = 0; k < n; k++) {
        er_value_info in;
        er_model_input_info(tc->net.model, k, &in);
        bool known = strcmp(in.name, "input_ids") == 0 || strcmp(in.name, "attention_mask") == 0 ||
                     strcmp(in.name, "token_type_ids") == 0;
        has_ids = has_ids || strcmp(in.name, "input_ids") == 0;
        if (!known)
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_UNSUPPORTED,
                           "model '%s': input '%s' is not one of input_ids, attention_mask, token_type_ids",
                           path, in.name);
        if ((in.dtype != ER_I64 && in.dtype != ER_I32) || in.ndim != 2)
            return er_fail(msg->text, sizeof(msg->text), ER_ERR_UNSUPPORTED,
                           "model '%s': input '%s' is %s of rank %d; expected int64 or int32 [batch, sequence]",
                           path, in.name, er_dtype_name(in.dtype), in.ndim);
        if (in.dims[1] > 0 && in.dims[1] < tc->opt.max_length) tc->opt.max_length = (int)in.dims[1];
    }
    if (!has_ids)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT, "model '%s' has no input named input_ids", path);
    return ER_OK;
}

static er_status text_setup(er_text_classifier *tc, const char *path, er_msg *msg)
{
    if (!tc->opt.vocab[0])
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG,
                       "no vocabulary given for '%s' (--vocab FILE or \"vocab\" in the model's JSON sidecar)", path);
    if (tc->opt.max_length < 2 || tc->opt.max_length > TEXT_MAX_LENGTH)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG, "max_length must lie in 2..%d", TEXT_MAX_LENGTH);
    er_status st = er_wordpiece_load(tc->opt.vocab, tc->opt.lowercase, &tc->wp, msg);
    if (st == ER_OK) st = er_task_net_open(&tc->net, path, tc->opt.n_threads, msg);
    if (st == ER_OK) st = check_inputs(tc, path, msg);
    if (st == ER_OK && tc->opt.labels[0]) st = er_labels_load(tc->opt.labels, &tc->labels, msg);
    if (st != ER_OK) return st;
    tc->ids = malloc(sizeof(int32_t) * (size_t)tc->opt.max_length);
    tc->feed = malloc(sizeof(int64_t) * (size_t)tc->opt.max_length);
    if (!tc->ids || !tc->feed) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    return ER_OK;
}

er_status er_text_classify_create(const char *model_path, const er_text_options *opts,
                                  er_text_classifier **out, er_msg *msg)
{
    er_msg local;
    if (!msg) msg = &local;
    msg->text[0] = 0;
    if (!out || !model_path)
        return er_fail(msg->text, sizeof(msg->text), ER_ERR_INVALID_ARG, "text classifier or model path is NULL");
    *out = NULL;
    er_text_classifier *tc = calloc(1, sizeof(*tc));
    if (!tc) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    if (opts) tc->opt = *opts;
    else er_text_options_init(&tc->opt);
    er_status st = text_setup(tc, model_path, msg);
    if (st != ER_OK) {
        er_text_classify_free(tc);
        return st;
    }
    *out = tc;
    return ER_OK;
}

er_status er_text_classify_tokenize(er_text_classifier *tc, const char *text, int32_t *ids, int cap,
                                    int *n)
{
    if (!tc) return ER_ERR_INVALID_ARG;
    if (!text || !n || (cap > 0 && !ids))
        return er_task_fail(tc->err, sizeof(tc->err), ER_ERR_INVALID_ARG, "text, ids or count is NULL");
    er_status st = er_wordpiece_encode(tc->wp, text, tc->opt.max_length, ids, cap, n);
    if (st != ER_OK) return er_task_fail(tc->err, sizeof(tc->err), st, "out of memory tokenizing");
    return ER_OK;
}

/* Binds one input: the ids themselves, all ones (mask) or all zeros (single segment). */
static er_status bind(er_text_classifier *tc, const er_value_info *in, int n)
{
    bool i64 = in->dtype == ER_I64;
    for (int k = 0; k < n; k++) {
        int64_t v = strcmp(in->name, "input_ids") == 0 ? tc->ids[k] : strcmp(in->name, "attention_mask") == 0;
        if (i64) ((int64_t *)tc->feed)[k] = v;
        else ((int32_t *)tc->feed)[k] = (int32_t)v;
    }
    const int64_t dims[2] = {1, n};
    return er_session_set_input(tc->net.session, in->name, in->dtype, dims, 2, tc->feed);
}

static er_status run_model(er_text_classifier *tc, int n, er_tensor_view *out)
{
    er_session *s = tc->net.session;
    er_status st = ER_OK;
    for (int k = 0; k < er_model_num_inputs(tc->net.model) && st == ER_OK; k++) {
        er_value_info in;
        er_model_input_info(tc->net.model, k, &in);
        st = bind(tc, &in, n);
    }
    if (st == ER_OK) st = er_session_run(s);
    if (st == ER_OK) st = er_session_output(s, 0, out);
    if (st != ER_OK) return er_task_fail(tc->err, sizeof(tc->err), st, "text model: %s", er_session_error(s));
    int64_t classes = out->ndim == 2 && out->dims[0] == 1 ? out->dims[1] : -1;
    if (out->dtype != ER_F32 || classes < 1 || classes > (1 << 20)) {
        char buf[96];
        return er_task_fail(tc->err, sizeof(tc->err), ER_ERR_FORMAT, "text model output '%s' is %s %s; expected float logits [1, classes]",
                            out->name, er_dtype_name(out->dtype), er_shape_str(out->dims, out->ndim, buf, sizeof(buf)));
    }
    int64_t scored = classes == 1 ? 2 : classes;
    if (tc->labels.count && tc->labels.count != scored)
        return er_task_fail(tc->err, sizeof(tc->err), ER_ERR_SHAPE, "the label file has %d labels but the model scores %lld classes",
                            tc->labels.count, (long long)scored);
    return ER_OK;
}

/* Class probabilities from logits; a single logit is a binary classifier's sigmoid score for
 * class 1. */
static void logits_to_probs(const float *logits, int n, float *probs)
{
    if (n == 1) {
        probs[1] = 1.0f / (1.0f + expf(-logits[0]));
        probs[0] = 1.0f - probs[1];
        return;
    }
    er_softmax(logits, n, probs);
}

er_status er_text_classify_run(er_text_classifier *tc, const char *text, er_text_result *r)
{
    if (!tc) return ER_ERR_INVALID_ARG;
    if (!text || !r) return er_task_fail(tc->err, sizeof(tc->err), ER_ERR_INVALID_ARG, "text or result is NULL");
    memset(r, 0, sizeof(*r));
    int n = 0;
    er_status st = er_text_classify_tokenize(tc, text, tc->ids, tc->opt.max_length, &n);
    er_tensor_view out;
    if (st == ER_OK) st = run_model(tc, n, &out);
    if (st != ER_OK) return st;
    int n_logits = (int)out.dims[1];
    int classes = n_logits == 1 ? 2 : n_logits;
    float *probs = malloc(sizeof(float) * (size_t)classes);
    if (!probs) return er_task_fail(tc->err, sizeof(tc->err), ER_ERR_NOMEM, "out of memory");
    logits_to_probs(out.data, n_logits, probs);
    for (int k = 0; k < classes; k++) {
        if (probs[k] > probs[r->index]) r->index = k;
        if (k < (int)ER_ARRAY_LEN(r->probs)) r->probs[k] = probs[k];
    }
    r->prob = probs[r->index];
    r->label = r->index < tc->labels.count ? tc->labels.names[r->index] : NULL;
    r->n_classes = classes;
    r->n_tokens = n;
    free(probs);
    return ER_OK;
}
