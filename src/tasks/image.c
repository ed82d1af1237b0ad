#include "tasks/image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "core/common.h"

/* Larger images are almost certainly corrupt headers; refusing them keeps allocations sane. */
#define ER_IMAGE_MAX_SIDE 32768
#define ER_IMAGE_MAX_PIXELS (1LL << 28)

static er_status image_msg(er_msg *msg, er_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static er_status image_msg(er_msg *msg, er_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    er_vfail(msg ? msg->text : NULL, msg ? sizeof(msg->text) : 0, st, fmt, ap);
    va_end(ap);
    return st;
}

er_status er_image_alloc(er_image *img, int width, int height)
{
    img->width = img->height = 0;
    img->data = NULL;
    if (width <= 0 || height <= 0 || width > ER_IMAGE_MAX_SIDE || height > ER_IMAGE_MAX_SIDE ||
        (int64_t)width * height > ER_IMAGE_MAX_PIXELS)
        return ER_ERR_INVALID_ARG;
    img->data = malloc((size_t)width * (size_t)height * 3);
    if (!img->data) return ER_ERR_NOMEM;
    img->width = width;
    img->height = height;
    return ER_OK;
}

void er_image_free(er_image *img)
{
    if (!img) return;
    free(img->data);
    img->data = NULL;
    img->width = img->height = 0;
}

static er_status read_whole_file(const char *path, uint8_t **data, size_t *size, er_msg *msg)
{
    FILE *f = fopen(path, "rb");
    if (!f) return image_msg(msg, ER_ERR_IO, "cannot open image '%s': %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return image_msg(msg, ER_ERR_NOMEM, "out of memory reading '%s'", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return image_msg(msg, ER_ERR_IO, "error reading image '%s'", path);
    }
    *data = buf;
    *size = n;
    return ER_OK;
}

typedef enum { FMT_UNKNOWN, FMT_PNG, FMT_JPEG, FMT_BMP } image_format;

static image_format sniff_format(const uint8_t *d, size_t n)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(d, png_sig, 8) == 0) return FMT_PNG;
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return FMT_JPEG;
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return FMT_BMP;
    return FMT_UNKNOWN;
}

/* stb_image decodes truncated JPEG and BMP files without complaint (missing data reads as
 * zero), so a cut-off file would silently become a half-grey image. */
static bool looks_truncated(image_format fmt, const uint8_t *d, size_t n)
{
    if (fmt == FMT_JPEG) {
        /* Entropy-coded data never holds FF D9 (FF is byte-stuffed), so EOI near the end
         * means the scan finished. Trailing bytes after EOI are common and allowed. */
        size_t from = n > 4096 ? n - 4096 : 0;
        for (size_t i = n - 1; i > from; i--)
            if (d[i - 1] == 0xff && d[i] == 0xd9) return false;
        return true;
    }
    if (fmt == FMT_BMP) {
        if (n < 14) return true;
        uint32_t declared = (uint32_t)d[2] | (uint32_t)d[3] << 8 | (uint32_t)d[4] << 16 |
                            (uint32_t)d[5] << 24;
        return declared > n;
    }
    return false;
}

er_status er_image_load(const char *path, er_image *img, er_msg *msg)
{
    img->width = img->height = 0;
    img->data = NULL;
    if (!path) return image_msg(msg, ER_ERR_INVALID_ARG, "image path is NULL");
    uint8_t *buf = NULL;
    size_t size = 0;
    er_status st = read_whole_file(path, &buf, &size, msg);
    if (st != ER_OK) return st;
    if (size == 0) {
        free(buf);
        return image_msg(msg, ER_ERR_FORMAT, "image '%s' is empty", path);
    }
    image_format fmt = sniff_format(buf, size);
    if (fmt == FMT_UNKNOWN) {
        free(buf);
        return image_msg(msg, ER_ERR_FORMAT, "'%s' is not a JPEG, PNG or BMP image", path);
    }
    if (looks_truncated(fmt, buf, size)) {
        free(buf);
        return image_msg(msg, ER_ERR_FORMAT, "image '%s' is truncated (%zu bytes)", path, size);
    }
    int w = 0, h = 0, c = 0;
    if (size > INT32_MAX || !stbi_info_from_memory(buf, (int)size, &w, &h, &c) || w <= 0 ||
        h <= 0 || w > ER_IMAGE_MAX_SIDE || h > ER_IMAGE_MAX_SIDE ||
        (int64_t)w * h > ER_IMAGE_MAX_PIXELS) {
        free(buf);
        if (w > 0 && h > 0)
            return image_msg(msg, ER_ERR_UNSUPPORTED, "image '%s' is too large (%dx%d)", path, w, h);
        return image_msg(msg, ER_ERR_FORMAT, "cannot decode image '%s': %s", path,
                         stbi_failure_reason() ? stbi_failure_reason() : "bad header");
    }
    unsigned char *pix = stbi_load_from_memory(buf, (int)size, &w, &h, &c, 3);
    free(buf);
    if (!pix)
        return image_msg(msg, ER_ERR_FORMAT, "cannot decode image '%s': %s", path,
                         stbi_failure_reason() ? stbi_failure_reason() : "corrupt data");
    img->width = w;
    img->height = h;
    img->data = pix;
    return ER_OK;
}

er_status er_image_write_png(const char *path, const er_image *img, er_msg *msg)
{
    if (!path || !img || !img->data || img->width <= 0 || img->height <= 0)
        return image_msg(msg, ER_ERR_INVALID_ARG, "nothing to write: empty image or no path");
    if (!stbi_write_png(path, img->width, img->height, 3, img->data, img->width * 3))
        return image_msg(msg, ER_ERR_IO, "cannot write PNG '%s'", path);
    return ER_OK;
}

static void put_square(er_image *img, int cx, int cy, int half, const uint8_t rgb[3])
{
    for (int y = cy - half; y <= cy + half; y++) {
        if (y < 0 || y >= img->height) continue;
        for (int x = cx - half; x <= cx + half; x++) {
            if (x < 0 || x >= img->width) continue;
            memcpy(img->data + ((size_t)y * img->width + x) * 3, rgb, 3);
        }
    }
}

void er_image_draw_polygon(er_image *img, const float (*pts)[2], int n, const uint8_t rgb[3],
                           int thickness)
{
    if (!img || !img->data || n < 2) return;
    int half = thickness > 1 ? (thickness - 1) / 2 : 0;
    for (int i = 0; i < n; i++) {
        float x0 = pts[i][0], y0 = pts[i][1];
        float x1 = pts[(i + 1) % n][0], y1 = pts[(i + 1) % n][1];
        if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
        float len = fmaxf(fabsf(x1 - x0), fabsf(y1 - y0));
        int steps = len > 1e5f ? 100000 : (int)ceilf(len);
        for (int s = 0; s <= steps; s++) {
            float t = steps ? (float)s / (float)steps : 0.f;
            put_square(img, (int)lrintf(x0 + t * (x1 - x0)), (int)lrintf(y0 + t * (y1 - y0)), half,
                       rgb);
        }
    }
}

/* Source coordinate of output index i under the half-pixel convention, with the two taps
 * and the weight of the second. */
static void linear_taps(int i, int src_n, int dst_n, int *i0, int *i1, float *w1)
{
    float s = ((float)i + 0.5f) * (float)src_n / (float)dst_n - 0.5f;
    if (s < 0) s = 0;
    int a = (int)s;
    if (a > src_n - 1) a = src_n - 1;
    *i0 = a;
    *i1 = a + 1 < src_n ? a + 1 : a;
    *w1 = s - (float)a;
    if (*w1 > 1.f) *w1 = 1.f;
}

/* Source spans covered by each destination cell along one axis: cell i covers
 * [i*scale, (i+1)*scale); taps list (source index, weight) pairs, start[i]..start[i+1]. */
static er_status area_taps(int src_n, int dst_n, int **start, int **idx, float **wt)
{
    double scale = (double)src_n / dst_n;
    int max_taps = (int)ceil(scale) + 2;
    *start = malloc(sizeof(int) * (size_t)(dst_n + 1));
    *idx = malloc(sizeof(int) * (size_t)dst_n * (size_t)max_taps);
    *wt = malloc(sizeof(float) * (size_t)dst_n * (size_t)max_taps);
    if (!*start || !*idx || !*wt) return ER_ERR_NOMEM;
    int n = 0;
    for (int i = 0; i < dst_n; i++) {
        double a = i * scale, b = (i + 1) * scale;
        (*start)[i] = n;
        for (int s = (int)floor(a); s < src_n && s < b; s++) {
            double lo = s > a ? s : a, hi = s + 1 < b ? s + 1 : b;
            if (hi <= lo) continue;
            (*idx)[n] = s;
            (*wt)[n++] = (float)((hi - lo) / scale);
        }
    }
    (*start)[dst_n] = n;
    return ER_OK;
}

er_status er_image_resize_area(const er_image *src, int width, int height, er_image *dst)
{
    if (width > src->width || height > src->height) return er_image_resize(src, width, height, dst);
    er_status st = er_image_alloc(dst, width, height);
    if (st != ER_OK) return st;
    int *xs = NULL, *xi = NULL, *ys = NULL, *yi = NULL;
    float *xw = NULL, *yw = NULL, *row = malloc(sizeof(float) * 3 * (size_t)width);
    if (!row || area_taps(src->width, width, &xs, &xi, &xw) != ER_OK ||
        area_taps(src->height, height, &ys, &yi, &yw) != ER_OK) {
        st = ER_ERR_NOMEM;
        er_image_free(dst);
        goto done;
    }
    for (int y = 0; y < height; y++) {
        for (int k = 0; k < 3 * width; k++) row[k] = 0;
        for (int t = ys[y]; t < ys[y + 1]; t++) {
            const uint8_t *in = src->data + (size_t)yi[t] * src->width * 3;
            for (int x = 0; x < width; x++) {
                float acc[3] = { 0, 0, 0 };
                for (int u = xs[x]; u < xs[x + 1]; u++)
                    for (int k = 0; k < 3; k++) acc[k] += xw[u] * (float)in[xi[u] * 3 + k];
                for (int k = 0; k < 3; k++) row[3 * x + k] += yw[t] * acc[k];
            }
        }
        uint8_t *out = dst->data + (size_t)y * width * 3;
        for (int k = 0; k < 3 * width; k++) {
            float v = row[k];
            out[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrintf(v));
        }
    }
done:
    free(row);
    free(xs); free(xi); free(xw);
    free(ys); free(yi); free(yw);
    return st;
}

er_status er_image_resize(const er_image *src, int width, int height, er_image *dst)
{
    er_status st = er_image_alloc(dst, width, height);
    if (st != ER_OK) return st;
    int *xs = malloc(sizeof(int) * 2 * (size_t)width);
    float *xw = malloc(sizeof(float) * (size_t)width);
    if (!xs || !xw) {
        free(xs);
        free(xw);
        er_image_free(dst);
        return ER_ERR_NOMEM;
    }
    for (int x = 0; x < width; x++) linear_taps(x, src->width, width, &xs[2 * x], &xs[2 * x + 1], &xw[x]);
    for (int y = 0; y < height; y++) {
        int y0, y1;
        float wy;
        linear_taps(y, src->height, height, &y0, &y1, &wy);
        const uint8_t *r0 = src->data + (size_t)y0 * src->width * 3;
        const uint8_t *r1 = src->data + (size_t)y1 * src->width * 3;
        uint8_t *out = dst->data + (size_t)y * width * 3;
        for (int x = 0; x < width; x++) {
            const uint8_t *a = r0 + xs[2 * x] * 3, *b = r0 + xs[2 * x + 1] * 3;
            const uint8_t *c = r1 + xs[2 * x] * 3, *d = r1 + xs[2 * x + 1] * 3;
            float wx = xw[x];
            for (int k = 0; k < 3; k++) {
                float top = (float)a[k] + wx * (float)(b[k] - a[k]);
                float bot = (float)c[k] + wx * (float)(d[k] - c[k]);
                out[3 * x + k] = (uint8_t)lrintf(top + wy * (bot - top));
            }
        }
    }
    free(xs);
    free(xw);
    return ER_OK;
}

/* Coefficients of the projective map from the unit square (corners in the order
 * (0,0) (1,0) (1,1) (0,1)) onto quad: x = (a u + b v + c) / (g u + h v + 1), y likewise
 * with d e f. */
typedef struct { double a, b, c, d, e, f, g, h; } square_to_quad;

static square_to_quad solve_square_to_quad(const float (*q)[2])
{
    double x0 = q[0][0], y0 = q[0][1], x1 = q[1][0], y1 = q[1][1];
    double x2 = q[2][0], y2 = q[2][1], x3 = q[3][0], y3 = q[3][1];
    double sx = x0 - x1 + x2 - x3, sy = y0 - y1 + y2 - y3;
    double dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
    double den = dx1 * dy2 - dx2 * dy1;
    square_to_quad m = {0};
    if ((fabs(sx) < 1e-9 && fabs(sy) < 1e-9) || fabs(den) < 1e-12) {
        m.g = m.h = 0;
    } else {
        m.g = (sx * dy2 - dx2 * sy) / den;
        m.h = (dx1 * sy - sx * dy1) / den;
    }
    m.a = x1 - x0 + m.g * x1;
    m.b = x3 - x0 + m.h * x3;
    m.c = x0;
    m.d = y1 - y0 + m.g * y1;
    m.e = y3 - y0 + m.h * y3;
    m.f = y0;
    return m;
}

static void sample_bilinear(const er_image *src, double x, double y, uint8_t out[3])
{
    if (!isfinite(x) || !isfinite(y)) x = y = 0;
    x = x < 0 ? 0 : (x > src->width - 1 ? src->width - 1 : x);
    y = y < 0 ? 0 : (y > src->height - 1 ? src->height - 1 : y);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < src->width ? x0 + 1 : x0, y1 = y0 + 1 < src->height ? y0 + 1 : y0;
    float wx = (float)(x - x0), wy = (float)(y - y0);
    const uint8_t *a = src->data + ((size_t)y0 * src->width + x0) * 3;
    const uint8_t *b = src->data + ((size_t)y0 * src->width + x1) * 3;
    const uint8_t *c = src->data + ((size_t)y1 * src->width + x0) * 3;
    const uint8_t *d = src->data + ((size_t)y1 * src->width + x1) * 3;
    for (int k = 0; k < 3; k++) {
        float top = (float)a[k] + wx * (float)(b[k] - a[k]);
        float bot = (float)c[k] + wx * (float)(d[k] - c[k]);
        out[k] = (uint8_t)lrintf(top + wy * (bot - top));
    }
}

er_status er_image_warp_quad(const er_image *src, const float (*quad)[2], int width, int height,
                             er_image *dst)
{
    er_status st = er_image_alloc(dst, width, height);
    if (st != ER_OK) return st;
    square_to_quad m = solve_square_to_quad(quad);
    for (int y = 0; y < height; y++) {
        double v = (double)y / height;
        for (int x = 0; x < width; x++) {
            double u = (double)x / width;
            double w = m.g * u + m.h * v + 1.0;
            if (fabs(w) < 1e-12) w = 1e-12;
            sample_bilinear(src, (m.a * u + m.b * v + m.c) / w, (m.d * u + m.e * v + m.f) / w,
                            dst->data + ((size_t)y * width + x) * 3);
        }
    }
    return ER_OK;
}

er_status er_image_rotate90(const er_image *src, er_image *dst)
{
    er_status st = er_image_alloc(dst, src->height, src->width);
    if (st != ER_OK) return st;
    /* Output pixel (x, y) comes from source column w-1-y, row x. */
    for (int y = 0; y < dst->height; y++)
        for (int x = 0; x < dst->width; x++)
            memcpy(dst->data + ((size_t)y * dst->width + x) * 3,
                   src->data + ((size_t)x * src->width + (src->width - 1 - y)) * 3, 3);
    return ER_OK;
}

void er_image_rotate180(er_image *img)
{
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        uint8_t t[3];
        memcpy(t, img->data + i * 3, 3);
        memcpy(img->data + i * 3, img->data + j * 3, 3);
        memcpy(img->data + j * 3, t, 3);
    }
}

void er_image_to_chw_bgr(const er_image *img, int stride, const float mean[3], const float std[3],
                         float pad, float *out)
{
    size_t plane = (size_t)stride * img->height;
    for (int c = 0; c < 3; c++) {
        int src_c = 2 - c;
        float scale = 1.f / (255.f * std[c]), shift = mean[c] / std[c];
        float *o = out + c * plane;
        for (int y = 0; y < img->height; y++) {
            const uint8_t *row = img->data + (size_t)y * img->width * 3;
            float *orow = o + (size_t)y * stride;
            for (int x = 0; x < img->width; x++) orow[x] = (float)row[3 * x + src_c] * scale - shift;
            for (int x = img->width; x < stride; x++) orow[x] = pad;
        }
    }
}
