/* The graph IR: values (named tensors) and nodes (ops) in an arena-backed graph.
 * Loaders build it; passes rewrite a session's copy; the executor schedules it. */
#ifndef ER_IR_GRAPH_H
#define ER_IR_GRAPH_H

#include "core/common.h"
#include "core/mapfile.h"

/* ONNX AttributeProto.AttributeType numbering. */
typedef enum er_attr_type {
    ER_ATTR_UNDEFINED = 0,
    ER_ATTR_FLOAT = 1,
    ER_ATTR_INT = 2,
    ER_ATTR_STRING = 3,
    ER_ATTR_TENSOR = 4,
    ER_ATTR_GRAPH = 5,
    ER_ATTR_FLOATS = 6,
    ER_ATTR_INTS = 7,
    ER_ATTR_STRINGS = 8,
    ER_ATTR_TENSORS = 9,
    ER_ATTR_GRAPHS = 10,
    ER_ATTR_SPARSE_TENSOR = 11,
    ER_ATTR_SPARSE_TENSORS = 12,
    ER_ATTR_TYPE_PROTO = 13,
    ER_ATTR_TYPE_PROTOS = 14
} er_attr_type;

struct er_graph;

/* A constant tensor held by the IR (initializer, Constant value, tensor attribute).
 * data points into the mapped model file when it can, else into the graph's arena. */
typedef struct er_const {
    er_dtype dtype;
    int ndim;
    int64_t dims[ER_MAX_DIMS];
    const void *data;
    size_t nbytes;
} er_const;

typedef struct er_attr {
    const char *name;
    er_attr_type type;
    int64_t i;
    float f;
    const char *s;        /* NUL-terminated copy; s_len holds the byte length */
    size_t s_len;
    int n;                /* element count for list types */
    const int64_t *ints;
    const float *floats;
    const char **strings;
    er_const *t;          /* ER_ATTR_TENSOR */
    struct er_graph *g;   /* ER_ATTR_GRAPH */
} er_attr;

typedef struct er_node {
    const char *name;
    const char *op_type;
    const char *domain;   /* "" for the default ONNX domain */
    int n_in, n_out;
    int *in;              /* value ids; -1 marks an omitted optional input/output */
    int *out;
    int n_attrs;
    er_attr *attrs;
} er_node;

typedef struct er_value {
    const char *name;
    er_dtype dtype;       /* ER_UNDEFINED when not declared */
    int ndim;             /* -1 when the rank is not declared */
    int64_t dims[ER_MAX_DIMS];       /* -1 for symbolic/unknown dims */
    const char *dim_names[ER_MAX_DIMS];
    er_const *init;       /* non-NULL for initializers */
} er_value;

typedef struct er_opset {
    const char *domain;
    int64_t version;
} er_opset;

/* Bump allocator owning every string and array of a graph. */
typedef struct er_pool_block er_pool_block;
typedef struct er_pool {
    er_pool_block *head;
} er_pool;

void *er_pool_alloc(er_pool *pool, size_t size);   /* zeroed, 16-byte aligned */
char *er_pool_strndup(er_pool *pool, const char *s, size_t n);
char *er_pool_strdup(er_pool *pool, const char *s);
void er_pool_free(er_pool *pool);

typedef struct er_graph {
    er_pool pool;
    er_value *values;
    int n_values, cap_values;
    int *hash;            /* open-addressed name index into values, -1 empty */
    int hash_cap;
    er_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;          /* graph inputs that are not initializers */
    int n_inputs;
    int *outputs;
    int n_outputs;
    er_opset *opsets;
    int n_opsets;
    const char *name;
    er_mapped *maps;      /* external-data files the constants point into; unmapped on free */
    int n_maps;
} er_graph;

er_graph *er_graph_new(void);
void er_graph_free(er_graph *g);
/* A copy that passes may rewrite: own value/node arrays; names, attributes and constants
 * are shared with src, which must outlive the copy. Subgraph attributes are dropped. */
er_graph *er_graph_clone(const er_graph *src);

/* Value ids are stable indices. Lookup is linear-probe hashed by name. */
int er_graph_add_value(er_graph *g, const char *name);
int er_graph_find_value(const er_graph *g, const char *name);
er_node *er_graph_add_node(er_graph *g, const char *op_type, int n_in, int n_out);

/* Opset version of a domain ("" or "ai.onnx" for the default); 0 when not imported. */
/* Keeps a mapping alive for the graph's lifetime. */
er_status er_graph_own_mapping(er_graph *g, er_mapped m);

int64_t er_graph_opset(const er_graph *g, const char *domain);

/* Attribute lookup. Absent attributes give the default. */
const er_attr *er_node_attr(const er_node *n, const char *name);
int64_t er_attr_int(const er_node *n, const char *name, int64_t def);
float er_attr_float(const er_node *n, const char *name, float def);
const char *er_attr_str(const er_node *n, const char *name, const char *def);
/* Returns the list and its length in *count, or NULL with *count = 0 when absent. */
const int64_t *er_attr_ints(const er_node *n, const char *name, int *count);
const float *er_attr_floats(const er_node *n, const char *name, int *count);

#endif
