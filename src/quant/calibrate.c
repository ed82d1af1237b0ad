/* Calibration: runs a copy of the graph whose outputs are the tensors to quantize and
 * records their ranges. minmax needs one pass; percentile and entropy build a histogram
 * in a second pass over the range the first pass found. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/onnx_write.h"
#include "quant/quantize.h"

#define HIST_BINS 2048

typedef struct calib_run {
    void *buf;                /* serialized calibration model; the model points into it */
    er_model *model;
    er_session *sess;
    int *out_index;           /* per range: session output index */
} calib_run;

static void calib_run_free(calib_run *r)
{
    er_session_free(r->sess);
    er_model_free(r->model);
    free(r->buf);
    free(r->out_index);
}

/* A copy of src whose outputs are the original ones plus every tensor to observe. */
static er_status calib_open(const er_graph *src, const er_quant_range *ranges, int n_ranges, calib_run *r, char *err,
                            size_t err_size)
{
    memset(r, 0, sizeof *r);
    er_graph *g = er_graph_clone(src);
    r->out_index = malloc(sizeof(int) * (size_t)(n_ranges ? n_ranges : 1));
    int *outs = g ? er_pool_alloc(&g->pool, sizeof(int) * (size_t)(src->n_outputs + n_ranges + 1)) : NULL;
    if (!g || !r->out_index || !outs) {
        er_graph_free(g);
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    }
    memcpy(outs, g->outputs, sizeof(int) * (size_t)g->n_outputs);
    int n_out = g->n_outputs;
    for (int i = 0; i < n_ranges; i++) {
        int v = er_graph_find_value(g, ranges[i].name), k = 0;
        while (k < n_out && outs[k] != v) k++;
        if (k == n_out) outs[n_out++] = v;
        r->out_index[i] = k;
    }
    g->outputs = outs;
    g->n_outputs = n_out;
    size_t size = 0;
    er_status st = er_onnx_serialize(g, &r->buf, &size, err, err_size);
    er_graph_free(g);
    er_msg msg = { { 0 } };
    if (st == ER_OK) st = er_model_load_buffer(r->buf, size, &r->model, &msg);
    er_session_options so;
    er_session_options_init(&so);
    so.opt_level = 0;   /* keeps every tensor the rewrite refers to by name */
    if (st == ER_OK) st = er_session_create(r->model, &so, &r->sess, &msg);
    if (st != ER_OK && msg.text[0]) er_fail(err, err_size, st, "calibration model: %s", msg.text);
    if (st != ER_OK) calib_run_free(r);
    return st;
}

static er_status calib_sample(calib_run *r, const er_graph *src, const er_tensor *in, char *err, size_t err_size)
{
    for (int i = 0; i < src->n_inputs; i++) {
        const er_value *v = &src->values[src->inputs[i]];
        const er_tensor *t = &in[i];
        if (v->dtype != ER_UNDEFINED && t->dtype != v->dtype)
            return er_fail(err, err_size, ER_ERR_DTYPE, "calibration input '%s' is %s but the model expects %s", v->name,
                           er_dtype_name(t->dtype), er_dtype_name(v->dtype));
        bool ok = v->ndim < 0 || v->ndim == t->ndim;
        for (int d = 0; ok && v->ndim >= 0 && d < t->ndim; d++) ok = v->dims[d] < 0 || v->dims[d] == t->dims[d];
        if (!ok) {
            char a[128], b[128];
            return er_fail(err, err_size, ER_ERR_SHAPE, "calibration input '%s' has shape %s but the model expects %s",
                           v->name, er_shape_str(t->dims, t->ndim, a, sizeof a),
                           er_shape_str(v->dims, v->ndim, b, sizeof b));
        }
        er_status st = er_session_set_input(r->sess, v->name, t->dtype, t->dims, t->ndim, t->data);
        if (st != ER_OK) return er_fail(err, err_size, st, "calibration: %s", er_session_error(r->sess));
    }
    er_status st = er_session_run(r->sess);
    if (st != ER_OK) return er_fail(err, err_size, st, "calibration run: %s", er_session_error(r->sess));
    return ER_OK;
}

static er_status calib_view(calib_run *r, int k, er_tensor_view *view, char *err, size_t err_size)
{
    er_status st = er_session_output(r->sess, r->out_index[k], view);
    if (st != ER_OK) return er_fail(err, err_size, st, "calibration: %s", er_session_error(r->sess));
    return ER_OK;
}

/* Lowest bin edge whose cumulative share of the histogram reaches q (0..1). */
static float hist_quantile(const double *h, float lo, float hi, double q)
{
    double total = 0, c = 0;
    for (int b = 0; b < HIST_BINS; b++) total += h[b];
    for (int b = 0; b < HIST_BINS; b++) {
        c += h[b];
        if (c >= q * total) return lo + (hi - lo) * (float)(b + 1) / HIST_BINS;
    }
    return hi;
}

/* KL divergence between the reference distribution p (clipped at n bins, the outliers
 * folded into the last bin) and the clipped histogram without the outliers re-expressed
 * with `levels` quantization levels: clipping costs through the folded tail, coarse steps
 * through the re-expression. */
static double kl_for_threshold(const double *h, int n, int levels)
{
    double p[HIST_BINS], q[HIST_BINS], tail = 0;
    for (int b = 0; b < n; b++) p[b] = h[b];
    for (int b = n; b < HIST_BINS; b++) tail += h[b];
    p[n - 1] += tail;
    double per = (double)n / levels;
    for (int j = 0; j < levels; j++) {
        int b0 = (int)floor(j * per), b1 = (int)floor((j + 1) * per);
        if (j == levels - 1) b1 = n;
        double sum = 0;
        int nz = 0;
        for (int b = b0; b < b1; b++) {
            sum += h[b];
            nz += h[b] > 0;
        }
        for (int b = b0; b < b1; b++) q[b] = h[b] > 0 ? sum / nz : 0;
    }
    double ps = 0, qs = 0, kl = 0;
    for (int b = 0; b < n; b++) ps += p[b], qs += q[b];
    if (ps <= 0 || qs <= 0) return INFINITY;
    for (int b = 0; b < n; b++) {
        if (p[b] <= 0) continue;
        double pp = p[b] / ps, qq = q[b] / qs;
        kl += pp * log(pp / (qq > 0 ? qq : 1e-12));
    }
    return kl;
}

/* The |x| threshold with the least information loss, from a histogram of |x| over [0, amax]. */
static float entropy_threshold(const double *h, float amax, int levels)
{
    int best = HIST_BINS;
    double best_kl = INFINITY;
    for (int n = levels; n <= HIST_BINS; n += 8) {
        double kl = kl_for_threshold(h, n, levels);
        if (kl < best_kl) best_kl = kl, best = n;
    }
    return amax * (float)best / HIST_BINS;
}

static void observe_minmax(er_quant_range *r, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < r->min) r->min = x[i];
        if (x[i] > r->max) r->max = x[i];
    }
}

static void observe_hist(const er_quant_range *r, er_calib_method m, double *h, const float *x, int64_t n)
{
    float amax = fmaxf(fabsf(r->min), fabsf(r->max));
    float lo = m == ER_CALIB_ENTROPY ? 0.0f : r->min, width = (m == ER_CALIB_ENTROPY ? amax : r->max) - lo;
    if (!(width > 0)) return;
    for (int64_t i = 0; i < n; i++) {
        float v = m == ER_CALIB_ENTROPY ? fabsf(x[i]) : x[i];
        int b = (int)((v - lo) / width * HIST_BINS);
        h[b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b] += 1;
    }
}

static er_status run_pass(calib_run *cr, const er_graph *src, const er_quant_options *o, const er_tensor *samples,
                          int n_samples, er_quant_range *ranges, int n_ranges, double *hist, int pass, int n_pass,
                          char *err, size_t err_size)
{
    for (int s = 0; s < n_samples; s++) {
        er_status st = calib_sample(cr, src, samples + (size_t)s * (size_t)src->n_inputs, err, err_size);
        for (int k = 0; k < n_ranges && st == ER_OK; k++) {
            er_tensor_view v;
            if ((st = calib_view(cr, k, &v, err, err_size)) != ER_OK) break;
            if (v.dtype != ER_F32) {
                ranges[k].not_float = true;
                continue;
            }
            int64_t n = er_shape_numel(v.dims, v.ndim);
            if (pass == 0) observe_minmax(&ranges[k], v.data, n);
            else observe_hist(&ranges[k], o->method, hist + (size_t)k * HIST_BINS, v.data, n);
        }
        if (st != ER_OK) return st;
        if (o->progress) o->progress(o->user, pass * n_samples + s + 1, n_pass * n_samples);
    }
    return ER_OK;
}

static void choose_range(er_quant_range *r, const er_quant_options *o, const double *h)
{
    r->lo = r->min;
    r->hi = r->max;
    if (o->method == ER_CALIB_PERCENTILE && r->max > r->min) {
        double q = o->percentile / 100.0;
        r->lo = r->min < 0 ? hist_quantile(h, r->min, r->max, 1.0 - q) : r->min;
        r->hi = hist_quantile(h, r->min, r->max, q);
    } else if (o->method == ER_CALIB_ENTROPY) {
        float amax = fmaxf(fabsf(r->min), fabsf(r->max));
        if (amax > 0) {
            float t = entropy_threshold(h, amax, r->min < 0 || o->symmetric ? 128 : 256);
            r->hi = fminf(r->max, t);
            r->lo = fmaxf(r->min, -t);
        }
    }
}

er_status er_calibrate(const er_graph *src, const er_quant_options *o, const er_tensor *samples, int n_samples,
                       er_quant_range *ranges, int n_ranges, char *err, size_t err_size)
{
    if (n_samples < 1) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "the calibration set is empty");
    calib_run cr;
    er_status st = calib_open(src, ranges, n_ranges, &cr, err, err_size);
    if (st != ER_OK) return st;
    for (int k = 0; k < n_ranges; k++) {
        ranges[k].not_float = false;
        ranges[k].min = INFINITY;
        ranges[k].max = -INFINITY;
    }
    int n_pass = o->method == ER_CALIB_MINMAX ? 1 : 2;
    double *hist = NULL;
    if (n_pass == 2 && !(hist = calloc((size_t)n_ranges * HIST_BINS, sizeof(double))))
        st = er_fail(err, err_size, ER_ERR_NOMEM, "out of memory for calibration histograms");
    for (int pass = 0; pass < n_pass && st == ER_OK; pass++)
        st = run_pass(&cr, src, o, samples, n_samples, ranges, n_ranges, hist, pass, n_pass, err, err_size);
    for (int k = 0; k < n_ranges && st == ER_OK; k++) {
        if (ranges[k].not_float) continue;
        if (!isfinite(ranges[k].min) || !isfinite(ranges[k].max)) {
            st = er_fail(err, err_size, ER_ERR_FORMAT, "tensor '%s' has no finite values during calibration",
                         ranges[k].name);
            break;
        }
        choose_range(&ranges[k], o, hist ? hist + (size_t)k * HIST_BINS : NULL);
    }
    free(hist);
    calib_run_free(&cr);
    return st;
}
