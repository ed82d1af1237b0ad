/* edgerun inspect: what a model declares (inputs, outputs, ops, parameters) and what the
 * planner makes of it (shapes, MACs, arena size). */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/op.h"
#include "cli/cli.h"
#include "runtime/session.h"

static void help(void)
{
    printf("Usage: edgerun inspect MODEL [--json] [--dim NAME=VALUE ...] [--opt none|all]\n"
           "\n"
           "Prints inputs and outputs (symbolic dims by name), the op histogram, parameter\n"
           "count and bytes (total and per dtype), estimated multiply-accumulates and the\n"
           "planned activation arena. Planning binds symbolic input dims from --dim, else 1.\n"
           "\n"
           "  --json             one JSON object on stdout\n"
           "  --dim NAME=VALUE   value of a symbolic input dimension (repeatable)\n"
           "  --opt none|all     graph optimization level (default all)\n");
}

typedef struct op_stat {
    const char *op_type;
    const char *domain;
    int count;
    bool supported;
    int64_t macs;
} op_stat;

typedef struct dtype_stat {
    er_dtype dtype;
    int tensors;
    int64_t elements;
    size_t bytes;
} dtype_stat;

typedef struct report {
    const char *path;
    const er_model *model;
    const er_graph *g;
    er_session *s;
    op_stat *ops;
    int n_ops;
    dtype_stat dtypes[32];
    int n_dtypes;
    int n_params_tensors;
    int n_constant_tensors;   /* of n_params_tensors, held by Constant nodes */
    int64_t param_count;
    size_t param_bytes;
    bool planned;
    er_session_stats stats;
    int64_t macs;
    int macs_unknown;     /* MAC-bearing nodes whose shapes could not be planned */
    char plan_error[1024];
} report;

static int by_count_desc(const void *a, const void *b)
{
    const op_stat *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    return strcmp(x->op_type, y->op_type);
}

static op_stat *find_op(report *r, const er_node *n)
{
    for (int i = 0; i < r->n_ops; i++)
        if (strcmp(r->ops[i].op_type, n->op_type) == 0 && strcmp(r->ops[i].domain, n->domain) == 0)
            return &r->ops[i];
    return NULL;
}

static void count_ops(report *r)
{
    for (int i = 0; i < r->g->n_nodes; i++) {
        const er_node *n = &r->g->nodes[i];
        op_stat *o = find_op(r, n);
        if (!o) {
            o = &r->ops[r->n_ops++];
            *o = (op_stat){ n->op_type, n->domain, 0, er_op_find(n->domain, n->op_type) != NULL, 0 };
        }
        o->count++;
    }
}

static void add_param(report *r, const er_const *c)
{
    int k = 0;
    while (k < r->n_dtypes && r->dtypes[k].dtype != c->dtype) k++;
    if (k == r->n_dtypes) {
        if (k == (int)ER_ARRAY_LEN(r->dtypes)) return;
        r->dtypes[r->n_dtypes++] = (dtype_stat){ c->dtype, 0, 0, 0 };
    }
    int64_t numel = er_shape_numel(c->dims, c->ndim);
    r->dtypes[k].tensors++;
    r->dtypes[k].elements += numel;
    r->dtypes[k].bytes += c->nbytes;
    r->n_params_tensors++;
    r->param_count += numel;
    r->param_bytes += c->nbytes;
}

/* Initializers, plus the tensors of Constant nodes: some exporters (PaddlePaddle,
 * older PyTorch) keep every weight in Constant nodes. */
static void count_params(report *r)
{
    for (int v = 0; v < r->g->n_values; v++)
        if (r->g->values[v].init) add_param(r, r->g->values[v].init);
    for (int i = 0; i < r->g->n_nodes; i++) {
        const er_node *n = &r->g->nodes[i];
        if (strcmp(n->op_type, "Constant") != 0 || (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)) continue;
        const er_attr *a = er_node_attr(n, "value");
        if (!a || a->type != ER_ATTR_TENSOR || !a->t) continue;
        add_param(r, a->t);
        r->n_constant_tensors++;
    }
}

/* Over the session's graph: value ids and shapes are the planner's, which may have
 * rewritten the model's graph. */
static void count_macs(report *r)
{
    const er_graph *g = er_session_graph(r->s);
    for (int i = 0; i < g->n_nodes; i++) {
        const er_node *n = &g->nodes[i];
        int64_t m;
        if (!cli_node_macs(r->s, n, &m)) continue;
        if (m < 0) {
            r->macs_unknown++;
            continue;
        }
        r->macs += m;
        /* MACs of a fused node count for the model op it was made from. */
        er_node base = *n;
        if (!strcmp(n->domain, "edgerun")) {
            base.domain = "";
            if (!strcmp(n->op_type, "FusedConv")) base.op_type = "Conv";
            else if (!strcmp(n->op_type, "FusedMatMul")) base.op_type = "MatMul";
        }
        op_stat *o = find_op(r, &base);
        if (o) o->macs += m;
    }
}

/* Binds every input's planning shape and plans; failures become plan_error, not exits. */
static int plan(report *r, cli_common *c)
{
    int n_in = er_model_num_inputs(r->model);
    int64_t (*shapes)[ER_MAX_DIMS] = calloc((size_t)n_in + 1, sizeof *shapes);
    if (!shapes) return cli_error("out of memory");
    for (int k = 0; k < n_in; k++) {
        er_value_info info;
        er_model_input_info(r->model, k, &info);
        if (info.ndim >= 0) cli_planning_shape(&info, c->dims, c->n_dims, shapes[k]);
        else if (!r->plan_error[0]) snprintf(r->plan_error, sizeof r->plan_error, "input '%s' has no declared shape", info.name);
    }
    int rc = cli_check_dims_used("inspect", c->dims, c->n_dims);
    er_msg msg;
    msg.text[0] = 0;
    if (rc == CLI_OK && !r->plan_error[0] && er_session_create(r->model, &c->opts, &r->s, &msg) != ER_OK)
        snprintf(r->plan_error, sizeof r->plan_error, "%s", msg.text);
    for (int k = 0; rc == CLI_OK && !r->plan_error[0] && k < n_in; k++) {
        er_value_info info;
        er_model_input_info(r->model, k, &info);
        if (er_session_set_input_shape(r->s, info.name, shapes[k], info.ndim) != ER_OK)
            snprintf(r->plan_error, sizeof r->plan_error, "%s", er_session_error(r->s));
    }
    free(shapes);
    if (rc != CLI_OK || r->plan_error[0]) return rc;
    if (er_session_prepare(r->s) != ER_OK) {
        snprintf(r->plan_error, sizeof r->plan_error, "%s", er_session_error(r->s));
        return CLI_OK;
    }
    r->planned = true;
    er_session_stats_get(r->s, &r->stats);
    count_macs(r);
    return CLI_OK;
}

/* The planned shape of a graph input/output, when planning got that far. */
static const er_tensor *planned_value(const report *r, const char *name)
{
    if (!r->planned) return NULL;
    return er_session_value(r->s, er_graph_find_value(er_session_graph(r->s), name));
}

static void print_values_text(const report *r, bool inputs)
{
    int n = inputs ? er_model_num_inputs(r->model) : er_model_num_outputs(r->model);
    int wname = 4;
    for (int k = 0; k < n; k++) {
        er_value_info info;
        if (inputs) er_model_input_info(r->model, k, &info); else er_model_output_info(r->model, k, &info);
        int len = (int)strlen(info.name);
        if (len > wname) wname = len;
    }
    printf("%s (%d)\n", inputs ? "inputs" : "outputs", n);
    for (int k = 0; k < n; k++) {
        er_value_info info;
        char decl[256], planned[256] = "";
        if (inputs) er_model_input_info(r->model, k, &info); else er_model_output_info(r->model, k, &info);
        const er_tensor *t = planned_value(r, info.name);
        if (t) snprintf(planned, sizeof planned, "  planned %s %s", er_dtype_name(t->dtype),
                        er_shape_str(t->dims, t->ndim, decl, sizeof decl));
        printf("  %-*s  %-8s  %s%s\n", wname, info.name, er_dtype_name(info.dtype),
               cli_declared_shape_str(&info, decl, sizeof decl), planned);
    }
}

/* "29.4 K", "1.82 G": MAC counts span many orders of magnitude. */
static const char *count_str(int64_t n, char *buf, size_t size)
{
    static const char *units[] = { "", " K", " M", " G", " T" };
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(buf, size, u ? "%.3g%s" : "%.0f%s", v, units[u]);
    return buf;
}

static void print_text(const report *r)
{
    char b1[64], b2[64];
    printf("model     %s\n", r->path);
    printf("graph     %s, %d nodes, opset", r->g->name && r->g->name[0] ? r->g->name : "(unnamed)", r->g->n_nodes);
    for (int i = 0; i < r->g->n_opsets; i++)
        printf(" %s %lld", r->g->opsets[i].domain[0] ? r->g->opsets[i].domain : "ai.onnx", (long long)r->g->opsets[i].version);
    printf("\n\n");
    print_values_text(r, true);
    print_values_text(r, false);
    printf("\nops (%d types)\n", r->n_ops);
    for (int i = 0; i < r->n_ops; i++) {
        const op_stat *o = &r->ops[i];
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", o->domain, o->domain[0] ? "." : "", o->op_type);
        printf("  %-24s %6d", name, o->count);
        if (o->macs) printf("  %14lld MACs", (long long)o->macs);
        printf("%s\n", o->supported ? "" : "  (unsupported)");
    }
    printf("\nparameters  %lld in %d tensors (%d in Constant nodes), %s\n", (long long)r->param_count,
           r->n_params_tensors, r->n_constant_tensors, cli_bytes_str((double)r->param_bytes, b1, sizeof b1));
    for (int k = 0; k < r->n_dtypes; k++)
        printf("  %-9s %14lld  %10s  %d tensors\n", er_dtype_name(r->dtypes[k].dtype), (long long)r->dtypes[k].elements,
               cli_bytes_str((double)r->dtypes[k].bytes, b1, sizeof b1), r->dtypes[k].tensors);
    if (!r->planned) {
        printf("\nplan        not available: %s\n", r->plan_error);
        return;
    }
    printf("\nMACs        %s (%lld)%s\n", count_str(r->macs, b1, sizeof b1), (long long)r->macs,
           r->macs_unknown ? "  lower bound: some shapes are only known at run time" : "");
    printf("arena       %s (%zu bytes), folded constants %s, %d nodes per run%s\n",
           cli_bytes_str((double)r->stats.arena_bytes, b1, sizeof b1), r->stats.arena_bytes,
           cli_bytes_str((double)r->stats.folded_bytes, b2, sizeof b2), r->stats.n_nodes,
           r->stats.dynamic ? ", dynamic shapes (allocated per run)" : "");
    printf("nodes       %d in the model, %d after graph passes, %d per run after constant folding\n",
           r->stats.n_model_nodes, r->stats.n_optimized_nodes, r->stats.n_nodes);
}

static void print_values_json(const report *r, bool inputs)
{
    int n = inputs ? er_model_num_inputs(r->model) : er_model_num_outputs(r->model);
    printf("[");
    for (int k = 0; k < n; k++) {
        er_value_info info;
        if (inputs) er_model_input_info(r->model, k, &info); else er_model_output_info(r->model, k, &info);
        printf("%s{\"name\": ", k ? ", " : "");
        cli_json_str(stdout, info.name);
        printf(", \"dtype\": \"%s\", \"shape\": ", er_dtype_name(info.dtype));
        cli_json_declared_shape(stdout, &info);
        printf(", \"planned_shape\": ");
        const er_tensor *t = planned_value(r, info.name);
        if (t) cli_json_shape(stdout, t->dims, t->ndim); else printf("null");
        printf("}");
    }
    printf("]");
}

static void print_json(const report *r)
{
    printf("{\"model\": ");
    cli_json_str(stdout, r->path);
    printf(", \"graph_name\": ");
    cli_json_str(stdout, r->g->name);
    printf(", \"opsets\": {");
    for (int i = 0; i < r->g->n_opsets; i++) {
        printf("%s", i ? ", " : "");
        cli_json_str(stdout, r->g->opsets[i].domain);
        printf(": %lld", (long long)r->g->opsets[i].version);
    }
    printf("}, \"nodes\": %d, \"inputs\": ", r->g->n_nodes);
    print_values_json(r, true);
    printf(", \"outputs\": ");
    print_values_json(r, false);
    printf(", \"op_histogram\": {");
    for (int i = 0; i < r->n_ops; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", r->ops[i].domain, r->ops[i].domain[0] ? "." : "", r->ops[i].op_type);
        printf("%s", i ? ", " : "");
        cli_json_str(stdout, name);
        printf(": %d", r->ops[i].count);
    }
    printf("}, \"unsupported_ops\": [");
    for (int i = 0, first = 1; i < r->n_ops; i++) {
        if (r->ops[i].supported) continue;
        printf("%s", first ? "" : ", ");
        cli_json_str(stdout, r->ops[i].op_type);
        first = 0;
    }
    printf("], \"parameters\": {\"count\": %lld, \"tensors\": %d, \"constant_node_tensors\": %d, \"bytes\": %zu, "
           "\"by_dtype\": {",
           (long long)r->param_count, r->n_params_tensors, r->n_constant_tensors, r->param_bytes);
    for (int k = 0; k < r->n_dtypes; k++)
        printf("%s\"%s\": {\"count\": %lld, \"tensors\": %d, \"bytes\": %zu}", k ? ", " : "",
               er_dtype_name(r->dtypes[k].dtype), (long long)r->dtypes[k].elements, r->dtypes[k].tensors,
               r->dtypes[k].bytes);
    printf("}}");
    if (r->planned) {
        printf(", \"macs\": %lld, \"macs_complete\": %s, \"macs_by_op\": {", (long long)r->macs,
               r->macs_unknown ? "false" : "true");
        for (int i = 0, first = 1; i < r->n_ops; i++) {
            if (!r->ops[i].macs) continue;
            printf("%s", first ? "" : ", ");
            cli_json_str(stdout, r->ops[i].op_type);
            printf(": %lld", (long long)r->ops[i].macs);
            first = 0;
        }
        printf("}, \"plan\": {\"arena_bytes\": %zu, \"folded_bytes\": %zu, \"model_nodes\": %d, "
               "\"optimized_nodes\": %d, \"nodes_per_run\": %d, \"dynamic\": %s}",
               r->stats.arena_bytes, r->stats.folded_bytes, r->stats.n_model_nodes, r->stats.n_optimized_nodes,
               r->stats.n_nodes, r->stats.dynamic ? "true" : "false");
    } else {
        printf(", \"macs\": null, \"plan\": null, \"plan_error\": ");
        cli_json_str(stdout, r->plan_error);
    }
    printf("}\n");
}

static int parse_args(int argc, char **argv, const char **path, bool *json, cli_common *c)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            help();
            return -1;
        }
        if (strcmp(a, "--json") == 0) {
            *json = true;
            continue;
        }
        int m = cli_common_arg("inspect", c, argc, argv, &i, false, true);
        if (m < 0) return CLI_USAGE;
        if (m > 0) continue;
        if (a[0] == '-' && a[1]) return cli_usage("inspect", "unknown option '%s'", a);
        if (*path) return cli_usage("inspect", "unexpected argument '%s' (one MODEL only)", a);
        *path = a;
    }
    if (!*path) return cli_usage("inspect", "missing MODEL");
    return CLI_OK;
}

int cmd_inspect(int argc, char **argv)
{
    cli_common c;
    cli_common_init(&c);
    const char *path = NULL;
    bool json = false;
    int rc = parse_args(argc, argv, &path, &json, &c);
    if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;

    er_model *model = NULL;
    er_msg msg;
    msg.text[0] = 0;
    if (er_model_load_file(path, &model, &msg) != ER_OK) return cli_error("%s", msg.text);
    report r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.model = model;
    r.g = model->graph;
    r.ops = calloc((size_t)(r.g->n_nodes ? r.g->n_nodes : 1), sizeof *r.ops);
    if (!r.ops) {
        er_model_free(model);
        return cli_error("out of memory");
    }
    count_ops(&r);
    count_params(&r);
    rc = plan(&r, &c);
    if (rc == CLI_OK) {
        qsort(r.ops, (size_t)r.n_ops, sizeof *r.ops, by_count_desc);
        if (json) print_json(&r); else print_text(&r);
        fflush(stdout);
        if (r.plan_error[0]) rc = cli_error("'%s': %s", path, r.plan_error);
    }
    free(r.ops);
    er_session_free(r.s);
    er_model_free(model);
    return rc;
}
