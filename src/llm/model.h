/* Llama-family transformer (llama, qwen2) over GGUF weights: weights point into the mapped
 * file; the state holds the KV cache and every activation buffer, allocated once. */
#ifndef ER_LLM_MODEL_H
#define ER_LLM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/common.h"
#include "core/threadpool.h"
#include "llm/gguf.h"
#include "llm/quants.h"

typedef enum er_llm_arch { ER_LLM_ARCH_LLAMA, ER_LLM_ARCH_QWEN2 } er_llm_arch;

typedef struct er_llm_config {
    er_llm_arch arch;
    int n_vocab, dim, n_layer, n_head, n_head_kv, head_dim, ffn;
    int n_ctx_train;
    float rms_eps, rope_base;
    bool rope_neox;   /* rotate (i, i + d/2) pairs instead of (2i, 2i + 1) */
} er_llm_config;

/* A 2-D weight: rows of `cols` elements, row r at data + r * row_bytes. */
typedef struct er_llm_weight {
    uint32_t type;
    int64_t cols, rows;
    const uint8_t *data;
    size_t row_bytes;
    uint8_t *packed;        /* interleaved 8-row groups for the ISA's kernels, or NULL */
    size_t group_bytes;
} er_llm_weight;

typedef struct er_llm_layer {
    const float *attn_norm, *ffn_norm;
    const float *bq, *bk, *bv;   /* qwen2 only */
    er_llm_weight wq, wk, wv, wo, w_gate, w_up, w_down;
} er_llm_layer;

typedef struct er_llm_model {
    er_gguf *gguf;
    er_llm_config cfg;
    er_llm_weight tok_embd, output;   /* output aliases tok_embd when embeddings are tied */
    const float *output_norm;
    const float *rope_freqs;          /* optional per-frequency divisors (Llama 3.1) */
    er_llm_layer *layers;
    float **owned;                    /* vectors converted to f32 at load */
    int n_owned;
    const er_qkernels *kern;
} er_llm_model;

typedef struct er_llm_state er_llm_state;

/* Takes ownership of g (freed with the model, also on failure). */
er_status er_llm_model_load(er_gguf *g, er_llm_model **out, char *err, size_t err_size);
void er_llm_model_free(er_llm_model *m);

/* n_batch: most tokens evaluated in one step (longer inputs are split). */
er_status er_llm_state_create(const er_llm_model *m, int n_ctx, int n_batch, int n_threads,
                              er_llm_state **out, char *err, size_t err_size);
void er_llm_state_free(er_llm_state *s);
int er_llm_state_ctx(const er_llm_state *s);
size_t er_llm_state_kv_bytes(const er_llm_state *s);

/* Evaluates tokens at positions pos..pos+n-1 (the cache must hold 0..pos-1). logits gets
 * n_vocab floats for the last token, or for every token when all_logits. */
er_status er_llm_forward(const er_llm_model *m, er_llm_state *s, er_threadpool *pool,
                         const int32_t *tokens, int n, int pos, float *logits, bool all_logits,
                         char *err, size_t err_size);

/* y[t * w->rows + r] (+)= dot(row r of w, x[t]) for t < n_tok, using the model's kernels.
 * act is scratch of at least n_tok * er_llm_act_row_bytes(w) bytes, pact of n_tok entries. */
size_t er_llm_act_row_bytes(const er_llm_weight *w);
void er_llm_matmul(const er_qkernels *k, er_threadpool *pool, const er_llm_weight *w,
                   const float *x, int n_tok, float *y, bool accumulate, void *act, er_packed_act *pact);
/* Repacks w for the kernels' interleaved layout when they have one (false: out of memory). */
bool er_llm_weight_pack(const er_qkernels *k, er_llm_weight *w);

#endif
