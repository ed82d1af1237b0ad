/* edgerun quantize: FP32 ONNX in, INT8 QDQ ONNX out. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/task_args.h"
#include "format/npy.h"
#include "format/onnx_write.h"
#include "quant/quantize.h"
#include "runtime/model.h"
#include "tasks/task_common.h"

#define MAX_FILES 100000

/* A model edgerun cannot run (a malformed DequantizeLinear, say) is reported as such rather
 * than by what the quantizer would make of it. */
static int check_runnable(const er_model *model, const char *path)
{
    er_session *s = NULL;
    er_msg msg = { { 0 } };
    er_session_options so;
    er_session_options_init(&so);
    so.n_threads = 1;
    if (er_session_create(model, &so, &s, &msg) != ER_OK) return cli_error("'%s': %s", path, msg.text);
    er_session_free(s);
    return CLI_OK;
}

static void help(void)
{
    printf("Usage: edgerun quantize IN.onnx OUT.onnx [--mode dynamic|static] [--calib [NAME=]PATH ...]\n"
           "                        [--method minmax|percentile|entropy] [--percentile P]\n"
           "                        [--per-channel | --per-tensor] [--symmetric | --asymmetric]\n"
           "                        [--exclude NODE_OR_OP_TYPE,...] [--report FILE.json]\n"
           "\n"
           "Writes a QDQ model: int8 weights behind DequantizeLinear, activations around Conv,\n"
           "Gemm, MatMul and Add through QuantizeLinear/DequantizeLinear (static) or\n"
           "DynamicQuantizeLinear (dynamic). ONNX Runtime loads the result too.\n"
           "\n"
           "  --mode M          static (default; needs --calib) or dynamic\n"
           "  --calib PATH      calibration inputs: a .npy file, an image, a folder of them or a\n"
           "                    .txt list of paths. A .npy with one more dimension than the\n"
           "                    input is a stack of samples; a batch along a symbolic or unit\n"
           "                    first dimension is split into single samples. Images (PNG,\n"
           "                    JPEG, BMP) get the model's preprocessing: its sidecar JSON (as\n"
           "                    for classify), then the flags below. Multi-input models: one\n"
           "                    --calib NAME=PATH per input\n"
           "  --size N|WxH, --mean M, --std S, --layout nchw|nhwc, --resize bilinear|area, --bgr\n"
           "                    image preprocessing for --calib images (see edgerun classify)\n"
           "  --method M        range estimate: minmax (default), percentile, entropy (KL)\n"
           "  --percentile P    kept share of values for --method percentile (default 99.999)\n"
           "  --per-channel     one weight scale per output channel (default)\n"
           "  --per-tensor      one weight scale per tensor\n"
           "  --symmetric       int8 activations with zero point 0\n"
           "  --asymmetric      uint8 activations with a zero point (default)\n"
           "  --exclude LIST    node names or op types to leave in float\n"
           "  --report FILE     per-tensor ranges, scales and zero points as JSON\n");
}

typedef struct calib_set {
    er_tensor *t;             /* n_samples x n_inputs */
    void **owned;             /* file buffers */
    int n_samples, n_owned, cap_owned;
    const char *model_path;   /* for the sidecar that says how images are preprocessed */
    const task_vision_flags *vision_flags;
    er_vision_options vision;
    bool vision_ready;
} calib_set;

static void calib_set_free(calib_set *c)
{
    for (int i = 0; i < c->n_owned; i++) er_aligned_free(c->owned[i]);
    free(c->owned);
    free(c->t);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static bool is_image(const char *name)
{
    static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".bmp" };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n >= m && strcasecmp(name + n - m, ext[i]) == 0) return true;
    }
    return false;
}

/* The .npy and image files PATH names: itself, the sorted *.npy of a folder, or the lines of a list. */
static int list_files(const char *path, char ***files, int *n)
{
    struct stat sb;
    *files = NULL;
    *n = 0;
    if (stat(path, &sb) != 0) return cli_error("calibration path '%s' does not exist", path);
    char **v = calloc(MAX_FILES, sizeof(char *));
    if (!v) return cli_error("out of memory");
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (!d) {
            free(v);
            return cli_error("cannot read folder '%s'", path);
        }
        struct dirent *e;
        while ((e = readdir(d)) && *n < MAX_FILES) {
            if (!ends_with(e->d_name, ".npy") && !is_image(e->d_name)) continue;
            size_t len = strlen(path) + strlen(e->d_name) + 2;
            if ((v[*n] = malloc(len))) snprintf(v[(*n)++], len, "%s/%s", path, e->d_name);
        }
        closedir(d);
        qsort(v, (size_t)*n, sizeof *v, cmp_str);
    } else if (ends_with(path, ".txt")) {
        FILE *f = fopen(path, "r");
        char line[4096];
        while (f && fgets(line, sizeof line, f) && *n < MAX_FILES) {
            line[strcspn(line, "\r\n")] = 0;
            if (line[0]) v[(*n)++] = strdup(line);
        }
        if (f) fclose(f);
    } else {
        v[(*n)++] = strdup(path);
    }
    *files = v;
    return CLI_OK;
}

static void free_files(char **files, int n)
{
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
}

/* Keeps buf (er_aligned_alloc'd) until the set is freed; frees it on failure. */
static int own(calib_set *c, void *buf)
{
    if (c->n_owned == c->cap_owned) {
        int cap = c->cap_owned ? 2 * c->cap_owned : 64;
        void **o = realloc(c->owned, sizeof(void *) * (size_t)cap);
        if (!o) {
            er_aligned_free(buf);
            return cli_error("out of memory");
        }
        c->owned = o;
        c->cap_owned = cap;
    }
    c->owned[c->n_owned++] = buf;
    return CLI_OK;
}

/* The slot of sample idx, input k (grows the table). */
static er_tensor *sample_slot(calib_set *c, int idx, int k, int n_in)
{
    if (idx >= c->n_samples) {
        int cap = c->n_samples ? 2 * c->n_samples : 64;
        while (cap <= idx) cap *= 2;
        er_tensor *nt = realloc(c->t, sizeof(er_tensor) * (size_t)cap * (size_t)n_in);
        if (!nt) return NULL;
        memset(nt + (size_t)c->n_samples * (size_t)n_in, 0, sizeof(er_tensor) * (size_t)(cap - c->n_samples) * (size_t)n_in);
        c->t = nt;
        c->n_samples = cap;
    }
    return &c->t[(size_t)idx * (size_t)n_in + (size_t)k];
}

/* One image, preprocessed as classify would for this model, as sample *count of input k. */
static int add_image_sample(calib_set *c, int k, int n_in, const er_value_info *info, const char *file, int *count)
{
    int rc;
    if (!c->vision_ready) {
        er_vision_options_init(&c->vision);
        if ((rc = task_vision_options("quantize", c->model_path, c->vision_flags, &c->vision)) != CLI_OK) return rc;
        c->vision_ready = true;
    }
    int w, h;
    char err[512];
    if (er_vision_input_size(info, &c->vision, &w, &h, err, sizeof err) != ER_OK)
        return cli_error("calibration image '%s': %s", file, err);
    er_image img;
    er_msg msg;
    if (er_image_load(file, &img, &msg) != ER_OK) return cli_error("%s", msg.text);
    float *x = er_aligned_alloc(sizeof(float) * 3 * (size_t)w * (size_t)h);
    er_letterbox lb;
    er_status st = x ? er_vision_preprocess(&img, &c->vision, w, h, x, &lb) : ER_ERR_NOMEM;
    er_image_free(&img);
    if (st != ER_OK) {
        er_aligned_free(x);
        return cli_error("cannot preprocess calibration image '%s'", file);
    }
    if ((rc = own(c, x)) != CLI_OK) return rc;
    er_tensor *dst = sample_slot(c, *count, k, n_in);
    if (!dst) return cli_error("out of memory");
    memset(dst, 0, sizeof *dst);
    dst->dtype = ER_F32;
    dst->ndim = 4;
    bool nchw = c->vision.layout == ER_LAYOUT_NCHW;
    int64_t dims[4] = { 1, nchw ? 3 : h, nchw ? h : w, nchw ? w : 3 };
    memcpy(dst->dims, dims, sizeof dims);
    dst->data = x;
    (*count)++;
    return CLI_OK;
}

/* Splits one file into samples for input k (see --calib in the help). */
static int add_file_samples(calib_set *c, int k, int n_in, const er_value_info *info, const char *file,
                            int *count)
{
    if (is_image(file)) return add_image_sample(c, k, n_in, info, file, count);
    er_tensor t;
    void *owned = NULL;
    char err[512];
    if (er_npy_read(file, &t, &owned, err, sizeof err) != ER_OK) return cli_error("%s", err);
    int rc = own(c, owned);
    if (rc != CLI_OK) return rc;
    int64_t n = 1;
    bool stack = info->ndim >= 0 && t.ndim == info->ndim + 1;
    bool split = info->ndim >= 1 && t.ndim == info->ndim && t.dims[0] > 1 && (info->dims[0] < 0 || info->dims[0] == 1);
    er_tensor one = t;
    if (stack || split) {
        n = t.dims[0];
        if (stack) {
            one.ndim = t.ndim - 1;
            memmove(one.dims, t.dims + 1, sizeof(int64_t) * (size_t)one.ndim);
        } else {
            one.dims[0] = 1;
        }
    }
    size_t bytes = er_tensor_nbytes(&one);
    for (int64_t s = 0; s < n; s++) {
        er_tensor *dst = sample_slot(c, *count + (int)s, k, n_in);
        if (!dst) return cli_error("out of memory");
        *dst = one;
        dst->data = (char *)t.data + (size_t)s * bytes;
    }
    *count += (int)n;
    return CLI_OK;
}

static int load_calib(const er_model *model, const char **specs, int n_specs, calib_set *c)
{
    int n_in = er_model_num_inputs(model);
    int count0 = -1;
    if (n_specs != n_in && !(n_specs == 1 && n_in == 1))
        return cli_error("the model has %d inputs: give one --calib NAME=PATH per input", n_in);
    for (int k = 0; k < n_in; k++) {
        er_value_info info;
        er_model_input_info(model, k, &info);
        const char *path = NULL;
        for (int s = 0; s < n_specs && !path; s++) {
            const char *eq = strchr(specs[s], '=');
            if (n_in == 1 && (!eq || strncmp(specs[s], info.name, (size_t)(eq - specs[s])) != 0)) path = specs[s];
            else if (eq && strlen(info.name) == (size_t)(eq - specs[s]) && strncmp(specs[s], info.name, (size_t)(eq - specs[s])) == 0)
                path = eq + 1;
        }
        if (!path) return cli_error("no --calib data for input '%s'", info.name);
        char **files;
        int nf, count = 0, rc = list_files(path, &files, &nf);
        if (rc != CLI_OK) return rc;
        for (int f = 0; f < nf && rc == CLI_OK; f++) rc = add_file_samples(c, k, n_in, &info, files[f], &count);
        free_files(files, nf);
        if (rc != CLI_OK) return rc;
        if (count == 0) return cli_error("the calibration set for input '%s' (%s) is empty", info.name, path);
        if (count0 >= 0 && count != count0)
            return cli_error("input '%s' has %d calibration samples but the first input has %d", info.name, count, count0);
        count0 = count;
    }
    c->n_samples = count0;
    return CLI_OK;
}

static void progress(void *user, int done, int total)
{
    (void)user;
    int width = 30, fill = total ? done * width / total : width;
    fprintf(stderr, "\rcalibrating [%.*s%*s] %d/%d", fill, "##############################", width - fill, "", done,
            total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

static int write_report(const char *path, const er_quant_result *r, const er_quant_options *o, long long in_size,
                        long long out_size)
{
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("cannot write report '%s'", path);
    fprintf(f, "{\n  \"mode\": \"%s\",\n  \"nodes_quantized\": %d,\n  \"nodes_float\": %d,\n",
            o->mode == ER_QUANT_STATIC ? "static" : "dynamic", r->n_quantized, r->n_float);
    fprintf(f, "  \"bytes_before\": %lld,\n  \"bytes_after\": %lld,\n  \"tensors\": [", in_size, out_size);
    for (int i = 0; i < r->n_ranges; i++) {
        const er_quant_range *q = &r->ranges[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        cli_json_str(f, q->name);
        fprintf(f, ", \"min\": %.9g, \"max\": %.9g, \"lo\": %.9g, \"hi\": %.9g, \"scale\": %.9g, \"zero_point\": %d}",
                (double)q->min, (double)q->max, (double)q->lo, (double)q->hi, (double)q->scale, q->zero_point);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) == 0 ? CLI_OK : cli_error("cannot write report '%s'", path);
}

static int parse_exclude(const char *v, char *buf, size_t cap, const char **list, int *n)
{
    if (strlen(v) >= cap) return cli_usage("quantize", "--exclude list is too long");
    strcpy(buf, v);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == CLI_MAX_ITEMS) return cli_usage("quantize", "too many --exclude entries (at most %d)", CLI_MAX_ITEMS);
        list[(*n)++] = tok;
    }
    return CLI_OK;
}

static int parse_args(int argc, char **argv, er_quant_options *o, const char **paths, const char **calib, int *n_calib,
                      const char **report, char *exbuf, size_t excap, const char **exclude, task_vision_flags *vf)
{
    int n_paths = 0, n_ex = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (cli_is_help(argv[i])) {
            help();
            exit(CLI_OK);
        } else if ((r = cli_opt_value(argc, argv, &i, "--mode", NULL, &v)) != 0) {
            if (r < 0 || (strcmp(v, "static") && strcmp(v, "dynamic")))
                return cli_usage("quantize", "--mode expects static or dynamic");
            o->mode = strcmp(v, "static") == 0 ? ER_QUANT_STATIC : ER_QUANT_DYNAMIC;
        } else if ((r = cli_opt_value(argc, argv, &i, "--calib", NULL, &v)) != 0) {
            if (r < 0 || *n_calib == CLI_MAX_ITEMS) return cli_usage("quantize", "--calib expects a path");
            calib[(*n_calib)++] = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--method", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("quantize", "--method expects minmax, percentile or entropy");
            if (strcmp(v, "minmax") == 0) o->method = ER_CALIB_MINMAX;
            else if (strcmp(v, "percentile") == 0) o->method = ER_CALIB_PERCENTILE;
            else if (strcmp(v, "entropy") == 0) o->method = ER_CALIB_ENTROPY;
            else return cli_usage("quantize", "--method expects minmax, percentile or entropy, got '%s'", v);
        } else if ((r = cli_opt_value(argc, argv, &i, "--percentile", NULL, &v)) != 0) {
            char *end = NULL;
            o->percentile = r > 0 ? strtod(v, &end) : 0;
            if (r < 0 || !end || *end || !(o->percentile > 50 && o->percentile <= 100))
                return cli_usage("quantize", "--percentile expects a number in (50, 100]");
        } else if ((r = cli_opt_value(argc, argv, &i, "--exclude", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("quantize", "--exclude expects a list");
            if ((r = parse_exclude(v, exbuf, excap, exclude, &n_ex)) != CLI_OK) return r;
        } else if ((r = cli_opt_value(argc, argv, &i, "--report", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("quantize", "--report expects a file name");
            *report = v;
        } else if ((r = task_vision_arg("quantize", vf, argc, argv, &i)) != 0) {
            if (r > 1) return r;
        } else if (strcmp(argv[i], "--per-channel") == 0) o->per_channel = true;
        else if (strcmp(argv[i], "--per-tensor") == 0) o->per_channel = false;
        else if (strcmp(argv[i], "--symmetric") == 0) o->symmetric = true;
        else if (strcmp(argv[i], "--asymmetric") == 0) o->symmetric = false;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage("quantize", "unknown option '%s'", argv[i]);
        else if (n_paths < 2) paths[n_paths++] = argv[i];
        else return cli_usage("quantize", "unexpected argument '%s'", argv[i]);
    }
    o->n_exclude = n_ex;
    if (n_paths != 2) return cli_usage("quantize", "expects IN.onnx and OUT.onnx");
    if (o->mode == ER_QUANT_STATIC && *n_calib == 0)
        return cli_usage("quantize", "static quantization needs --calib data (or use --mode dynamic)");
    return CLI_OK;
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

int cmd_quantize(int argc, char **argv)
{
    er_quant_options o;
    er_quant_options_init(&o);
    const char *paths[2] = { 0 }, *calib[CLI_MAX_ITEMS], *report = NULL, *exclude[CLI_MAX_ITEMS];
    char exbuf[4096];
    int n_calib = 0;
    task_vision_flags vf;
    memset(&vf, 0, sizeof vf);
    int rc = parse_args(argc - 1, argv + 1, &o, paths, calib, &n_calib, &report, exbuf, sizeof exbuf, exclude, &vf);
    if (rc != CLI_OK) return rc;
    o.exclude = exclude;
    if (isatty(fileno(stderr))) o.progress = progress;
    er_model *model = NULL;
    er_msg msg = { { 0 } };
    if (er_model_load_file(paths[0], &model, &msg) != ER_OK) return cli_error("%s", msg.text);
    if ((rc = check_runnable(model, paths[0])) != CLI_OK) {
        er_model_free(model);
        return rc;
    }
    calib_set cs;
    memset(&cs, 0, sizeof cs);
    cs.model_path = paths[0];
    cs.vision_flags = &vf;
    if (o.mode == ER_QUANT_STATIC && (rc = load_calib(model, calib, n_calib, &cs)) != CLI_OK) {
        calib_set_free(&cs);
        er_model_free(model);
        return rc;
    }
    er_quant_result res;
    char err[1024] = "";
    er_status st = er_quantize(model->graph, &o, cs.t, cs.n_samples, &res, err, sizeof err);
    if (st == ER_OK) st = er_onnx_write_file(res.graph, paths[1], err, sizeof err);
    if (st != ER_OK) rc = cli_error("%s", err);
    if (rc == CLI_OK) {
        long long a = file_size(paths[0]), b = file_size(paths[1]);
        char sa[32], sb[32];
        printf("%s: %s -> %s (%.2fx smaller), %d nodes quantized, %d left in float\n", paths[1],
               cli_bytes_str((double)a, sa, sizeof sa), cli_bytes_str((double)b, sb, sizeof sb),
               b > 0 ? (double)a / (double)b : 0.0, res.n_quantized, res.n_float);
        if (res.opset_to != res.opset_from)
            printf("note: raised the model from ONNX opset %lld to %lld, which the quantized ops need\n",
                   (long long)res.opset_from, (long long)res.opset_to);
        if (report) rc = write_report(report, &res, &o, a, b);
    }
    if (st == ER_OK) er_quant_result_free(&res);
    calib_set_free(&cs);
    er_model_free(model);
    return rc;
}
