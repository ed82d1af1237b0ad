/* QDQ → integer op fusion. A QDQ model spells an int8 convolution as
 *   DequantizeLinear(x_q) ─┐
 *   DequantizeLinear(w_q) ─┼─ Conv ─ [Relu] ─ QuantizeLinear → y_q
 *   DequantizeLinear(b_q) ─┘
 * which runs exactly as QLinearConv(x_q, ..., w_q, ..., y_scale, y_zp, b_q): the float
 * detour only re-expresses the same integers. A Relu or Clip (Relu6) in between folds into
 * the output saturation when that saturates at or inside its bounds. Dequantize nodes left
 * without readers are removed. MatMul/Gemm, MaxPool and residual Add get the same treatment
 * (below), and so does an int8 embedding table read by Gather. */
#include <math.h>
#include <string.h>

#include "quant/qdq_fuse.h"

static int producer(const er_graph *g, int v)
{
    if (v < 0) return -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op_type)
            for (int k = 0; k < g->nodes[i].n_out; k++)
                if (g->nodes[i].out[k] == v) return i;
    return -1;
}

/* Nodes reading v (plus one when v is a graph output); *reader gets the last one, -1 when
 * only the graph output reads v. */
static int readers(const er_graph *g, int v, int *reader)
{
    int n = 0;
    *reader = -1;
    for (int i = 0; i < g->n_outputs; i++) n += g->outputs[i] == v;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op_type) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) {
                n++;
                *reader = i;
            }
    }
    return n;
}

static bool is_op(const er_node *n, const char *op) { return n->op_type && strcmp(n->op_type, op) == 0 && !n->domain[0]; }

static const er_const *init_of(const er_graph *g, int v) { return v >= 0 ? g->values[v].init : NULL; }

/* A DequantizeLinear with constant scale and zero point (per tensor, or per axis `axis`). */
static int const_dq(const er_graph *g, int v, bool want_const_input, int axis)
{
    int p = producer(g, v);
    if (p < 0 || !is_op(&g->nodes[p], "DequantizeLinear") || g->nodes[p].n_in < 3) return -1;
    const er_node *n = &g->nodes[p];
    const er_const *s = init_of(g, n->in[1]), *z = init_of(g, n->in[2]);
    if (!s || !z || s->dtype != ER_F32) return -1;
    if (want_const_input != (init_of(g, n->in[0]) != NULL)) return -1;
    int64_t ns = (int64_t)(s->nbytes / 4);
    if (ns != 1 && er_attr_int(n, "axis", 1) != axis) return -1;
    return p;
}

static bool scalar_init(const er_graph *g, int v) { const er_const *c = init_of(g, v); return c && c->nbytes <= 4 && c->ndim <= 1; }

/* Bias DQ whose int32 values already use scale x_scale * w_scale and zero point 0. */
static bool bias_matches(const er_graph *g, int dq, float xs, const er_const *ws)
{
    const er_node *n = &g->nodes[dq];
    const er_const *b = init_of(g, n->in[0]), *s = init_of(g, n->in[1]), *z = init_of(g, n->in[2]);
    if (!b || b->dtype != ER_I32 || z->dtype != ER_I32) return false;
    int64_t nb = (int64_t)(s->nbytes / 4), nw = (int64_t)(ws->nbytes / 4);
    for (int64_t i = 0; i < (int64_t)(z->nbytes / 4); i++)
        if (((const int32_t *)z->data)[i] != 0) return false;
    for (int64_t i = 0; i < nb; i++) {
        float want = xs * ((const float *)ws->data)[nw == 1 ? 0 : i];
        if (fabsf(((const float *)s->data)[i] - want) > 1e-6f * want) return false;
    }
    return nb == 1 || nb == nw;
}

/* The bounds of a Relu or Clip (inputs from opset 11, attributes before); false when not
 * constant. */
static bool clip_bounds(const er_graph *g, const er_node *n, float *lo, float *hi)
{
    *lo = is_op(n, "Relu") ? 0.0f : -INFINITY;
    *hi = INFINITY;
    if (is_op(n, "Relu")) return true;
    if (n->n_in == 1) {
        *lo = er_attr_float(n, "min", -INFINITY);
        *hi = er_attr_float(n, "max", INFINITY);
        return true;
    }
    for (int k = 1; k < n->n_in && k < 3; k++) {
        if (n->in[k] < 0) continue;
        const er_const *c = init_of(g, n->in[k]);
        if (!c || c->dtype != ER_F32 || c->nbytes != 4) return false;
        *(k == 1 ? lo : hi) = *(const float *)c->data;
    }
    return true;
}

/* Whether QuantizeLinear(scale, zp) after a Relu/Clip saturates at least where the clamp
 * would: then the clamp adds nothing to the integer kernel's saturation and drops out.
 * Relu6 calibrated to [0, <= 6] with zero point 0 is the common case. */
static bool clamp_implied(const er_graph *g, const er_node *act, float scale, const er_const *zp)
{
    float lo, hi;
    if (!clip_bounds(g, act, &lo, &hi) || !(scale > 0)) return false;
    float z = zp->dtype == ER_U8 ? *(const uint8_t *)zp->data : zp->dtype == ER_I8 ? *(const int8_t *)zp->data : NAN;
    float qmin = zp->dtype == ER_U8 ? 0.0f : -128.0f, qmax = zp->dtype == ER_U8 ? 255.0f : 127.0f;
    if (isnan(z)) return false;
    bool lo_ok = isinf(lo) || nearbyintf(lo / scale) + z <= qmin;
    bool hi_ok = isinf(hi) || nearbyintf(hi / scale) + z >= qmax;
    return lo_ok && hi_ok;
}

/* The QuantizeLinear (per-tensor, float scale) that alone reads value v, possibly through a
 * Relu (or Clip, with clip) that the quantized range already implies; -1 if none. *act is
 * that Relu/Clip node, or -1. */
static int output_quantizer(er_graph *g, int v, bool clip, int *act)
{
    int r = -1;
    *act = -1;
    if (readers(g, v, &r) != 1 || r < 0) return -1;
    if (is_op(&g->nodes[r], "Relu") || (clip && is_op(&g->nodes[r], "Clip"))) {
        *act = r;
        if (readers(g, g->nodes[r].out[0], &r) != 1 || r < 0) return -1;
    }
    const er_node *qn = &g->nodes[r];
    if (!is_op(qn, "QuantizeLinear") || qn->n_in < 3 || !scalar_init(g, qn->in[1]) || !scalar_init(g, qn->in[2]) ||
        init_of(g, qn->in[1])->dtype != ER_F32)
        return -1;
    if (*act >= 0 && !clamp_implied(g, &g->nodes[*act], *(const float *)init_of(g, qn->in[1])->data, init_of(g, qn->in[2])))
        return -1;
    return r;
}

static bool fuse_conv(er_graph *g, int ci)
{
    er_node *c = &g->nodes[ci];
    if (!is_op(c, "Conv") || c->n_in < 2 || c->n_out != 1) return false;
    int dx = const_dq(g, c->in[0], false, 1), dw = const_dq(g, c->in[1], true, 0);
    if (dx < 0 || dw < 0 || !scalar_init(g, g->nodes[dx].in[1])) return false;
    const er_const *wq = init_of(g, g->nodes[dw].in[0]);
    if (wq->dtype != ER_I8 || init_of(g, g->nodes[dw].in[2])->dtype != ER_I8) return false;
    int db = -1;
    if (c->n_in > 2 && c->in[2] >= 0) {
        db = const_dq(g, c->in[2], true, 0);
        float xs = *(const float *)init_of(g, g->nodes[dx].in[1])->data;
        if (db < 0 || !bias_matches(g, db, xs, init_of(g, g->nodes[dw].in[1]))) return false;
    }
    int relu = -1, q = output_quantizer(g, c->out[0], true, &relu);
    if (q < 0) return false;
    er_node *qn = &g->nodes[q];
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 9);
    if (!in) return false;
    const er_node *x = &g->nodes[dx], *w = &g->nodes[dw];
    int vals[9] = { x->in[0], x->in[1], x->in[2], w->in[0], w->in[1], w->in[2], qn->in[1], qn->in[2],
                    db >= 0 ? g->nodes[db].in[0] : -1 };
    memcpy(in, vals, sizeof vals);
    c->op_type = "QLinearConv";
    c->in = in;
    c->n_in = db >= 0 ? 9 : 8;
    c->out[0] = qn->out[0];
    qn->op_type = NULL;
    if (relu >= 0) g->nodes[relu].op_type = NULL;
    return true;
}

/* DequantizeLinear of an activation with one scale and zero point, constant (static) or
 * computed by DynamicQuantizeLinear (dynamic). */
static int act_dq(const er_graph *g, int v)
{
    int p = producer(g, v);
    if (p < 0 || !is_op(&g->nodes[p], "DequantizeLinear") || g->nodes[p].n_in < 2 || init_of(g, g->nodes[p].in[0]))
        return -1;
    const er_node *n = &g->nodes[p];
    if (scalar_init(g, n->in[1]) && init_of(g, n->in[1])->dtype == ER_F32 && (n->n_in < 3 || n->in[2] < 0 || scalar_init(g, n->in[2])))
        return p;
    int d = producer(g, n->in[1]);
    return d >= 0 && is_op(&g->nodes[d], "DynamicQuantizeLinear") && g->nodes[d].out[1] == n->in[1] && n->n_in >= 3 &&
                   g->nodes[d].out[2] == n->in[2]
               ? p
               : -1;
}

/* DequantizeLinear of a constant int8 weight with zero points 0, scaled per tensor or per
 * output column (axis `col_axis` of the weight). */
static int weight_dq(const er_graph *g, int v, int col_axis)
{
    int p = producer(g, v);
    if (p < 0 || !is_op(&g->nodes[p], "DequantizeLinear") || g->nodes[p].n_in < 2) return -1;
    const er_node *n = &g->nodes[p];
    const er_const *w = init_of(g, n->in[0]), *sc = init_of(g, n->in[1]);
    const er_const *z = n->n_in > 2 ? init_of(g, n->in[2]) : NULL;
    if (!w || w->dtype != ER_I8 || w->ndim != 2 || !sc || sc->dtype != ER_F32) return -1;
    if (n->n_in > 2 && n->in[2] >= 0 && (!z || z->dtype != ER_I8)) return -1;
    for (size_t i = 0; z && i < z->nbytes; i++)
        if (((const int8_t *)z->data)[i]) return -1;
    int64_t ns = (int64_t)(sc->nbytes / 4);
    if (ns == 1) return p;
    int64_t axis = er_attr_int(n, "axis", 1);
    if (axis < 0) axis += 2;
    return axis == col_axis && ns == w->dims[col_axis] ? p : -1;
}

/* The constant float vector [N] (or [1, N]) v, or NULL. */
static const er_const *float_row(const er_graph *g, int v, int64_t n)
{
    const er_const *c = init_of(g, v);
    return c && c->dtype == ER_F32 && (int64_t)(c->nbytes / 4) == n && c->dims[c->ndim - 1] == n ? c : NULL;
}

/* The C input of the fused node from a Gemm bias: int32 already in accumulator units, or float. */
static int gemm_bias(const er_graph *g, int v, int dx, int dw, int64_t n)
{
    int db = const_dq(g, v, true, 0);
    const er_const *xs = init_of(g, g->nodes[dx].in[1]);
    if (db >= 0 && xs && bias_matches(g, db, *(const float *)xs->data, init_of(g, g->nodes[dw].in[1])))
        return g->nodes[db].in[0];
    return float_row(g, v, n) ? v : -2;
}

static bool same_const(const er_const *a, const er_const *b);

/* After the absorbed QuantizeLinear q: a DequantizeLinear with the same scale and zero point
 * as its only reader (the QDQ pair a quantizer leaves between MatMul and its bias Add), and
 * after that an Add of a constant row [n] as the only reader. Those fold into QGemmDQ: *out
 * becomes the last folded node's output, *dq / *add the nodes, *post the row. */
static void requant_readers(const er_graph *g, int q, int64_t n, int *out, int *dq, int *post, int *add)
{
    int r;
    const er_node *qn = &g->nodes[q];
    if (readers(g, qn->out[0], &r) != 1 || r < 0) return;
    const er_node *d = &g->nodes[r];
    if (!is_op(d, "DequantizeLinear") || d->n_in < 3 || d->in[0] != qn->out[0] ||
        !same_const(init_of(g, d->in[1]), init_of(g, qn->in[1])) || !same_const(init_of(g, d->in[2]), init_of(g, qn->in[2])))
        return;
    *dq = r;
    *out = d->out[0];
    if (readers(g, d->out[0], &r) != 1 || r < 0) return;
    const er_node *a = &g->nodes[r];
    if (!is_op(a, "Add") || a->n_in != 2) return;
    int other = a->in[0] == d->out[0] ? a->in[1] : a->in[0];
    if (!float_row(g, other, n)) return;
    *post = other;
    *add = r;
    *out = a->out[0];
}

/*   DequantizeLinear(x_q) ─┐
 *   DequantizeLinear(w_q) ─┴─ MatMul/Gemm ─ [QuantizeLinear → y_q]
 * runs as QGemm (domain edgerun) on the packed int8 kernel: quantized output when a
 * QuantizeLinear is the only reader, else float, with a following Add of a constant row
 * (the bias a MatMul export leaves behind) folded in. A QuantizeLinear followed by its
 * DequantizeLinear (and that by the bias Add) makes it QGemmDQ: the same float result
 * without the 8-bit tensor and two passes over it. */
static bool fuse_matmul(er_graph *g, int mi)
{
    er_node *m = &g->nodes[mi];
    bool gemm = is_op(m, "Gemm");
    if ((!gemm && !is_op(m, "MatMul")) || m->n_in < 2 || m->n_out != 1) return false;
    bool trans_b = gemm && er_attr_int(m, "transB", 0) != 0;
    if (gemm && (er_attr_int(m, "transA", 0) != 0 || er_attr_float(m, "alpha", 1.0f) != 1.0f ||
                 er_attr_float(m, "beta", 1.0f) != 1.0f))
        return false;
    int dx = act_dq(g, m->in[0]), dw = weight_dq(g, m->in[1], trans_b ? 0 : 1);
    if (dx < 0 || dw < 0) return false;
    const er_const *wq = init_of(g, g->nodes[dw].in[0]);
    int64_t n = wq->dims[trans_b ? 0 : 1];
    int c = -1;
    if (gemm && m->n_in > 2 && m->in[2] >= 0 && (c = gemm_bias(g, m->in[2], dx, dw, n)) == -2) return false;
    int r = -1, v = m->out[0], out = v, ys = -1, yz = -1, absorbed = -1;
    bool has_zp = g->nodes[dx].n_in > 2 && g->nodes[dx].in[2] >= 0;
    if (readers(g, v, &r) == 1 && r >= 0) {
        er_node *rn = &g->nodes[r];
        if (is_op(rn, "QuantizeLinear") && rn->n_in >= 3 && scalar_init(g, rn->in[1]) && scalar_init(g, rn->in[2]) &&
            init_of(g, rn->in[1])->dtype == ER_F32) {
            ys = rn->in[1];
            yz = rn->in[2];
            out = rn->out[0];
            absorbed = r;
        } else if (c < 0 && is_op(rn, "Add") && rn->n_in == 2) {
            int other = rn->in[0] == v ? rn->in[1] : rn->in[0];
            if (float_row(g, other, n)) {
                c = other;
                out = rn->out[0];
                absorbed = r;
            }
        }
    }
    int dq = -1, post = -1, add = -1;
    if (ys >= 0) requant_readers(g, absorbed, n, &out, &dq, &post, &add);
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 10);
    if (!in) return false;
    const er_node *x = &g->nodes[dx], *w = &g->nodes[dw];
    int vals[10] = { x->in[0], x->in[1], has_zp ? x->in[2] : -1, w->in[0], w->in[1], w->n_in > 2 ? w->in[2] : -1,
                     c, ys, yz, post };
    memcpy(in, vals, sizeof vals);
    if (absorbed >= 0) g->nodes[absorbed].op_type = NULL;
    if (dq >= 0) g->nodes[dq].op_type = NULL;
    if (add >= 0) g->nodes[add].op_type = NULL;
    m->op_type = dq >= 0 ? "QGemmDQ" : "QGemm";
    m->domain = "edgerun";
    m->in = in;
    m->n_in = post >= 0 ? 10 : ys >= 0 ? 9 : c >= 0 ? 7 : 6;
    m->out[0] = out;
    return true;
}

static bool same_const(const er_const *a, const er_const *b)
{
    return a && b && a->dtype == b->dtype && a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0;
}

/* DequantizeLinear(x_q) → MaxPool → QuantizeLinear with the same scale and zero point is
 * MaxPool on x_q: max commutes with the monotonic (de)quantization. The edgerun-domain
 * MaxPool runs 8-bit planes without widening them to float. */
static bool fuse_maxpool(er_graph *g, int pi)
{
    er_node *p = &g->nodes[pi];
    if (!is_op(p, "MaxPool") || p->n_in != 1 || p->n_out != 1) return false;
    int dq = const_dq(g, p->in[0], false, 1), r = -1;
    if (dq < 0 || g->nodes[dq].n_in < 3 || !scalar_init(g, g->nodes[dq].in[1])) return false;
    if (readers(g, p->out[0], &r) != 1 || r < 0) return false;
    er_node *qn = &g->nodes[r];
    const er_node *d = &g->nodes[dq];
    if (!is_op(qn, "QuantizeLinear") || qn->n_in < 3 || !same_const(init_of(g, qn->in[1]), init_of(g, d->in[1])) ||
        !same_const(init_of(g, qn->in[2]), init_of(g, d->in[2])))
        return false;
    p->in[0] = d->in[0];
    p->out[0] = qn->out[0];
    p->domain = "edgerun";
    qn->op_type = NULL;
    return true;
}

/* DequantizeLinear of an activation with constant per-tensor scale and an explicit constant
 * zero point (whose type is the activation's). */
static int static_act_dq(const er_graph *g, int v)
{
    int p = producer(g, v);
    if (p < 0 || !is_op(&g->nodes[p], "DequantizeLinear") || g->nodes[p].n_in < 3 || init_of(g, g->nodes[p].in[0]))
        return -1;
    const er_node *n = &g->nodes[p];
    const er_const *s = init_of(g, n->in[1]), *z = init_of(g, n->in[2]);
    if (!scalar_init(g, n->in[1]) || s->dtype != ER_F32 || !scalar_init(g, n->in[2])) return -1;
    return z->dtype == ER_U8 || z->dtype == ER_I8 ? p : -1;
}

/*   DequantizeLinear(a_q) ─┐
 *   DequantizeLinear(b_q) ─┴─ Add ─ [Relu] ─ QuantizeLinear → y_q
 * (the residual connection) runs as QAdd (domain edgerun) in one pass over the bytes. A
 * Relu folds in when the output saturation implies it. */
static bool fuse_add(er_graph *g, int ai)
{
    er_node *a = &g->nodes[ai];
    if (!is_op(a, "Add") || a->n_in != 2 || a->n_out != 1) return false;
    int da = static_act_dq(g, a->in[0]), db = static_act_dq(g, a->in[1]);
    if (da < 0 || db < 0 || init_of(g, g->nodes[da].in[2])->dtype != init_of(g, g->nodes[db].in[2])->dtype) return false;
    int relu = -1, q = output_quantizer(g, a->out[0], false, &relu);
    if (q < 0) return false;
    er_node *qn = &g->nodes[q];
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 8);
    if (!in) return false;
    const er_node *x = &g->nodes[da], *y = &g->nodes[db];
    int vals[8] = { x->in[0], x->in[1], x->in[2], y->in[0], y->in[1], y->in[2], qn->in[1], qn->in[2] };
    memcpy(in, vals, sizeof vals);
    a->op_type = "QAdd";
    a->domain = "edgerun";
    a->in = in;
    a->n_in = 8;
    a->out[0] = qn->out[0];
    qn->op_type = NULL;
    if (relu >= 0) g->nodes[relu].op_type = NULL;
    return true;
}

/* DequantizeLinear(table_q) → Gather (axis 0), an embedding table stored as int8: GatherDQ
 * (domain edgerun) dequantizes only the rows it gathers, so the float table never exists. */
static bool fuse_gather(er_graph *g, int gi)
{
    er_node *n = &g->nodes[gi];
    if (!is_op(n, "Gather") || n->n_in != 2 || n->n_out != 1 || er_attr_int(n, "axis", 0) != 0) return false;
    int p = producer(g, n->in[0]);
    if (p < 0 || !is_op(&g->nodes[p], "DequantizeLinear") || g->nodes[p].n_in < 2 ||
        er_attr_int(&g->nodes[p], "block_size", 0) != 0)
        return false;
    const er_node *d = &g->nodes[p];
    const er_const *w = init_of(g, d->in[0]), *s = init_of(g, d->in[1]);
    const er_const *z = d->n_in > 2 ? init_of(g, d->in[2]) : NULL;
    if (!w || (w->dtype != ER_I8 && w->dtype != ER_U8) || w->ndim < 1 || !s || s->dtype != ER_F32) return false;
    int64_t ns = (int64_t)(s->nbytes / 4), axis = er_attr_int(d, "axis", 1);
    if (ns != 1 && (s->ndim != 1 || ns != w->dims[0] || (axis != 0 && axis != -w->ndim))) return false;
    if (d->n_in > 2 && d->in[2] >= 0 && (!z || z->dtype != w->dtype || (int64_t)z->nbytes != ns)) return false;
    int *in = er_pool_alloc(&g->pool, sizeof(int) * 4);
    if (!in) return false;
    in[0] = d->in[0];
    in[1] = d->in[1];
    in[2] = d->n_in > 2 ? d->in[2] : -1;
    in[3] = n->in[1];
    n->op_type = "GatherDQ";
    n->domain = "edgerun";
    n->in = in;
    n->n_in = 4;
    return true;
}

/* QuantizeLinear → DequantizeLinear with the same constant per-tensor scale and zero point,
 * the Q output read by nothing else (what is left between float ops once the integer ops
 * took theirs): one QuantDequant node (domain edgerun). */
static bool fuse_fake_quant(er_graph *g, int qi)
{
    er_node *q = &g->nodes[qi];
    int r;
    if (!is_op(q, "QuantizeLinear") || q->n_in < 3 || q->n_out != 1 || init_of(g, q->in[0]) ||
        !scalar_init(g, q->in[1]) || init_of(g, q->in[1])->dtype != ER_F32 || !scalar_init(g, q->in[2]))
        return false;
    const er_const *z = init_of(g, q->in[2]);
    if ((z->dtype != ER_U8 && z->dtype != ER_I8) || readers(g, q->out[0], &r) != 1 || r < 0) return false;
    er_node *d = &g->nodes[r];
    if (!is_op(d, "DequantizeLinear") || d->n_in < 3 || d->in[0] != q->out[0] ||
        !same_const(init_of(g, d->in[1]), init_of(g, q->in[1])) || !same_const(init_of(g, d->in[2]), z))
        return false;
    q->op_type = "QuantDequant";
    q->domain = "edgerun";
    q->n_in = 3;
    q->out[0] = d->out[0];
    d->op_type = NULL;
    return true;
}

/* Removes DequantizeLinear nodes nothing reads any more. */
static void drop_unread_dq(er_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        int r;
        if (is_op(&g->nodes[i], "DequantizeLinear") && readers(g, g->nodes[i].out[0], &r) == 0)
            g->nodes[i].op_type = NULL;
    }
}

int er_pass_fuse_qdq(er_graph *g)
{
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (fuse_conv(g, i) || fuse_matmul(g, i) || fuse_maxpool(g, i) || fuse_add(g, i) ||
            fuse_gather(g, i)) fused++;
    /* after the integer ops took the pairs they read */
    for (int i = 0; i < g->n_nodes; i++) fused += fuse_fake_quant(g, i);
    if (fused) {
        drop_unread_dq(g);
        int j = 0;
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].op_type) g->nodes[j++] = g->nodes[i];
        g->n_nodes = j;
    }
    return fused;
}
