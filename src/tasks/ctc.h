/* CTC decoding of recognition-model output against a symbol dictionary. */
#ifndef ER_TASKS_CTC_H
#define ER_TASKS_CTC_H

#include "edgerun.h"

/* Class k >= 1 of the model is sym[k - 1]; class 0 is the CTC blank. */
typedef struct er_charset {
    char **sym;
    int n;
    char *buf;            /* storage of the symbols */
} er_charset;

/* One symbol per line (UTF-8, "\r\n" or "\n"); a space symbol is appended, as PP-OCR
 * dictionaries are used with use_space_char. */
er_status er_charset_load(const char *path, er_charset *cs, er_msg *msg);
void er_charset_free(er_charset *cs);

/* One symbol of a greedy CTC path: its class (>= 1) and the time steps t0..t1 it held. */
typedef struct er_ctc_sym {
    int cls;
    int t0, t1;
    float prob;           /* probability of the class at t0 */
} er_ctc_sym;

/* Greedy path of probs [T][C]: best class per step, repeats merged, blanks dropped.
 * *syms is malloc'ed (NULL when *n is 0). */
er_status er_ctc_greedy_path(const float *probs, int T, int C, er_ctc_sym **syms, int *n);

/* UTF-8 text of the symbols, malloc'ed; a space is put before syms[i] where space_before[i]
 * is set (space_before may be NULL) unless a neighbour already is a space. *score is the
 * mean probability of the symbols (0 when there are none). */
er_status er_ctc_text(const er_ctc_sym *syms, int n, const er_charset *cs,
                      const uint8_t *space_before, char **text, float *score);

/* Greedy decoding of probs [T][C] (C == cs->n + 1) straight to text: er_ctc_greedy_path
 * then er_ctc_text without added spaces. */
er_status er_ctc_greedy(const float *probs, int T, int C, const er_charset *cs, char **text,
                        float *score);

#endif
