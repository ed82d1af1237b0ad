#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "format/npy.h"
#include "runtime/session.h"

static void vmessage(const char *fmt, va_list ap)
{
    fputs("edgerun: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'edgerun %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return CLI_USAGE;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

int cli_opt_value(int argc, char **argv, int *i, const char *name, const char *alias,
                  const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) == 0 && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (strcmp(a, name) != 0 && !(alias && strcmp(a, alias) == 0)) return 0;
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

bool cli_parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    if (!s || !*s) return false;
    long long v = strtoll(s, &end, 10);
    if (*end || v < min || v > max) return false;
    *out = v;
    return true;
}

void cli_common_init(cli_common *c)
{
    memset(c, 0, sizeof *c);
    er_session_options_init(&c->opts);
}

static int parse_dim(const char *cmd, cli_common *c, const char *v)
{
    const char *eq = strchr(v, '=');
    long long x;
    if (!eq || eq == v || !cli_parse_int(eq + 1, 0, INT64_MAX, &x))
        return cli_usage(cmd, "--dim expects NAME=VALUE with VALUE >= 0, got '%s'", v);
    if (c->n_dims == CLI_MAX_ITEMS) return cli_usage(cmd, "too many --dim options (at most %d)", CLI_MAX_ITEMS);
    size_t len = (size_t)(eq - v);
    cli_dim *d = &c->dims[c->n_dims];
    if (len >= sizeof d->name) return cli_usage(cmd, "--dim name '%.*s' is too long", (int)len, v);
    memcpy(d->name, v, len);
    d->name[len] = 0;
    d->value = x;
    c->n_dims++;
    return CLI_OK;
}

int cli_common_arg(const char *cmd, cli_common *c, int argc, char **argv, int *i,
                   bool want_inputs, bool want_dims)
{
    const char *v = NULL;
    int m;
    if ((m = cli_opt_value(argc, argv, i, "--threads", "-t", &v)) != 0) {
        long long n;
        if (m < 0 || !cli_parse_int(v, 0, 1024, &n)) {
            cli_usage(cmd, "--threads expects a count from 0 (all cores) to 1024");
            return -1;
        }
        c->opts.n_threads = (int)n;
        return 1;
    }
    if ((m = cli_opt_value(argc, argv, i, "--opt", NULL, &v)) != 0) {
        if (m > 0 && strcmp(v, "none") == 0) c->opts.opt_level = 0;
        else if (m > 0 && strcmp(v, "all") == 0) c->opts.opt_level = 1;
        else {
            cli_usage(cmd, "--opt expects 'none' or 'all'");
            return -1;
        }
        return 1;
    }
    if (want_dims && (m = cli_opt_value(argc, argv, i, "--dim", NULL, &v)) != 0) {
        if (m < 0) {
            cli_usage(cmd, "--dim expects NAME=VALUE");
            return -1;
        }
        return parse_dim(cmd, c, v) == CLI_OK ? 1 : -1;
    }
    if (want_inputs && (m = cli_opt_value(argc, argv, i, "--input", "-i", &v)) != 0) {
        if (m < 0) {
            cli_usage(cmd, "-i expects NAME=FILE.npy or FILE.npy");
            return -1;
        }
        if (c->n_inputs == CLI_MAX_ITEMS) {
            cli_usage(cmd, "too many -i options (at most %d)", CLI_MAX_ITEMS);
            return -1;
        }
        c->inputs[c->n_inputs++].arg = v;
        return 1;
    }
    return 0;
}

int cli_open(const char *path, const er_session_options *opts, er_model **model,
             er_session **session)
{
    er_msg msg;
    msg.text[0] = 0;
    *session = NULL;
    if (er_model_load_file(path, model, &msg) != ER_OK) return cli_error("%s", msg.text);
    if (er_session_create(*model, opts, session, &msg) != ER_OK) {
        cli_error("'%s': %s", path, msg.text);
        er_model_free(*model);
        *model = NULL;
        return CLI_ERROR;
    }
    return CLI_OK;
}

int cli_planning_shape(const er_value_info *info, cli_dim *dims, int n_dims, int64_t *shape)
{
    if (info->ndim < 0)
        return cli_error("input '%s' has no declared shape; give it data with -i %s=FILE.npy", info->name, info->name);
    for (int d = 0; d < info->ndim; d++) {
        shape[d] = info->dims[d];
        if (shape[d] >= 0) continue;
        shape[d] = 1;
        const char *dn = info->dim_names[d];
        for (int k = 0; dn && k < n_dims; k++)
            if (strcmp(dims[k].name, dn) == 0) {
                shape[d] = dims[k].value;
                dims[k].used = true;
            }
    }
    return CLI_OK;
}

int cli_check_dims_used(const char *cmd, const cli_dim *dims, int n_dims)
{
    for (int k = 0; k < n_dims; k++)
        if (!dims[k].used)
            return cli_usage(cmd, "--dim %s: no input of the model has a symbolic dimension named '%s'",
                             dims[k].name, dims[k].name);
    return CLI_OK;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Splits NAME=FILE; a bare FILE (or an existing file whose name contains '=') names the
 * only input of a single-input model. */
static int resolve_spec(const char *cmd, const er_model *model, const char *arg, char *name,
                        size_t cap, const char **path)
{
    const char *eq = strchr(arg, '=');
    if (eq && !is_file(arg)) {
        size_t len = (size_t)(eq - arg);
        if (len == 0 || len >= cap) return cli_usage(cmd, "-i '%s': expected NAME=FILE.npy", arg);
        memcpy(name, arg, len);
        name[len] = 0;
        *path = eq + 1;
        return CLI_OK;
    }
    int n = er_model_num_inputs(model);
    if (n != 1) {
        char list[512] = "";
        size_t used = 0;
        for (int k = 0; k < n && used < sizeof list; k++) {
            er_value_info info;
            if (er_model_input_info(model, k, &info) != ER_OK) continue;
            int w = snprintf(list + used, sizeof list - used, "%s'%s'", k ? ", " : "", info.name);
            if (w > 0) used += (size_t)w;
        }
        return cli_usage(cmd, "-i %s: the model has %d inputs (%s); use -i NAME=FILE.npy", arg, n,
                         n ? list : "none");
    }
    er_value_info info;
    er_model_input_info(model, 0, &info);
    snprintf(name, cap, "%s", info.name);
    *path = arg;
    return CLI_OK;
}

int cli_bind_inputs(const char *cmd, const er_model *model, er_session *s,
                    const cli_input_spec *specs, int n_specs, bool *bound)
{
    int n_in = er_model_num_inputs(model);
    for (int k = 0; k < n_in; k++) bound[k] = false;
    for (int i = 0; i < n_specs; i++) {
        char name[512];
        const char *path = NULL;
        int rc = resolve_spec(cmd, model, specs[i].arg, name, sizeof name, &path);
        if (rc != CLI_OK) return rc;
        int idx = -1;
        for (int k = 0; k < n_in && idx < 0; k++) {
            er_value_info info;
            if (er_model_input_info(model, k, &info) == ER_OK && strcmp(info.name, name) == 0) idx = k;
        }
        if (idx >= 0 && bound[idx]) return cli_usage(cmd, "input '%s' is given more than once", name);
        er_tensor t;
        void *owned = NULL;
        char err[1024];
        if (er_npy_read(path, &t, &owned, err, sizeof err) != ER_OK) return cli_error("input '%s': %s", name, err);
        er_status st = er_session_set_input(s, name, t.dtype, t.dims, t.ndim, t.data);
        er_aligned_free(owned);
        if (st != ER_OK) return cli_error("%s (from '%s')", er_session_error(s), path);
        if (idx >= 0) bound[idx] = true;
    }
    return CLI_OK;
}

const char *cli_declared_shape_str(const er_value_info *info, char *buf, size_t size)
{
    if (info->ndim < 0) {
        snprintf(buf, size, "(unknown rank)");
        return buf;
    }
    size_t n = 0;
    buf[0] = 0;
    n += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < info->ndim && n < size; d++) {
        const char *sep = d ? "," : "";
        if (info->dims[d] >= 0) n += (size_t)snprintf(buf + n, size - n, "%s%lld", sep, (long long)info->dims[d]);
        else if (info->dim_names[d] && info->dim_names[d][0]) n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, info->dim_names[d]);
        else n += (size_t)snprintf(buf + n, size - n, "%s?", sep);
    }
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
    int len = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
    for (int k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80) return 0;
    if (len == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
    if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
    return len;
}

void cli_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    fputc('"', f);
    while (*p) {
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\u%04x", ch);
        else if (ch < 0x80) fputc(ch, f);
        else {
            int len = utf8_len(p);
            if (len == 0) {
                fputs("\\ufffd", f); /* invalid UTF-8 would make the whole document invalid */
                p++;
                continue;
            }
            fwrite(p, 1, (size_t)len, f);
            p += len;
            continue;
        }
        p++;
    }
    fputc('"', f);
}

void cli_json_declared_shape(FILE *f, const er_value_info *info)
{
    if (info->ndim < 0) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    for (int d = 0; d < info->ndim; d++) {
        if (d) fputs(", ", f);
        if (info->dims[d] >= 0) fprintf(f, "%lld", (long long)info->dims[d]);
        else if (info->dim_names[d] && info->dim_names[d][0]) cli_json_str(f, info->dim_names[d]);
        else fputs("null", f);
    }
    fputc(']', f);
}

void cli_json_shape(FILE *f, const int64_t *dims, int ndim)
{
    fputc('[', f);
    for (int d = 0; d < ndim; d++) fprintf(f, "%s%lld", d ? ", " : "", (long long)dims[d]);
    fputc(']', f);
}

const char *cli_bytes_str(double bytes, char *buf, size_t size)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

static const er_tensor *node_tensor(const er_session *s, const er_node *n, bool input, int k)
{
    int nv = input ? n->n_in : n->n_out;
    const int *ids = input ? n->in : n->out;
    if (k >= nv || ids[k] < 0) return NULL;
    return er_session_value(s, ids[k]);
}

static int64_t prod_from(const er_tensor *t, int first)
{
    int64_t p = 1;
    for (int d = first; d < t->ndim; d++) p *= t->dims[d];
    return p;
}

/* Multiply-accumulates of one node from its planned shapes. Returns false for ops that
 * are not counted; *macs = -1 when the shapes needed are unknown. */
bool cli_node_macs(const er_session *s, const er_node *n, int64_t *macs)
{
    const char *op = n->op_type;
    const er_tensor *y = node_tensor(s, n, false, 0);
    *macs = -1;
    /* Graph passes replace ops by fused ones (domain "edgerun"); they keep the inputs' order. */
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0 && strcmp(n->domain, "edgerun") != 0 &&
        strcmp(n->domain, "com.microsoft") != 0)
        return false;
    if (!strcmp(op, "Conv") || !strcmp(op, "FusedConv") || !strcmp(op, "ConvInteger") || !strcmp(op, "QLinearConv")) {
        const er_tensor *w = node_tensor(s, n, true, !strcmp(op, "QLinearConv") ? 3 : 1);
        if (y && w && w->ndim >= 2) *macs = er_tensor_numel(y) * prod_from(w, 1);
        return true;
    }
    if (!strcmp(op, "ConvTranspose")) {
        const er_tensor *x = node_tensor(s, n, true, 0), *w = node_tensor(s, n, true, 1);
        if (x && w && w->ndim >= 2) *macs = er_tensor_numel(x) * prod_from(w, 1);
        return true;
    }
    if (!strcmp(op, "Gemm") || !strcmp(op, "QGemm")) {
        const er_tensor *a = node_tensor(s, n, true, 0);
        if (y && a && a->ndim == 2)
            *macs = er_tensor_numel(y) * a->dims[er_attr_int(n, "transA", 0) ? 0 : 1];
        return true;
    }
    if (!strcmp(op, "MatMul") || !strcmp(op, "FusedMatMul") || !strcmp(op, "MatMulInteger") || !strcmp(op, "QLinearMatMul")) {
        const er_tensor *a = node_tensor(s, n, true, 0);
        if (y && a && a->ndim >= 1) *macs = er_tensor_numel(y) * a->dims[a->ndim - 1];
        return true;
    }
    return false;
}
