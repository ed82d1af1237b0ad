/* Raising a model's default-domain opset so that QuantizeLinear/DequantizeLinear (10),
 * DynamicQuantizeLinear (11) and per-axis DequantizeLinear (13) are valid in it. Older
 * exporters (paddle2onnx at opset 9 or 11) are common among edge models. The ops whose
 * meaning or signature changed between opset 9 and 13 are rewritten to the new form; the
 * ones this cannot do faithfully are refused by name. All other ops only gained types or
 * optional attributes across those versions, so they carry over as they are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quantize.h"

typedef struct raise_ctx {
    er_graph *g;
    int64_t from, to;
    char *err;
    size_t err_size;
} raise_ctx;

/* The version whose signature change the node's op went through, or 0 when none applies. */
static bool changed(const raise_ctx *r, int64_t version) { return r->from < version && r->to >= version; }

static er_status oom(raise_ctx *r) { return er_fail(r->err, r->err_size, ER_ERR_NOMEM, "out of memory"); }

/* A new initializer named after the node, made unique within the graph. */
static int add_const(raise_ctx *r, const er_node *n, const char *what, er_dtype dt, const void *data, int64_t count,
                     bool scalar)
{
    char name[256];
    const char *base = n->out[0] >= 0 ? r->g->values[n->out[0]].name : "node";
    snprintf(name, sizeof name, "%s_%s", base, what);
    for (int k = 1; er_graph_find_value(r->g, name) >= 0; k++) snprintf(name, sizeof name, "%s_%s_%d", base, what, k);
    size_t bytes = (size_t)count * er_dtype_size(dt);
    int v = er_graph_add_value(r->g, name);
    er_const *c = er_pool_alloc(&r->g->pool, sizeof *c);
    void *copy = er_pool_alloc(&r->g->pool, bytes ? bytes : 1);
    if (v < 0 || !c || !copy) return -1;
    memcpy(copy, data, bytes);
    c->dtype = dt;
    c->ndim = scalar ? 0 : 1;
    c->dims[0] = count;
    c->data = copy;
    c->nbytes = bytes;
    er_value *val = &r->g->values[v];
    val->init = c;
    val->dtype = dt;
    val->ndim = c->ndim;
    val->dims[0] = count;
    return v;
}

/* Appends a copy of n with n_in input slots and without the named attributes. */
static er_node *copy_with(raise_ctx *r, const er_node *n, int n_in, const char *const *drop, int n_drop)
{
    er_node *d = er_graph_add_node(r->g, n->op_type, n_in, n->n_out);
    if (!d) return NULL;
    d->name = n->name;
    d->domain = n->domain;
    for (int k = 0; k < n->n_in && k < n_in; k++) d->in[k] = n->in[k];
    for (int k = 0; k < n->n_out; k++) d->out[k] = n->out[k];
    d->attrs = er_pool_alloc(&r->g->pool, sizeof(er_attr) * (size_t)(n->n_attrs ? n->n_attrs : 1));
    if (!d->attrs) return NULL;
    for (int a = 0; a < n->n_attrs; a++) {
        bool keep = true;
        for (int k = 0; k < n_drop; k++) keep = keep && strcmp(n->attrs[a].name, drop[k]) != 0;
        if (keep) d->attrs[d->n_attrs++] = n->attrs[a];
    }
    return d;
}

static bool ints_attr(const er_node *n, const char *name, const int64_t **v, int *count)
{
    const er_attr *a = er_node_attr(n, name);
    if (!a || a->type != ER_ATTR_INTS) return false;
    *v = a->ints;
    *count = a->n;
    return true;
}

/* An ints attribute becomes input `slot` (Squeeze, Unsqueeze, ReduceSum, Split, Slice). */
static er_status ints_to_inputs(raise_ctx *r, const er_node *n, const char *const *attrs, const int *slots, int k)
{
    int n_in = n->n_in;
    for (int i = 0; i < k; i++)
        if (er_node_attr(n, attrs[i]) && slots[i] + 1 > n_in) n_in = slots[i] + 1;
    er_node *d = copy_with(r, n, n_in, attrs, k);
    if (!d) return oom(r);
    for (int i = 0; i < k; i++) {
        const int64_t *v;
        int cnt;
        if (!ints_attr(n, attrs[i], &v, &cnt)) continue;
        int c = add_const(r, n, attrs[i], ER_I64, v, cnt, false);
        if (c < 0) return oom(r);
        r->g->nodes[r->g->n_nodes - 1].in[slots[i]] = c;
    }
    return ER_OK;
}

static er_status raise_clip(raise_ctx *r, const er_node *n)
{
    float lo = er_attr_float(n, "min", -INFINITY), hi = er_attr_float(n, "max", INFINITY);
    static const char *const drop[] = { "min", "max" };
    er_node *d = copy_with(r, n, 3, drop, 2);
    if (!d) return oom(r);
    int a = add_const(r, n, "min", ER_F32, &lo, 1, true), b = add_const(r, n, "max", ER_F32, &hi, 1, true);
    if (a < 0 || b < 0) return oom(r);
    er_node *last = &r->g->nodes[r->g->n_nodes - 1];
    last->in[1] = a;
    last->in[2] = b;
    return ER_OK;
}

static er_status raise_pad(raise_ctx *r, const er_node *n)
{
    const int64_t *pads;
    int cnt;
    if (!ints_attr(n, "pads", &pads, &cnt))
        return er_fail(r->err, r->err_size, ER_ERR_FORMAT, "Pad node '%s' has no pads attribute", n->name);
    float value = er_attr_float(n, "value", 0.0f);
    static const char *const drop[] = { "pads", "value" };
    if (!copy_with(r, n, 3, drop, 2)) return oom(r);
    int a = add_const(r, n, "pads", ER_I64, pads, cnt, false), b = add_const(r, n, "value", ER_F32, &value, 1, true);
    if (a < 0 || b < 0) return oom(r);
    er_node *last = &r->g->nodes[r->g->n_nodes - 1];
    last->in[1] = a;
    last->in[2] = b;
    return ER_OK;
}

/* Before 13 the softmax family flattened its input to 2-D at axis; from 13 it works along
 * one axis. Along the last axis both agree; elsewhere Flatten → op → Reshape keeps the old
 * meaning whatever the rank. */
static er_status raise_softmax(raise_ctx *r, const er_node *n)
{
    int64_t axis = er_attr_int(n, "axis", 1);
    int x = n->in[0], y = n->out[0];
    int rank = x >= 0 ? r->g->values[x].ndim : -1;
    if (axis == -1 || (rank > 0 && axis == rank - 1)) return copy_with(r, n, n->n_in, NULL, 0) ? ER_OK : oom(r);
    char name[256];
    int v2[3];
    static const char *const what[3] = { "flat", "flat_out", "shape" };
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s_%s", r->g->values[y].name, what[i]);
        for (int k = 1; er_graph_find_value(r->g, name) >= 0; k++)
            snprintf(name, sizeof name, "%s_%s_%d", r->g->values[y].name, what[i], k);
        if ((v2[i] = er_graph_add_value(r->g, name)) < 0) return oom(r);
    }
    er_node *f = er_graph_add_node(r->g, "Flatten", 1, 1);
    er_attr *fa = er_pool_alloc(&r->g->pool, sizeof *fa);
    if (!f || !fa) return oom(r);
    *fa = (er_attr){ .name = "axis", .type = ER_ATTR_INT, .i = axis };
    f->attrs = fa;
    f->n_attrs = 1;
    f->in[0] = x;
    f->out[0] = v2[0];
    static const char *const drop[] = { "axis" };
    er_node *s = copy_with(r, n, 1, drop, 1);
    if (!s) return oom(r);
    s->in[0] = v2[0];
    s->out[0] = v2[1];
    er_node *sh = er_graph_add_node(r->g, "Shape", 1, 1);
    if (!sh) return oom(r);
    sh->in[0] = x;
    sh->out[0] = v2[2];
    er_node *re = er_graph_add_node(r->g, "Reshape", 2, 1);
    if (!re) return oom(r);
    re->in[0] = v2[1];
    re->in[1] = v2[2];
    re->out[0] = y;
    return ER_OK;
}

static er_status refuse(raise_ctx *r, const er_node *n)
{
    return er_fail(r->err, r->err_size, ER_ERR_UNSUPPORTED,
                   "cannot raise the model from opset %lld to %lld for quantization: node '%s' (%s) changed meaning "
                   "in between; re-export the model at opset %lld or later",
                   (long long)r->from, (long long)r->to, n->name, n->op_type, (long long)r->to);
}

static er_status raise_node(raise_ctx *r, const er_node *n)
{
    const char *op = n->op_type;
    if (n->domain[0]) return copy_with(r, n, n->n_in, NULL, 0) ? ER_OK : oom(r);
    if (strcmp(op, "Clip") == 0 && changed(r, 11)) return raise_clip(r, n);
    if (strcmp(op, "Pad") == 0 && changed(r, 11)) return raise_pad(r, n);
    if (strcmp(op, "Slice") == 0 && changed(r, 10)) {
        static const char *const a[] = { "starts", "ends", "axes" };
        static const int s[] = { 1, 2, 3 };
        return ints_to_inputs(r, n, a, s, 3);
    }
    if ((strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0 || strcmp(op, "ReduceSum") == 0) &&
        changed(r, 13)) {
        static const char *const a[] = { "axes" };
        static const int s[] = { 1 };
        return ints_to_inputs(r, n, a, s, 1);
    }
    if (strcmp(op, "Split") == 0 && changed(r, 13)) {
        static const char *const a[] = { "split" };
        static const int s[] = { 1 };
        return ints_to_inputs(r, n, a, s, 1);
    }
    if ((strcmp(op, "Softmax") == 0 || strcmp(op, "LogSoftmax") == 0 || strcmp(op, "Hardmax") == 0) &&
        changed(r, 13))
        return raise_softmax(r, n);
    if (strcmp(op, "Dropout") == 0 && changed(r, 12)) {
        /* inference ignores the ratio; the old attributes do not exist any more */
        static const char *const drop[] = { "ratio", "is_test" };
        return copy_with(r, n, 1, drop, 2) ? ER_OK : oom(r);
    }
    if (strcmp(op, "Upsample") == 0 || (strcmp(op, "Resize") == 0 && changed(r, 11)) ||
        (strcmp(op, "TopK") == 0 && changed(r, 10)) || (strcmp(op, "Scatter") == 0 && changed(r, 11)))
        return refuse(r, n);
    return copy_with(r, n, n->n_in, NULL, 0) ? ER_OK : oom(r);
}

er_status er_quant_raise_opset(const er_graph *src, int64_t to, er_graph **out, char *err, size_t err_size)
{
    *out = NULL;
    raise_ctx r = { .from = er_graph_opset(src, ""), .to = to, .err = err, .err_size = err_size };
    if (r.from < 9)
        return er_fail(err, err_size, ER_ERR_UNSUPPORTED,
                       "the model imports ONNX opset %lld; quantization needs opset %lld and edgerun raises models "
                       "from opset 9 on only",
                       (long long)r.from, (long long)to);
    if (!(r.g = er_graph_clone(src))) return oom(&r);
    er_node *old = r.g->nodes;
    int n_old = r.g->n_nodes;
    r.g->nodes = NULL;
    r.g->n_nodes = r.g->cap_nodes = 0;
    er_status st = ER_OK;
    for (int i = 0; i < n_old && st == ER_OK; i++) st = raise_node(&r, &old[i]);
    free(old);
    er_opset *ops = st == ER_OK ? er_pool_alloc(&r.g->pool, sizeof *ops * (size_t)(src->n_opsets + 1)) : NULL;
    if (st == ER_OK && !ops) st = oom(&r);
    if (st != ER_OK) {
        er_graph_free(r.g);
        return st;
    }
    for (int i = 0; i < src->n_opsets; i++) {
        ops[i] = src->opsets[i];
        if (!ops[i].domain[0] || strcmp(ops[i].domain, "ai.onnx") == 0) ops[i].version = to;
    }
    r.g->opsets = ops;
    *out = r.g;
    return ER_OK;
}
