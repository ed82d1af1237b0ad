/* edgerun — small language models (GGUF, Llama family). Public C API.
 *
 * er_llm_load maps a GGUF file (weights are used in place), builds the tokenizer and
 * allocates the KV cache and every buffer once; er_llm_generate then streams text through a
 * callback. One er_llm serves one generation at a time. */
#ifndef EDGERUN_LLM_H
#define EDGERUN_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "edgerun.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct er_llm er_llm;

typedef struct er_llm_options {
    int n_threads;   /* 0: one per available core */
    int n_ctx;       /* 0: the model's training context, at most 4096 */
    int n_batch;     /* prompt tokens per forward step (0: 64) */
} er_llm_options;

typedef struct er_llm_info {
    const char *arch;        /* "llama", "qwen2" */
    const char *kernels;     /* "ref", "avx2", "avx512" */
    int n_vocab, n_ctx, n_ctx_train, n_layer, dim, n_head, n_head_kv;
    size_t file_bytes, kv_cache_bytes;
} er_llm_info;

typedef struct er_llm_gen_params {
    float temperature;        /* <= 0: greedy (default 0.8) */
    int top_k;                /* default 40, <= 0: off */
    float top_p;              /* default 0.95, >= 1: off */
    float min_p;              /* default 0.05, <= 0: off */
    float repeat_penalty;     /* default 1.0 (off) */
    int repeat_last_n;        /* default 64 */
    uint64_t seed;            /* default 0 */
    int max_tokens;           /* default 128; < 0: until the context is full */
    const char *const *stop;  /* stop strings (not included in the output) */
    int n_stop;
    int chat;                 /* wrap the prompt in the model's chat template */
    int add_bos;              /* -1 (default): as the model says; 0/1 force */
} er_llm_gen_params;

typedef struct er_llm_stats {
    int n_prompt;             /* prompt tokens (with BOS / template) */
    int n_generated;          /* tokens sampled */
    double prompt_seconds;    /* prompt evaluation */
    double decode_seconds;    /* evaluation of the generated tokens fed back */
    int n_decoded;            /* how many tokens decode_seconds covers */
    double first_token_seconds; /* from the call to the first sampled token */
    const char *stop_reason;  /* "eos", "stop", "length", "context", "callback" */
} er_llm_stats;

/* Receives text as it is produced (whole UTF-8 characters). Return non-zero to stop. */
typedef int (*er_llm_text_fn)(void *user, const char *text, size_t len);

void er_llm_options_init(er_llm_options *opts);
void er_llm_gen_params_init(er_llm_gen_params *p);

er_status er_llm_load(const char *path, const er_llm_options *opts, er_llm **llm, er_msg *msg);
void er_llm_free(er_llm *llm);
/* Message of the last failed call on llm. */
const char *er_llm_error(const er_llm *llm);
er_status er_llm_get_info(const er_llm *llm, er_llm_info *info);

er_status er_llm_generate(er_llm *llm, const char *prompt, const er_llm_gen_params *params,
                          er_llm_text_fn on_text, void *user, er_llm_stats *stats);

/* Tokens of text; *n gets the count (also when it exceeds cap, with ER_ERR_INVALID_ARG). */
er_status er_llm_tokenize(er_llm *llm, const char *text, int add_bos, int parse_special,
                          int32_t *ids, int cap, int *n);

/* Rewrites a GGUF model with its 2-D weights in type "q8_0", "q4_0", "q4_k" or "f16" (rows
 * whose length does not fit the block size keep their type); metadata is copied. */
er_status er_llm_quantize(const char *in_path, const char *out_path, const char *type, er_msg *msg);

#ifdef __cplusplus
}
#endif
#endif
