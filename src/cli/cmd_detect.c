/* edgerun detect: YOLO-family object detection on an image. */
#include <string.h>

#include "cli/task_args.h"

typedef struct detect_args {
    const char *model, *image, *draw, *save;
    bool json;
    task_vision_flags vision;
    er_detect_options opts;
} detect_args;

static void detect_usage(FILE *f)
{
    fprintf(f,
            "Usage: edgerun detect MODEL IMAGE [OPTIONS]\n"
            "\n"
            "Finds objects with a YOLO-family model: output [1, N, 5+C] (YOLOv5, with\n"
            "objectness) or [1, 4+C, N] (YOLOv8), boxes as cx, cy, w, h in input pixels. The\n"
            "image is letterboxed to the input size; boxes are mapped back to image pixels.\n"
            "Preprocessing comes from MODEL.json beside the model when present.\n"
            "\n"
            "Options:\n"
            "  --conf C             minimum score, 0..1 (default 0.25)\n"
            "  --iou I              class-wise NMS overlap threshold, 0..1 (default 0.45)\n"
            "  --max-det N          most boxes kept (default 300)\n"
            "  --format auto|v5|v8  output layout (default: from the shape)\n"
            "  --labels FILE        class names, one per line\n"
            "  --size N|WxH, --mean M|R,G,B, --std S|R,G,B, --layout nchw|nhwc, --bgr,\n"
            "  --resize bilinear|area,\n"
            "  --no-letterbox       preprocessing, as for classify (default mean 0, std 1)\n"
            "  --draw OUT.png       write the image with labelled boxes\n"
            "  --json               print the boxes as JSON\n"
            "  --save-tensors DIR   write DIR/input.npy (preprocessed) and DIR/output.npy\n"
            "  --threads N          worker threads (default: one per core)\n"
            "  -h, --help           show this help\n"
            "\n"
            "Prints one line per box: label, score, x0 y0 x1 y1 (image pixels).\n");
}

static int parse_number(int argc, char **argv, int *i, detect_args *a, int *handled)
{
    const char *v = NULL;
    int r;
    *handled = 1;
    if ((r = cli_opt_value(argc, argv, i, "--conf", NULL, &v)) != 0) {
        if (r < 0 || !task_parse_float(v, 0, 1, &a->opts.conf)) return cli_usage("detect", "--conf expects a number in [0, 1]");
    } else if ((r = cli_opt_value(argc, argv, i, "--iou", NULL, &v)) != 0) {
        if (r < 0 || !task_parse_float(v, 0, 1, &a->opts.iou)) return cli_usage("detect", "--iou expects a number in [0, 1]");
    } else if ((r = cli_opt_value(argc, argv, i, "--max-det", NULL, &v)) != 0) {
        long long n;
        if (r < 0 || !cli_parse_int(v, 1, 100000, &n)) return cli_usage("detect", "--max-det expects a number from 1 to 100000");
        a->opts.max_det = (int)n;
    } else if ((r = cli_opt_value(argc, argv, i, "--format", NULL, &v)) != 0) {
        if (r > 0 && strcmp(v, "auto") == 0) a->opts.format = ER_YOLO_AUTO;
        else if (r > 0 && strcmp(v, "v5") == 0) a->opts.format = ER_YOLO_V5;
        else if (r > 0 && strcmp(v, "v8") == 0) a->opts.format = ER_YOLO_V8;
        else return cli_usage("detect", "--format expects auto, v5 or v8");
    } else {
        *handled = 0;
    }
    return CLI_OK;
}

static int parse_args(int argc, char **argv, detect_args *a)
{
    memset(a, 0, sizeof(*a));
    er_detect_options_init(&a->opts);
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r, handled;
        if (cli_is_help(argv[i])) {
            detect_usage(stdout);
            return CLI_OK;
        }
        if ((r = task_vision_arg("detect", &a->vision, argc, argv, &i)) != 0) {
            if (r != 1) return r;
        } else if ((r = parse_number(argc, argv, &i, a, &handled)) != CLI_OK || handled) {
            if (r != CLI_OK) return r;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if ((r = cli_opt_value(argc, argv, &i, "--draw", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("detect", "--draw needs an output PNG path");
            a->draw = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--save-tensors", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("detect", "--save-tensors needs a folder");
            a->save = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage("detect", "unknown option '%s'", argv[i]);
        } else if (!a->model) {
            a->model = argv[i];
        } else if (!a->image) {
            a->image = argv[i];
        } else {
            return cli_usage("detect", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!a->image) return cli_usage("detect", "expected MODEL and IMAGE");
    return -1;
}

static void print_result(const detect_args *a, const er_image *img, const er_detect_result *r)
{
    if (!a->json) {
        for (int i = 0; i < r->count; i++) {
            const er_detection *e = &r->items[i];
            if (e->label) printf("%s", e->label);
            else printf("class %d", e->class_id);
            printf("\t%.4f\t%.1f %.1f %.1f %.1f\n", e->score, e->x0, e->y0, e->x1, e->y1);
        }
        return;
    }
    printf("{\"model\": ");
    cli_json_str(stdout, a->model);
    printf(", \"image\": ");
    cli_json_str(stdout, a->image);
    printf(", \"width\": %d, \"height\": %d, \"candidates\": %d, \"detections\": [", img->width,
           img->height, r->candidates);
    for (int i = 0; i < r->count; i++) {
        const er_detection *e = &r->items[i];
        printf("%s\n  {\"class\": %d, \"label\": ", i ? "," : "", e->class_id);
        if (e->label) cli_json_str(stdout, e->label);
        else printf("null");
        printf(", \"score\": %.6g, \"box\": [%.6g, %.6g, %.6g, %.6g]}", e->score, e->x0, e->y0, e->x1, e->y1);
    }
    printf("%s]}\n", r->count ? "\n" : "");
}

static int finish(const detect_args *a, er_detector *d, er_image *img, const er_detect_result *r)
{
    print_result(a, img, r);
    if (a->save) {
        er_tensor_view in, out;
        if (er_detect_tensors(d, &in, &out) != ER_OK) return cli_error("no tensors to save");
        int rc = task_save_tensors(a->save, &in, &out);
        if (rc != CLI_OK) return rc;
    }
    if (a->draw) {
        er_msg msg;
        er_detect_draw(img, r);
        if (er_image_write_png(a->draw, img, &msg) != ER_OK) return cli_error("%s", msg.text);
    }
    return CLI_OK;
}

int cmd_detect(int argc, char **argv)
{
    detect_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    if ((rc = task_vision_options("detect", a.model, &a.vision, &a.opts.vision)) != CLI_OK) return rc;
    er_msg msg;
    er_image img;
    if (er_image_load(a.image, &img, &msg) != ER_OK) return cli_error("%s", msg.text);
    er_detector *d = NULL;
    if (er_detect_create(a.model, &a.opts, &d, &msg) != ER_OK) {
        er_image_free(&img);
        return cli_error("%s", msg.text);
    }
    er_detect_result res;
    if (er_detect_run(d, &img, &res) != ER_OK) {
        rc = cli_error("detect on '%s': %s", a.image, er_detect_error(d));
    } else {
        rc = finish(&a, d, &img, &res);
        er_detect_result_free(&res);
    }
    er_detect_free(d);
    er_image_free(&img);
    return rc;
}
