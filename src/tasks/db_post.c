#include "tasks/db_post.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Boxes thinner than this many map pixels are noise (before and, +2, after growing). */
#define DB_MIN_SIDE 3

static float cross3(const float *o, const float *a, const float *b)
{
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

static int cmp_xy(const void *pa, const void *pb)
{
    const float *a = pa, *b = pb;
    if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
    if (a[1] != b[1]) return a[1] < b[1] ? -1 : 1;
    return 0;
}

/* Andrew's monotone chain; sorts pts in place, returns the hull size (counter-clockwise in
 * a y-up frame, collinear points dropped). */
static int convex_hull(float (*pts)[2], int n, float (*hull)[2])
{
    qsort(pts, (size_t)n, sizeof(pts[0]), cmp_xy);
    int k = 0;
    for (int i = 0; i < n; i++) {
        while (k >= 2 && cross3(hull[k - 2], hull[k - 1], pts[i]) <= 0) k--;
        memcpy(hull[k++], pts[i], sizeof(pts[0]));
    }
    for (int i = n - 2, lower = k + 1; i >= 0; i--) {
        while (k >= lower && cross3(hull[k - 2], hull[k - 1], pts[i]) <= 0) k--;
        memcpy(hull[k++], pts[i], sizeof(pts[0]));
    }
    return n > 1 ? k - 1 : k;
}

static void rrect_from_frame(er_rrect *r, float ex, float ey, float e0, float e1, float n0,
                             float n1)
{
    /* Axis e = (ex, ey), normal n = (-ey, ex); corners in order around the rectangle. */
    float nx = -ey, ny = ex;
    float es[4] = {e0, e1, e1, e0}, ns[4] = {n0, n0, n1, n1};
    for (int i = 0; i < 4; i++) {
        r->pts[i][0] = es[i] * ex + ns[i] * nx;
        r->pts[i][1] = es[i] * ey + ns[i] * ny;
    }
    r->w = e1 - e0;
    r->h = n1 - n0;
}

er_rrect er_min_area_rect(const float (*pts)[2], int n, float (*hull)[2])
{
    er_rrect best = {{{0}}, 0, 0};
    if (n <= 0) return best;
    float (*work)[2] = malloc(sizeof(work[0]) * (size_t)n);
    if (!work) return best;
    memcpy(work, pts, sizeof(work[0]) * (size_t)n);
    int h = convex_hull(work, n, hull);
    free(work);
    if (h == 1) {
        rrect_from_frame(&best, 1, 0, hull[0][0], hull[0][0], hull[0][1], hull[0][1]);
        return best;
    }
    double best_area = INFINITY;
    for (int i = 0; i < h; i++) {
        const float *a = hull[i], *b = hull[(i + 1) % h];
        float dx = b[0] - a[0], dy = b[1] - a[1];
        float len = sqrtf(dx * dx + dy * dy);
        if (len <= 0) continue;
        float ex = dx / len, ey = dy / len;
        float e0 = INFINITY, e1 = -INFINITY, n0 = INFINITY, n1 = -INFINITY;
        for (int j = 0; j < h; j++) {
            float pe = hull[j][0] * ex + hull[j][1] * ey;
            float pn = -hull[j][0] * ey + hull[j][1] * ex;
            e0 = fminf(e0, pe), e1 = fmaxf(e1, pe), n0 = fminf(n0, pn), n1 = fmaxf(n1, pn);
        }
        double area = (double)(e1 - e0) * (n1 - n0);
        if (area < best_area) {
            best_area = area;
            rrect_from_frame(&best, ex, ey, e0, e1, n0, n1);
        }
    }
    return best;
}

void er_rrect_order(const er_rrect *r, float out[4][2])
{
    float p[4][2];
    memcpy(p, r->pts, sizeof(p));
    qsort(p, 4, sizeof(p[0]), cmp_xy);
    int tl = p[1][1] > p[0][1] ? 0 : 1, bl = 1 - tl;
    int tr = p[3][1] > p[2][1] ? 2 : 3, br = 5 - tr;
    memcpy(out[0], p[tl], sizeof(p[0]));
    memcpy(out[1], p[tr], sizeof(p[0]));
    memcpy(out[2], p[br], sizeof(p[0]));
    memcpy(out[3], p[bl], sizeof(p[0]));
}

/* Mean probability over the map pixels whose centres fall inside the convex quad q
 * (half a pixel of tolerance, as a polygon fill covers its boundary). */
static float quad_score(const float *prob, int w, int h, const float q[4][2])
{
    float minx = q[0][0], maxx = q[0][0], miny = q[0][1], maxy = q[0][1];
    for (int i = 1; i < 4; i++) {
        minx = fminf(minx, q[i][0]), maxx = fmaxf(maxx, q[i][0]);
        miny = fminf(miny, q[i][1]), maxy = fmaxf(maxy, q[i][1]);
    }
    int x0 = (int)floorf(minx), x1 = (int)ceilf(maxx), y0 = (int)floorf(miny), y1 = (int)ceilf(maxy);
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > w - 1 ? w - 1 : x1, y1 = y1 > h - 1 ? h - 1 : y1;
    float area2 = 0;
    for (int i = 0; i < 4; i++) area2 += q[i][0] * q[(i + 1) % 4][1] - q[(i + 1) % 4][0] * q[i][1];
    float orient = area2 >= 0 ? 1.f : -1.f;
    float nx[4], ny[4], c[4];
    for (int i = 0; i < 4; i++) {
        float dx = q[(i + 1) % 4][0] - q[i][0], dy = q[(i + 1) % 4][1] - q[i][1];
        float len = sqrtf(dx * dx + dy * dy);
        if (len <= 0) len = 1;
        nx[i] = -dy / len * orient, ny[i] = dx / len * orient;
        c[i] = -(nx[i] * q[i][0] + ny[i] * q[i][1]);
    }
    double sum = 0;
    long cnt = 0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            int inside = 1;
            for (int i = 0; i < 4 && inside; i++)
                inside = nx[i] * (float)x + ny[i] * (float)y + c[i] >= -0.5f;
            if (inside) sum += prob[(size_t)y * w + x], cnt++;
        }
    return cnt ? (float)(sum / (double)cnt) : 0.f;
}

/* Grows r by d on every side (the bounding rectangle of its offset polygon). */
static er_rrect rrect_grow(const er_rrect *r, float d)
{
    float ux = r->pts[1][0] - r->pts[0][0], uy = r->pts[1][1] - r->pts[0][1];
    float vx = r->pts[3][0] - r->pts[0][0], vy = r->pts[3][1] - r->pts[0][1];
    float lu = sqrtf(ux * ux + uy * uy), lv = sqrtf(vx * vx + vy * vy);
    if (lu > 0) ux /= lu, uy /= lu;
    else if (lv > 0) ux = -vy / lv, uy = vx / lv;
    else ux = 1, uy = 0;
    if (lv > 0) vx /= lv, vy /= lv;
    else vx = -uy, vy = ux;
    float cx = 0, cy = 0;
    for (int i = 0; i < 4; i++) cx += r->pts[i][0] / 4, cy += r->pts[i][1] / 4;
    float hu = lu / 2 + d, hv = lv / 2 + d;
    static const float su[4] = {-1, 1, 1, -1}, sv[4] = {-1, -1, 1, 1};
    er_rrect g;
    for (int i = 0; i < 4; i++) {
        g.pts[i][0] = cx + su[i] * hu * ux + sv[i] * hv * vx;
        g.pts[i][1] = cy + su[i] * hu * uy + sv[i] * hv * vy;
    }
    g.w = 2 * hu;
    g.h = 2 * hv;
    return g;
}

/* Per connected component: the leftmost and rightmost pixel of every row it covers. Their
 * convex hull is the hull of the component, which is all the box fitting needs. */
typedef struct {
    int *stack, *rowmin, *rowmax;
    float (*pts)[2], (*hull)[2];
} db_scratch;

static int component_extremes(const uint8_t *bin, uint8_t *seen, int w, int h, int seed,
                              db_scratch *s)
{
    int top = 0, ymin = seed / w, ymax = ymin;
    s->stack[top++] = seed;
    seen[seed] = 1;
    while (top > 0) {
        int p = s->stack[--top];
        int x = p % w, y = p / w;
        if (y < ymin) ymin = y;
        if (y > ymax) ymax = y;
        if (x < s->rowmin[y]) s->rowmin[y] = x;
        if (x > s->rowmax[y]) s->rowmax[y] = x;
        for (int dy = -1; dy <= 1; dy++) {
            int yy = y + dy;
            if (yy < 0 || yy >= h) continue;
            for (int dx = -1; dx <= 1; dx++) {
                int xx = x + dx;
                if (xx < 0 || xx >= w) continue;
                int q = yy * w + xx;
                if (bin[q] && !seen[q]) seen[q] = 1, s->stack[top++] = q;
            }
        }
    }
    int n = 0;
    for (int y = ymin; y <= ymax; y++) {
        if (s->rowmax[y] < 0) continue;
        s->pts[n][0] = (float)s->rowmin[y], s->pts[n][1] = (float)y, n++;
        if (s->rowmax[y] != s->rowmin[y])
            s->pts[n][0] = (float)s->rowmax[y], s->pts[n][1] = (float)y, n++;
        s->rowmin[y] = w, s->rowmax[y] = -1;
    }
    return n;
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static float dist2d(const float *a, const float *b)
{
    return sqrtf((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));
}

/* Fits, scores, grows and scales one component's box; returns 1 when it is kept. */
static int component_box(const float *prob, int map_w, int map_h, int img_w, int img_h,
                         const er_db_params *p, db_scratch *s, int n_pts, er_text_box *out)
{
    er_rrect r = er_min_area_rect((const float (*)[2])s->pts, n_pts, s->hull);
    if (fminf(r.w, r.h) < DB_MIN_SIDE) return 0;
    float q[4][2];
    er_rrect_order(&r, q);
    float score = quad_score(prob, map_w, map_h, (const float (*)[2])q);
    if (score < p->box_thresh) return 0;
    float perim = 2 * (r.w + r.h);
    er_rrect g = rrect_grow(&r, r.w * r.h * p->unclip_ratio / perim);
    if (fminf(g.w, g.h) < DB_MIN_SIDE + 2) return 0;
    er_rrect_order(&g, q);
    float sx = (float)img_w / (float)map_w, sy = (float)img_h / (float)map_h;
    for (int i = 0; i < 4; i++) {
        out->pts[i][0] = clampf(roundf(q[i][0] * sx), 0, (float)(img_w - 1));
        out->pts[i][1] = clampf(roundf(q[i][1] * sy), 0, (float)(img_h - 1));
    }
    out->score = score;
    return (int)dist2d(out->pts[0], out->pts[1]) > 3 && (int)dist2d(out->pts[0], out->pts[3]) > 3;
}

typedef struct {
    float cx, cy, slope, half_h;
} box_geom;

static box_geom geom_of(const er_text_box *b)
{
    box_geom g = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) g.cx += b->pts[i][0] / 4, g.cy += b->pts[i][1] / 4;
    float dx = (b->pts[1][0] + b->pts[2][0] - b->pts[0][0] - b->pts[3][0]) / 2;
    float dy = (b->pts[1][1] + b->pts[2][1] - b->pts[0][1] - b->pts[3][1]) / 2;
    g.slope = fabsf(dx) > 1e-3f ? dy / dx : 0;
    g.half_h = (dist2d(b->pts[0], b->pts[3]) + dist2d(b->pts[1], b->pts[2])) / 4;
    return g;
}

static int cmp_centre_y(const void *pa, const void *pb)
{
    box_geom a = geom_of(pa), b = geom_of(pb);
    if (a.cy != b.cy) return a.cy < b.cy ? -1 : 1;
    return a.cx < b.cx ? -1 : (a.cx > b.cx);
}

static int cmp_row_x(const void *pa, const void *pb)
{
    const er_text_box *a = pa, *b = pb;
    if (a->row != b->row) return a->row < b->row ? -1 : 1;
    float ax = geom_of(a).cx, bx = geom_of(b).cx;
    return ax < bx ? -1 : (ax > bx);
}

void er_sort_boxes(er_text_box *boxes, int n)
{
    qsort(boxes, (size_t)n, sizeof(*boxes), cmp_centre_y);
    int rows = 0;
    for (int i = 0; i < n; i++) {
        box_geom g = geom_of(&boxes[i]);
        boxes[i].row = -1;
        /* The nearest box above first: the row being built is the likeliest match. */
        for (int j = i - 1; j >= 0 && boxes[i].row < 0; j--) {
            box_geom a = geom_of(&boxes[j]);
            float expect = a.cy + (g.cx - a.cx) * a.slope;
            if (fabsf(g.cy - expect) < a.half_h) boxes[i].row = boxes[j].row;
        }
        if (boxes[i].row < 0) boxes[i].row = rows++;
    }
    qsort(boxes, (size_t)n, sizeof(*boxes), cmp_row_x);
}

er_status er_db_boxes(const float *prob, int map_w, int map_h, int img_w, int img_h,
                      const er_db_params *p, er_text_box **boxes, int *n_boxes)
{
    *boxes = NULL;
    *n_boxes = 0;
    if (map_w <= 0 || map_h <= 0 || img_w <= 0 || img_h <= 0) return ER_ERR_INVALID_ARG;
    size_t n = (size_t)map_w * map_h;
    uint8_t *bin = malloc(n * 2);
    db_scratch s = {
        .stack = malloc(sizeof(int) * n),
        .rowmin = malloc(sizeof(int) * (size_t)map_h),
        .rowmax = malloc(sizeof(int) * (size_t)map_h),
        .pts = malloc(sizeof(float[2]) * 2 * (size_t)map_h),
        .hull = malloc(sizeof(float[2]) * (4 * (size_t)map_h + 2)),
    };
    int cap = 16, count = 0;
    er_text_box *out = malloc(sizeof(*out) * (size_t)cap);
    er_status st = ER_OK;
    if (!bin || !s.stack || !s.rowmin || !s.rowmax || !s.pts || !s.hull || !out) {
        st = ER_ERR_NOMEM;
        goto done;
    }
    uint8_t *seen = bin + n;
    for (size_t i = 0; i < n; i++) bin[i] = prob[i] > p->thresh, seen[i] = 0;
    for (int y = 0; y < map_h; y++) s.rowmin[y] = map_w, s.rowmax[y] = -1;
    int candidates = 0;
    for (size_t i = 0; i < n && candidates < p->max_candidates; i++) {
        if (!bin[i] || seen[i]) continue;
        candidates++;
        int n_pts = component_extremes(bin, seen, map_w, map_h, (int)i, &s);
        er_text_box b;
        if (!component_box(prob, map_w, map_h, img_w, img_h, p, &s, n_pts, &b)) continue;
        if (count == cap) {
            er_text_box *nb = realloc(out, sizeof(*out) * (size_t)cap * 2);
            if (!nb) {
                st = ER_ERR_NOMEM;
                goto done;
            }
            out = nb;
            cap *= 2;
        }
        out[count++] = b;
    }
    er_sort_boxes(out, count);
done:
    free(bin);
    free(s.stack), free(s.rowmin), free(s.rowmax), free(s.pts), free(s.hull);
    if (st != ER_OK || count == 0) {
        free(out);
        return st;
    }
    *boxes = out;
    *n_boxes = count;
    return ER_OK;
}
