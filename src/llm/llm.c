/* The public LLM API: model + tokenizer + state + sampler, chat templates, streaming with
 * stop strings. */
#include "edgerun_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "llm/model.h"
#include "llm/sample.h"
#include "llm/tokenizer.h"

#define DEFAULT_MAX_CTX 4096
#define DEFAULT_BATCH 64

struct er_llm {
    er_llm_model *model;
    er_tokenizer *tok;
    er_llm_state *state;
    er_threadpool *pool;
    float *logits;
    size_t file_bytes;
    char err[512];
};

void er_llm_options_init(er_llm_options *o) { memset(o, 0, sizeof *o); }

void er_llm_gen_params_init(er_llm_gen_params *p)
{
    memset(p, 0, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->max_tokens = 128;
    p->add_bos = -1;
}

const char *er_llm_error(const er_llm *llm) { return llm ? llm->err : "no model"; }

static er_status setup(er_llm *l, const char *path, const er_llm_options *o)
{
    er_gguf *g;
    er_status st = er_gguf_open(path, &g, l->err, sizeof l->err);
    if (st != ER_OK) return st;
    l->file_bytes = g->size;
    if ((st = er_llm_model_load(g, &l->model, l->err, sizeof l->err)) != ER_OK) return st;
    if ((st = er_tokenizer_load(l->model->gguf, &l->tok, l->err, sizeof l->err)) != ER_OK) return st;
    const er_llm_config *c = &l->model->cfg;
    if (er_tokenizer_n_vocab(l->tok) > c->n_vocab)
        return er_fail(l->err, sizeof l->err, ER_ERR_FORMAT, "tokenizer has %d tokens but the embedding only %d",
                       er_tokenizer_n_vocab(l->tok), c->n_vocab);
    int n_threads = o->n_threads > 0 ? o->n_threads : er_cpu_count();
    int n_ctx = o->n_ctx > 0 ? o->n_ctx : ER_MIN(c->n_ctx_train, DEFAULT_MAX_CTX);
    int n_batch = o->n_batch > 0 ? o->n_batch : DEFAULT_BATCH;
    if (n_ctx > (1 << 20))
        return er_fail(l->err, sizeof l->err, ER_ERR_INVALID_ARG, "context of %d tokens is too large", n_ctx);
    l->pool = er_threadpool_create(n_threads);
    l->logits = malloc((size_t)c->n_vocab * sizeof *l->logits);
    if (!l->pool || !l->logits) return er_fail(l->err, sizeof l->err, ER_ERR_NOMEM, "out of memory");
    return er_llm_state_create(l->model, n_ctx, n_batch, n_threads, &l->state, l->err, sizeof l->err);
}

er_status er_llm_load(const char *path, const er_llm_options *opts, er_llm **out, er_msg *msg)
{
    *out = NULL;
    if (!path) return er_fail(msg ? msg->text : NULL, sizeof msg->text, ER_ERR_INVALID_ARG, "no model path");
    er_llm_options def;
    if (!opts) {
        er_llm_options_init(&def);
        opts = &def;
    }
    er_llm *l = calloc(1, sizeof *l);
    if (!l) return er_fail(msg ? msg->text : NULL, sizeof msg->text, ER_ERR_NOMEM, "out of memory");
    er_status st = setup(l, path, opts);
    if (st != ER_OK) {
        if (msg) snprintf(msg->text, sizeof msg->text, "%s", l->err);
        er_llm_free(l);
        return st;
    }
    *out = l;
    return ER_OK;
}

void er_llm_free(er_llm *l)
{
    if (!l) return;
    er_llm_state_free(l->state);
    er_threadpool_free(l->pool);
    er_tokenizer_free(l->tok);
    er_llm_model_free(l->model);
    free(l->logits);
    free(l);
}

er_status er_llm_get_info(const er_llm *l, er_llm_info *info)
{
    const er_llm_config *c = &l->model->cfg;
    info->arch = c->arch == ER_LLM_ARCH_QWEN2 ? "qwen2" : "llama";
    info->kernels = l->model->kern->isa;
    info->n_vocab = c->n_vocab;
    info->n_ctx = er_llm_state_ctx(l->state);
    info->n_ctx_train = c->n_ctx_train;
    info->n_layer = c->n_layer;
    info->dim = c->dim;
    info->n_head = c->n_head;
    info->n_head_kv = c->n_head_kv;
    info->file_bytes = l->file_bytes;
    info->kv_cache_bytes = er_llm_state_kv_bytes(l->state);
    return ER_OK;
}

er_status er_llm_tokenize(er_llm *l, const char *text, int add_bos, int parse_special, int32_t *ids,
                          int cap, int *n)
{
    int32_t *tmp = NULL;
    int cnt = 0, tcap = 0;
    er_status st = er_tokenize(l->tok, text, strlen(text), add_bos != 0, parse_special != 0, &tmp, &cnt, &tcap,
                               l->err, sizeof l->err);
    *n = cnt;
    if (st == ER_OK && cnt > cap)
        st = er_fail(l->err, sizeof l->err, ER_ERR_INVALID_ARG, "%d tokens do not fit in %d", cnt, cap);
    if (st == ER_OK && cnt) memcpy(ids, tmp, (size_t)cnt * sizeof *ids);
    free(tmp);
    return st;
}

/* ---- chat templates ------------------------------------------------------------------- */

typedef enum chat_style { CHAT_CHATML, CHAT_LLAMA2, CHAT_LLAMA3 } chat_style;

static bool contains(er_gguf_str s, const char *needle)
{
    return s.n && memmem(s.s, s.n, needle, strlen(needle)) != NULL;
}

/* The template is recognized by its markers rather than interpreted: these three cover
 * the models this runtime targets. */
static chat_style chat_style_of(const er_llm *l)
{
    er_gguf_str t = {"", 0};
    er_gguf_get_str(l->model->gguf, "tokenizer.chat_template", &t);
    if (contains(t, "<|start_header_id|>")) return CHAT_LLAMA3;
    if (contains(t, "<|im_start|>")) return CHAT_CHATML;
    if (contains(t, "[INST]")) return CHAT_LLAMA2;
    return er_tokenizer_find(l->tok, "<|im_start|>", 12) >= 0 ? CHAT_CHATML : CHAT_LLAMA2;
}

static char *apply_chat(const er_llm *l, const char *prompt)
{
    static const char *fmt[] = {
        [CHAT_CHATML] = "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n",
        [CHAT_LLAMA2] = "[INST] %s [/INST]",
        [CHAT_LLAMA3] = ("<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|>"
                         "<|start_header_id|>assistant<|end_header_id|>\n\n"),
    };
    const char *f = fmt[chat_style_of(l)];
    size_t n = strlen(f) + strlen(prompt) + 1;
    char *out = malloc(n);
    if (out) snprintf(out, n, f, prompt);
    return out;
}

/* ---- streaming output with stop strings ----------------------------------------------- */

typedef struct streamer {
    const er_llm_gen_params *p;
    er_llm_text_fn fn;
    void *user;
    char *buf;
    size_t len, cap;
    bool stopped, cancelled;
} streamer;

static size_t utf8_complete_prefix(const char *s, size_t n)
{
    size_t i = n;
    /* back up over at most 3 continuation bytes to the lead byte of the last character */
    for (int k = 0; k < 4 && i > 0; k++) {
        uint8_t c = (uint8_t)s[i - 1];
        if ((c & 0xc0) != 0x80) {
            int need = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
            return n - (i - 1) >= (size_t)need ? n : i - 1;
        }
        i--;
    }
    return n;
}

static void deliver(streamer *s, size_t n)
{
    if (n == 0) return;
    if (s->fn && s->fn(s->user, s->buf, n) != 0) s->cancelled = true;
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
}

/* Emits what can no longer become part of a stop string. */
static bool stream_push(streamer *s, const char *piece, size_t n)
{
    if (s->len + n > s->cap) {
        size_t nc = (s->len + n) * 2 + 64;
        char *p = realloc(s->buf, nc);
        if (!p) return false;
        s->buf = p;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, piece, n);
    s->len += n;
    size_t keep_from = s->len;
    for (int i = 0; i < s->p->n_stop; i++) {
        const char *st = s->p->stop[i];
        size_t sl = strlen(st);
        if (!sl) continue;
        const char *hit = memmem(s->buf, s->len, st, sl);
        if (hit) {
            s->len = (size_t)(hit - s->buf);
            deliver(s, s->len);
            s->stopped = true;
            return true;
        }
        /* longest suffix of the buffer that is a prefix of the stop string */
        for (size_t k = ER_MIN(sl - 1, s->len); k > 0; k--) {
            if (memcmp(s->buf + s->len - k, st, k) == 0) {
                keep_from = ER_MIN(keep_from, s->len - k);
                break;
            }
        }
    }
    deliver(s, utf8_complete_prefix(s->buf, keep_from));
    return true;
}

/* ---- generation ----------------------------------------------------------------------- */

typedef struct gen {
    er_llm *l;
    const er_llm_gen_params *p;
    er_llm_stats *stats;
    int32_t *ids;
    int n, cap;
    er_sampler *sampler;
    streamer out;
    double t0;
} gen;

static er_status tokenize_prompt(gen *g, const char *prompt)
{
    er_llm *l = g->l;
    char *text = g->p->chat ? apply_chat(l, prompt) : NULL;
    if (g->p->chat && !text) return er_fail(l->err, sizeof l->err, ER_ERR_NOMEM, "out of memory");
    bool bos = g->p->add_bos < 0 ? er_tokenizer_add_bos(l->tok) : g->p->add_bos > 0;
    const char *t = text ? text : prompt;
    er_status st = er_tokenize(l->tok, t, strlen(t), bos, g->p->chat != 0, &g->ids, &g->n, &g->cap, l->err,
                               sizeof l->err);
    free(text);
    if (st != ER_OK) return st;
    int n_ctx = er_llm_state_ctx(l->state);
    if (g->n == 0) return er_fail(l->err, sizeof l->err, ER_ERR_INVALID_ARG, "the prompt is empty");
    if (g->n >= n_ctx)
        return er_fail(l->err, sizeof l->err, ER_ERR_INVALID_ARG,
                       "the prompt has %d tokens but the context holds %d (raise --ctx)", g->n, n_ctx);
    return ER_OK;
}

static er_status push_token(gen *g, int32_t id)
{
    if (g->n == g->cap) {
        int nc = g->cap * 2 + 16;
        int32_t *p = realloc(g->ids, (size_t)nc * sizeof *p);
        if (!p) return er_fail(g->l->err, sizeof g->l->err, ER_ERR_NOMEM, "out of memory");
        g->ids = p;
        g->cap = nc;
    }
    g->ids[g->n++] = id;
    return ER_OK;
}

static er_status emit_token(gen *g, int32_t id)
{
    char piece[256];
    size_t n = er_token_to_piece(g->l->tok, id, piece, sizeof piece);
    if (n > sizeof piece) n = 0;
    if (!stream_push(&g->out, piece, n)) return er_fail(g->l->err, sizeof g->l->err, ER_ERR_NOMEM, "out of memory");
    return ER_OK;
}

static er_status run_loop(gen *g)
{
    er_llm *l = g->l;
    int n_ctx = er_llm_state_ctx(l->state);
    int n_vocab = l->model->cfg.n_vocab;
    double t = er_now();
    er_status st = er_llm_forward(l->model, l->state, l->pool, g->ids, g->n, 0, l->logits, false, l->err,
                                  sizeof l->err);
    if (st != ER_OK) return st;
    g->stats->prompt_seconds = er_now() - t;
    g->stats->n_prompt = g->n;
    g->stats->stop_reason = "length";
    int max = g->p->max_tokens < 0 ? n_ctx : g->p->max_tokens;
    for (int i = 0; i < max; i++) {
        int32_t id = er_sampler_sample(g->sampler, l->logits, g->ids, g->n);
        if (i == 0) g->stats->first_token_seconds = er_now() - g->t0;
        g->stats->n_generated++;
        if (er_tokenizer_is_eog(l->tok, id) || id >= n_vocab) {
            g->stats->stop_reason = "eos";
            break;
        }
        if ((st = push_token(g, id)) != ER_OK || (st = emit_token(g, id)) != ER_OK) return st;
        if (g->out.stopped || g->out.cancelled) {
            g->stats->stop_reason = g->out.stopped ? "stop" : "callback";
            break;
        }
        if (i + 1 == max) break;
        if (g->n >= n_ctx) {
            g->stats->stop_reason = "context";
            break;
        }
        t = er_now();
        st = er_llm_forward(l->model, l->state, l->pool, &id, 1, g->n - 1, l->logits, false, l->err, sizeof l->err);
        if (st != ER_OK) return st;
        g->stats->decode_seconds += er_now() - t;
        g->stats->n_decoded++;
    }
    if (!g->out.stopped && !g->out.cancelled) deliver(&g->out, g->out.len);
    return ER_OK;
}

er_status er_llm_generate(er_llm *l, const char *prompt, const er_llm_gen_params *params,
                          er_llm_text_fn on_text, void *user, er_llm_stats *stats)
{
    er_llm_gen_params def;
    er_llm_stats local;
    if (!params) {
        er_llm_gen_params_init(&def);
        params = &def;
    }
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!prompt) return er_fail(l->err, sizeof l->err, ER_ERR_INVALID_ARG, "no prompt");
    gen g = {.l = l, .p = params, .stats = stats, .t0 = er_now()};
    g.out = (streamer){.p = params, .fn = on_text, .user = user};
    er_sample_params sp = {params->temperature, params->top_k, params->top_p, params->min_p,
                           params->repeat_penalty, params->repeat_last_n, params->seed};
    g.sampler = er_sampler_create(&sp, l->model->cfg.n_vocab);
    er_status st = g.sampler ? tokenize_prompt(&g, prompt)
                             : er_fail(l->err, sizeof l->err, ER_ERR_NOMEM, "out of memory");
    if (st == ER_OK) st = run_loop(&g);
    er_sampler_free(g.sampler);
    free(g.ids);
    free(g.out.buf);
    return st;
}
