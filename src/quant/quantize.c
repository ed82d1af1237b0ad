/* The QDQ rewrite. The output graph is built node by node in the source order:
 *   weights  W → W_quantized (int8, symmetric, per tensor or per output channel)
 *              → DequantizeLinear → the op;
 *   large float tables read only by Gather (axis 0) or as an addend (embeddings, position
 *              tables) → int8 per row, weight only: their readers stay in float;
 *   biases   (static mode) int32 with scale x_scale * w_scale, zero point 0, the form integer
 *              kernels add straight into their accumulators;
 *   activations T (inputs and outputs of quantized ops) keep their float producer; then
 *              T → QuantizeLinear → DequantizeLinear → every consumer (static), or
 *              T → DynamicQuantizeLinear → DequantizeLinear → the quantized consumers (dynamic).
 * Names follow ONNX Runtime's quantizer (T_quantized, T_scale, ...) so both tools' models
 * read alike. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "quant/quantize.h"

typedef struct qctx {
    const er_graph *src;
    er_graph *dst;
    const er_quant_options *o;
    char *err;
    size_t err_size;
    bool *node_q;             /* per source node: quantized */
    int *range_of;            /* per source value: index into ranges, -1 none (static) */
    bool *dyn;                /* per source value: dynamically quantized input (dynamic) */
    const char **deq;         /* per source value: dst name of its dequantized form */
    const float **wscale;     /* per source value (weights): scales chosen for it */
    int *wsrc;                /* per source value: the initializer it is, or an Identity of; -1 */
    bool *nonfloat;           /* per source value: calibration found it is not float32 */
    int *wscale_n;
    int *wonly;               /* per source value: weight-only axis (-1 per tensor), NO_WONLY */
    er_quant_range *ranges;
    int n_ranges;
} qctx;

void er_quant_options_init(er_quant_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = ER_QUANT_STATIC;
    o->method = ER_CALIB_MINMAX;
    o->per_channel = true;
    o->percentile = 99.999;
}

/* ---- which nodes ---- */

static bool is_init(const er_graph *g, int v) { return v >= 0 && g->values[v].init; }

/* Exporters share a weight between layers through Identity nodes; the weight is the
 * initializer behind them. */
static int weight_of(const qctx *q, int v) { return v >= 0 ? q->wsrc[v] : -1; }

static bool float_init(const er_graph *g, int v, int min_rank, int max_rank)
{
    if (!is_init(g, v)) return false;
    const er_const *c = g->values[v].init;
    return c->dtype == ER_F32 && c->ndim >= min_rank && c->ndim <= max_rank;
}

static bool graph_output(const er_graph *g, int v);

static bool excluded(const er_quant_options *o, const er_node *n)
{
    for (int i = 0; i < o->n_exclude; i++)
        if (strcmp(o->exclude[i], n->op_type) == 0 || (n->name && strcmp(o->exclude[i], n->name) == 0)) return true;
    return false;
}

/* Input slots of n that carry activations to quantize; 0 when n stays in float. */
static int act_inputs(const qctx *q, const er_node *n, int slots[2])
{
    const er_graph *g = q->src;
    bool stat = q->o->mode == ER_QUANT_STATIC;
    if (n->domain[0] || excluded(q->o, n) || n->n_out < 1) return 0;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && q->nonfloat[n->in[k]]) return 0;
    if (strcmp(n->op_type, "Conv") == 0 && n->n_in >= 2 && float_init(g, weight_of(q, n->in[1]), 3, 5) &&
        !is_init(g, n->in[0])) {
        slots[0] = 0;
        return 1;
    }
    if ((strcmp(n->op_type, "Gemm") == 0 || strcmp(n->op_type, "MatMul") == 0) && n->n_in >= 2 &&
        !is_init(g, n->in[0])) {
        if (float_init(g, weight_of(q, n->in[1]), 2, 2) && er_attr_int(n, "transA", 0) == 0) {
            slots[0] = 0;
            return 1;
        }
        if (stat && strcmp(n->op_type, "MatMul") == 0 && weight_of(q, n->in[1]) < 0) {
            slots[0] = 0;
            slots[1] = 1;
            return 2;
        }
        return 0;
    }
    if (stat && strcmp(n->op_type, "Add") == 0 && n->n_in == 2 && n->in[0] >= 0 && n->in[1] >= 0 &&
        weight_of(q, n->in[0]) < 0 && weight_of(q, n->in[1]) < 0) {
        slots[0] = 0;
        slots[1] = 1;
        return 2;
    }
    return 0;
}

/* Float tables smaller than this stay float: they weigh little in the file. */
#define WONLY_MIN_ELEMS 4096
#define NO_WONLY (-2)

/* Reading table v as its int8 approximation is safe for a Gather of rows (the rounding error
 * of a row is bounded by the row's own scale) and for an Add/Sub, where it is a bounded
 * absolute error on the sum; returns the axis per-row scales would need, NO_WONLY for any
 * other reader. */
static int wonly_use(const er_node *n, int k, const er_const *c)
{
    if (n->domain[0]) return NO_WONLY;
    if (strcmp(n->op_type, "Gather") == 0 && k == 0 && er_attr_int(n, "axis", 0) == 0) return 0;
    if ((strcmp(n->op_type, "Add") == 0 || strcmp(n->op_type, "Sub") == 0) && c->dims[c->ndim - 2] > 1)
        return c->ndim - 2;
    return NO_WONLY;
}

/* Picks the large float initializers stored weight-only, and their scale axis. */
static void select_weight_only(qctx *q)
{
    const er_graph *g = q->src;
    for (int v = 0; v < g->n_values; v++) {
        const er_const *c = g->values[v].init;
        bool big = c && c->dtype == ER_F32 && c->ndim >= 2 && er_shape_numel(c->dims, c->ndim) >= WONLY_MIN_ELEMS;
        q->wonly[v] = big && !graph_output(g, v) ? c->ndim : NO_WONLY;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        bool alias = strcmp(n->op_type, "Identity") == 0 && !n->domain[0];
        for (int k = 0; k < n->n_in; k++) {
            int v = weight_of(q, n->in[k]);
            if (v < 0 || q->wonly[v] == NO_WONLY || (alias && n->in[k] == v)) continue;
            int a = q->node_q[i] || excluded(q->o, n) || graph_output(g, n->in[k]) ? NO_WONLY
                                                                                  : wonly_use(n, k, g->values[v].init);
            q->wonly[v] = a == NO_WONLY ? NO_WONLY : a < q->wonly[v] ? a : q->wonly[v];
        }
    }
    /* ndim left: no reader but Identity aliases, which read it through their own readers */
    for (int v = 0; v < g->n_values; v++) {
        if (q->wonly[v] >= 0 && q->wonly[v] == g->values[v].init->ndim) q->wonly[v] = NO_WONLY;
        else if (q->wonly[v] >= 0 && !q->o->per_channel) q->wonly[v] = -1;
    }
}

/* Output-channel axis of a weight: Conv W [M, C, k...] → 0, MatMul/Gemm B [K, N] → 1,
 * Gemm with transB B [N, K] → 0. */
static int weight_axis(const er_node *n)
{
    if (strcmp(n->op_type, "Conv") == 0) return 0;
    return strcmp(n->op_type, "Gemm") == 0 && er_attr_int(n, "transB", 0) ? 0 : 1;
}

/* ---- building the output graph ---- */

static er_status oom(qctx *q) { return er_fail(q->err, q->err_size, ER_ERR_NOMEM, "out of memory"); }

/* The dst value of that name, created on first use with the source value's declared type. */
static int dval(qctx *q, const char *name)
{
    int v = er_graph_find_value(q->dst, name);
    if (v >= 0) return v;
    v = er_graph_add_value(q->dst, name);
    int s = er_graph_find_value(q->src, name);
    if (v >= 0 && s >= 0) {
        const char *nm = q->dst->values[v].name;
        q->dst->values[v] = q->src->values[s];
        q->dst->values[v].name = nm;
    }
    return v;
}

static int add_init(qctx *q, const char *name, er_dtype dt, const int64_t *dims, int ndim, const void *data)
{
    int v = dval(q, name);
    er_const *c = er_pool_alloc(&q->dst->pool, sizeof *c);
    if (v < 0 || !c) return -1;
    c->dtype = dt;
    c->ndim = ndim;
    for (int i = 0; i < ndim; i++) c->dims[i] = dims[i];
    c->data = data;
    c->nbytes = (size_t)er_shape_numel(dims, ndim) * er_dtype_size(dt);
    er_value *val = &q->dst->values[v];
    val->init = c;
    val->dtype = dt;
    val->ndim = ndim;
    for (int i = 0; i < ndim; i++) val->dims[i] = dims[i], val->dim_names[i] = NULL;
    return v;
}

static char *fmt_name(qctx *q, const char *base, const char *suffix)
{
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *s = er_pool_alloc(&q->dst->pool, n);
    if (s) snprintf(s, n, "%s%s", base, suffix);
    return s;
}

static er_node *emit(qctx *q, const char *op, const char *name, const char *const *ins, int n_in,
                     const char *const *outs, int n_out)
{
    er_node *n = er_graph_add_node(q->dst, op, n_in, n_out);
    if (!n) return NULL;
    n->name = name ? er_pool_strdup(&q->dst->pool, name) : "";
    for (int k = 0; k < n_in; k++)
        if (ins[k] && (n->in[k] = dval(q, ins[k])) < 0) return NULL;
    for (int k = 0; k < n_out; k++)
        if ((n->out[k] = dval(q, outs[k])) < 0) return NULL;
    return n;
}

static bool set_axis(qctx *q, er_node *n, int axis)
{
    er_attr *a = er_pool_alloc(&q->dst->pool, sizeof *a);
    if (!a) return false;
    a->name = "axis";
    a->type = ER_ATTR_INT;
    a->i = axis;
    n->attrs = a;
    n->n_attrs = 1;
    return true;
}

/* ---- weights and biases ---- */

/* int8 symmetric, one scale per index of `axis` (per tensor when -1). */
static er_status quant_weight_axis(qctx *q, int sv, int axis)
{
    if (q->deq[sv]) return ER_OK;
    const er_value *val = &q->src->values[sv];
    const er_const *c = val->init;
    const float *w = c->data;
    int64_t n = er_shape_numel(c->dims, c->ndim), nch = axis >= 0 ? c->dims[axis] : 1, inner = 1;
    for (int i = axis + 1; axis >= 0 && i < c->ndim; i++) inner *= c->dims[i];
    float *scale = er_pool_alloc(&q->dst->pool, sizeof(float) * (size_t)nch);
    int8_t *zp = er_pool_alloc(&q->dst->pool, (size_t)nch);
    int8_t *wq = er_pool_alloc(&q->dst->pool, (size_t)n);
    if (!scale || !zp || !wq) return oom(q);
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = axis >= 0 ? (i / inner) % nch : 0;
        scale[ch] = fmaxf(scale[ch], fabsf(w[i]));
    }
    for (int64_t ch = 0; ch < nch; ch++) scale[ch] = scale[ch] > 0 ? scale[ch] / 127.0f : 1.0f;
    for (int64_t i = 0; i < n; i++) {
        float r = nearbyintf(w[i] / scale[axis >= 0 ? (i / inner) % nch : 0]);
        wq[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    }
    const char *qn = fmt_name(q, val->name, "_quantized"), *sn = fmt_name(q, val->name, "_scale");
    const char *zn = fmt_name(q, val->name, "_zero_point"), *dn = fmt_name(q, val->name, "_DequantizeLinear_Output");
    const char *nn = fmt_name(q, val->name, "_DequantizeLinear");
    int64_t sd[1] = { nch };
    if (!qn || !sn || !zn || !dn || !nn || add_init(q, qn, ER_I8, c->dims, c->ndim, wq) < 0 ||
        add_init(q, sn, ER_F32, sd, axis >= 0, scale) < 0 || add_init(q, zn, ER_I8, sd, axis >= 0, zp) < 0)
        return oom(q);
    const char *ins[3] = { qn, sn, zn };
    er_node *dq = emit(q, "DequantizeLinear", nn, ins, 3, &dn, 1);
    if (!dq || (axis >= 0 && !set_axis(q, dq, axis))) return oom(q);
    q->deq[sv] = dn;
    q->wscale[sv] = scale;
    q->wscale_n[sv] = (int)nch;
    return ER_OK;
}

static er_status quant_weight(qctx *q, const er_node *node, int sv)
{
    return quant_weight_axis(q, sv, q->o->per_channel ? weight_axis(node) : -1);
}

/* The weight-only tables node n reads get their int8 form before n is copied. */
static er_status quant_tables(qctx *q, const er_node *n)
{
    for (int k = 0; k < n->n_in; k++) {
        int wv = weight_of(q, n->in[k]);
        if (wv < 0 || q->wonly[wv] == NO_WONLY) continue;
        er_status st = quant_weight_axis(q, wv, q->wonly[wv]);
        if (st != ER_OK) return st;
        if (wv != n->in[k]) q->deq[n->in[k]] = q->deq[wv];
    }
    return ER_OK;
}

/* Bias B [M] as int32 with scale x_scale * w_scale[m]; needs the input's static scale. */
static er_status quant_bias(qctx *q, int sv, float x_scale, int wv)
{
    if (q->deq[sv] || !float_init(q->src, sv, 1, 1)) return ER_OK;
    const er_value *val = &q->src->values[sv];
    int64_t m = val->init->dims[0];
    int nw = q->wscale_n[wv];
    if (nw != 1 && nw != m) return ER_OK;
    const float *b = val->init->data;
    float *scale = er_pool_alloc(&q->dst->pool, sizeof(float) * (size_t)nw);
    int32_t *zp = er_pool_alloc(&q->dst->pool, sizeof(int32_t) * (size_t)nw);
    int32_t *bq = er_pool_alloc(&q->dst->pool, sizeof(int32_t) * (size_t)m);
    if (!scale || !zp || !bq) return oom(q);
    for (int i = 0; i < nw; i++) scale[i] = x_scale * q->wscale[wv][i];
    for (int64_t i = 0; i < m; i++) {
        double r = nearbyint(b[i] / (double)scale[nw == 1 ? 0 : i]);
        bq[i] = (int32_t)(r > 2147483647.0 ? 2147483647.0 : r < -2147483647.0 ? -2147483647.0 : r);
    }
    const char *qn = fmt_name(q, val->name, "_quantized"), *sn = fmt_name(q, val->name, "_scale");
    const char *zn = fmt_name(q, val->name, "_zero_point"), *dn = fmt_name(q, val->name, "_DequantizeLinear_Output");
    const char *nn = fmt_name(q, val->name, "_DequantizeLinear");
    int64_t sd[1] = { nw }, bd[1] = { m };
    if (!qn || !sn || !zn || !dn || !nn || add_init(q, qn, ER_I32, bd, 1, bq) < 0 ||
        add_init(q, sn, ER_F32, sd, nw > 1, scale) < 0 || add_init(q, zn, ER_I32, sd, nw > 1, zp) < 0)
        return oom(q);
    const char *ins[3] = { qn, sn, zn };
    er_node *dq = emit(q, "DequantizeLinear", nn, ins, 3, &dn, 1);
    if (!dq || (nw > 1 && !set_axis(q, dq, 0))) return oom(q);
    q->deq[sv] = dn;
    return ER_OK;
}

/* ---- activations ---- */

static void range_params(er_quant_range *r, bool symmetric)
{
    float lo = fminf(r->lo, 0.0f), hi = fmaxf(r->hi, 0.0f);
    if (symmetric) {
        float a = fmaxf(-lo, hi);
        r->scale = a > 0 ? a / 127.0f : 1.0f;
        r->zero_point = 0;
        return;
    }
    r->scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    float z = nearbyintf(-lo / r->scale);
    r->zero_point = (int)(z < 0 ? 0 : z > 255 ? 255 : z);
}

/* Emits the quantize/dequantize pair after tensor sv (a graph input or a node output). */
static er_status quant_act(qctx *q, int sv)
{
    const char *name = q->src->values[sv].name;
    const char *qn = fmt_name(q, name, "_quantized"), *sn = fmt_name(q, name, "_scale");
    const char *zn = fmt_name(q, name, "_zero_point"), *dn = fmt_name(q, name, "_DequantizeLinear_Output");
    const char *qnode = fmt_name(q, name, "_QuantizeLinear"), *dnode = fmt_name(q, name, "_DequantizeLinear");
    if (!qn || !sn || !zn || !dn || !qnode || !dnode) return oom(q);
    if (q->o->mode == ER_QUANT_DYNAMIC) {
        const char *outs[3] = { qn, sn, zn };
        if (!emit(q, "DynamicQuantizeLinear", qnode, &name, 1, outs, 3)) return oom(q);
    } else {
        er_quant_range *r = &q->ranges[q->range_of[sv]];
        float *scale = er_pool_alloc(&q->dst->pool, sizeof(float));
        void *zp = er_pool_alloc(&q->dst->pool, 1);
        if (!scale || !zp) return oom(q);
        *scale = r->scale;
        if (q->o->symmetric) *(int8_t *)zp = (int8_t)r->zero_point;
        else *(uint8_t *)zp = (uint8_t)r->zero_point;
        if (add_init(q, sn, ER_F32, NULL, 0, scale) < 0 ||
            add_init(q, zn, q->o->symmetric ? ER_I8 : ER_U8, NULL, 0, zp) < 0)
            return oom(q);
        r->name = name;
        const char *ins[3] = { name, sn, zn };
        if (!emit(q, "QuantizeLinear", qnode, ins, 3, &qn, 1)) return oom(q);
    }
    const char *ins[3] = { qn, sn, zn };
    if (!emit(q, "DequantizeLinear", dnode, ins, 3, &dn, 1)) return oom(q);
    q->deq[sv] = dn;
    return ER_OK;
}

static bool act_marked(const qctx *q, int sv)
{
    return sv >= 0 && (q->o->mode == ER_QUANT_STATIC ? q->range_of[sv] >= 0 : q->dyn[sv]);
}

/* Static: every consumer reads the dequantized tensor; dynamic: only quantized nodes. */
static const char *in_name(const qctx *q, int sv, bool quantized_node)
{
    if (sv < 0) return NULL;
    bool weight = q->wsrc[sv] >= 0;
    if (q->deq[sv] && (quantized_node || weight || q->o->mode == ER_QUANT_STATIC)) return q->deq[sv];
    return q->src->values[sv].name;
}

static er_status copy_node(qctx *q, int i)
{
    const er_node *n = &q->src->nodes[i];
    const char *ins[64], *outs[64];
    if (n->n_in > 64 || n->n_out > 64)
        return er_fail(q->err, q->err_size, ER_ERR_UNSUPPORTED, "node '%s' has more than 64 inputs or outputs", n->name);
    er_status st = ER_OK;
    if (q->node_q[i]) {
        int wv = weight_of(q, n->in[1]);
        if (float_init(q->src, wv, 2, 5) && (st = quant_weight(q, n, wv)) != ER_OK) return st;
        if (wv >= 0 && wv != n->in[1]) q->deq[n->in[1]] = q->deq[wv];
        int bias = strcmp(n->op_type, "Add") == 0 || strcmp(n->op_type, "MatMul") == 0 ? -1 : 2;
        int bv = bias >= 0 && bias < n->n_in ? weight_of(q, n->in[bias]) : -1;
        if (q->o->mode == ER_QUANT_STATIC && bv >= 0 && wv >= 0 && q->wscale[wv] && !q->deq[bv]) {
            st = quant_bias(q, bv, q->ranges[q->range_of[n->in[0]]].scale, wv);
            if (bv != n->in[bias]) q->deq[n->in[bias]] = q->deq[bv];
        }
        if (st != ER_OK) return st;
    } else if ((st = quant_tables(q, n)) != ER_OK) {
        return st;
    }
    for (int k = 0; k < n->n_in; k++) ins[k] = in_name(q, n->in[k], q->node_q[i]);
    for (int k = 0; k < n->n_out; k++) outs[k] = n->out[k] >= 0 ? q->src->values[n->out[k]].name : NULL;
    er_node *d = er_graph_add_node(q->dst, n->op_type, n->n_in, n->n_out);
    if (!d) return oom(q);
    d->name = n->name;
    d->domain = n->domain;
    d->attrs = n->attrs;
    d->n_attrs = n->n_attrs;
    for (int k = 0; k < n->n_in; k++)
        if (ins[k] && (d->in[k] = dval(q, ins[k])) < 0) return oom(q);
    for (int k = 0; k < n->n_out; k++)
        if (outs[k] && (d->out[k] = dval(q, outs[k])) < 0) return oom(q);
    for (int k = 0; k < n->n_out; k++)
        if (act_marked(q, n->out[k]) && (st = quant_act(q, n->out[k])) != ER_OK) return st;
    return ER_OK;
}

/* ---- driver ---- */

static er_status check_source(const er_graph *g, char *err, size_t err_size)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++)
            if (g->nodes[i].attrs[a].type == ER_ATTR_GRAPH || g->nodes[i].attrs[a].type == ER_ATTR_GRAPHS)
                return er_fail(err, err_size, ER_ERR_UNSUPPORTED,
                               "node '%s' (%s) has a subgraph; models with control flow cannot be quantized yet",
                               g->nodes[i].name, g->nodes[i].op_type);
    return ER_OK;
}

/* The default-domain opset the quantized model needs: per-axis DequantizeLinear came in 13,
 * DynamicQuantizeLinear in 11, QuantizeLinear in 10. */
static int64_t needed_opset(const er_quant_options *o)
{
    return o->per_channel ? 13 : o->mode == ER_QUANT_DYNAMIC ? 11 : 10;
}

static bool has_op(const er_graph *g, const char *op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].domain[0] && strcmp(g->nodes[i].op_type, op) == 0) return true;
    return false;
}

/* Exporters that keep weights in Constant nodes (paddle2onnx) or leave BatchNormalization
 * after Conv hide the weights from the quantizer: it works on a copy with both folded, at
 * the opset the quantized ops need. *out stays NULL when src serves as it is. */
static er_status prepare_source(const er_graph *src, int64_t to, er_graph **out, char *err, size_t err_size)
{
    *out = NULL;
    bool raise = er_graph_opset(src, "") < to;
    if (!raise && !has_op(src, "Constant") && !has_op(src, "BatchNormalization")) return ER_OK;
    er_graph *g = NULL;
    er_status st = raise ? er_quant_raise_opset(src, to, &g, err, err_size) : ER_OK;
    if (st == ER_OK && !g && !(g = er_graph_clone(src))) st = er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    if (st == ER_OK && (er_pass_constants_to_init(g) < 0 || er_pass_fold_batchnorm(g) < 0 || er_pass_dead_code(g) < 0))
        st = er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    if (st != ER_OK) {
        er_graph_free(g);
        return st;
    }
    *out = g;
    return ER_OK;
}

static void find_weights(qctx *q)
{
    const er_graph *g = q->src;
    for (int v = 0; v < g->n_values; v++) q->wsrc[v] = is_init(g, v) ? v : -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "Identity") == 0 && !n->domain[0] && n->n_in == 1 && n->n_out == 1 && n->in[0] >= 0 &&
            n->out[0] >= 0 && is_init(g, n->in[0]))
            q->wsrc[n->out[0]] = n->in[0];
    }
}

static bool graph_output(const er_graph *g, int v)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return true;
    return false;
}

/* The Relu or Clip node that is v's only reader, or -1. */
static int sole_relu_consumer(const er_graph *g, int v)
{
    int found = -1, uses = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) {
                uses++;
                found = i;
            }
    if (uses != 1 || g->nodes[found].domain[0]) return -1;
    const char *op = g->nodes[found].op_type;
    return strcmp(op, "Relu") == 0 || strcmp(op, "Clip") == 0 ? found : -1;
}

/* Picks the nodes to quantize and the activation tensors around them. */
static er_status select_nodes(qctx *q, int *n_quant)
{
    const er_graph *g = q->src;
    *n_quant = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        int slots[2];
        int k = act_inputs(q, n, slots);
        if (!k) continue;
        q->node_q[i] = true;
        (*n_quant)++;
        for (int s = 0; s < k; s++) {
            int v = n->in[slots[s]];
            if (q->o->mode == ER_QUANT_DYNAMIC) q->dyn[v] = true;
            else if (q->range_of[v] < 0) q->range_of[v] = q->n_ranges++;
        }
        /* a graph output keeps its float value: quantizing it would only lose precision */
        int v = n->out[0];
        if (q->o->mode != ER_QUANT_STATIC || v < 0 || graph_output(g, v)) continue;
        /* Conv → Relu/Clip: quantizing only the activation's output lets the integer kernel's
         * saturation do the clamping instead of running it in float between two quantizations */
        int relu = sole_relu_consumer(g, v);
        if (relu >= 0 && !q->o->symmetric && !graph_output(g, g->nodes[relu].out[0])) v = g->nodes[relu].out[0];
        if (q->range_of[v] < 0 && !q->nonfloat[v]) q->range_of[v] = q->n_ranges++;
    }
    if (!*n_quant)
        return er_fail(q->err, q->err_size, ER_ERR_UNSUPPORTED,
                       "the model has no quantizable node (Conv or Gemm/MatMul with constant float weights%s, none excluded)",
                       q->o->mode == ER_QUANT_STATIC ? ", MatMul or Add of two activations" : "");
    return ER_OK;
}

/* Calibration showed which candidate tensors are not float (integer shape arithmetic, token
 * ids): selects again without the nodes that touch them, keeping the measured ranges. */
static er_status reselect(qctx *q, int *n_quant)
{
    const er_graph *g = q->src;
    bool any = false;
    for (int v = 0; v < g->n_values; v++)
        if (q->range_of[v] >= 0 && q->ranges[q->range_of[v]].not_float) any = q->nonfloat[v] = true;
    if (!any) return ER_OK;
    er_quant_range *old = q->ranges;
    int *old_of = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    if (!old_of) return oom(q);
    memcpy(old_of, q->range_of, sizeof(int) * (size_t)g->n_values);
    memset(q->node_q, 0, sizeof(bool) * (size_t)g->n_nodes);
    for (int v = 0; v < g->n_values; v++) q->range_of[v] = -1;
    q->n_ranges = 0;
    er_status st = select_nodes(q, n_quant);
    q->ranges = st == ER_OK ? calloc((size_t)(q->n_ranges ? q->n_ranges : 1), sizeof *q->ranges) : NULL;
    if (st == ER_OK && !q->ranges) st = oom(q);
    for (int v = 0; st == ER_OK && v < g->n_values; v++) {
        if (q->range_of[v] < 0) continue;
        if (old_of[v] < 0)
            st = er_fail(q->err, q->err_size, ER_ERR_INTERNAL, "tensor '%s' was not calibrated", g->values[v].name);
        else q->ranges[q->range_of[v]] = old[old_of[v]];
    }
    free(old);
    free(old_of);
    return st;
}

/* max commutes with a monotonic quantization: a MaxPool whose output takes its input's
 * parameters runs directly on the quantized tensor once the QDQ pair around it is fused. */
static void share_maxpool_ranges(qctx *q)
{
    const er_graph *g = q->src;
    for (int i = 0; i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "MaxPool") != 0 || n->domain[0] || n->n_in < 1 || n->n_out != 1 || n->in[0] < 0 ||
            n->out[0] < 0)
            continue;
        int a = q->range_of[n->in[0]], b = q->range_of[n->out[0]];
        if (a < 0 || b < 0 || q->ranges[a].not_float) continue;
        const char *name = q->ranges[b].name;
        q->ranges[b] = q->ranges[a];
        q->ranges[b].name = name;
    }
}

static er_status build(qctx *q)
{
    const er_graph *g = q->src;
    er_graph *d = q->dst;
    d->name = g->name;
    d->opsets = g->opsets;
    d->n_opsets = g->n_opsets;
    d->inputs = er_pool_alloc(&d->pool, sizeof(int) * (size_t)(g->n_inputs + 1));
    d->outputs = er_pool_alloc(&d->pool, sizeof(int) * (size_t)(g->n_outputs + 1));
    if (!d->inputs || !d->outputs) return oom(q);
    for (int i = 0; i < g->n_inputs; i++)
        if ((d->inputs[d->n_inputs++] = dval(q, g->values[g->inputs[i]].name)) < 0) return oom(q);
    select_weight_only(q);
    er_status st = ER_OK;
    for (int i = 0; i < g->n_inputs && st == ER_OK; i++)
        if (act_marked(q, g->inputs[i])) st = quant_act(q, g->inputs[i]);
    for (int i = 0; i < g->n_nodes && st == ER_OK; i++) st = copy_node(q, i);
    for (int i = 0; i < g->n_outputs && st == ER_OK; i++)
        if ((d->outputs[d->n_outputs++] = dval(q, g->values[g->outputs[i]].name)) < 0) st = oom(q);
    return st;
}

static void qctx_free(qctx *q)
{
    free(q->node_q);
    free(q->range_of);
    free(q->dyn);
    free(q->deq);
    free(q->wscale);
    free(q->wscale_n);
    free(q->wonly);
    free(q->wsrc);
    free(q->nonfloat);
}

er_status er_quantize(const er_graph *src, const er_quant_options *o, const er_tensor *samples, int n_samples,
                      er_quant_result *res, char *err, size_t err_size)
{
    memset(res, 0, sizeof *res);
    er_status st = check_source(src, err, err_size);
    int64_t from = er_graph_opset(src, ""), to = needed_opset(o);
    er_graph *prepared = NULL;
    if (st == ER_OK && (st = prepare_source(src, to, &prepared, err, err_size)) == ER_OK && prepared) src = prepared;
    if (st != ER_OK) return st;
    qctx q = { .src = src, .o = o, .err = err, .err_size = err_size };
    size_t nv = (size_t)(src->n_values ? src->n_values : 1), nn = (size_t)(src->n_nodes ? src->n_nodes : 1);
    q.node_q = calloc(nn, sizeof(bool));
    q.range_of = malloc(nv * sizeof(int));
    q.dyn = calloc(nv, sizeof(bool));
    q.deq = calloc(nv, sizeof(char *));
    q.wscale = calloc(nv, sizeof(float *));
    q.wscale_n = calloc(nv, sizeof(int));
    q.wonly = malloc(nv * sizeof(int));
    q.wsrc = malloc(nv * sizeof(int));
    q.nonfloat = calloc(nv, sizeof(bool));
    if (!q.node_q || !q.range_of || !q.dyn || !q.deq || !q.wscale || !q.wscale_n || !q.wonly || !q.wsrc || !q.nonfloat) st = oom(&q);
    if (st == ER_OK) find_weights(&q);
    for (size_t v = 0; st == ER_OK && v < nv; v++) q.range_of[v] = -1;
    int n_quant = 0;
    if (st == ER_OK) st = select_nodes(&q, &n_quant);
    if (st == ER_OK && o->mode == ER_QUANT_STATIC) {
        if (!(q.ranges = calloc((size_t)(q.n_ranges ? q.n_ranges : 1), sizeof *q.ranges))) st = oom(&q);
        for (int v = 0; st == ER_OK && v < src->n_values; v++)
            if (q.range_of[v] >= 0) q.ranges[q.range_of[v]].name = src->values[v].name;
        if (st == ER_OK) st = er_calibrate(src, o, samples, n_samples, q.ranges, q.n_ranges, err, err_size);
        if (st == ER_OK) st = reselect(&q, &n_quant);
        if (st == ER_OK) share_maxpool_ranges(&q);
        for (int k = 0; st == ER_OK && k < q.n_ranges; k++) range_params(&q.ranges[k], o->symmetric);
    }
    if (st == ER_OK && !(q.dst = er_graph_new())) st = oom(&q);
    if (st == ER_OK) st = build(&q);
    /* the float weights behind Identity nodes are read through their quantized form now */
    if (st == ER_OK && er_pass_dead_code(q.dst) < 0) st = oom(&q);
    if (st == ER_OK) {
        res->graph = q.dst;
        res->n_quantized = n_quant;
        res->n_float = src->n_nodes - n_quant;
        res->ranges = q.ranges;
        res->n_ranges = q.n_ranges;
        res->opset_from = from;
        res->opset_to = from < to ? to : from;
        res->prepared = prepared;
    } else {
        er_graph_free(q.dst);
        er_graph_free(prepared);
        free(q.ranges);
    }
    qctx_free(&q);
    return st;
}

void er_quant_result_free(er_quant_result *res)
{
    er_graph_free(res->graph);
    er_graph_free(res->prepared);
    free(res->ranges);
    memset(res, 0, sizeof *res);
}
