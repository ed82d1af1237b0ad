/* ONNX ModelProto writer. Nested messages are built in their own buffer and then copied
 * into the parent behind their length prefix; weights are copied once per nesting level,
 * which keeps the code simple at the cost of a few memcpy passes over the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/onnx_write.h"

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_I32 = 5 };

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *data, size_t n)
{
    if (b->oom || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_varint(wbuf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    put(b, tmp, n);
}

static void put_tag(wbuf *b, uint32_t field, int wire) { put_varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

static void put_uint(wbuf *b, uint32_t field, uint64_t v)
{
    put_tag(b, field, WIRE_VARINT);
    put_varint(b, v);
}

static void put_bytes(wbuf *b, uint32_t field, const void *data, size_t n)
{
    put_tag(b, field, WIRE_LEN);
    put_varint(b, n);
    put(b, data, n);
}

static void put_str(wbuf *b, uint32_t field, const char *s)
{
    if (s) put_bytes(b, field, s, strlen(s));
}

/* Appends sub as a nested message and releases it. */
static void put_msg(wbuf *b, uint32_t field, wbuf *sub)
{
    if (sub->oom) b->oom = true;
    put_bytes(b, field, sub->p, sub->len);
    free(sub->p);
    *sub = (wbuf){ 0 };
}

static void put_packed_ints(wbuf *b, uint32_t field, const int64_t *v, int n)
{
    wbuf sub = { 0 };
    for (int i = 0; i < n; i++) put_varint(&sub, (uint64_t)v[i]);
    put_msg(b, field, &sub);
}

/* TensorProto: dims 1, data_type 2, name 8, raw_data 9. */
static er_status put_tensor(wbuf *b, uint32_t field, const er_const *t, const char *name, char *err, size_t err_size)
{
    if (t->dtype == ER_STRING)
        return er_fail(err, err_size, ER_ERR_UNSUPPORTED, "tensor '%s': string tensors cannot be written",
                       name ? name : "");
    wbuf sub = { 0 };
    if (t->ndim) put_packed_ints(&sub, 1, t->dims, t->ndim);
    put_uint(&sub, 2, (uint64_t)t->dtype);
    put_str(&sub, 8, name);
    put_bytes(&sub, 9, t->data, t->nbytes);
    put_msg(b, field, &sub);
    return ER_OK;
}

/* ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1. */
static void put_value_info(wbuf *b, uint32_t field, const er_value *v)
{
    wbuf vi = { 0 }, tp = { 0 }, tt = { 0 }, shape = { 0 };
    put_str(&vi, 1, v->name);
    if (v->dtype != ER_UNDEFINED) {
        put_uint(&tt, 1, (uint64_t)v->dtype);
        if (v->ndim >= 0) {
            for (int i = 0; i < v->ndim; i++) {
                wbuf dim = { 0 };
                if (v->dim_names[i]) put_str(&dim, 2, v->dim_names[i]);
                else if (v->dims[i] >= 0) put_uint(&dim, 1, (uint64_t)v->dims[i]);
                put_msg(&shape, 1, &dim);
            }
            put_msg(&tt, 2, &shape);
        }
        put_msg(&tp, 1, &tt);
        put_msg(&vi, 2, &tp);
    }
    put_msg(b, field, &vi);
}

static er_status put_graph(wbuf *b, uint32_t field, const er_graph *g, char *err, size_t err_size);

/* AttributeProto: name 1, f 2, i 3, s 4, t 5, g 6, floats 7, ints 8, strings 9, tensors 10, type 20. */
static er_status put_attr(wbuf *b, const er_attr *a, char *err, size_t err_size)
{
    wbuf sub = { 0 };
    er_status st = ER_OK;
    put_str(&sub, 1, a->name);
    switch (a->type) {
    case ER_ATTR_FLOAT:
        put_tag(&sub, 2, WIRE_I32);
        put(&sub, &a->f, 4);
        break;
    case ER_ATTR_INT: put_uint(&sub, 3, (uint64_t)a->i); break;
    case ER_ATTR_STRING: put_bytes(&sub, 4, a->s, a->s_len); break;
    case ER_ATTR_TENSOR: st = put_tensor(&sub, 5, a->t, NULL, err, err_size); break;
    case ER_ATTR_GRAPH: st = put_graph(&sub, 6, a->g, err, err_size); break;
    case ER_ATTR_FLOATS: put_bytes(&sub, 7, a->floats, sizeof(float) * (size_t)a->n); break;
    case ER_ATTR_INTS: put_packed_ints(&sub, 8, a->ints, a->n); break;
    case ER_ATTR_STRINGS:
        for (int i = 0; i < a->n; i++) put_str(&sub, 9, a->strings[i]);
        break;
    case ER_ATTR_TENSORS:
        for (int i = 0; i < a->n && st == ER_OK; i++) st = put_tensor(&sub, 10, &a->t[i], NULL, err, err_size);
        break;
    default:
        st = er_fail(err, err_size, ER_ERR_UNSUPPORTED, "attribute '%s' has type %d, which the writer does not support",
                     a->name, (int)a->type);
    }
    put_uint(&sub, 20, (uint64_t)a->type);
    if (st == ER_OK) put_msg(b, 5, &sub);
    else free(sub.p);
    return st;
}

/* NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7. */
static er_status put_node(wbuf *b, const er_graph *g, const er_node *n, char *err, size_t err_size)
{
    wbuf sub = { 0 };
    er_status st = ER_OK;
    for (int k = 0; k < n->n_in; k++) put_str(&sub, 1, n->in[k] >= 0 ? g->values[n->in[k]].name : "");
    for (int k = 0; k < n->n_out; k++) put_str(&sub, 2, n->out[k] >= 0 ? g->values[n->out[k]].name : "");
    if (n->name && n->name[0]) put_str(&sub, 3, n->name);
    put_str(&sub, 4, n->op_type);
    for (int k = 0; k < n->n_attrs && st == ER_OK; k++) {
        wbuf attrs = { 0 };
        st = put_attr(&attrs, &n->attrs[k], err, err_size);
        put(&sub, attrs.p, attrs.len);
        if (attrs.oom) sub.oom = true;
        free(attrs.p);
    }
    if (n->domain && n->domain[0]) put_str(&sub, 7, n->domain);
    if (st == ER_OK) put_msg(b, 1, &sub);
    else free(sub.p);
    return st;
}

/* Marks initializers that some node or output reads; all of them when a node carries a
 * subgraph, which may read outer-scope names. */
static bool *used_values(const er_graph *g)
{
    bool *used = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof(bool));
    if (!used) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) used[n->in[k]] = true;
        for (int k = 0; k < n->n_attrs; k++)
            if (n->attrs[k].type == ER_ATTR_GRAPH)
                for (int v = 0; v < g->n_values; v++) used[v] = true;
    }
    for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = true;
    return used;
}

/* GraphProto: node 1, name 2, initializer 5, input 11, output 12. */
static er_status put_graph(wbuf *b, uint32_t field, const er_graph *g, char *err, size_t err_size)
{
    wbuf sub = { 0 };
    er_status st = ER_OK;
    bool *used = used_values(g);
    if (!used) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_nodes && st == ER_OK; i++)
        if (g->nodes[i].op_type) st = put_node(&sub, g, &g->nodes[i], err, err_size);
    put_str(&sub, 2, g->name && g->name[0] ? g->name : "edgerun");
    for (int v = 0; v < g->n_values && st == ER_OK; v++)
        if (g->values[v].init && used[v]) st = put_tensor(&sub, 5, g->values[v].init, g->values[v].name, err, err_size);
    for (int i = 0; i < g->n_inputs; i++) put_value_info(&sub, 11, &g->values[g->inputs[i]]);
    for (int i = 0; i < g->n_outputs; i++) put_value_info(&sub, 12, &g->values[g->outputs[i]]);
    free(used);
    if (st == ER_OK) put_msg(b, field, &sub);
    else free(sub.p);
    return st;
}

/* The oldest IR version that can carry the imported default-domain opset. */
static uint64_t ir_version_for(const er_graph *g)
{
    int64_t v = er_graph_opset(g, "");
    return v <= 12 ? 7 : v <= 15 ? 8 : v <= 20 ? 9 : 10;
}

er_status er_onnx_serialize(const er_graph *g, void **data, size_t *size, char *err, size_t err_size)
{
    wbuf b = { 0 };
    put_uint(&b, 1, ir_version_for(g));
    put_str(&b, 2, "edgerun");
    put_str(&b, 3, ER_VERSION_STRING);
    er_status st = put_graph(&b, 7, g, err, err_size);
    for (int i = 0; i < g->n_opsets && st == ER_OK; i++) {
        wbuf os = { 0 };
        const char *d = g->opsets[i].domain;
        if (d && d[0] && strcmp(d, "ai.onnx") != 0) put_str(&os, 1, d);
        put_uint(&os, 2, (uint64_t)g->opsets[i].version);
        put_msg(&b, 8, &os);
    }
    if (st == ER_OK && b.oom) st = er_fail(err, err_size, ER_ERR_NOMEM, "out of memory serialising the model");
    if (st != ER_OK) {
        free(b.p);
        return st;
    }
    *data = b.p;
    *size = b.len;
    return ER_OK;
}

er_status er_onnx_write_file(const er_graph *g, const char *path, char *err, size_t err_size)
{
    void *data = NULL;
    size_t size = 0;
    er_status st = er_onnx_serialize(g, &data, &size, err, err_size);
    if (st != ER_OK) return st;
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        free(data);
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        st = er_fail(err, err_size, ER_ERR_IO, "cannot create a temporary file next to '%s'", path);
        if (fd >= 0) close(fd), unlink(tmp);
    } else {
        bool ok = fwrite(data, 1, size, f) == size;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
            unlink(tmp);
            st = er_fail(err, err_size, ER_ERR_IO, "cannot write '%s'", path);
        }
    }
    free(tmp);
    free(data);
    return st;
}
