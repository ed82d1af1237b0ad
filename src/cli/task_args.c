#include "cli/task_args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format/npy.h"

bool task_parse_float(const char *s, float lo, float hi, float *out)
{
    char *end = NULL;
    if (!s || !*s) return false;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || v < lo || v > hi) return false;
    *out = (float)v;
    return true;
}

int task_vision_arg(const char *cmd, task_vision_flags *f, int argc, char **argv, int *i)
{
    static const char *const names[] = {"--size", "--mean", "--std", "--layout", "--labels", "--resize"};
    const char **slots[] = {&f->size, &f->mean, &f->std, &f->layout, &f->labels, &f->resize};
    if (strcmp(argv[*i], "--bgr") == 0) {
        f->bgr = true;
        return 1;
    }
    if (strcmp(argv[*i], "--no-letterbox") == 0) {
        f->no_letterbox = true;
        return 1;
    }
    const char *v = NULL;
    int r;
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if ((r = cli_opt_value(argc, argv, i, names[k], NULL, &v)) == 0) continue;
        if (r < 0) return cli_usage(cmd, "%s needs a value", names[k]);
        *slots[k] = v;
        return 1;
    }
    if ((r = cli_opt_value(argc, argv, i, "--threads", "-t", &v)) != 0) {
        long long n;
        if (r < 0 || !cli_parse_int(v, 0, 1024, &n))
            return cli_usage(cmd, "--threads expects a number from 0 (all cores) to 1024");
        f->n_threads = (int)n;
        return 1;
    }
    return 0;
}

/* "a,b,c" or a single value for all three channels. */
static bool parse_triple(const char *s, float out[3])
{
    char buf[128];
    if (strlen(s) >= sizeof(buf)) return false;
    strcpy(buf, s);
    int n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n == 3 || !task_parse_float(tok, -1e6f, 1e6f, &out[n])) return false;
        n++;
    }
    if (n == 1) out[1] = out[2] = out[0];
    return n == 1 || n == 3;
}

static bool parse_size(const char *s, int *w, int *h)
{
    char *end = NULL;
    long a = strtol(s, &end, 10), b = a;
    if (end == s) return false;
    if (*end == 'x' || *end == ',') {
        const char *rest = end + 1;
        b = strtol(rest, &end, 10);
        if (end == rest) return false;
    }
    if (*end || a < 1 || b < 1 || a > 8192 || b > 8192) return false;
    *w = (int)a;
    *h = (int)b;
    return true;
}

int task_vision_options(const char *cmd, const char *model, const task_vision_flags *f,
                        er_vision_options *o)
{
    er_msg msg;
    if (er_vision_options_load_sidecar(model, o, NULL, &msg) != ER_OK) return cli_error("%s", msg.text);
    if (f->size && !parse_size(f->size, &o->width, &o->height))
        return cli_usage(cmd, "--size expects N or WxH (1..8192), got '%s'", f->size);
    if (f->mean && !parse_triple(f->mean, o->mean))
        return cli_usage(cmd, "--mean expects one number or three separated by commas, got '%s'", f->mean);
    if (f->std && (!parse_triple(f->std, o->std) || !(o->std[0] > 0 && o->std[1] > 0 && o->std[2] > 0)))
        return cli_usage(cmd, "--std expects one positive number or three separated by commas, got '%s'", f->std);
    if (f->layout) {
        if (strcmp(f->layout, "nchw") == 0) o->layout = ER_LAYOUT_NCHW;
        else if (strcmp(f->layout, "nhwc") == 0) o->layout = ER_LAYOUT_NHWC;
        else return cli_usage(cmd, "--layout expects nchw or nhwc, got '%s'", f->layout);
    }
    if (f->resize) {
        if (strcmp(f->resize, "area") == 0) o->resize_area = 1;
        else if (strcmp(f->resize, "bilinear") == 0) o->resize_area = 0;
        else return cli_usage(cmd, "--resize expects bilinear or area, got '%s'", f->resize);
    }
    if (f->bgr) o->bgr = 1;
    if (f->no_letterbox) o->letterbox = 0;
    if (f->labels) snprintf(o->labels, sizeof(o->labels), "%s", f->labels);
    o->n_threads = f->n_threads;
    return CLI_OK;
}

static int save_view(const char *dir, const char *name, const er_tensor_view *v)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    er_tensor t;
    memset(&t, 0, sizeof(t));
    t.dtype = v->dtype;
    t.ndim = v->ndim;
    memcpy(t.dims, v->dims, sizeof(t.dims));
    t.data = (void *)v->data;
    char err[512];
    if (er_npy_write(path, &t, err, sizeof(err)) != ER_OK) return cli_error("cannot write '%s': %s", path, err);
    return CLI_OK;
}

int task_save_tensors(const char *dir, const er_tensor_view *input, const er_tensor_view *output)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return cli_error("cannot create folder '%s': %s", dir, strerror(errno));
    int rc = save_view(dir, "input.npy", input);
    return rc == CLI_OK ? save_view(dir, "output.npy", output) : rc;
}
