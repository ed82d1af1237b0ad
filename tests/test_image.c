/* Image helpers, DB box extraction, reading order and CTC decoding of the OCR pipeline,
 * against values derived by hand from the definitions (noted beside each check). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tasks/ctc.h"
#include "tasks/db_post.h"
#include "tasks/image.h"
#include "check.h"

static uint8_t px(const er_image *im, int x, int y, int c)
{
    return im->data[((size_t)y * im->width + x) * 3 + c];
}

/* A 2x1 image [0, 100] stretched to 4 wide samples source x = (i + 0.5) / 2 - 0.5 =
 * -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]: 0, 25, 75, 100. */
static void test_resize(void)
{
    er_image src, dst;
    er_image_alloc(&src, 2, 1);
    memset(src.data, 0, 6);
    memset(src.data + 3, 100, 3);
    CHECK(er_image_resize(&src, 4, 1, &dst) == ER_OK, "resize failed");
    const int want[4] = {0, 25, 75, 100};
    for (int x = 0; x < 4; x++)
        CHECK(px(&dst, x, 0, 1) == want[x], "resize x=%d: %d, want %d", x, px(&dst, x, 0, 1), want[x]);
    er_image_free(&dst);
    CHECK(er_image_resize(&src, 0, 5, &dst) == ER_ERR_INVALID_ARG, "zero width accepted");
    er_image_free(&src);
}

/* Area resampling of a 3x1 row [0, 90, 30] to 2x1: cell 0 covers source [0, 1.5) = pixel 0
 * and half of pixel 1, (0 + 0.5*90) / 1.5 = 30; cell 1 covers [1.5, 3): (0.5*90 + 30) / 1.5 = 50.
 * A 5x5 checkerboard shrunk to one pixel is the mean of all 25 pixels, where bilinear would
 * sample only the centre. */
static void test_resize_area(void)
{
    er_image src, dst;
    er_image_alloc(&src, 3, 1);
    const uint8_t row[3] = { 0, 90, 30 };
    for (int x = 0; x < 3; x++) memset(src.data + 3 * x, row[x], 3);
    CHECK(er_image_resize_area(&src, 2, 1, &dst) == ER_OK, "area resize failed");
    CHECK(px(&dst, 0, 0, 0) == 30 && px(&dst, 1, 0, 2) == 50, "area 3->2: %d %d, want 30 50",
          px(&dst, 0, 0, 0), px(&dst, 1, 0, 2));
    er_image_free(&dst);
    er_image_free(&src);
    er_image_alloc(&src, 5, 5);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) memset(src.data + 3 * (y * 5 + x), (x + y) % 2 ? 250 : 0, 3);
    CHECK(er_image_resize_area(&src, 1, 1, &dst) == ER_OK, "area resize failed");
    /* 12 of 25 pixels are 250: mean 120. */
    CHECK(px(&dst, 0, 0, 1) == 120, "area 5x5 -> 1x1: %d, want 120", px(&dst, 0, 0, 1));
    er_image_free(&dst);
    CHECK(er_image_resize_area(&src, 10, 10, &dst) == ER_OK && dst.width == 10, "area enlarge failed");
    er_image_free(&dst);
    er_image_free(&src);
}

/* src pixel (x, y) = (x + 10 y, 2 x, 3 y); the axis-aligned quad from (2,3) to (6,7) maps
 * output (x, y) to source (2 + x, 3 + y) exactly. */
static void test_warp(void)
{
    er_image src, dst;
    er_image_alloc(&src, 10, 10);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++) {
            uint8_t *p = src.data + ((size_t)y * 10 + x) * 3;
            p[0] = (uint8_t)(x + 10 * y), p[1] = (uint8_t)(2 * x), p[2] = (uint8_t)(3 * y);
        }
    const float quad[4][2] = {{2, 3}, {6, 3}, {6, 7}, {2, 7}};
    CHECK(er_image_warp_quad(&src, quad, 4, 4, &dst) == ER_OK, "warp failed");
    int bad = 0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) bad += px(&dst, x, y, 0) != (2 + x) + 10 * (3 + y);
    CHECK(bad == 0, "axis-aligned warp: %d pixels differ", bad);
    er_image_free(&dst);
    /* Quad listed starting at the top-right corner going down: output row y reads source
     * column 6 - ... i.e. output (x, y) = source (6 - y, 3 + x): a quarter turn. */
    const float turned[4][2] = {{6, 3}, {6, 7}, {2, 7}, {2, 3}};
    CHECK(er_image_warp_quad(&src, turned, 4, 4, &dst) == ER_OK, "warp failed");
    bad = 0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) bad += px(&dst, x, y, 0) != (6 - y) + 10 * (3 + x);
    CHECK(bad == 0, "rotated warp: %d pixels differ", bad);
    er_image_free(&dst);

    /* rot90 (numpy convention, counter-clockwise): out[y][x] = in[x][w - 1 - y]. */
    CHECK(er_image_rotate90(&src, &dst) == ER_OK, "rotate90 failed");
    CHECK(px(&dst, 0, 0, 0) == 9 && px(&dst, 3, 0, 0) == 39 && px(&dst, 0, 9, 0) == 0,
          "rotate90: %d %d %d, want 9 39 0", px(&dst, 0, 0, 0), px(&dst, 3, 0, 0), px(&dst, 0, 9, 0));
    er_image_free(&dst);
    er_image_rotate180(&src);
    CHECK(px(&src, 0, 0, 0) == 99 && px(&src, 9, 9, 0) == 0, "rotate180");
    er_image_free(&src);
}

/* Planar BGR packing: (v / 255 - mean) / std, padding after the image columns. */
static void test_chw(void)
{
    er_image im;
    er_image_alloc(&im, 1, 1);
    im.data[0] = 255, im.data[1] = 0, im.data[2] = 51; /* R G B */
    float out[3 * 2];
    const float mean[3] = {0.5f, 0.5f, 0.5f}, sd[3] = {0.5f, 0.5f, 0.5f};
    er_image_to_chw_bgr(&im, 2, mean, sd, -7.f, out);
    /* B = 51 -> 0.2 -> -0.6; G = 0 -> -1; R = 255 -> 1. */
    CHECK(fabsf(out[0] + 0.6f) < 1e-6f && fabsf(out[2] + 1.f) < 1e-6f && fabsf(out[4] - 1.f) < 1e-6f,
          "chw values %g %g %g", out[0], out[2], out[4]);
    CHECK(out[1] == -7.f && out[3] == -7.f && out[5] == -7.f, "chw padding");
    er_image_free(&im);
}

/* Corners of a 40 x 10 rectangle turned by 30 degrees, plus interior points. */
static void test_min_area_rect(void)
{
    float pts[8][2], hull[18][2];
    const float c = cosf(0.5235988f), s = sinf(0.5235988f);
    const float local[8][2] = {{-20, -5}, {20, -5}, {20, 5}, {-20, 5}, {0, 0}, {5, 1}, {-3, 2}, {10, -4}};
    for (int i = 0; i < 8; i++) {
        pts[i][0] = 50 + local[i][0] * c - local[i][1] * s;
        pts[i][1] = 50 + local[i][0] * s + local[i][1] * c;
    }
    er_rrect r = er_min_area_rect((const float (*)[2])pts, 8, hull);
    float lo = fminf(r.w, r.h), hi = fmaxf(r.w, r.h);
    CHECK(fabsf(lo - 10) < 1e-3f && fabsf(hi - 40) < 1e-3f, "min rect %g x %g, want 40 x 10", hi, lo);
    float o[4][2];
    er_rrect_order(&r, o);
    /* Top-left is the corner (-20, -5) turned: (50 - 17.32 + 2.5, 50 - 10 - 4.33). */
    CHECK(fabsf(o[0][0] - 35.179f) < 1e-2f && fabsf(o[0][1] - 35.670f) < 1e-2f,
          "top-left corner (%g, %g)", o[0][0], o[0][1]);
}

/* One rectangle of probability 0.9 over pixels x 20..79, y 40..49 of a 100 x 80 map.
 * Hull 59 x 9, grow distance 59 * 9 * 1.5 / (2 * 68) = 5.856, so the box spans
 * x 14.14..84.86 → 14..85 and y 34.14..54.86 → 34..55; scaled x2 for a 200 x 160 image. */
static void test_db_boxes(void)
{
    int w = 100, h = 80;
    float *prob = calloc((size_t)w * h, sizeof(float));
    for (int y = 40; y < 50; y++)
        for (int x = 20; x < 80; x++) prob[y * w + x] = 0.9f;
    prob[5 * w + 5] = 0.95f; /* a lone pixel: below the minimum box side */
    er_db_params p = {0.3f, 0.6f, 1.5f, 1000};
    er_text_box *b = NULL;
    int n = 0;
    CHECK(er_db_boxes(prob, w, h, w, h, &p, &b, &n) == ER_OK && n == 1, "db boxes: %d, want 1", n);
    if (n == 1) {
        const float want[4][2] = {{14, 34}, {85, 34}, {85, 55}, {14, 55}};
        int bad = 0;
        for (int i = 0; i < 4; i++)
            bad += fabsf(b[0].pts[i][0] - want[i][0]) > 0.f || fabsf(b[0].pts[i][1] - want[i][1]) > 0.f;
        CHECK(bad == 0, "box (%g,%g) (%g,%g) (%g,%g) (%g,%g)", b[0].pts[0][0], b[0].pts[0][1],
              b[0].pts[1][0], b[0].pts[1][1], b[0].pts[2][0], b[0].pts[2][1], b[0].pts[3][0],
              b[0].pts[3][1]);
        CHECK(fabsf(b[0].score - 0.9f) < 1e-5f, "box score %g, want 0.9", b[0].score);
    }
    free(b);
    CHECK(er_db_boxes(prob, w, h, 2 * w, 2 * h, &p, &b, &n) == ER_OK && n == 1, "scaled boxes");
    if (n == 1) CHECK(b[0].pts[2][0] == 170 && b[0].pts[2][1] == 110, "scaled corner (%g, %g), want (170, 110)",
                      b[0].pts[2][0], b[0].pts[2][1]);
    free(b);
    p.box_thresh = 0.95f;
    CHECK(er_db_boxes(prob, w, h, w, h, &p, &b, &n) == ER_OK && n == 0, "box_thresh ignored");
    free(prob);
}

static void set_box(er_text_box *b, float x0, float y0, float x1, float y1, float slope)
{
    float dy0 = 0, dy1 = (x1 - x0) * slope;
    const float pts[4][2] = {{x0, y0 + dy0}, {x1, y0 + dy1}, {x1, y1 + dy1}, {x0, y1 + dy0}};
    memcpy(b->pts, pts, sizeof(pts));
}

/* Two rows; the first split in two pieces, slanted upwards so the right piece sits higher
 * than the left one's top. Reading order: left piece, right piece, then the second row. */
static void test_sort(void)
{
    er_text_box b[3];
    set_box(&b[0], 10, 100, 110, 120, 0);
    set_box(&b[1], 200, 44, 300, 64, -0.087f);
    set_box(&b[2], 10, 60, 180, 80, -0.087f);
    er_sort_boxes(b, 3);
    CHECK(b[0].pts[0][0] == 10 && b[0].pts[0][1] == 60 && b[1].pts[0][0] == 200 &&
          b[2].pts[0][1] == 100, "reading order (%g,%g) (%g,%g) (%g,%g)", b[0].pts[0][0],
          b[0].pts[0][1], b[1].pts[0][0], b[1].pts[0][1], b[2].pts[0][0], b[2].pts[0][1]);
    CHECK(b[0].row == 0 && b[1].row == 0 && b[2].row == 1, "rows %d %d %d", b[0].row, b[1].row, b[2].row);
}

/* Dictionary a, b, (+ space); classes: 0 blank, 1 a, 2 b, 3 space. Steps best classes
 * a a blank a b space b → "aab b", mean of the kept steps' probabilities. */
static void test_ctc(void)
{
    char path[] = "/tmp/er_test_keysXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    CHECK(write(fd, "a\r\nb\n", 5) == 5, "write keys");
    close(fd);
    er_charset cs;
    er_msg msg;
    CHECK(er_charset_load(path, &cs, &msg) == ER_OK && cs.n == 3, "charset size %d, want 3", cs.n);
    unlink(path);
    const int best[7] = {1, 1, 0, 1, 2, 3, 2};
    const float pr[7] = {0.9f, 0.8f, 0.99f, 0.7f, 0.6f, 0.5f, 0.4f};
    float probs[7][4];
    for (int t = 0; t < 7; t++)
        for (int c = 0; c < 4; c++) probs[t][c] = c == best[t] ? pr[t] : (1 - pr[t]) / 3;
    char *text = NULL;
    float score = 0;
    CHECK(er_ctc_greedy(&probs[0][0], 7, 4, &cs, &text, &score) == ER_OK, "ctc failed");
    CHECK(text && strcmp(text, "aab b") == 0, "ctc text '%s', want 'aab b'", text ? text : "");
    const float want = (0.9f + 0.7f + 0.6f + 0.5f + 0.4f) / 5;
    CHECK(fabsf(score - want) < 1e-6f, "ctc score %g, want %g", score, want);
    free(text);
    CHECK(er_ctc_greedy(&probs[0][0], 7, 5, &cs, &text, &score) == ER_ERR_SHAPE, "class count unchecked");
    er_charset_free(&cs);
}

static void test_load_errors(void)
{
    er_image im;
    er_msg msg;
    CHECK(er_image_load("/nonexistent/x.png", &im, &msg) == ER_ERR_IO && strstr(msg.text, "cannot open"),
          "missing file: %s", msg.text);
    er_image_alloc(&im, 16, 8);
    for (int i = 0; i < 16 * 8 * 3; i++) im.data[i] = (uint8_t)(i * 7);
    char path[] = "/tmp/er_test_imgXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return;
    close(fd);
    CHECK(er_image_write_png(path, &im, &msg) == ER_OK, "write png: %s", msg.text);
    er_image back;
    CHECK(er_image_load(path, &back, &msg) == ER_OK && back.width == 16 && back.height == 8 &&
          memcmp(back.data, im.data, 16 * 8 * 3) == 0, "PNG round trip");
    er_image_free(&back);
    CHECK(truncate(path, 60) == 0, "truncate");
    CHECK(er_image_load(path, &back, &msg) == ER_ERR_FORMAT && back.data == NULL,
          "truncated PNG accepted");
    FILE *f = fopen(path, "wb");
    fputs("GIF89a not supported", f);
    fclose(f);
    CHECK(er_image_load(path, &back, &msg) == ER_ERR_FORMAT && strstr(msg.text, "not a JPEG"),
          "unknown format: %s", msg.text);
    unlink(path);
    er_image_free(&im);
}

int main(void)
{
    test_resize();
    test_resize_area();
    test_warp();
    test_chw();
    test_min_area_rect();
    test_db_boxes();
    test_sort();
    test_ctc();
    test_load_errors();
    printf("test_image: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
