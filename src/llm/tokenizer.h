/* Tokenizers built from GGUF metadata: SentencePiece-style ("llama": score-ordered merges
 * with byte fallback) and byte-level BPE ("gpt2": regex pre-tokenization, ranked merges).
 * Token strings point into the GGUF mapping, which must outlive the tokenizer. */
#ifndef ER_LLM_TOKENIZER_H
#define ER_LLM_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "llm/gguf.h"

typedef struct er_tokenizer er_tokenizer;

typedef enum er_tok_kind { ER_TOK_SPM, ER_TOK_BPE } er_tok_kind;

/* Pre-tokenizer flavours of byte-level BPE (tokenizer.ggml.pre). */
typedef enum er_tok_pre { ER_PRE_GPT2, ER_PRE_LLAMA3, ER_PRE_QWEN2 } er_tok_pre;

er_status er_tokenizer_load(const er_gguf *g, er_tokenizer **out, char *err, size_t err_size);
void er_tokenizer_free(er_tokenizer *t);

er_tok_kind er_tokenizer_kind(const er_tokenizer *t);
int er_tokenizer_n_vocab(const er_tokenizer *t);
int32_t er_tokenizer_bos(const er_tokenizer *t);
int32_t er_tokenizer_eos(const er_tokenizer *t);
bool er_tokenizer_add_bos(const er_tokenizer *t);
/* End of generation: EOS, EOT-like control tokens (<|im_end|>, <|eot_id|>, ...). */
bool er_tokenizer_is_eog(const er_tokenizer *t, int32_t id);
/* Id of a token by its exact text, -1 if absent. */
int32_t er_tokenizer_find(const er_tokenizer *t, const char *text, size_t len);

/* Appends the tokens of text to *ids (realloc'd; *n is updated). With parse_special, texts
 * of control tokens ("<|im_start|>", "<s>") become those tokens. */
er_status er_tokenize(const er_tokenizer *t, const char *text, size_t len, bool add_bos,
                      bool parse_special, int32_t **ids, int *n, int *cap, char *err, size_t err_size);

/* Bytes a token contributes to the text (control tokens: none). Returns the length written,
 * or the length needed when it exceeds cap. */
size_t er_token_to_piece(const er_tokenizer *t, int32_t id, char *buf, size_t cap);
/* Whole-sequence decoding: drops the space the SentencePiece encoder put in front. Returns a
 * malloc'd NUL-terminated string (NULL on allocation failure). */
char *er_detokenize(const er_tokenizer *t, const int32_t *ids, int n);

#endif
