/* Word gaps of a recognised text line, found in the line image itself.
 *
 * The PP-OCR "ch" recogniser reads a whole line but seldom emits the space between Latin
 * words. The gaps are still plain to see: between two words the line has a run of columns
 * without ink far wider than any gap inside a word. Each CTC symbol is placed on the image by
 * its time steps, and a space is due between two neighbours when such a run lies between
 * their centres. Widths are measured against the line's mean character advance, so the rule
 * holds at any text size. Columns are read from the top down to the baseline only, because
 * descenders (the hook of a "j") reach back under the previous word. */
#ifndef ER_TASKS_WORD_GAPS_H
#define ER_TASKS_WORD_GAPS_H

#include "edgerun.h"
#include "tasks/ctc.h"

/* The line image as the recogniser saw it: 3 planes of height x stride floats in [-1, 1],
 * holding the text in columns [0, width). */
typedef struct er_line_planes {
    const float *data;
    int height, stride, width;
} er_line_planes;

/* Sets space_before[i] (n entries) to 1 when the widest ink-free run between the centres of
 * syms[i - 1] and syms[i] exceeds min_gap mean character advances; step_px is the width of
 * one CTC time step in image columns. */
er_status er_word_gaps(const er_line_planes *line, float step_px, const er_ctc_sym *syms, int n,
                       float min_gap, uint8_t *space_before);

#endif
