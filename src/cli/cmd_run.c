/* edgerun run: .npy inputs in, one .npy per graph output out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "format/npy.h"

static void help(void)
{
    printf("Usage: edgerun run MODEL -i NAME=FILE.npy [-i ...] -o OUTDIR [--threads N] [--opt none|all]\n"
           "\n"
           "Runs the model once and writes OUTDIR/<output name>.npy for every graph output\n"
           "(characters other than A-Z a-z 0-9 _ . - in the name become '_').\n"
           "\n"
           "  -i, --input NAME=FILE.npy  data of input NAME; plain FILE.npy for single-input models\n"
           "  -o, --output-dir OUTDIR    created when missing\n"
           "  -t, --threads N            worker threads, 0 = all cores (default 0)\n"
           "  --opt none|all             graph optimization level (default all)\n");
}

/* mkdir -p: creates each missing component of dir. */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path) return cli_error("output directory '%s' is not a usable path", dir);
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        char saved = path[i];
        path[i] = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return cli_error("cannot create directory '%s': %s", path, strerror(errno));
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return cli_error("'%s' is not a directory", dir);
    return CLI_OK;
}

/* File name for an output: unsafe characters become '_', an empty name becomes output_K,
 * and a name already taken by an earlier output gets _K appended. */
static void output_file_name(const er_session *s, int index, char *out, size_t cap)
{
    er_tensor_view v;
    er_session_output(s, index, &v);
    size_t n = 0;
    for (const char *p = v.name; p && *p && n + 1 < cap; p++) {
        char ch = *p;
        bool safe = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '_' || ch == '.' || ch == '-';
        out[n++] = safe ? ch : '_';
    }
    out[n] = 0;
    if (n == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) snprintf(out, cap, "output_%d", index);
    for (int j = 0; j < index; j++) {
        char other[256];
        output_file_name(s, j, other, sizeof other);
        if (strcmp(other, out) == 0) {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, "_%d", index);
            break;
        }
    }
}

static int write_outputs(const er_session *s, const char *dir)
{
    for (int k = 0; k < er_session_num_outputs(s); k++) {
        er_tensor_view v;
        if (er_session_output(s, k, &v) != ER_OK) return cli_error("cannot read output %d", k);
        char name[256], path[4096], err[1024], shape[160];
        output_file_name(s, k, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s.npy", dir, name);
        er_tensor t = { .dtype = v.dtype, .ndim = v.ndim, .data = (void *)v.data };
        memcpy(t.dims, v.dims, sizeof t.dims);
        if (er_npy_write(path, &t, err, sizeof err) != ER_OK) return cli_error("output '%s': %s", v.name, err);
        printf("%s  %s %s\n", path, er_dtype_name(v.dtype), er_shape_str(v.dims, v.ndim, shape, sizeof shape));
    }
    return CLI_OK;
}

/* Names every unbound input with what it expects, so one attempt shows all that is missing. */
static int report_missing(const er_model *model, const bool *bound)
{
    int missing = 0;
    for (int k = 0; k < er_model_num_inputs(model); k++) {
        if (bound[k]) continue;
        er_value_info info;
        char shape[256];
        er_model_input_info(model, k, &info);
        cli_error("missing input '%s' (%s %s); pass -i %s=FILE.npy", info.name, er_dtype_name(info.dtype),
                  cli_declared_shape_str(&info, shape, sizeof shape), info.name);
        missing++;
    }
    return missing ? CLI_ERROR : CLI_OK;
}

static int parse_args(int argc, char **argv, const char **path, const char **outdir, cli_common *c)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            help();
            return -1;
        }
        int m = cli_opt_value(argc, argv, &i, "--output-dir", "-o", &v);
        if (m < 0) return cli_usage("run", "-o expects a directory");
        if (m > 0) {
            *outdir = v;
            continue;
        }
        m = cli_common_arg("run", c, argc, argv, &i, true, false);
        if (m < 0) return CLI_USAGE;
        if (m > 0) continue;
        if (a[0] == '-' && a[1]) return cli_usage("run", "unknown option '%s'", a);
        if (*path) return cli_usage("run", "unexpected argument '%s' (one MODEL only)", a);
        *path = a;
    }
    if (!*path) return cli_usage("run", "missing MODEL");
    if (!*outdir) return cli_usage("run", "missing -o OUTDIR");
    return CLI_OK;
}

int cmd_run(int argc, char **argv)
{
    cli_common c;
    cli_common_init(&c);
    const char *path = NULL, *outdir = NULL;
    int rc = parse_args(argc, argv, &path, &outdir, &c);
    if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
    er_model *model;
    er_session *s;
    if ((rc = cli_open(path, &c.opts, &model, &s)) != CLI_OK) return rc;
    bool *bound = calloc((size_t)er_model_num_inputs(model) + 1, sizeof *bound);
    if (!bound) rc = cli_error("out of memory");
    if (rc == CLI_OK) rc = cli_bind_inputs("run", model, s, c.inputs, c.n_inputs, bound);
    if (rc == CLI_OK) rc = report_missing(model, bound);
    if (rc == CLI_OK && er_session_run(s) != ER_OK) rc = cli_error("%s", er_session_error(s));
    if (rc == CLI_OK) rc = make_dirs(outdir);
    if (rc == CLI_OK) rc = write_outputs(s, outdir);
    free(bound);
    er_session_free(s);
    er_model_free(model);
    return rc;
}
