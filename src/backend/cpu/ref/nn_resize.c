/* Resize (opsets 10 to 19) and Upsample (7, 9).
 *
 * Every resampling mode is separable: along each axis an output index reads a few input
 * indices with weights (nearest: one, linear: two, cubic: four, antialiased: a widened
 * filter). Those taps are computed once per axis into the workspace; an output element is the
 * sum over the product of its axes' taps. Weights follow the ONNX reference: edge indices are
 * clamped, or dropped and the rest renormalised with exclude_outside. */
#include <math.h>
#include <string.h>

#include "backend/cpu/ref/nn.h"

typedef enum { RS_NEAREST, RS_LINEAR, RS_CUBIC } rs_mode;

typedef enum {
    CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC,
    CT_TF_HALF_PIXEL_FOR_NN, CT_TF_CROP_AND_RESIZE
} rs_coord;

/* NR_SIMPLE is the rounding of Upsample and Resize-10: floor when enlarging, ceil when shrinking. */
typedef enum { NR_ROUND_PREFER_FLOOR, NR_ROUND_PREFER_CEIL, NR_FLOOR, NR_CEIL, NR_SIMPLE } rs_round;

typedef struct {
    int rank;
    int64_t in[ER_MAX_DIMS], out[ER_MAX_DIMS];
    double scale[ER_MAX_DIMS];            /* output / input, as used by the coordinate mapping */
    double len[ER_MAX_DIMS];              /* the resized length before flooring (scale * input) */
    double roi0[ER_MAX_DIMS], roi1[ER_MAX_DIMS];
    rs_mode mode;
    rs_coord coord;
    rs_round round;
    double cubic_a, extrapolation;
    bool exclude_outside, antialias;
} rs_params;

typedef struct {
    int64_t idx;
    double w;
} rs_tap;

static const struct { const char *name; int value; } coord_names[] = {
    { "half_pixel", CT_HALF_PIXEL }, { "half_pixel_symmetric", CT_HALF_PIXEL_SYMMETRIC },
    { "pytorch_half_pixel", CT_PYTORCH_HALF_PIXEL }, { "align_corners", CT_ALIGN_CORNERS },
    { "asymmetric", CT_ASYMMETRIC }, { "tf_half_pixel_for_nn", CT_TF_HALF_PIXEL_FOR_NN },
    { "tf_crop_and_resize", CT_TF_CROP_AND_RESIZE },
}, round_names[] = {
    { "round_prefer_floor", NR_ROUND_PREFER_FLOOR }, { "round_prefer_ceil", NR_ROUND_PREFER_CEIL },
    { "floor", NR_FLOOR }, { "ceil", NR_CEIL },
}, mode_names[] = {
    { "nearest", RS_NEAREST }, { "linear", RS_LINEAR }, { "bilinear", RS_LINEAR }, { "cubic", RS_CUBIC },
};

static er_status lookup(er_kctx *ctx, const char *attr, const char *def, const void *table, size_t n, int *out)
{
    const struct { const char *name; int value; } *t = table;
    const char *s = er_attr_str(ctx->node, attr, def);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, s) == 0) {
            *out = t[i].value;
            return ER_OK;
        }
    return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "unknown %s '%s'", attr, s);
}

static bool is_upsample(er_kctx *ctx) { return strcmp(ctx->node->op_type, "Upsample") == 0; }

/* Upsample and Resize-10 predate the coordinate and rounding attributes. */
static bool legacy(er_kctx *ctx) { return is_upsample(ctx) || ctx->opset < 11; }

static er_status read_modes(er_kctx *ctx, rs_params *p)
{
    int v = 0;
    er_status st = lookup(ctx, "mode", "nearest", mode_names, ER_ARRAY_LEN(mode_names), &v);
    if (st != ER_OK) return st;
    p->mode = (rs_mode)v;
    if (legacy(ctx)) {
        if (p->mode == RS_CUBIC) return er_op_fail(ctx, ER_ERR_FORMAT, "mode cubic needs Resize-11 or later");
        p->coord = CT_ASYMMETRIC;
        p->round = NR_SIMPLE;
    } else {
        if ((st = lookup(ctx, "coordinate_transformation_mode", "half_pixel", coord_names,
                         ER_ARRAY_LEN(coord_names), &v)) != ER_OK)
            return st;
        p->coord = (rs_coord)v;
        if ((st = lookup(ctx, "nearest_mode", "round_prefer_floor", round_names, ER_ARRAY_LEN(round_names), &v)) != ER_OK)
            return st;
        p->round = (rs_round)v;
    }
    p->cubic_a = er_attr_float(ctx->node, "cubic_coeff_a", -0.75f);
    p->extrapolation = er_attr_float(ctx->node, "extrapolation_value", 0.0f);
    p->exclude_outside = er_attr_int(ctx->node, "exclude_outside", 0) != 0;
    p->antialias = er_attr_int(ctx->node, "antialias", 0) != 0;
    return ER_OK;
}

/* Axes the scales/sizes/roi inputs refer to (opset 18 `axes`; default all), in order. */
static er_status read_axes(er_kctx *ctx, int rank, int *axes, int *n_axes)
{
    int n = 0;
    const int64_t *a = er_attr_ints(ctx->node, "axes", &n);
    if (!a) {
        for (int i = 0; i < rank; i++) axes[i] = i;
        *n_axes = rank;
        return ER_OK;
    }
    if (n > rank) return er_op_fail(ctx, ER_ERR_FORMAT, "axes has %d entries for rank %d", n, rank);
    bool seen[ER_MAX_DIMS] = { false };
    for (int i = 0; i < n; i++) {
        er_status st = er_op_axis(ctx, a[i], rank, &axes[i]);
        if (st != ER_OK) return st;
        if (seen[axes[i]]) return er_op_fail(ctx, ER_ERR_FORMAT, "axis %lld is repeated", (long long)a[i]);
        seen[axes[i]] = true;
    }
    *n_axes = n;
    return ER_OK;
}

static bool given(const er_tensor *t) { return t && er_tensor_numel(t) > 0; }

/* Output sizes from `sizes`, honouring keep_aspect_ratio_policy. */
static er_status sizes_to_shape(er_kctx *ctx, const er_tensor *sizes, const int *axes, int na, rs_params *p)
{
    if (sizes->dtype != ER_I64) return er_op_fail(ctx, ER_ERR_DTYPE, "sizes must be int64");
    if (er_tensor_numel(sizes) != na)
        return er_op_fail(ctx, ER_ERR_SHAPE, "sizes has %lld entries, expected %d", (long long)er_tensor_numel(sizes), na);
    const int64_t *sz = sizes->data;
    const char *policy = er_attr_str(ctx->node, "keep_aspect_ratio_policy", "stretch");
    bool larger = strcmp(policy, "not_larger") == 0, smaller = strcmp(policy, "not_smaller") == 0;
    if (!larger && !smaller && strcmp(policy, "stretch") != 0)
        return er_op_fail(ctx, ER_ERR_UNSUPPORTED, "unknown keep_aspect_ratio_policy '%s'", policy);
    double keep = larger ? INFINITY : 0.0;
    for (int i = 0; i < na; i++) {
        if (sz[i] < 0) return er_op_fail(ctx, ER_ERR_SHAPE, "sizes[%d] = %lld is negative", i, (long long)sz[i]);
        double s = p->in[axes[i]] ? (double)sz[i] / (double)p->in[axes[i]] : 1.0;
        keep = larger ? fmin(keep, s) : fmax(keep, s);
    }
    for (int i = 0; i < na; i++) {
        int ax = axes[i];
        if (larger || smaller) {
            p->scale[ax] = keep;
            p->out[ax] = (int64_t)floor(keep * (double)p->in[ax] + 0.5);
            p->len[ax] = keep * (double)p->in[ax];
        } else {
            p->len[ax] = (double)sz[i];
            p->out[ax] = sz[i];
            p->scale[ax] = p->in[ax] ? (double)sz[i] / (double)p->in[ax] : 1.0;
        }
    }
    return ER_OK;
}

static er_status scales_to_shape(er_kctx *ctx, const float *sc, int count, const int *axes, int na, rs_params *p)
{
    if (count != na) return er_op_fail(ctx, ER_ERR_SHAPE, "scales has %d entries, expected %d", count, na);
    for (int i = 0; i < na; i++) {
        if (!(sc[i] > 0.0f)) return er_op_fail(ctx, ER_ERR_FORMAT, "scales[%d] = %g must be positive", i, (double)sc[i]);
        int ax = axes[i];
        p->scale[ax] = sc[i];
        p->len[ax] = (double)sc[i] * (double)p->in[ax];
        p->out[ax] = (int64_t)floor(p->len[ax]);
    }
    return ER_OK;
}

static er_status read_roi(er_kctx *ctx, const er_tensor *roi, const int *axes, int na, rs_params *p)
{
    for (int i = 0; i < p->rank; i++) {
        p->roi0[i] = 0.0;
        p->roi1[i] = 1.0;
    }
    if (p->coord != CT_TF_CROP_AND_RESIZE || !given(roi)) return ER_OK;
    if (er_tensor_numel(roi) != 2 * na)
        return er_op_fail(ctx, ER_ERR_SHAPE, "roi has %lld entries, expected %d", (long long)er_tensor_numel(roi), 2 * na);
    if (!er_dtype_is_float(roi->dtype)) return er_op_fail(ctx, ER_ERR_DTYPE, "roi must be a float tensor");
    for (int i = 0; i < na; i++) {
        p->roi0[axes[i]] = er_get_f64(roi->data, roi->dtype, i);
        p->roi1[axes[i]] = er_get_f64(roi->data, roi->dtype, na + i);
    }
    return ER_OK;
}

/* Output dims and scales from the scales attribute (Upsample-7) or the scales/sizes input. */
static er_status output_shape(er_kctx *ctx, er_tensor **in, int n_in, const int *axes, int na, rs_params *p)
{
    if (is_upsample(ctx) && ctx->opset < 9) {
        int count = 0;
        const float *sc = er_attr_floats(ctx->node, "scales", &count);
        if (!sc) return er_op_fail(ctx, ER_ERR_FORMAT, "attribute scales is required");
        return scales_to_shape(ctx, sc, count, axes, na, p);
    }
    const er_tensor *scales = legacy(ctx) ? (n_in > 1 ? in[1] : NULL) : (n_in > 2 ? in[2] : NULL);
    const er_tensor *sizes = !legacy(ctx) && n_in > 3 ? in[3] : NULL;
    if (given(scales) == given(sizes))
        return er_op_fail(ctx, ER_ERR_FORMAT, "exactly one of scales and sizes must be given");
    if (!(given(scales) ? scales : sizes)->data) return ER_DYNAMIC;
    if (!given(scales)) return sizes_to_shape(ctx, sizes, axes, na, p);
    if (scales->dtype != ER_F32) return er_op_fail(ctx, ER_ERR_DTYPE, "scales must be float32");
    return scales_to_shape(ctx, scales->data, (int)er_tensor_numel(scales), axes, na, p);
}

/* Fills p from attributes and inputs. need_roi: the roi values are read (run time). Returns
 * ER_DYNAMIC when the scales/sizes values are not known yet. */
static er_status resize_params(er_kctx *ctx, er_tensor **in, int n_in, bool need_roi, rs_params *p)
{
    er_status st = er_op_check_arity(ctx, n_in, 1, legacy(ctx) ? 2 : 4);
    if (st != ER_OK) return st;
    const er_tensor *x = in[0];
    if (!x) return er_op_fail(ctx, ER_ERR_FORMAT, "input X is required");
    if (x->dtype != ER_F32 && x->dtype != ER_F16 && x->dtype != ER_U8 && x->dtype != ER_I8)
        return er_op_fail(ctx, ER_ERR_DTYPE, "X has unsupported type %s", er_dtype_name(x->dtype));
    if (x->ndim < 1) return er_op_fail(ctx, ER_ERR_SHAPE, "X must have rank >= 1");
    memset(p, 0, sizeof *p);
    p->rank = x->ndim;
    for (int i = 0; i < x->ndim; i++) {
        p->in[i] = p->out[i] = x->dims[i];
        p->len[i] = (double)x->dims[i];
        p->scale[i] = 1.0;
    }
    if ((st = read_modes(ctx, p)) != ER_OK) return st;
    int axes[ER_MAX_DIMS], na = 0;
    if ((st = read_axes(ctx, x->ndim, axes, &na)) != ER_OK) return st;

    st = output_shape(ctx, in, n_in, axes, na, p);
    const er_tensor *roi = !legacy(ctx) && n_in > 1 ? in[1] : NULL;
    for (int i = 0; st == ER_OK && i < p->rank; i++)
        if (p->in[i] == 0 && p->out[i] > 0)
            st = er_op_fail(ctx, ER_ERR_SHAPE, "cannot resize an empty axis %d to %lld", i, (long long)p->out[i]);
    if (st == ER_OK && need_roi) {
        if (p->coord == CT_TF_CROP_AND_RESIZE && roi && given(roi) && !roi->data) return ER_DYNAMIC;
        st = read_roi(ctx, roi, axes, na, p);
    }
    return st;
}

/* Taps per output index along one axis (the workspace is sized from this). */
static int64_t taps_per_index(const rs_params *p, int ax)
{
    if (p->mode == RS_NEAREST) return 1;
    double s = p->scale[ax];
    if (!p->antialias || s >= 1.0) return p->mode == RS_LINEAR ? 2 : 4;
    int64_t start = (int64_t)floor((p->mode == RS_LINEAR ? -1.0 : -2.0) / s) + 1;
    return 2 - 2 * start;
}

static size_t workspace_for(const rs_params *p)
{
    size_t n = 0;
    for (int i = 0; i < p->rank; i++) n += (size_t)(p->out[i] * (taps_per_index(p, i) + 1));
    return n * sizeof(rs_tap);
}

er_status er_nn_resize_infer(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    rs_params p;
    er_status st = resize_params(ctx, in, n_in, false, &p);
    if (st != ER_OK) return st;
    er_tensor_set_shape(out[0], in[0]->dtype, p.out, p.rank);
    ctx->workspace_bytes = workspace_for(&p);
    return ER_OK;
}

/* Input coordinate of output index x along an axis. As in the ONNX reference, the resized
 * length is scale * input, not the floored output size. */
static double source_coord(const rs_params *p, int ax, int64_t x)
{
    const double s = p->scale[ax], in = (double)p->in[ax], out = p->len[ax], xo = (double)x;
    switch (p->coord) {
    case CT_HALF_PIXEL: return (xo + 0.5) / s - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adjust = (double)p->out[ax] / out, center = in / 2.0;
        return center * (1.0 - adjust) + (xo + 0.5) / s - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL: return out > 1 ? (xo + 0.5) / s - 0.5 : 0.0;
    case CT_ALIGN_CORNERS: return out > 1 ? xo * (in - 1.0) / (out - 1.0) : 0.0;
    case CT_ASYMMETRIC: return xo / s;
    case CT_TF_HALF_PIXEL_FOR_NN: return (xo + 0.5) / s;
    case CT_TF_CROP_AND_RESIZE: {
        double r0 = p->roi0[ax], r1 = p->roi1[ax];
        return out > 1 ? r0 * (in - 1.0) + xo * (r1 - r0) * (in - 1.0) / (out - 1.0) : 0.5 * (r0 + r1) * (in - 1.0);
    }
    }
    return 0.0;
}

static int64_t round_nearest(const rs_params *p, int ax, double x)
{
    switch (p->round) {
    case NR_ROUND_PREFER_FLOOR: return (int64_t)ceil(x - 0.5);
    case NR_ROUND_PREFER_CEIL: return (int64_t)floor(x + 0.5);
    case NR_FLOOR: return (int64_t)floor(x);
    case NR_CEIL: return (int64_t)ceil(x);
    case NR_SIMPLE: return p->scale[ax] < 1.0 ? (int64_t)ceil(x) : (int64_t)floor(x);
    }
    return 0;
}

/* Interpolation kernel at distance d (in input pixels times the antialias scale). */
static double kernel_at(const rs_params *p, double d)
{
    d = fabs(d);
    if (p->mode == RS_LINEAR) return d < 1.0 ? 1.0 - d : 0.0;
    const double a = p->cubic_a;
    if (d <= 1.0) return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
    if (d < 2.0) return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
    return 0.0;
}

/* Taps of output index x along axis ax into t; returns their count (0: extrapolate). */
static int64_t axis_taps(const rs_params *p, int ax, int64_t x, rs_tap *t)
{
    const int64_t n_in = p->in[ax];
    const double xs = source_coord(p, ax, x);
    if (p->coord == CT_TF_CROP_AND_RESIZE && (xs < 0.0 || xs > (double)(n_in - 1))) return 0;
    if (p->mode == RS_NEAREST) {
        int64_t i = round_nearest(p, ax, xs);
        t[0] = (rs_tap){ i < 0 ? 0 : i >= n_in ? n_in - 1 : i, 1.0 };
        return 1;
    }
    const int64_t n = taps_per_index(p, ax);
    const double ks = p->antialias && p->scale[ax] < 1.0 ? p->scale[ax] : 1.0;
    /* An integral coordinate is treated as the far end of the previous cell (ONNX's ratio of 1). */
    int64_t base = (int64_t)floor(xs);
    if ((double)base == xs) base--;
    const int64_t first = base - n / 2 + 1;
    double sum = 0.0, kept = 0.0;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = first + k;
        double w = kernel_at(p, ((double)i - xs) * ks);
        sum += w;
        bool inside = i >= 0 && i < n_in;
        if (p->exclude_outside && !inside) w = 0.0;
        kept += w;
        t[k] = (rs_tap){ i < 0 ? 0 : i >= n_in ? n_in - 1 : i, w };
    }
    double norm = p->exclude_outside ? kept : p->antialias ? sum : 1.0;
    int64_t m = 0;
    for (int64_t k = 0; k < n; k++) {
        if (t[k].w == 0.0) continue;
        t[m] = t[k];
        t[m++].w /= norm != 0.0 ? norm : 1.0;
    }
    return m;
}

typedef struct {
    const rs_params *p;
    const rs_tap *taps[ER_MAX_DIMS];      /* per axis: out[ax] rows of `stride` entries */
    int64_t stride[ER_MAX_DIMS];          /* entries per row: its count, then the taps */
    int64_t in_str[ER_MAX_DIMS];
    const er_tensor *x;
    er_tensor *y;
} rs_args;

static double load(const er_tensor *x, int64_t i)
{
    return x->dtype == ER_F32 ? ((const float *)x->data)[i] : er_get_f64(x->data, x->dtype, i);
}

/* Sum over axes ax.. of the tap products, with `off` the input offset of the earlier axes. */
static double gather(const rs_args *a, const int64_t *pos, int ax, int64_t off)
{
    const rs_tap *row = a->taps[ax] + pos[ax] * a->stride[ax];
    const int64_t n = row[0].idx;
    double acc = 0.0;
    for (int64_t k = 1; k <= n; k++) {
        int64_t o = off + row[k].idx * a->in_str[ax];
        acc += row[k].w * (ax + 1 == a->p->rank ? load(a->x, o) : gather(a, pos, ax + 1, o));
    }
    return acc;
}

static void resize_rows(void *arg, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const rs_args *a = arg;
    const rs_params *p = a->p;
    const int r = p->rank;
    const int64_t w = p->out[r - 1];
    int64_t pos[ER_MAX_DIMS];
    for (int64_t row = begin; row < end; row++) {
        int64_t rem = row;
        for (int d = r - 2; d >= 0; d--) {
            pos[d] = rem % p->out[d];
            rem /= p->out[d];
        }
        bool outside = false;
        for (int d = 0; d < r - 1; d++) outside |= a->taps[d][pos[d] * a->stride[d]].idx == 0;
        for (pos[r - 1] = 0; pos[r - 1] < w; pos[r - 1]++) {
            bool out_w = outside || a->taps[r - 1][pos[r - 1] * a->stride[r - 1]].idx == 0;
            double v = out_w ? a->p->extrapolation : gather(a, pos, 0, 0);
            er_nn_store(a->y->data, a->y->dtype, row * w + pos[r - 1], v);
        }
    }
}

er_status er_nn_resize_run(er_kctx *ctx, er_tensor **in, int n_in, er_tensor **out, int n_out)
{
    (void)n_out;
    rs_params p;
    er_status st = resize_params(ctx, in, n_in, true, &p);
    if (st != ER_OK) return st == ER_DYNAMIC ? er_op_fail(ctx, ER_ERR_INTERNAL, "scales/sizes/roi unknown at run time") : st;
    if (workspace_for(&p) > ctx->workspace_bytes)
        return er_op_fail(ctx, ER_ERR_INTERNAL, "workspace of %zu bytes is too small", ctx->workspace_bytes);
    rs_args a = { .p = &p, .x = in[0], .y = out[0] };
    rs_tap *ws = ctx->workspace;
    int64_t s = 1;
    for (int d = p.rank - 1; d >= 0; d--) {
        a.in_str[d] = s;
        s *= p.in[d];
    }
    for (int d = 0; d < p.rank; d++) {
        a.stride[d] = taps_per_index(&p, d) + 1;
        a.taps[d] = ws;
        for (int64_t o = 0; o < p.out[d]; o++, ws += a.stride[d]) ws[0].idx = axis_taps(&p, d, o, ws + 1);
    }
    if (er_tensor_numel(out[0]) == 0) return ER_OK;
    er_nn_parallel(ctx, er_tensor_numel(out[0]) / p.out[p.rank - 1], resize_rows, &a);
    return ER_OK;
}
