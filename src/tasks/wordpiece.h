/* BERT WordPiece tokenizer: basic tokenization (cleaning, CJK splitting, optional lowercasing
 * with accent stripping, punctuation splitting) then greedy longest-match-first word pieces
 * with "##" continuations.
 *
 * Unicode coverage: case folding and accent stripping cover Latin-1, Latin Extended-A, Greek
 * and Cyrillic; punctuation covers ASCII, Latin-1, General Punctuation, CJK symbols and
 * full-width forms; everything else passes through unchanged. */
#ifndef ER_TASKS_WORDPIECE_H
#define ER_TASKS_WORDPIECE_H

#include "edgerun_tasks.h"

typedef struct er_wordpiece er_wordpiece;

/* Vocabulary file: one piece per line, the line number is the id. Needs [UNK], [CLS] and
 * [SEP]. */
er_status er_wordpiece_load(const char *path, int lowercase, er_wordpiece **wp, er_msg *msg);
void er_wordpiece_free(er_wordpiece *wp);
int er_wordpiece_vocab_size(const er_wordpiece *wp);
int er_wordpiece_pad_id(const er_wordpiece *wp);

/* [CLS] pieces... [SEP], the pieces cut so that the total is at most max_length (>= 2).
 * Writes at most cap ids; *n gets the full count. Returns ER_ERR_NOMEM only. */
er_status er_wordpiece_encode(const er_wordpiece *wp, const char *text, int max_length,
                              int32_t *ids, int cap, int *n);

#endif
