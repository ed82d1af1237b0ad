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

/* Greedy decoding of probs [T][C] (C == cs->n + 1): best class per step, repeats merged,
 * blanks dropped. *text is malloc'ed UTF-8; *score the mean probability of the kept steps
 * (0 for an empty text). */
er_status er_ctc_greedy(const float *probs, int T, int C, const er_charset *cs, char **text,
                        float *score);

#endif
