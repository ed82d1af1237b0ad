/* Sessions: schedule, plan (shape inference, constant folding, one activation arena laid out
 * by tensor lifetimes) and run a graph.
 *
 * Planning walks the nodes in topological order with every graph input's shape bound.
 * A node whose inputs are all known values is computed once, here (this also resolves
 * Shape → Gather → Concat → Reshape chains). Every other node becomes a step of the run.
 * If some output shape depends on data (ER_DYNAMIC), the session runs in dynamic mode:
 * each run infers shapes step by step and allocates those tensors on the heap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/op.h"
#include "passes/passes.h"
#include "runtime/session.h"

enum {
    VK_UNUSED = 0,
    VK_CONST,     /* initializer or folded: data known at planning */
    VK_INPUT,     /* graph input bound by the caller */
    VK_ACT        /* computed by a step */
};

typedef struct er_step {
    int node;                 /* index into graph->nodes */
    const er_op *op;
    int64_t opset;
    double seconds;           /* profiling */
    int64_t calls;
    void *state;              /* from op->prepare */
    bool borrowed_state;      /* state belongs to an earlier step with the same weights */
} er_step;

typedef struct er_input_slot {
    int value;
    er_tensor bound;          /* shape/dtype of the bound data; data is session-owned */
    size_t cap;
    bool is_set;
} er_input_slot;

struct er_session {
    const er_model *model;
    const er_graph *g;
    er_graph *own_graph;      /* the optimized copy, when passes ran */
    er_pass_stats pass_stats;
    er_session_options opts;
    er_threadpool *pool;

    const er_op **ops;        /* per node */
    int *order;               /* topological order of nodes */

    er_tensor *t;             /* per value */
    uint8_t *kind;            /* per value */
    bool *shape_known;        /* per value, during planning */
    void **folded;            /* per value: heap data computed at planning */
    void **dyn;               /* per value: heap data of dynamic-mode runs */
    int *last_use;            /* per value: last step reading it (n_steps for outputs) */

    er_input_slot *inputs;
    int n_inputs;

    er_step *steps;
    int n_steps;
    bool planned;
    bool dynamic;
    bool ran;
    size_t folded_bytes;

    unsigned char *arena;
    size_t arena_size;
    void *workspace;
    size_t workspace_size;

    char err[1024];
};

static er_status sfail(er_session *s, er_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static er_status sfail(er_session *s, er_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    er_vfail(s->err, sizeof s->err, st, fmt, ap);
    va_end(ap);
    return st;
}

static er_input_slot *find_input(er_session *s, const char *name);

const char *er_session_error(const er_session *s) { return s ? s->err : "no session"; }

void er_session_options_init(er_session_options *o)
{
    memset(o, 0, sizeof *o);
    o->n_threads = 0;
    o->backend = ER_BACKEND_CPU;
    o->opt_level = 1;
}

/* Lists every op of the graph the registry lacks, so a user sees them all at once. */
static er_status check_supported(er_session *s)
{
    const er_graph *g = s->g;
    char list[768];
    size_t len = 0;
    int missing = 0;
    list[0] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        s->ops[i] = er_op_find(n->domain, n->op_type);
        if (s->ops[i]) continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !s->ops[j] && strcmp(g->nodes[j].op_type, n->op_type) == 0 &&
                   strcmp(g->nodes[j].domain, n->domain) == 0;
        if (seen) continue;
        missing++;
        if (len < sizeof list - 1) {
            int k = snprintf(list + len, sizeof list - len, "%s%s%s%s", missing > 1 ? ", " : "",
                             n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type);
            if (k > 0) len += (size_t)k;
        }
    }
    if (missing)
        return sfail(s, ER_ERR_UNSUPPORTED, "the model uses %d unsupported op type%s: %s", missing,
                     missing > 1 ? "s" : "", list);
    return ER_OK;
}

/* Kahn's algorithm; also reports inputs that nothing produces. */
static er_status schedule(er_session *s)
{
    const er_graph *g = s->g;
    int nv = g->n_values, nn = g->n_nodes;
    int *producer = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    int *indeg = calloc((size_t)(nn ? nn : 1), sizeof(int));
    int *users_start = calloc((size_t)nv + 1, sizeof(int));
    int *users = NULL, *queue = NULL;
    er_status st = ER_OK;
    if (!producer || !indeg || !users_start) { st = sfail(s, ER_ERR_NOMEM, "out of memory"); goto done; }
    for (int v = 0; v < nv; v++) producer[v] = -1;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int v = g->nodes[i].out[k];
            if (v < 0) continue;
            if (producer[v] >= 0 || g->values[v].init) {
                st = sfail(s, ER_ERR_FORMAT, "value '%s' is produced more than once", g->values[v].name);
                goto done;
            }
            producer[v] = i;
        }
    bool *is_input = calloc((size_t)(nv ? nv : 1), sizeof(bool));
    if (!is_input) { st = sfail(s, ER_ERR_NOMEM, "out of memory"); goto done; }
    for (int i = 0; i < g->n_inputs; i++) is_input[g->inputs[i]] = true;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v < 0) continue;
            if (producer[v] < 0 && !g->values[v].init && !is_input[v]) {
                st = sfail(s, ER_ERR_FORMAT, "%s '%s': input '%s' is not produced by any node, initializer or graph input",
                           g->nodes[i].op_type, g->nodes[i].name, g->values[v].name);
                free(is_input);
                goto done;
            }
            if (producer[v] >= 0) { indeg[i]++; users_start[v + 1]++; }
        }
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (producer[v] < 0 && !g->values[v].init && !is_input[v]) {
            st = sfail(s, ER_ERR_FORMAT, "graph output '%s' is not produced by any node", g->values[v].name);
            free(is_input);
            goto done;
        }
    }
    free(is_input);
    for (int v = 0; v < nv; v++) users_start[v + 1] += users_start[v];
    users = malloc(sizeof(int) * (size_t)(users_start[nv] ? users_start[nv] : 1));
    queue = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    int *fill = calloc((size_t)(nv ? nv : 1), sizeof(int));
    if (!users || !queue || !fill) { free(fill); st = sfail(s, ER_ERR_NOMEM, "out of memory"); goto done; }
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && producer[v] >= 0) users[users_start[v] + fill[v]++] = i;
        }
    free(fill);
    int head = 0, tail = 0;
    for (int i = 0; i < nn; i++)
        if (indeg[i] == 0) queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        s->order[head - 1] = i;
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int v = g->nodes[i].out[k];
            if (v < 0) continue;
            for (int u = users_start[v]; u < users_start[v + 1]; u++)
                if (--indeg[users[u]] == 0) queue[tail++] = users[u];
        }
    }
    if (tail != nn) st = sfail(s, ER_ERR_FORMAT, "the graph has a cycle (%d of %d nodes can be scheduled)", tail, nn);
done:
    free(producer);
    free(indeg);
    free(users_start);
    free(users);
    free(queue);
    return st;
}

static void release_plan(er_session *s)
{
    for (int i = 0; i < s->n_steps; i++) {
        er_step *sp = &s->steps[i];
        if (sp->state && !sp->borrowed_state && sp->op->release) sp->op->release(sp->state);
        sp->state = NULL;
        sp->borrowed_state = false;
    }
    for (int v = 0; v < s->g->n_values; v++) {
        free(s->folded[v]);
        s->folded[v] = NULL;
        free(s->dyn[v]);
        s->dyn[v] = NULL;
    }
    er_aligned_free(s->arena);
    s->arena = NULL;
    s->arena_size = 0;
    s->n_steps = 0;
    s->planned = false;
    s->dynamic = false;
    s->folded_bytes = 0;
}

/* Gathers tensor pointers of a node's inputs and outputs; absent ones are NULL. */
static void node_io(er_session *s, const er_node *n, er_tensor **in, er_tensor **out)
{
    for (int k = 0; k < n->n_in; k++) in[k] = n->in[k] >= 0 ? &s->t[n->in[k]] : NULL;
    for (int k = 0; k < n->n_out; k++) out[k] = n->out[k] >= 0 ? &s->t[n->out[k]] : NULL;
}

/* Per-node tensor pointer arrays, sized for the widest node. */
typedef struct {
    er_tensor **in, **out;
    er_tensor *spare;
    int max_io;
} io_buf;

static er_status io_buf_init(io_buf *b, const er_graph *g)
{
    int m = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > m) m = g->nodes[i].n_in;
        if (g->nodes[i].n_out > m) m = g->nodes[i].n_out;
    }
    b->max_io = m;
    b->in = calloc((size_t)m, sizeof *b->in);
    b->out = calloc((size_t)m, sizeof *b->out);
    b->spare = calloc((size_t)m, sizeof *b->spare);
    return b->in && b->out && b->spare ? ER_OK : ER_ERR_NOMEM;
}

static void io_buf_free(io_buf *b)
{
    free(b->in);
    free(b->out);
    free(b->spare);
}

/* Omitted optional outputs get a tensor with data == NULL, which kernels leave alone. */
static void fill_spare_outputs(io_buf *b, const er_node *n)
{
    for (int k = 0; k < n->n_out; k++)
        if (!b->out[k]) {
            memset(&b->spare[k], 0, sizeof b->spare[k]);
            b->out[k] = &b->spare[k];
        }
}

static er_status run_kernel(er_session *s, const er_op *op, const er_node *n, int64_t opset,
                            er_tensor **in, er_tensor **out, bool infer, void *ws, size_t ws_size,
                            void *state)
{
    er_kctx ctx = {
        .pool = s->pool, .node = n, .opset = opset, .workspace_bytes = ws_size,
        .workspace = ws, .state = state, .err = s->err, .err_size = sizeof s->err,
    };
    er_status st = infer ? op->infer(&ctx, in, n->n_in, out, n->n_out)
                         : op->run(&ctx, in, n->n_in, out, n->n_out);
    if (infer && st == ER_OK && ctx.workspace_bytes > s->workspace_size) {
        void *w = er_aligned_alloc(ctx.workspace_bytes);
        if (!w) return sfail(s, ER_ERR_NOMEM, "out of memory for %zu bytes of workspace", ctx.workspace_bytes);
        er_aligned_free(s->workspace);
        s->workspace = w;
        s->workspace_size = ctx.workspace_bytes;
    }
    if (st != ER_OK && st != ER_DYNAMIC && !s->err[0])
        sfail(s, st, "%s '%s' failed: %s", n->op_type, n->name, er_status_str(st));
    return st;
}

/* Prepare sees data only for constant inputs (op.h's contract): the others already point
 * into the arena, whose contents are not computed yet, and a kernel must not pack them. */
static er_status prepare_kernel(er_session *s, const er_op *op, const er_node *n, int64_t opset,
                                er_tensor **in, er_tensor **out, void **state)
{
    *state = NULL;
    if (!op->prepare) return ER_OK;
    er_kctx ctx = { .pool = s->pool, .node = n, .opset = opset, .err = s->err, .err_size = sizeof s->err };
    int n_in = n->n_in;
    er_tensor **view = malloc(sizeof *view * (size_t)(n_in ? n_in : 1));
    er_tensor *shapes = malloc(sizeof *shapes * (size_t)(n_in ? n_in : 1));
    if (!view || !shapes) {
        free(view);
        free(shapes);
        return sfail(s, ER_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; k < n_in; k++) {
        view[k] = in[k];
        if (in[k] && !(n->in[k] >= 0 && s->kind[n->in[k]] == VK_CONST)) {
            shapes[k] = *in[k];
            shapes[k].data = NULL;
            view[k] = &shapes[k];
        }
    }
    er_status st = op->prepare(&ctx, view, n_in, out, n->n_out, state);
    free(view);
    free(shapes);
    if (st != ER_OK && !s->err[0]) sfail(s, st, "%s '%s': prepare failed: %s", n->op_type, n->name, er_status_str(st));
    return st;
}

static void release_kernel(const er_op *op, void *state)
{
    if (state && op->release) op->release(state);
}

static er_status alloc_outputs(er_session *s, const er_node *n, void **store, size_t *total)
{
    for (int k = 0; k < n->n_out; k++) {
        int v = n->out[k];
        if (v < 0) continue;
        size_t bytes = er_tensor_nbytes(&s->t[v]);
        free(store[v]);
        store[v] = er_aligned_alloc(bytes ? bytes : 1);
        if (!store[v]) return sfail(s, ER_ERR_NOMEM, "out of memory for '%s' (%zu bytes)", s->g->values[v].name, bytes);
        s->t[v].data = store[v];
        if (total) *total += bytes;
    }
    return ER_OK;
}

typedef struct {
    int value;
    size_t size, offset;
    int first, last;
} arena_item;

static int by_size_desc(const void *a, const void *b)
{
    const arena_item *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : x->first - y->first;
}

/* Greedy by size: each tensor goes to the lowest offset that does not collide with an
 * already placed tensor whose lifetime overlaps. */
static er_status plan_arena(er_session *s)
{
    const er_graph *g = s->g;
    int nv = g->n_values;
    int *first = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    arena_item *items = malloc(sizeof(arena_item) * (size_t)(nv ? nv : 1));
    if (!first || !items) { free(first); free(items); return sfail(s, ER_ERR_NOMEM, "out of memory"); }
    for (int v = 0; v < nv; v++) { first[v] = -1; s->last_use[v] = -1; }
    for (int i = 0; i < s->n_steps; i++) {
        const er_node *n = &g->nodes[s->steps[i].node];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) s->last_use[n->in[k]] = i;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) {
                if (first[n->out[k]] < 0) first[n->out[k]] = i;
                if (s->last_use[n->out[k]] < i) s->last_use[n->out[k]] = i;
            }
    }
    for (int i = 0; i < g->n_outputs; i++) s->last_use[g->outputs[i]] = s->n_steps;
    int ni = 0;
    for (int v = 0; v < nv; v++) {
        if (s->kind[v] != VK_ACT || first[v] < 0) continue;
        size_t bytes = (er_tensor_nbytes(&s->t[v]) + ER_ALIGN - 1) & ~(size_t)(ER_ALIGN - 1);
        items[ni++] = (arena_item){ v, bytes ? bytes : ER_ALIGN, 0, first[v], s->last_use[v] };
    }
    qsort(items, (size_t)ni, sizeof *items, by_size_desc);
    size_t total = 0;
    for (int i = 0; i < ni; i++) {
        size_t off = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (int j = 0; j < i; j++) {
                if (items[j].last < items[i].first || items[i].last < items[j].first) continue;
                if (off < items[j].offset + items[j].size && items[j].offset < off + items[i].size) {
                    off = items[j].offset + items[j].size;
                    moved = true;
                }
            }
        }
        items[i].offset = off;
        if (off + items[i].size > total) total = off + items[i].size;
    }
    s->arena = er_aligned_alloc(total ? total : ER_ALIGN);
    if (!s->arena) { free(first); free(items); return sfail(s, ER_ERR_NOMEM, "out of memory for a %zu-byte arena", total); }
    s->arena_size = total;
    for (int i = 0; i < ni; i++) s->t[items[i].value].data = s->arena + items[i].offset;
    free(first);
    free(items);
    return ER_OK;
}

/* A Constant node's tensor already lives in the model (usually the mapped file): point at
 * it instead of folding a copy, so models that keep their weights in Constant nodes (e.g.
 * Paddle exports) hold one copy of them. */
static bool alias_constant(er_session *s, const er_node *n)
{
    if (strcmp(n->op_type, "Constant") != 0 || n->domain[0] || n->n_out != 1 || n->out[0] < 0) return false;
    const er_attr *a = er_node_attr(n, "value");
    if (!a || a->type != ER_ATTR_TENSOR || !a->t || !a->t->data || !er_dtype_valid(a->t->dtype)) return false;
    int v = n->out[0];
    er_tensor_set_shape(&s->t[v], a->t->dtype, a->t->dims, a->t->ndim);
    s->t[v].data = (void *)a->t->data;
    s->kind[v] = VK_CONST;
    s->shape_known[v] = true;
    return true;
}

/* Drops the pages wholly inside [p, p+n) when they belong to a read-only file mapping of the
 * model. Used once a kernel has packed a constant into its own layout: the original bytes
 * are no longer needed resident. Safe even if something reads them later: clean file pages
 * fault back in from the page cache. */
static void drop_file_pages(const er_session *s, const void *p, size_t n)
{
    const er_model *m = s->model;
    uintptr_t a = (uintptr_t)p, b = a + n;
    for (int i = -1; i < m->graph->n_maps; i++) {
        const er_mapped *r = i < 0 ? &m->file : &m->graph->maps[i];
        uintptr_t lo = (uintptr_t)r->data, hi = lo + r->size;
        if (r->data && a >= lo && b <= hi) {
            er_release_file_pages(p, n);
            return;
        }
    }
}

static bool attrs_equal(const er_node *a, const er_node *b)
{
    if (a->n_attrs != b->n_attrs) return false;
    for (int i = 0; i < a->n_attrs; i++) {
        const er_attr *x = &a->attrs[i], *y = er_node_attr(b, x->name);
        if (!y || x->type != y->type) return false;
        switch (x->type) {
        case ER_ATTR_INT: if (x->i != y->i) return false; break;
        case ER_ATTR_FLOAT: if (x->f != y->f) return false; break;
        case ER_ATTR_STRING: if (strcmp(x->s, y->s) != 0) return false; break;
        case ER_ATTR_INTS:
            if (x->n != y->n || (x->n && memcmp(x->ints, y->ints, sizeof(int64_t) * (size_t)x->n))) return false;
            break;
        case ER_ATTR_FLOATS:
            if (x->n != y->n || (x->n && memcmp(x->floats, y->floats, sizeof(float) * (size_t)x->n))) return false;
            break;
        default: return false;
        }
    }
    return true;
}

/* An earlier step whose state this one can use: the same op and attributes, the same constant
 * inputs (by address) and the same shapes everywhere. Exporters alias one weight into many
 * nodes (layers built as copies of one module); packing it once keeps one packed copy. */
static const er_step *same_state_step(er_session *s, int upto)
{
    const er_step *me = &s->steps[upto];
    if (!(me->op->flags & ER_OP_STATE_HOLDS_CONSTANTS)) return NULL;
    const er_node *n = &s->g->nodes[me->node];
    bool has_const = false;
    for (int k = 0; k < n->n_in; k++) has_const |= n->in[k] >= 0 && s->kind[n->in[k]] == VK_CONST;
    if (!has_const) return NULL;
    for (int i = 0; i < upto; i++) {
        const er_step *o = &s->steps[i];
        if (o->op != me->op || !o->state || o->borrowed_state) continue;
        const er_node *m = &s->g->nodes[o->node];
        if (m->n_in != n->n_in || !attrs_equal(m, n) || !attrs_equal(n, m)) continue;
        bool same = true;
        for (int k = 0; k < n->n_in && same; k++) {
            int a = n->in[k], b = m->in[k];
            if ((a < 0) != (b < 0)) { same = false; break; }
            if (a < 0) continue;
            const er_tensor *ta = &s->t[a], *tb = &s->t[b];
            same = ta->dtype == tb->dtype && er_shape_equal(ta->dims, ta->ndim, tb->dims, tb->ndim) &&
                   (s->kind[a] == VK_CONST) == (s->kind[b] == VK_CONST) &&
                   (s->kind[a] != VK_CONST || ta->data == tb->data);
        }
        if (same) return o;
    }
    return NULL;
}

/* After packing: constants that no step reads at run time are dropped. Those folded at
 * planning (e.g. transposed weights) are freed; those in the model's file mapping have their
 * pages released. This keeps one copy of each weight (the packed one) resident. */
static void release_unread_constants(er_session *s)
{
    const er_graph *g = s->g;
    bool *read = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *read);
    if (!read) return;
    for (int i = 0; i < g->n_outputs; i++) read[g->outputs[i]] = true;
    for (int i = 0; i < s->n_steps; i++) {
        const er_step *sp = &s->steps[i];
        if (sp->state && (sp->op->flags & ER_OP_STATE_HOLDS_CONSTANTS)) continue;
        const er_node *n = &g->nodes[sp->node];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) read[n->in[k]] = true;
    }
    for (int v = 0; v < g->n_values; v++) {
        if (read[v] || s->kind[v] != VK_CONST || !s->t[v].data) continue;
        if (s->folded[v]) {
            s->folded_bytes -= er_tensor_nbytes(&s->t[v]);
            free(s->folded[v]);
            s->folded[v] = NULL;
            s->t[v].data = NULL;
        } else {
            drop_file_pages(s, s->t[v].data, er_tensor_nbytes(&s->t[v]));
        }
    }
    free(read);
}

static er_status plan(er_session *s)
{
    const er_graph *g = s->g;
    release_plan(s);
    s->err[0] = 0;
    for (int v = 0; v < g->n_values; v++) {
        const er_value *val = &g->values[v];
        memset(&s->t[v], 0, sizeof s->t[v]);
        s->shape_known[v] = false;
        s->kind[v] = VK_UNUSED;
        if (val->init) {
            er_tensor_set_shape(&s->t[v], val->init->dtype, val->init->dims, val->init->ndim);
            s->t[v].data = (void *)val->init->data;
            s->kind[v] = VK_CONST;
            s->shape_known[v] = true;
        }
    }
    for (int i = 0; i < s->n_inputs; i++) {
        er_input_slot *in = &s->inputs[i];
        er_tensor *t = &s->t[in->value];
        er_tensor_set_shape(t, in->bound.dtype, in->bound.dims, in->bound.ndim);
        t->data = NULL;
        s->kind[in->value] = VK_INPUT;
        s->shape_known[in->value] = true;
    }
    io_buf b;
    if (io_buf_init(&b, g) != ER_OK) { io_buf_free(&b); return sfail(s, ER_ERR_NOMEM, "out of memory"); }
    er_status st = ER_OK;
    for (int oi = 0; oi < g->n_nodes; oi++) {
        int ni = s->order[oi];
        const er_node *n = &g->nodes[ni];
        const er_op *op = s->ops[ni];
        int64_t opset = er_graph_opset(g, n->domain);
        bool known = true, all_const = true;
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v < 0) continue;
            known &= s->shape_known[v];
            all_const &= s->kind[v] == VK_CONST;
        }
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) s->kind[n->out[k]] = VK_ACT;
        if (alias_constant(s, n)) continue;
        if (known) {
            node_io(s, n, b.in, b.out);
            fill_spare_outputs(&b, n);
            st = run_kernel(s, op, n, opset, b.in, b.out, true, NULL, 0, NULL);
            if (st == ER_DYNAMIC) {
                s->err[0] = 0;
                known = false;
                st = ER_OK;
            }
            if (st != ER_OK) break;
        }
        if (known) {
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0) s->shape_known[n->out[k]] = true;
            if (all_const || (op->flags & ER_OP_SHAPE_ONLY)) {
                st = alloc_outputs(s, n, s->folded, &s->folded_bytes);
                void *state = NULL;
                if (st == ER_OK) st = prepare_kernel(s, op, n, opset, b.in, b.out, &state);
                if (st == ER_OK)
                    st = run_kernel(s, op, n, opset, b.in, b.out, false, s->workspace, s->workspace_size, state);
                release_kernel(op, state);
                if (st != ER_OK) break;
                for (int k = 0; k < n->n_out; k++)
                    if (n->out[k] >= 0) s->kind[n->out[k]] = VK_CONST;
                continue;
            }
        } else {
            s->dynamic = true;
        }
        s->steps[s->n_steps++] = (er_step){ ni, op, opset, 0, 0, NULL, false };
    }
    if (st != ER_OK) {
        io_buf_free(&b);
        return st;
    }
    if (!s->dynamic) {
        st = plan_arena(s);
        for (int i = 0; i < s->n_steps && st == ER_OK; i++) {
            er_step *sp = &s->steps[i];
            const er_node *n = &g->nodes[sp->node];
            node_io(s, n, b.in, b.out);
            fill_spare_outputs(&b, n);
            const er_step *twin = same_state_step(s, i);
            if (twin) {
                sp->state = twin->state;
                sp->borrowed_state = true;
                continue;
            }
            st = prepare_kernel(s, sp->op, n, sp->opset, b.in, b.out, &sp->state);
            if (st != ER_OK || !sp->state) continue;
            for (int k = 0; k < n->n_in; k++)
                if (b.in[k] && s->kind[n->in[k]] == VK_CONST && b.in[k]->data)
                    drop_file_pages(s, b.in[k]->data, er_tensor_nbytes(b.in[k]));
        }
        io_buf_free(&b);
        if (st != ER_OK) return st;
        release_unread_constants(s);
    } else {
        io_buf_free(&b);
        /* Lifetimes still tell dynamic runs when to free. */
        for (int v = 0; v < g->n_values; v++) s->last_use[v] = -1;
        for (int i = 0; i < s->n_steps; i++) {
            const er_node *n = &g->nodes[s->steps[i].node];
            for (int k = 0; k < n->n_in; k++)
                if (n->in[k] >= 0) s->last_use[n->in[k]] = i;
        }
        for (int i = 0; i < g->n_outputs; i++) s->last_use[g->outputs[i]] = s->n_steps;
    }
    s->planned = true;
    return ER_OK;
}

static bool inputs_fully_declared(er_session *s)
{
    for (int i = 0; i < s->n_inputs; i++) {
        const er_value *v = &s->g->values[s->inputs[i].value];
        if (v->ndim < 0 || v->dtype == ER_UNDEFINED) return false;
        for (int d = 0; d < v->ndim; d++)
            if (v->dims[d] < 0) return false;
    }
    return true;
}

er_status er_session_create(const er_model *model, const er_session_options *opts,
                            er_session **out, er_msg *msg)
{
    char *err = msg ? msg->text : NULL;
    size_t err_size = msg ? sizeof msg->text : 0;
    if (!model || !out) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "model and session are required");
    *out = NULL;
    er_session_options o;
    if (opts) o = *opts; else er_session_options_init(&o);
    if (o.backend != ER_BACKEND_CPU)
        return er_fail(err, err_size, ER_ERR_UNSUPPORTED, "backend %d is not available in this build", (int)o.backend);
    if (o.n_threads < 0) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "thread count must be >= 0");

    er_session *s = calloc(1, sizeof *s);
    if (!s) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    s->model = model;
    s->g = model->graph;
    s->opts = o;
    s->pass_stats.nodes_before = s->pass_stats.nodes_after = model->graph->n_nodes;
    er_status st = ER_OK;
    if (o.opt_level > 0) {
        s->own_graph = er_graph_clone(model->graph);
        if (!s->own_graph) { st = sfail(s, ER_ERR_NOMEM, "out of memory"); goto fail; }
        if ((st = er_optimize(s->own_graph, o.opt_level, &s->pass_stats, s->err, sizeof s->err)) != ER_OK) goto fail;
        s->g = s->own_graph;
    }
    const er_graph *g = s->g;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    s->ops = calloc(nn, sizeof *s->ops);
    s->order = calloc(nn, sizeof *s->order);
    s->steps = calloc(nn, sizeof *s->steps);
    s->t = calloc(nv, sizeof *s->t);
    s->kind = calloc(nv, 1);
    s->shape_known = calloc(nv, sizeof *s->shape_known);
    s->folded = calloc(nv, sizeof *s->folded);
    s->dyn = calloc(nv, sizeof *s->dyn);
    s->last_use = calloc(nv, sizeof *s->last_use);
    s->n_inputs = g->n_inputs;
    s->inputs = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *s->inputs);
    if (!s->ops || !s->order || !s->steps || !s->t || !s->kind || !s->shape_known || !s->folded ||
        !s->dyn || !s->last_use || !s->inputs) {
        st = sfail(s, ER_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const er_value *v = &g->values[g->inputs[i]];
        s->inputs[i].value = g->inputs[i];
        s->inputs[i].bound.dtype = v->dtype;
        s->inputs[i].bound.ndim = v->ndim < 0 ? 0 : v->ndim;
        for (int d = 0; d < v->ndim; d++) s->inputs[i].bound.dims[d] = v->dims[d];
    }
    if ((st = check_supported(s)) != ER_OK) goto fail;
    if ((st = schedule(s)) != ER_OK) goto fail;
    s->pool = er_threadpool_create(o.n_threads);
    if (!s->pool) { st = sfail(s, ER_ERR_NOMEM, "cannot start %d threads", o.n_threads); goto fail; }
    if (inputs_fully_declared(s) && (st = plan(s)) != ER_OK) goto fail;
    *out = s;
    return ER_OK;
fail:
    er_fail(err, err_size, st, "%s", s->err);
    er_session_free(s);
    return st;
}

void er_session_free(er_session *s)
{
    if (!s) return;
    if (s->folded && s->dyn && s->t) release_plan(s);
    for (int i = 0; i < s->n_inputs && s->inputs; i++) free(s->inputs[i].bound.data);
    er_aligned_free(s->workspace);
    er_threadpool_free(s->pool);
    free(s->ops);
    free(s->order);
    free(s->steps);
    free(s->t);
    free(s->kind);
    free(s->shape_known);
    free(s->folded);
    free(s->dyn);
    free(s->last_use);
    free(s->inputs);
    er_graph_free(s->own_graph);
    free(s);
}

er_status er_session_set_input(er_session *s, const char *name, er_dtype dtype,
                               const int64_t *dims, int ndim, const void *data)
{
    if (!s || !name || (ndim > 0 && !dims) || ndim < 0)
        return s ? sfail(s, ER_ERR_INVALID_ARG, "set_input: name and dims are required") : ER_ERR_INVALID_ARG;
    s->err[0] = 0;
    er_input_slot *in = find_input(s, name);
    if (!in) {
        char names[512];
        size_t len = 0;
        names[0] = 0;
        for (int i = 0; i < s->n_inputs && len < sizeof names; i++) {
            int k = snprintf(names + len, sizeof names - len, "%s'%s'", i ? ", " : "",
                             s->g->values[s->inputs[i].value].name);
            if (k > 0) len += (size_t)k;
        }
        return sfail(s, ER_ERR_NOT_FOUND, "the model has no input named '%s' (inputs: %s)", name, names);
    }
    const er_value *v = &s->g->values[in->value];
    if (ndim > ER_MAX_DIMS) return sfail(s, ER_ERR_SHAPE, "input '%s': rank %d exceeds %d", name, ndim, ER_MAX_DIMS);
    if (!er_dtype_valid(dtype)) return sfail(s, ER_ERR_DTYPE, "input '%s': unsupported dtype %d", name, (int)dtype);
    if (v->dtype != ER_UNDEFINED && v->dtype != dtype)
        return sfail(s, ER_ERR_DTYPE, "input '%s' expects %s, got %s", name, er_dtype_name(v->dtype), er_dtype_name(dtype));
    if (v->ndim >= 0) {
        bool ok = v->ndim == ndim;
        for (int d = 0; ok && d < ndim; d++) ok = v->dims[d] < 0 || v->dims[d] == dims[d];
        if (!ok) {
            char want[128], got[128];
            int64_t wd[ER_MAX_DIMS];
            for (int d = 0; d < v->ndim; d++) wd[d] = v->dims[d];
            return sfail(s, ER_ERR_SHAPE, "input '%s' expects shape %s (-1: any), got %s", name,
                         er_shape_str(wd, v->ndim, want, sizeof want), er_shape_str(dims, ndim, got, sizeof got));
        }
    }
    for (int d = 0; d < ndim; d++)
        if (dims[d] < 0) return sfail(s, ER_ERR_SHAPE, "input '%s': negative dimension", name);
    size_t bytes = (size_t)er_shape_numel(dims, ndim) * er_dtype_size(dtype);
    if (bytes && !data) return sfail(s, ER_ERR_INVALID_ARG, "input '%s': data is NULL", name);
    if (bytes > in->cap) {
        void *p = er_aligned_alloc(bytes);
        if (!p) return sfail(s, ER_ERR_NOMEM, "out of memory for input '%s'", name);
        free(in->bound.data);
        in->bound.data = p;
        in->cap = bytes;
    }
    if (bytes) memcpy(in->bound.data, data, bytes);
    if (in->bound.dtype != dtype || !er_shape_equal(in->bound.dims, in->bound.ndim, dims, ndim)) {
        s->planned = false;
        in->bound.dtype = dtype;
        in->bound.ndim = ndim;
        for (int d = 0; d < ndim; d++) in->bound.dims[d] = dims[d];
    }
    in->is_set = true;
    return ER_OK;
}

static er_input_slot *find_input(er_session *s, const char *name)
{
    for (int i = 0; i < s->n_inputs; i++)
        if (strcmp(s->g->values[s->inputs[i].value].name, name) == 0) return &s->inputs[i];
    return NULL;
}

er_status er_session_set_input_shape(er_session *s, const char *name, const int64_t *dims, int ndim)
{
    if (!s || !name || ndim < 0 || ndim > ER_MAX_DIMS || (ndim && !dims)) return ER_ERR_INVALID_ARG;
    er_input_slot *in = find_input(s, name);
    if (!in) return sfail(s, ER_ERR_NOT_FOUND, "the model has no input named '%s'", name);
    for (int d = 0; d < ndim; d++)
        if (dims[d] < 0) return sfail(s, ER_ERR_SHAPE, "input '%s': negative dimension", name);
    if (!er_shape_equal(in->bound.dims, in->bound.ndim, dims, ndim)) {
        s->planned = false;
        in->is_set = false;
        in->bound.ndim = ndim;
        for (int d = 0; d < ndim; d++) in->bound.dims[d] = dims[d];
    }
    if (in->bound.dtype == ER_UNDEFINED) in->bound.dtype = s->g->values[in->value].dtype;
    return ER_OK;
}

er_status er_session_prepare(er_session *s)
{
    if (!s) return ER_ERR_INVALID_ARG;
    s->err[0] = 0;
    for (int i = 0; i < s->n_inputs; i++) {
        const er_input_slot *in = &s->inputs[i];
        for (int d = 0; d < in->bound.ndim; d++)
            if (in->bound.dims[d] < 0)
                return sfail(s, ER_ERR_SHAPE, "input '%s' has an unbound symbolic dimension %d",
                             s->g->values[in->value].name, d);
        if (in->bound.dtype == ER_UNDEFINED)
            return sfail(s, ER_ERR_DTYPE, "input '%s' has no declared element type", s->g->values[in->value].name);
    }
    return s->planned ? ER_OK : plan(s);
}

er_status er_session_profile_get(const er_session *s, int index, er_node_profile *prof)
{
    if (!s || !prof) return ER_ERR_INVALID_ARG;
    if (index < 0 || index >= s->n_steps) return ER_ERR_NOT_FOUND;
    const er_step *st = &s->steps[index];
    prof->op_type = s->g->nodes[st->node].op_type;
    prof->node_name = s->g->nodes[st->node].name;
    prof->node = st->node;
    prof->seconds = st->seconds;
    prof->calls = st->calls;
    return ER_OK;
}

const er_tensor *er_session_value(const er_session *s, int value)
{
    if (!s || !s->planned || value < 0 || value >= s->g->n_values) return NULL;
    return s->shape_known[value] ? &s->t[value] : NULL;
}

const er_graph *er_session_graph(const er_session *s) { return s->g; }

static er_status run_static(er_session *s, io_buf *b)
{
    bool prof = s->opts.profile != 0;
    for (int i = 0; i < s->n_steps; i++) {
        er_step *st = &s->steps[i];
        const er_node *n = &s->g->nodes[st->node];
        node_io(s, n, b->in, b->out);
        fill_spare_outputs(b, n);
        double t0 = prof ? er_now() : 0;
        er_status r = run_kernel(s, st->op, n, st->opset, b->in, b->out, false, s->workspace,
                                 s->workspace_size, st->state);
        if (prof) {
            st->seconds += er_now() - t0;
            st->calls++;
        }
        if (r != ER_OK) return r;
    }
    return ER_OK;
}

static er_status run_dynamic(er_session *s, io_buf *b)
{
    const er_graph *g = s->g;
    for (int v = 0; v < g->n_values; v++) {
        free(s->dyn[v]);
        s->dyn[v] = NULL;
    }
    bool prof = s->opts.profile != 0;
    for (int i = 0; i < s->n_steps; i++) {
        er_step *st = &s->steps[i];
        const er_node *n = &g->nodes[st->node];
        node_io(s, n, b->in, b->out);
        fill_spare_outputs(b, n);
        double t0 = prof ? er_now() : 0;
        er_status r = run_kernel(s, st->op, n, st->opset, b->in, b->out, true, NULL, 0, NULL);
        if (r == ER_DYNAMIC) return sfail(s, ER_ERR_INTERNAL, "%s '%s': shape still unknown at run time", n->op_type, n->name);
        if (r != ER_OK) return r;
        if ((r = alloc_outputs(s, n, s->dyn, NULL)) != ER_OK) return r;
        void *state = NULL;
        if ((r = prepare_kernel(s, st->op, n, st->opset, b->in, b->out, &state)) != ER_OK) return r;
        r = run_kernel(s, st->op, n, st->opset, b->in, b->out, false, s->workspace, s->workspace_size, state);
        release_kernel(st->op, state);
        if (prof) {
            st->seconds += er_now() - t0;
            st->calls++;
        }
        if (r != ER_OK) return r;
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v >= 0 && s->kind[v] == VK_ACT && s->last_use[v] == i && s->dyn[v]) {
                free(s->dyn[v]);
                s->dyn[v] = NULL;
                s->t[v].data = NULL;
            }
        }
    }
    return ER_OK;
}

er_status er_session_run(er_session *s)
{
    if (!s) return ER_ERR_INVALID_ARG;
    s->err[0] = 0;
    for (int i = 0; i < s->n_inputs; i++)
        if (!s->inputs[i].is_set)
            return sfail(s, ER_ERR_INVALID_ARG, "input '%s' is not set", s->g->values[s->inputs[i].value].name);
    er_status st;
    if (!s->planned && (st = plan(s)) != ER_OK) return st;
    for (int i = 0; i < s->n_inputs; i++) s->t[s->inputs[i].value].data = s->inputs[i].bound.data;
    io_buf b;
    if (io_buf_init(&b, s->g) != ER_OK) { io_buf_free(&b); return sfail(s, ER_ERR_NOMEM, "out of memory"); }
    st = s->dynamic ? run_dynamic(s, &b) : run_static(s, &b);
    io_buf_free(&b);
    s->ran = st == ER_OK;
    return st;
}

int er_session_num_outputs(const er_session *s) { return s->g->n_outputs; }

er_status er_session_output(const er_session *s, int index, er_tensor_view *view)
{
    if (!s || !view) return ER_ERR_INVALID_ARG;
    if (index < 0 || index >= s->g->n_outputs) return ER_ERR_NOT_FOUND;
    if (!s->ran) return ER_ERR_INVALID_ARG;
    int v = s->g->outputs[index];
    const er_tensor *t = &s->t[v];
    memset(view, 0, sizeof *view);
    view->name = s->g->values[v].name;
    view->dtype = t->dtype;
    view->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) view->dims[d] = t->dims[d];
    view->data = t->data;
    view->nbytes = er_tensor_nbytes(t);
    return ER_OK;
}

er_status er_session_output_by_name(const er_session *s, const char *name, er_tensor_view *view)
{
    if (!s || !name) return ER_ERR_INVALID_ARG;
    for (int i = 0; i < s->g->n_outputs; i++)
        if (strcmp(s->g->values[s->g->outputs[i]].name, name) == 0) return er_session_output(s, i, view);
    return ER_ERR_NOT_FOUND;
}

er_status er_session_stats_get(const er_session *s, er_session_stats *stats)
{
    if (!s || !stats) return ER_ERR_INVALID_ARG;
    memset(stats, 0, sizeof *stats);
    stats->arena_bytes = s->arena_size;
    stats->folded_bytes = s->folded_bytes;
    stats->n_model_nodes = s->pass_stats.nodes_before;
    stats->n_optimized_nodes = s->pass_stats.nodes_after;
    stats->n_nodes = s->n_steps;
    stats->dynamic = s->dynamic;
    return ER_OK;
}
