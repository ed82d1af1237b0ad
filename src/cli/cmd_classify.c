/* edgerun classify: top-K classes of an image. */
#include <string.h>

#include "cli/task_args.h"

#define CLASSIFY_MAX_K 1000

typedef struct classify_args {
    const char *model, *image, *save;
    int top_k;
    bool json;
    task_vision_flags vision;
} classify_args;

static void classify_usage(FILE *f)
{
    fprintf(f,
            "Usage: edgerun classify MODEL IMAGE [OPTIONS]\n"
            "\n"
            "Classifies a JPEG, PNG or BMP image and prints the top classes with their softmax\n"
            "probabilities. Preprocessing comes from MODEL.json beside the model when present\n"
            "(keys size, mean, std, layout, bgr, letterbox, labels); the options override it.\n"
            "\n"
            "Options:\n"
            "  --top K              classes to print (default 5)\n"
            "  --labels FILE        class names, one per line\n"
            "  --size N|WxH         input size when the model does not fix it\n"
            "  --mean M|R,G,B       subtracted from pixel/255 (default 0)\n"
            "  --std S|R,G,B        divides after the mean (default 1)\n"
            "  --layout nchw|nhwc   input tensor layout (default nchw)\n"
            "  --resize bilinear|area  resampling (area averages when shrinking; default bilinear)\n"
            "  --bgr                feed channels in B, G, R order\n"
            "  --no-letterbox       stretch to the input size even if the sidecar asks to pad\n"
            "  --json               print the result as JSON\n"
            "  --save-tensors DIR   write DIR/input.npy (preprocessed) and DIR/output.npy\n"
            "  --threads N          worker threads (default: one per core)\n"
            "  -h, --help           show this help\n");
}

static int parse_args(int argc, char **argv, classify_args *a)
{
    memset(a, 0, sizeof(*a));
    a->top_k = 5;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (cli_is_help(argv[i])) {
            classify_usage(stdout);
            return CLI_OK;
        }
        if ((r = task_vision_arg("classify", &a->vision, argc, argv, &i)) != 0) {
            if (r != 1) return r;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if ((r = cli_opt_value(argc, argv, &i, "--top", "-k", &v)) != 0) {
            long long k;
            if (r < 0 || !cli_parse_int(v, 1, CLASSIFY_MAX_K, &k))
                return cli_usage("classify", "--top expects a number from 1 to %d", CLASSIFY_MAX_K);
            a->top_k = (int)k;
        } else if ((r = cli_opt_value(argc, argv, &i, "--save-tensors", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("classify", "--save-tensors needs a folder");
            a->save = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage("classify", "unknown option '%s'", argv[i]);
        } else if (!a->model) {
            a->model = argv[i];
        } else if (!a->image) {
            a->image = argv[i];
        } else {
            return cli_usage("classify", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!a->image) return cli_usage("classify", "expected MODEL and IMAGE");
    return -1;
}

static void print_result(const classify_args *a, const er_class_score *s, int n, int n_classes)
{
    if (!a->json) {
        for (int k = 0; k < n; k++) {
            if (s[k].label) printf("%s\t%.4f\n", s[k].label, s[k].prob);
            else printf("class %d\t%.4f\n", s[k].index, s[k].prob);
        }
        return;
    }
    printf("{\"model\": ");
    cli_json_str(stdout, a->model);
    printf(", \"image\": ");
    cli_json_str(stdout, a->image);
    printf(", \"classes\": %d, \"top\": [", n_classes);
    for (int k = 0; k < n; k++) {
        printf("%s\n  {\"index\": %d, \"label\": ", k ? "," : "", s[k].index);
        if (s[k].label) cli_json_str(stdout, s[k].label);
        else printf("null");
        printf(", \"prob\": %.6g, \"logit\": %.6g}", s[k].prob, s[k].logit);
    }
    printf("%s]}\n", n ? "\n" : "");
}

int cmd_classify(int argc, char **argv)
{
    classify_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    er_vision_options opts;
    er_vision_options_init(&opts);
    if ((rc = task_vision_options("classify", a.model, &a.vision, &opts)) != CLI_OK) return rc;
    er_msg msg;
    er_image img;
    if (er_image_load(a.image, &img, &msg) != ER_OK) return cli_error("%s", msg.text);
    er_classifier *c = NULL;
    if (er_classify_create(a.model, &opts, &c, &msg) != ER_OK) {
        er_image_free(&img);
        return cli_error("%s", msg.text);
    }
    er_class_score top[CLASSIFY_MAX_K];
    int n = 0;
    if (er_classify_run(c, &img, a.top_k, top, &n) != ER_OK) {
        rc = cli_error("classify '%s': %s", a.image, er_classify_error(c));
    } else {
        print_result(&a, top, n, er_classify_num_classes(c));
        er_tensor_view in, out;
        rc = CLI_OK;
        if (a.save) {
            if (er_classify_tensors(c, &in, &out) != ER_OK) rc = cli_error("no tensors to save");
            else rc = task_save_tensors(a.save, &in, &out);
        }
    }
    er_classify_free(c);
    er_image_free(&img);
    return rc;
}
