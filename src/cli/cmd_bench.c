/* edgerun bench: load time, latency distribution, throughput, peak memory, and with
 * --profile the time per op type (--profile-nodes: per node, with its GFLOP/s). Inputs not given as files are generated from a fixed
 * seed so runs are comparable across builds and machines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "runtime/session.h"

static void help(void)
{
    printf("Usage: edgerun bench MODEL [--threads N] [--warmup W] [--runs R] [--json]\n"
           "                     [-i NAME=FILE.npy ...] [--dim NAME=VALUE ...] [--profile]\n"
           "                     [--profile-nodes] [--opt none|all]\n"
           "\n"
           "Inputs without -i are generated (fixed seed): floats uniform in [-1, 1), integers\n"
           "in 0..9, booleans alternating; symbolic dims come from --dim, else 1.\n"
           "\n"
           "  -t, --threads N   worker threads, 0 = all cores (default 0)\n"
           "  --warmup W        untimed runs first (default 5)\n"
           "  --runs R          timed runs (default 50)\n"
           "  --json            one JSON object on stdout\n"
           "  --profile         time per op type over the timed runs\n"
           "  --profile-nodes   also time per node: output shape, ms per run, GFLOP/s\n"
           "  --opt none|all    graph optimization level (default all)\n");
}

typedef struct bench_args {
    cli_common c;
    const char *path;
    long long warmup, runs;
    bool json, profile, profile_nodes;
} bench_args;

typedef struct latency {
    double min, p50, p90, p99, max, mean, stddev, total;
} latency;

typedef struct op_time {
    const char *op_type;
    double seconds;
    int64_t calls;
} op_time;

typedef struct bench_result {
    double load_s, prepare_s;
    latency lat;
    latency cpu;          /* process CPU time per run */
    size_t peak_rss;
    size_t load_peak_rss;     /* after model load + session create, before any run */
    size_t model_bytes;
    bool *generated;      /* per model input */
    op_time *ops;
    int n_ops;
    double profiled_s;
    double *node_base_s;  /* per executed node: profiled seconds after warm-up */
} bench_result;

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Integers stay in 0..9 so index inputs (Gather, embeddings) remain in range. */
static void fill_generated(void *data, er_dtype dt, int64_t n, uint64_t seed)
{
    uint64_t state = seed;
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (dt == ER_BOOL) v = (double)(i & 1);
        else if (er_dtype_is_float(dt)) v = (double)(splitmix64(&state) >> 11) * 0x1p-53 * 2.0 - 1.0;
        else v = (double)(splitmix64(&state) % 10);
        er_set_f64(data, dt, i, v);
    }
}

static int generate_input(er_session *s, const er_value_info *info, int index, cli_common *c)
{
    int64_t shape[ER_MAX_DIMS];
    int rc = cli_planning_shape(info, c->dims, c->n_dims, shape);
    if (rc != CLI_OK) return rc;
    if (!er_dtype_valid(info->dtype))
        return cli_error("input '%s' has element type %s, which bench cannot generate; give it with -i %s=FILE.npy",
                         info->name, er_dtype_name(info->dtype), info->name);
    int64_t n = er_shape_numel(shape, info->ndim);
    void *data = er_aligned_alloc((size_t)n * er_dtype_size(info->dtype));
    if (!data) return cli_error("out of memory for input '%s'", info->name);
    fill_generated(data, info->dtype, n, 0x5eedull + (uint64_t)index);
    er_status st = er_session_set_input(s, info->name, info->dtype, shape, info->ndim, data);
    er_aligned_free(data);
    return st == ER_OK ? CLI_OK : cli_error("%s", er_session_error(s));
}

static int bind_all(er_model *model, er_session *s, bench_args *a, bench_result *r)
{
    int rc = cli_bind_inputs("bench", model, s, a->c.inputs, a->c.n_inputs, r->generated);
    for (int k = 0; rc == CLI_OK && k < er_model_num_inputs(model); k++) {
        r->generated[k] = !r->generated[k];
        if (!r->generated[k]) continue;
        er_value_info info;
        er_model_input_info(model, k, &info);
        rc = generate_input(s, &info, k, &a->c);
    }
    if (rc == CLI_OK) rc = cli_check_dims_used("bench", a->c.dims, a->c.n_dims);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Linear interpolation between the closest ranks. */
static double percentile(const double *sorted, int n, double p)
{
    double pos = p * (n - 1);
    int lo = (int)pos;
    if (lo >= n - 1) return sorted[n - 1];
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (pos - lo);
}

static latency summarize(double *t, int n)
{
    latency l = { 0 };
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    for (int i = 0; i < n; i++) l.total += t[i];
    l.mean = l.total / n;
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (t[i] - l.mean) * (t[i] - l.mean);
    l.stddev = n > 1 ? sqrt(ss / (n - 1)) : 0;
    l.min = t[0];
    l.max = t[n - 1];
    l.p50 = percentile(t, n, 0.50);
    l.p90 = percentile(t, n, 0.90);
    l.p99 = percentile(t, n, 0.99);
    return l;
}

static int by_seconds_desc(const void *a, const void *b)
{
    const op_time *x = a, *y = b;
    if (x->seconds != y->seconds) return x->seconds < y->seconds ? 1 : -1;
    return strcmp(x->op_type, y->op_type);
}

/* Per-op-type totals over the timed runs: the counters minus their values after warm-up. */
static int collect_profile(const er_session *s, const double *base_s, const int64_t *base_calls,
                           int n_nodes, bench_result *r)
{
    r->ops = calloc((size_t)(n_nodes ? n_nodes : 1), sizeof *r->ops);
    if (!r->ops) return cli_error("out of memory");
    for (int i = 0; i < n_nodes; i++) {
        er_node_profile p;
        if (er_session_profile_get(s, i, &p) != ER_OK) continue;
        int k = 0;
        while (k < r->n_ops && strcmp(r->ops[k].op_type, p.op_type) != 0) k++;
        if (k == r->n_ops) r->ops[r->n_ops++] = (op_time){ p.op_type, 0, 0 };
        r->ops[k].seconds += p.seconds - base_s[i];
        r->ops[k].calls += p.calls - base_calls[i];
        r->profiled_s += p.seconds - base_s[i];
    }
    qsort(r->ops, (size_t)r->n_ops, sizeof *r->ops, by_seconds_desc);
    return CLI_OK;
}

/* times and cpu_times (per run: wall and process CPU seconds) may be NULL. */
static int run_n(er_session *s, long long n, double *times, double *cpu_times)
{
    for (long long i = 0; i < n; i++) {
        double t0 = er_now(), c0 = er_cpu_now();
        if (er_session_run(s) != ER_OK) return cli_error("%s", er_session_error(s));
        if (times) times[i] = er_now() - t0;
        if (cpu_times) cpu_times[i] = er_cpu_now() - c0;
    }
    return CLI_OK;
}

static int measure(er_session *s, const bench_args *a, bench_result *r)
{
    er_session_stats stats;
    int rc = run_n(s, a->warmup, NULL, NULL);
    if (rc != CLI_OK) return rc;
    er_session_stats_get(s, &stats);
    int n = stats.n_nodes;
    double *times = malloc(sizeof(double) * (size_t)a->runs);
    double *cpu_times = malloc(sizeof(double) * (size_t)a->runs);
    double *base_s = calloc((size_t)(n ? n : 1), sizeof *base_s);
    int64_t *base_calls = calloc((size_t)(n ? n : 1), sizeof *base_calls);
    if (!times || !cpu_times || !base_s || !base_calls) rc = cli_error("out of memory");
    for (int i = 0; rc == CLI_OK && i < n; i++) {
        er_node_profile p;
        if (er_session_profile_get(s, i, &p) != ER_OK) continue;
        base_s[i] = p.seconds;
        base_calls[i] = p.calls;
    }
    if (rc == CLI_OK) rc = run_n(s, a->runs, times, cpu_times);
    if (rc == CLI_OK) r->lat = summarize(times, (int)a->runs);
    if (rc == CLI_OK) r->cpu = summarize(cpu_times, (int)a->runs);
    if (rc == CLI_OK && a->profile) rc = collect_profile(s, base_s, base_calls, n, r);
    free(times);
    free(cpu_times);
    r->node_base_s = base_s;
    free(base_calls);
    return rc;
}

/* The shape an input was bound with (declared dims resolved by -i files or --dim). */
static const er_tensor *bound_input(const er_session *s, const char *name)
{
    return er_session_value(s, er_graph_find_value(er_session_graph(s), name));
}

static void print_inputs_text(const er_model *model, const er_session *s, const bench_result *r)
{
    for (int k = 0; k < er_model_num_inputs(model); k++) {
        er_value_info info;
        char shape[256];
        er_model_input_info(model, k, &info);
        const er_tensor *t = bound_input(s, info.name);
        printf("%-11s %s %s %s (%s)\n", k ? "" : "inputs", info.name, er_dtype_name(info.dtype),
               t ? er_shape_str(t->dims, t->ndim, shape, sizeof shape) : cli_declared_shape_str(&info, shape, sizeof shape),
               r->generated[k] ? "generated" : "file");
    }
}

static void print_text(const er_model *model, const er_session *s, const bench_args *a, const bench_result *r)
{
    char b[64];
    const latency *l = &r->lat;
    printf("model       %s\n", a->path);
    print_inputs_text(model, s, r);
    printf("threads     %d%s, opt %s\n", a->c.opts.n_threads, a->c.opts.n_threads ? "" : " (all cores)",
           a->c.opts.opt_level ? "all" : "none");
    printf("load        %.3f ms (model load + session create)\n", r->load_s * 1e3);
    printf("prepare     %.3f ms (bind inputs + plan)\n", r->prepare_s * 1e3);
    printf("warm-up     %lld runs\n", a->warmup);
    printf("latency ms  min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f  stddev %.3f  (%lld runs)\n",
           l->min * 1e3, l->p50 * 1e3, l->p90 * 1e3, l->p99 * 1e3, l->max * 1e3, l->mean * 1e3,
           l->stddev * 1e3, a->runs);
    printf("cpu ms      min %.3f  p50 %.3f  mean %.3f  (process CPU time per run, all threads)\n", r->cpu.min * 1e3,
           r->cpu.p50 * 1e3, r->cpu.mean * 1e3);
    printf("throughput  %.2f runs/s\n", l->total > 0 ? (double)a->runs / l->total : 0.0);
    printf("peak RSS    %s (%zu bytes)\n", cli_bytes_str((double)r->peak_rss, b, sizeof b), r->peak_rss);
    char fb[32];
    printf("load RSS    %s peak after load + session create (model file %s)\n",
           cli_bytes_str((double)r->load_peak_rss, b, sizeof b), cli_bytes_str((double)r->model_bytes, fb, sizeof fb));
    if (!a->profile) return;
    printf("\nprofile (%lld timed runs)\n  %-24s %12s %7s %10s %12s\n", a->runs, "op type", "total ms", "%",
           "calls", "ms/call");
    for (int i = 0; i < r->n_ops; i++) {
        const op_time *o = &r->ops[i];
        printf("  %-24s %12.3f %6.1f%% %10lld %12.4f\n", o->op_type, o->seconds * 1e3,
               r->profiled_s > 0 ? 100.0 * o->seconds / r->profiled_s : 0.0, (long long)o->calls,
               o->calls ? o->seconds * 1e3 / (double)o->calls : 0.0);
    }
}

/* Per executed node over the timed runs, in execution order. */
static void print_nodes(const er_session *s, const bench_args *a, const double *base_s)
{
    const er_graph *g = er_session_graph(s);
    er_session_stats stats;
    er_session_stats_get(s, &stats);
    printf("\nper node (ms per run)\n  %4s %-16s %-28s %-20s %9s %8s\n", "#", "op type", "name", "output",
           "ms", "GFLOP/s");
    for (int i = 0; i < stats.n_nodes; i++) {
        er_node_profile p;
        if (er_session_profile_get(s, i, &p) != ER_OK) continue;
        const er_node *n = &g->nodes[p.node];
        const er_tensor *y = n->n_out > 0 && n->out[0] >= 0 ? er_session_value(s, n->out[0]) : NULL;
        char shape[64] = "?";
        if (y) er_shape_str(y->dims, y->ndim, shape, sizeof shape);
        double ms = (p.seconds - base_s[i]) * 1e3 / (double)a->runs;
        int64_t macs;
        char rate[32] = "";
        if (cli_node_macs(s, n, &macs) && macs >= 0 && ms > 0) snprintf(rate, sizeof rate, "%.1f", 2e-6 * (double)macs / ms);
        printf("  %4d %-16.16s %-28.28s %-20.20s %9.4f %8s\n", i, p.op_type, p.node_name ? p.node_name : "",
               shape, ms, rate);
    }
}

static void print_json(const er_model *model, const er_session *s, const bench_args *a, const bench_result *r)
{
    const latency *l = &r->lat;
    printf("{\"model\": ");
    cli_json_str(stdout, a->path);
    printf(", \"inputs\": [");
    for (int k = 0; k < er_model_num_inputs(model); k++) {
        er_value_info info;
        er_model_input_info(model, k, &info);
        printf("%s{\"name\": ", k ? ", " : "");
        cli_json_str(stdout, info.name);
        printf(", \"dtype\": \"%s\", \"shape\": ", er_dtype_name(info.dtype));
        const er_tensor *t = bound_input(s, info.name);
        if (t) cli_json_shape(stdout, t->dims, t->ndim); else printf("null");
        printf(", \"source\": \"%s\"}", r->generated[k] ? "generated" : "file");
    }
    printf("], \"threads\": %d, \"opt\": \"%s\", \"warmup\": %lld, \"runs\": %lld", a->c.opts.n_threads,
           a->c.opts.opt_level ? "all" : "none", a->warmup, a->runs);
    printf(", \"load_ms\": %.6f, \"prepare_ms\": %.6f", r->load_s * 1e3, r->prepare_s * 1e3);
    printf(", \"latency_ms\": {\"min\": %.6f, \"p50\": %.6f, \"p90\": %.6f, \"p99\": %.6f, \"max\": %.6f, "
           "\"mean\": %.6f, \"stddev\": %.6f}",
           l->min * 1e3, l->p50 * 1e3, l->p90 * 1e3, l->p99 * 1e3, l->max * 1e3, l->mean * 1e3, l->stddev * 1e3);
    printf(", \"cpu_ms\": {\"min\": %.6f, \"p50\": %.6f, \"mean\": %.6f}", r->cpu.min * 1e3, r->cpu.p50 * 1e3,
           r->cpu.mean * 1e3);
    printf(", \"throughput_per_s\": %.6f, \"peak_rss_bytes\": %zu", l->total > 0 ? (double)a->runs / l->total : 0.0,
           r->peak_rss);
    printf(", \"load_peak_rss_bytes\": %zu, \"model_bytes\": %zu", r->load_peak_rss, r->model_bytes);
    if (a->profile) {
        printf(", \"profile\": [");
        for (int i = 0; i < r->n_ops; i++) {
            const op_time *o = &r->ops[i];
            printf("%s{\"op_type\": ", i ? ", " : "");
            cli_json_str(stdout, o->op_type);
            printf(", \"ms\": %.6f, \"percent\": %.3f, \"calls\": %lld}", o->seconds * 1e3,
                   r->profiled_s > 0 ? 100.0 * o->seconds / r->profiled_s : 0.0, (long long)o->calls);
        }
        printf("]");
    }
    printf("}\n");
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        int m;
        if (cli_is_help(arg)) {
            help();
            return -1;
        }
        if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "--profile") == 0) {
            a->profile = true;
        } else if (strcmp(arg, "--profile-nodes") == 0) {
            a->profile = a->profile_nodes = true;
        } else if ((m = cli_opt_value(argc, argv, &i, "--warmup", NULL, &v)) != 0) {
            if (m < 0 || !cli_parse_int(v, 0, 1000000, &a->warmup))
                return cli_usage("bench", "--warmup expects a count from 0 to 1000000");
        } else if ((m = cli_opt_value(argc, argv, &i, "--runs", NULL, &v)) != 0) {
            if (m < 0 || !cli_parse_int(v, 1, 10000000, &a->runs))
                return cli_usage("bench", "--runs expects a count from 1 to 10000000");
        } else if ((m = cli_common_arg("bench", &a->c, argc, argv, &i, true, true)) != 0) {
            if (m < 0) return CLI_USAGE;
        } else if (arg[0] == '-' && arg[1]) {
            return cli_usage("bench", "unknown option '%s'", arg);
        } else if (a->path) {
            return cli_usage("bench", "unexpected argument '%s' (one MODEL only)", arg);
        } else {
            a->path = arg;
        }
    }
    if (!a->path) return cli_usage("bench", "missing MODEL");
    return CLI_OK;
}

int cmd_bench(int argc, char **argv)
{
    bench_args a = { .warmup = 5, .runs = 50 };
    cli_common_init(&a.c);
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
    a.c.opts.profile = a.profile;

    bench_result r;
    memset(&r, 0, sizeof r);
    er_model *model;
    er_session *s;
    double t0 = er_now();
    if ((rc = cli_open(a.path, &a.c.opts, &model, &s)) != CLI_OK) return rc;
    r.load_s = er_now() - t0;
    r.load_peak_rss = er_peak_rss();
    struct stat st;
    if (stat(a.path, &st) == 0) r.model_bytes = (size_t)st.st_size;
    r.generated = calloc((size_t)er_model_num_inputs(model) + 1, sizeof *r.generated);
    if (!r.generated) rc = cli_error("out of memory");
    t0 = er_now();
    if (rc == CLI_OK) rc = bind_all(model, s, &a, &r);
    if (rc == CLI_OK && er_session_prepare(s) != ER_OK) rc = cli_error("%s", er_session_error(s));
    r.prepare_s = er_now() - t0;
    if (rc == CLI_OK) rc = measure(s, &a, &r);
    r.peak_rss = er_peak_rss();
    if (rc == CLI_OK) {
        if (a.json) print_json(model, s, &a, &r); else print_text(model, s, &a, &r);
        if (!a.json && a.profile_nodes && r.node_base_s) print_nodes(s, &a, r.node_base_s);
    }
    free(r.ops);
    free(r.node_base_s);
    free(r.generated);
    er_session_free(s);
    er_model_free(model);
    return rc;
}
