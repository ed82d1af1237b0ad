/* A small built-in bitmap font (5x7 pixels per glyph) for labels drawn on images. */
#ifndef ER_TASKS_FONT5X7_H
#define ER_TASKS_FONT5X7_H

#include "edgerun_tasks.h"

#define ER_FONT_W 5
#define ER_FONT_H 7

/* Rows of glyph ch, top first, bit 4 the leftmost pixel. Lowercase letters are drawn as
 * capitals; characters without a glyph as a hollow box. */
const uint8_t *er_font_glyph(char ch);

/* Draws text with its top-left corner at (x, y), each font pixel a scale x scale square;
 * clipped to the image. Returns the width drawn in pixels. */
int er_font_draw(er_image *img, int x, int y, const char *text, int scale, const uint8_t rgb[3]);

/* Width in pixels text takes at the given scale. */
int er_font_width(const char *text, int scale);

#endif
