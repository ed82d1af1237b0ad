#include "ir/graph.h"

#include <stdlib.h>
#include <string.h>

#define ER_POOL_BLOCK (64 * 1024)

struct er_pool_block {
    er_pool_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

void *er_pool_alloc(er_pool *pool, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    er_pool_block *b = pool->head;
    if (!b || b->used + size > b->size) {
        size_t cap = size > ER_POOL_BLOCK ? size : ER_POOL_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->size = cap;
        b->used = 0;
        b->next = pool->head;
        pool->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *er_pool_strndup(er_pool *pool, const char *s, size_t n)
{
    char *d = er_pool_alloc(pool, n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *er_pool_strdup(er_pool *pool, const char *s) { return er_pool_strndup(pool, s, strlen(s)); }

void er_pool_free(er_pool *pool)
{
    er_pool_block *b = pool->head;
    while (b) {
        er_pool_block *next = b->next;
        free(b);
        b = next;
    }
    pool->head = NULL;
}

er_graph *er_graph_new(void) { return calloc(1, sizeof(er_graph)); }

void er_graph_free(er_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++)
            if (g->nodes[i].attrs[a].g) er_graph_free(g->nodes[i].attrs[a].g);
    for (int i = 0; i < g->n_maps; i++) er_unmap(&g->maps[i]);
    free(g->maps);
    free(g->values);
    free(g->hash);
    free(g->nodes);
    er_pool_free(&g->pool);
    free(g);
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int hash_insert(er_graph *g, int id)
{
    uint32_t mask = (uint32_t)g->hash_cap - 1;
    for (uint32_t i = name_hash(g->values[id].name) & mask;; i = (i + 1) & mask) {
        if (g->hash[i] < 0) { g->hash[i] = id; return 0; }
    }
}

static int hash_grow(er_graph *g)
{
    int cap = g->hash_cap ? g->hash_cap * 2 : 256;
    while (cap < 2 * g->n_values) cap *= 2;
    while (cap < 2 * g->n_values) cap *= 2; /* a clone inserts all its values at once */
    int *h = malloc((size_t)cap * sizeof *h);
    if (!h) return -1;
    free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    for (int i = 0; i < cap; i++) h[i] = -1;
    for (int i = 0; i < g->n_values; i++) hash_insert(g, i);
    return 0;
}

int er_graph_find_value(const er_graph *g, const char *name)
{
    if (!g->hash_cap) return -1;
    uint32_t mask = (uint32_t)g->hash_cap - 1;
    for (uint32_t i = name_hash(name) & mask; g->hash[i] >= 0; i = (i + 1) & mask)
        if (strcmp(g->values[g->hash[i]].name, name) == 0) return g->hash[i];
    return -1;
}

int er_graph_add_value(er_graph *g, const char *name)
{
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        er_value *v = realloc(g->values, (size_t)cap * sizeof *v);
        if (!v) return -1;
        g->values = v;
        g->cap_values = cap;
    }
    er_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = er_pool_strdup(&g->pool, name);
    if (!v->name) return -1;
    v->ndim = -1;
    int id = g->n_values++;
    if (2 * g->n_values > g->hash_cap) {
        if (hash_grow(g) != 0) return -1;
    } else {
        hash_insert(g, id);
    }
    return id;
}

er_node *er_graph_add_node(er_graph *g, const char *op_type, int n_in, int n_out)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        er_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return NULL;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    er_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op_type = er_pool_strdup(&g->pool, op_type);
    n->name = "";
    n->domain = "";
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(n_in ? n_in : 1));
    n->out = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(n_out ? n_out : 1));
    if (!n->op_type || !n->in || !n->out) return NULL;
    for (int i = 0; i < n_in; i++) n->in[i] = -1;
    for (int i = 0; i < n_out; i++) n->out[i] = -1;
    g->n_nodes++;
    return n;
}

int64_t er_graph_opset(const er_graph *g, const char *domain)
{
    bool dflt = domain[0] == 0 || strcmp(domain, "ai.onnx") == 0;
    for (int i = 0; i < g->n_opsets; i++) {
        const char *d = g->opsets[i].domain;
        bool ddflt = d[0] == 0 || strcmp(d, "ai.onnx") == 0;
        if (dflt ? ddflt : strcmp(d, domain) == 0) return g->opsets[i].version;
    }
    return 0;
}

const er_attr *er_node_attr(const er_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t er_attr_int(const er_node *n, const char *name, int64_t def)
{
    const er_attr *a = er_node_attr(n, name);
    if (!a) return def;
    if (a->type == ER_ATTR_FLOAT) return (int64_t)a->f;
    return a->i;
}

float er_attr_float(const er_node *n, const char *name, float def)
{
    const er_attr *a = er_node_attr(n, name);
    if (!a) return def;
    if (a->type == ER_ATTR_INT) return (float)a->i;
    return a->f;
}

const char *er_attr_str(const er_node *n, const char *name, const char *def)
{
    const er_attr *a = er_node_attr(n, name);
    return a && a->type == ER_ATTR_STRING ? a->s : def;
}

const int64_t *er_attr_ints(const er_node *n, const char *name, int *count)
{
    const er_attr *a = er_node_attr(n, name);
    if (!a || a->type != ER_ATTR_INTS) { *count = 0; return NULL; }
    *count = a->n;
    return a->ints;
}

const float *er_attr_floats(const er_node *n, const char *name, int *count)
{
    const er_attr *a = er_node_attr(n, name);
    if (!a || a->type != ER_ATTR_FLOATS) { *count = 0; return NULL; }
    *count = a->n;
    return a->floats;
}

er_status er_graph_own_mapping(er_graph *g, er_mapped m)
{
    er_mapped *maps = realloc(g->maps, (size_t)(g->n_maps + 1) * sizeof *maps);
    if (!maps) {
        er_unmap(&m);
        return ER_ERR_NOMEM;
    }
    g->maps = maps;
    g->maps[g->n_maps++] = m;
    return ER_OK;
}

er_graph *er_graph_clone(const er_graph *src)
{
    er_graph *g = er_graph_new();
    if (!g) return NULL;
    g->values = malloc(sizeof *g->values * (size_t)(src->n_values ? src->n_values : 1));
    g->nodes = malloc(sizeof *g->nodes * (size_t)(src->n_nodes ? src->n_nodes : 1));
    g->inputs = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(src->n_inputs + 1));
    g->outputs = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(src->n_outputs + 1));
    g->opsets = er_pool_alloc(&g->pool, sizeof(er_opset) * (size_t)(src->n_opsets + 1));
    if (!g->values || !g->nodes || !g->inputs || !g->outputs || !g->opsets) goto fail;
    memcpy(g->values, src->values, sizeof *g->values * (size_t)src->n_values);
    g->n_values = g->cap_values = src->n_values;
    if (!g->n_values) g->cap_values = 1;
    for (int i = 0; i < src->n_nodes; i++) {
        er_node *n = &g->nodes[i];
        *n = src->nodes[i];
        n->in = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(n->n_in + 1));
        n->out = er_pool_alloc(&g->pool, sizeof(int) * (size_t)(n->n_out + 1));
        if (!n->in || !n->out) goto fail;
        memcpy(n->in, src->nodes[i].in, sizeof(int) * (size_t)n->n_in);
        memcpy(n->out, src->nodes[i].out, sizeof(int) * (size_t)n->n_out);
        /* Subgraphs stay owned by the source graph. */
        for (int a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].g) {
                er_attr *attrs = er_pool_alloc(&g->pool, sizeof *attrs * (size_t)n->n_attrs);
                if (!attrs) goto fail;
                memcpy(attrs, n->attrs, sizeof *attrs * (size_t)n->n_attrs);
                for (int k = 0; k < n->n_attrs; k++) attrs[k].g = NULL;
                n->attrs = attrs;
                break;
            }
    }
    g->n_nodes = g->cap_nodes = src->n_nodes;
    if (!g->n_nodes) g->cap_nodes = 1;
    memcpy(g->inputs, src->inputs, sizeof(int) * (size_t)src->n_inputs);
    g->n_inputs = src->n_inputs;
    memcpy(g->outputs, src->outputs, sizeof(int) * (size_t)src->n_outputs);
    g->n_outputs = src->n_outputs;
    memcpy(g->opsets, src->opsets, sizeof(er_opset) * (size_t)src->n_opsets);
    g->n_opsets = src->n_opsets;
    g->name = src->name;
    if (hash_grow(g) != 0) goto fail;
    return g;
fail:
    er_graph_free(g);
    return NULL;
}
