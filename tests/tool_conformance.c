/* ONNX backend node-test runner: conformance DATA_DIR/node [--filter SUBSTR]
 * [--expect-fail FILE] [-v]. Data comes from tools/gen_onnx_tests.py.
 *
 * Each case directory holds model.onnx and test_data_set_N/{input_K,output_K}.pb. A case is
 * skipped when the model uses an op, dtype or feature edgerun reports as unsupported
 * (ER_ERR_UNSUPPORTED from loading, session creation or the first run); otherwise every data
 * set is bound (inputs by their .pb name, else by position among the model's inputs), run,
 * and every output compared with the expected one: same dtype and shape; floating values
 * within |got - want| <= ATOL + RTOL * |want| (RTOL 1e-3, ATOL 1e-5; ONNX's own runner
 * uses rtol 1e-3 with a smaller atol), NaN equal to NaN; integers and bools exactly.
 * numpy has no bfloat16, so ONNX writes bfloat16 test tensors as uint16 bit patterns: a uint16
 * tensor bound to a bfloat16 input, or expected where a bfloat16 output is produced, is read
 * as bfloat16.
 *
 * Exit status: 1 on any failure not listed in the expect-fail file, or when fewer than 95%
 * of the cases that ran passed. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgerun.h"
#include "format/onnx.h"

#define RTOL 1e-3
#define ATOL 1e-5
#define MIN_PASS_RATE 0.95

typedef enum { CASE_PASS, CASE_FAIL, CASE_SKIP } case_result;

typedef struct expect_list {
    char **names;
    char **reasons;
    int n;
} expect_list;

typedef struct pb_tensor {
    er_const t;
    char *name;
    void *owned;
} pb_tensor;

static bool verbose;

static void *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            }
            *size = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* dir/name into out; false when it does not fit. */
static bool join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < size;
}

/* dir/<prefix>K.pb exists? (the path is left in out) */
static bool data_file(char *out, size_t size, const char *dir, const char *prefix, int k)
{
    char name[64];
    snprintf(name, sizeof name, "%s%d.pb", prefix, k);
    return join(out, size, dir, name) && exists(out);
}

/* Reads a TensorProto .pb; false with a reason in why on failure. */
static bool load_pb(const char *path, pb_tensor *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    size_t size = 0;
    void *data = read_all(path, &size);
    if (!data) {
        snprintf(why, why_size, "cannot read %s", path);
        return false;
    }
    char err[512];
    er_status st = er_onnx_parse_tensor(data, size, &out->t, &out->name, &out->owned, err, sizeof err);
    free(data);
    if (st != ER_OK) snprintf(why, why_size, "%s: %s", path, err);
    return st == ER_OK;
}

static void free_pb(pb_tensor *p)
{
    free(p->name);
    free(p->owned);
    memset(p, 0, sizeof *p);
}

static int64_t numel(const int64_t *dims, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

static void shape_str(const int64_t *dims, int ndim, char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && k < size; i++) k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

static bool is_float(er_dtype dt) { return dt == ER_F32 || dt == ER_F64 || dt == ER_F16 || dt == ER_BF16; }

static double as_f64(const void *data, er_dtype dt, int64_t i)
{
    switch (dt) {
    case ER_F32: return ((const float *)data)[i];
    case ER_F64: return ((const double *)data)[i];
    case ER_F16: return er_f16_to_f32(((const uint16_t *)data)[i]);
    case ER_BF16: return er_bf16_to_f32(((const uint16_t *)data)[i]);
    default: return 0;
    }
}

static bool close_enough(double got, double want)
{
    if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
    if (got == want) return true;
    return fabs(got - want) <= ATOL + RTOL * fabs(want);
}

static bool compare(const er_tensor_view *got, er_const *want, char *why, size_t why_size)
{
    char gs[128], ws[128];
    if (want->dtype == ER_U16 && got->dtype == ER_BF16) want->dtype = ER_BF16;
    if (got->dtype != want->dtype) {
        snprintf(why, why_size, "output '%s': dtype %s, expected %s", got->name, er_dtype_name(got->dtype),
                 er_dtype_name(want->dtype));
        return false;
    }
    bool same_shape = got->ndim == want->ndim;
    for (int i = 0; same_shape && i < got->ndim; i++) same_shape = got->dims[i] == want->dims[i];
    if (!same_shape) {
        shape_str(got->dims, got->ndim, gs, sizeof gs);
        shape_str(want->dims, want->ndim, ws, sizeof ws);
        snprintf(why, why_size, "output '%s': shape %s, expected %s", got->name, gs, ws);
        return false;
    }
    int64_t n = numel(want->dims, want->ndim);
    if (n > 0 && !got->data) {
        snprintf(why, why_size, "output '%s' has no data", got->name);
        return false;
    }
    size_t esize = er_dtype_size(want->dtype);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        bool ok = is_float(want->dtype)
                      ? close_enough(as_f64(got->data, got->dtype, i), as_f64(want->data, want->dtype, i))
                      : memcmp((const char *)got->data + i * (int64_t)esize, (const char *)want->data + i * (int64_t)esize, esize) == 0;
        if (!ok && bad++ == 0) first = i;
    }
    if (!bad) return true;
    if (is_float(want->dtype))
        snprintf(why, why_size, "output '%s': %lld of %lld values differ; first at %lld: got %.9g, expected %.9g",
                 got->name, (long long)bad, (long long)n, (long long)first, as_f64(got->data, got->dtype, first),
                 as_f64(want->data, want->dtype, first));
    else
        snprintf(why, why_size, "output '%s': %lld of %lld values differ; first at %lld: got %lld, expected %lld",
                 got->name, (long long)bad, (long long)n, (long long)first,
                 (long long)er_get_i64(got->data, got->dtype, first), (long long)er_get_i64(want->data, want->dtype, first));
    return false;
}

/* Binds every input_K.pb of a data set; the .pb's name picks the input when it has one. */
static case_result bind_inputs(er_session *s, const er_model *m, const char *set, char *why, size_t why_size)
{
    char path[4096];
    int n_model = er_model_num_inputs(m);
    for (int k = 0;; k++) {
        if (!data_file(path, sizeof path, set, "input_", k)) return CASE_PASS;
        pb_tensor in;
        if (!load_pb(path, &in, why, why_size)) return CASE_FAIL;
        const char *name = in.name && in.name[0] ? in.name : NULL;
        er_value_info vi;
        if (!name && k < n_model && er_model_input_info(m, k, &vi) == ER_OK) name = vi.name;
        for (int i = 0; name && i < n_model; i++)
            if (er_model_input_info(m, i, &vi) == ER_OK && strcmp(vi.name, name) == 0 && vi.dtype == ER_BF16 &&
                in.t.dtype == ER_U16)
                in.t.dtype = ER_BF16;
        er_status st = ER_OK;
        if (name) st = er_session_set_input(s, name, in.t.dtype, in.t.dims, in.t.ndim, in.t.data);
        if (st != ER_OK) snprintf(why, why_size, "set input '%s': %s", name, er_session_error(s));
        free_pb(&in);
        if (st == ER_ERR_UNSUPPORTED) return CASE_SKIP;
        if (st != ER_OK) return CASE_FAIL;
    }
}

static case_result check_outputs(er_session *s, const char *set, char *why, size_t why_size)
{
    char path[4096];
    int k = 0;
    for (;; k++) {
        if (!data_file(path, sizeof path, set, "output_", k)) break;
        pb_tensor want;
        if (!load_pb(path, &want, why, why_size)) return CASE_FAIL;
        er_tensor_view got;
        er_status st = want.name && want.name[0] ? er_session_output_by_name(s, want.name, &got)
                                                 : er_session_output(s, k, &got);
        bool ok = st == ER_OK;
        if (!ok) snprintf(why, why_size, "output %d ('%s'): %s", k, want.name ? want.name : "", er_status_str(st));
        if (ok) ok = compare(&got, &want.t, why, why_size);
        free_pb(&want);
        if (!ok) return CASE_FAIL;
    }
    if (k != er_session_num_outputs(s)) {
        snprintf(why, why_size, "the session has %d outputs, the test expects %d", er_session_num_outputs(s), k);
        return CASE_FAIL;
    }
    return CASE_PASS;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the entries of dir that start with prefix (all when prefix is ""). */
static char **list_dir(const char *dir, const char *prefix, int *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, sizeof *names * (size_t)cap);
            if (!nn) break;
            names = nn;
        }
        if (!(names[*count] = strdup(e->d_name))) break;
        (*count)++;
    }
    closedir(d);
    if (names) qsort(names, (size_t)*count, sizeof *names, name_cmp);
    return names;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static case_result run_sets(er_session *s, const er_model *m, const char *case_dir, char *why, size_t why_size)
{
    int n_sets;
    char **sets = list_dir(case_dir, "test_data_set_", &n_sets);
    case_result r = CASE_PASS;
    if (n_sets == 0) {
        snprintf(why, why_size, "no test_data_set_* directory");
        r = CASE_FAIL;
    }
    char set[4096];
    for (int i = 0; i < n_sets && r == CASE_PASS; i++) {
        if (!join(set, sizeof set, case_dir, sets[i])) {
            snprintf(why, why_size, "path too long");
            r = CASE_FAIL;
            break;
        }
        r = bind_inputs(s, m, set, why, why_size);
        if (r != CASE_PASS) break;
        er_status st = er_session_run(s);
        if (st != ER_OK) {
            snprintf(why, why_size, "run: %s", er_session_error(s));
            r = st == ER_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
            break;
        }
        r = check_outputs(s, set, why, why_size);
        if (r != CASE_PASS && n_sets > 1) {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s: %s", sets[i], why);
            snprintf(why, why_size, "%s", tmp);
        }
    }
    free_list(sets, n_sets);
    return r;
}

static case_result run_case(const char *case_dir, char *why, size_t why_size)
{
    char path[4096];
    if (!join(path, sizeof path, case_dir, "model.onnx")) {
        snprintf(why, why_size, "path too long");
        return CASE_FAIL;
    }
    er_model *m = NULL;
    er_msg msg;
    er_status st = er_model_load_file(path, &m, &msg);
    if (st != ER_OK) {
        snprintf(why, why_size, "load: %s", msg.text);
        return st == ER_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
    }
    er_session_options opts;
    er_session_options_init(&opts);
    opts.n_threads = 1;
    er_session *s = NULL;
    st = er_session_create(m, &opts, &s, &msg);
    case_result r;
    if (st != ER_OK) {
        snprintf(why, why_size, "session: %s", msg.text);
        r = st == ER_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
    } else {
        r = run_sets(s, m, case_dir, why, why_size);
    }
    er_session_free(s);
    er_model_free(m);
    return r;
}

/* Lines "case_name  reason"; blank lines and lines starting with '#' are ignored. */
static bool load_expect(const char *path, expect_list *x)
{
    memset(x, 0, sizeof *x);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == 0) continue;
        size_t n = strcspn(p, " \t\r\n");
        char *reason = p + n + strspn(p + n, " \t");
        reason[strcspn(reason, "\r\n")] = 0;
        char **names = realloc(x->names, sizeof *names * (size_t)(x->n + 1));
        char **reasons = names ? realloc(x->reasons, sizeof *reasons * (size_t)(x->n + 1)) : NULL;
        if (names) x->names = names;
        if (reasons) x->reasons = reasons;
        if (!names || !reasons) break;
        x->names[x->n] = strndup(p, n);
        x->reasons[x->n] = strdup(reason);
        x->n++;
    }
    fclose(f);
    return true;
}

static const char *expected_reason(const expect_list *x, const char *name)
{
    for (int i = 0; i < x->n; i++)
        if (x->names[i] && strcmp(x->names[i], name) == 0) return x->reasons[i] ? x->reasons[i] : "";
    return NULL;
}

static void free_expect(expect_list *x)
{
    free_list(x->names, x->n);
    free_list(x->reasons, x->n);
}

static int usage(void)
{
    fprintf(stderr, "usage: conformance DATA_DIR/node [--filter SUBSTR] [--expect-fail FILE] [-v]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *root = NULL, *filter = NULL, *expect_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) filter = argv[++i];
        else if (strcmp(argv[i], "--expect-fail") == 0 && i + 1 < argc) expect_path = argv[++i];
        else if (strcmp(argv[i], "-v") == 0) verbose = true;
        else if (argv[i][0] != '-' && !root) root = argv[i];
        else return usage();
    }
    if (!root) return usage();
    expect_list expect = { 0 };
    if (expect_path && !load_expect(expect_path, &expect)) {
        fprintf(stderr, "conformance: cannot read %s\n", expect_path);
        return 2;
    }
    int n_cases;
    char **cases = list_dir(root, "", &n_cases);
    if (!cases) {
        fprintf(stderr, "conformance: cannot list %s\n", root);
        free_expect(&expect);
        return 2;
    }
    int passed = 0, failed = 0, skipped = 0, unexpected = 0, expected = 0;
    char dir[4096], why[2048];
    for (int i = 0; i < n_cases; i++) {
        if (filter && !strstr(cases[i], filter)) continue;
        char model[4096];
        if (!join(dir, sizeof dir, root, cases[i]) || !join(model, sizeof model, dir, "model.onnx") || !exists(model))
            continue;
        why[0] = 0;
        case_result r = run_case(dir, why, sizeof why);
        const char *xr = expected_reason(&expect, cases[i]);
        if (r == CASE_PASS) {
            passed++;
            if (xr) printf("XPASS %s: listed as expected to fail (%s)\n", cases[i], xr);
            else if (verbose) printf("PASS  %s\n", cases[i]);
        } else if (r == CASE_SKIP) {
            skipped++;
            printf("SKIP  %s: %s\n", cases[i], why);
        } else {
            failed++;
            if (xr) expected++; else unexpected++;
            printf("%s %s: %s\n", xr ? "XFAIL" : "FAIL ", cases[i], why);
        }
        fflush(stdout);
    }
    int run = passed + failed;
    if (expect_path) printf("conformance: %d of the failures are listed in %s\n", expected, expect_path);
    printf("conformance: %d passed, %d failed, %d skipped (unsupported ops), %d run\n", passed, failed, skipped, run);
    free_list(cases, n_cases);
    free_expect(&expect);
    bool low = run > 0 && (double)passed / run < MIN_PASS_RATE;
    if (low) printf("conformance: pass rate %.1f%% is below %.0f%%\n", 100.0 * passed / run, 100 * MIN_PASS_RATE);
    return unexpected || low ? 1 : 0;
}
