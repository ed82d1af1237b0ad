#include "tasks/word_gaps.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows at least this fraction as inky as the inkiest row form the text body; the lowest of
 * them is taken as the baseline. */
#define BODY_ROW_FRACTION 0.3f

/* Mean of the three planes as a 0..255 grey level. */
static void line_grey(const er_line_planes *l, uint8_t *grey)
{
    size_t plane = (size_t)l->height * l->stride;
    for (int y = 0; y < l->height; y++)
        for (int x = 0; x < l->width; x++) {
            const float *p = l->data + (size_t)y * l->stride + x;
            float g = (p[0] + p[plane] + p[2 * plane]) / 3.f;
            float v = (g + 1.f) * 127.5f;
            grey[(size_t)y * l->width + x] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : lrintf(v)));
        }
}

/* Otsu's threshold: the grey level that best splits the histogram into two classes. */
static int otsu_threshold(const uint8_t *grey, size_t n)
{
    double hist[256] = {0}, total = 0;
    for (size_t i = 0; i < n; i++) hist[grey[i]]++;
    for (int v = 0; v < 256; v++) total += v * hist[v];
    double w0 = 0, sum0 = 0, best = -1;
    int th = 0;
    for (int v = 0; v < 256; v++) {
        w0 += hist[v];
        sum0 += v * hist[v];
        double w1 = (double)n - w0;
        if (w0 == 0) continue;
        if (w1 == 0) break;
        double d = sum0 / w0 - (total - sum0) / w1;
        double between = w0 * w1 * d * d;
        if (between > best) best = between, th = v;
    }
    return th;
}

/* Turns grey into an ink mask in place: the minority class of the Otsu split is the ink,
 * whether the text is dark on light or light on dark. */
static void ink_mask(uint8_t *grey, size_t n)
{
    int th = otsu_threshold(grey, n);
    size_t dark = 0;
    for (size_t i = 0; i < n; i++) dark += grey[i] <= th;
    uint8_t ink_is_dark = dark * 2 <= n;
    for (size_t i = 0; i < n; i++) grey[i] = (uint8_t)((grey[i] <= th) == ink_is_dark);
}

/* Index of the lowest row of the text body. */
static int baseline_row(const uint8_t *ink, int w, int h)
{
    int most = 0, base = h - 1;
    int *rows = calloc((size_t)h, sizeof(int));
    if (!rows) return base;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) rows[y] += ink[(size_t)y * w + x];
        if (rows[y] > most) most = rows[y];
    }
    for (int y = 0; y < h; y++)
        if (most > 0 && (float)rows[y] >= BODY_ROW_FRACTION * (float)most) base = y;
    free(rows);
    return base;
}

/* Longest run of ink-free columns in [a, b). */
static int widest_gap(const int *cols, int a, int b)
{
    int run = 0, best = 0;
    for (int x = a; x < b; x++) {
        run = cols[x] ? 0 : run + 1;
        if (run > best) best = run;
    }
    return best;
}

static int sym_centre_px(const er_ctc_sym *s, float step_px, int width)
{
    int c = (int)(((float)(s->t0 + s->t1) / 2.f + 0.5f) * step_px);
    return c < 0 ? 0 : (c > width ? width : c);
}

er_status er_word_gaps(const er_line_planes *line, float step_px, const er_ctc_sym *syms, int n,
                       float min_gap, uint8_t *space_before)
{
    if (n > 0) memset(space_before, 0, (size_t)n);
    if (n < 2 || line->width <= 0 || line->height <= 0) return ER_OK;
    int w = line->width, h = line->height;
    if (w > line->stride || step_px <= 0) return ER_ERR_INVALID_ARG;
    uint8_t *ink = malloc((size_t)w * h);
    int *cols = calloc((size_t)w, sizeof(int));
    if (!ink || !cols) {
        free(ink), free(cols);
        return ER_ERR_NOMEM;
    }
    line_grey(line, ink);
    ink_mask(ink, (size_t)w * h);
    int base = baseline_row(ink, w, h), first = w, last = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!ink[(size_t)y * w + x]) continue;
            if (x < first) first = x;
            if (x > last) last = x;
            if (y <= base) cols[x]++;
        }
    float advance = (float)(last - first + 1) / (float)n;
    for (int i = 1; i < n && last >= first; i++) {
        int a = sym_centre_px(&syms[i - 1], step_px, w), b = sym_centre_px(&syms[i], step_px, w);
        space_before[i] = (float)widest_gap(cols, a, b) > min_gap * advance;
    }
    free(ink), free(cols);
    return ER_OK;
}
