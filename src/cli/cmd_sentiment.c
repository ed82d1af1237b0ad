/* edgerun sentiment: text classification with a BERT-family model. */
#include <stdlib.h>
#include <string.h>

#include "cli/task_args.h"

#define SENTIMENT_MAX_LINE (1 << 20)

typedef struct sentiment_args {
    const char *model, *text, *vocab, *labels;
    bool json, tokens, cased;
    int max_length, n_threads;
} sentiment_args;

static void sentiment_usage(FILE *f)
{
    fprintf(f,
            "Usage: edgerun sentiment MODEL TEXT [OPTIONS]\n"
            "\n"
            "Classifies TEXT (UTF-8; '-' reads one text per line from standard input) with a\n"
            "BERT-family model whose inputs are input_ids, attention_mask and token_type_ids.\n"
            "Tokenizer settings come from MODEL.json beside the model when present (keys vocab,\n"
            "labels, lowercase, max_length); the options override them.\n"
            "\n"
            "Options:\n"
            "  --vocab FILE        WordPiece vocabulary (vocab.txt)\n"
            "  --labels FILE       class names, one per line\n"
            "  --cased             keep case and accents (cased models)\n"
            "  --max-length N      tokens kept, [CLS] and [SEP] included (default 128)\n"
            "  --tokens            print the token ids instead of classifying\n"
            "  --json              print the result as JSON\n"
            "  --threads N         worker threads (default: one per core)\n"
            "  -h, --help          show this help\n"
            "\n"
            "Prints the label and its probability.\n");
}

static int parse_args(int argc, char **argv, sentiment_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        long long n;
        if (cli_is_help(argv[i])) {
            sentiment_usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--json") == 0) a->json = true;
        else if (strcmp(argv[i], "--tokens") == 0) a->tokens = true;
        else if (strcmp(argv[i], "--cased") == 0) a->cased = true;
        else if ((r = cli_opt_value(argc, argv, &i, "--vocab", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("sentiment", "--vocab needs a file");
            a->vocab = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--labels", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("sentiment", "--labels needs a file");
            a->labels = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--max-length", NULL, &v)) != 0) {
            if (r < 0 || !cli_parse_int(v, 2, 4096, &n)) return cli_usage("sentiment", "--max-length expects a number from 2 to 4096");
            a->max_length = (int)n;
        } else if ((r = cli_opt_value(argc, argv, &i, "--threads", "-t", &v)) != 0) {
            if (r < 0 || !cli_parse_int(v, 0, 1024, &n)) return cli_usage("sentiment", "--threads expects a number from 0 to 1024");
            a->n_threads = (int)n;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage("sentiment", "unknown option '%s'", argv[i]);
        } else if (!a->model) {
            a->model = argv[i];
        } else if (!a->text) {
            a->text = argv[i];
        } else {
            return cli_usage("sentiment", "unexpected argument '%s' (quote the text)", argv[i]);
        }
    }
    if (!a->text) return cli_usage("sentiment", "expected MODEL and TEXT");
    return -1;
}

static int print_tokens(er_text_classifier *tc, const char *text)
{
    int n = 0;
    if (er_text_classify_tokenize(tc, text, NULL, 0, &n) != ER_OK) return cli_error("%s", er_text_classify_error(tc));
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
    if (!ids) return cli_error("out of memory");
    er_text_classify_tokenize(tc, text, ids, n, &n);
    for (int k = 0; k < n; k++) printf("%s%d", k ? " " : "", ids[k]);
    printf("\n");
    free(ids);
    return CLI_OK;
}

static int classify_one(const sentiment_args *a, er_text_classifier *tc, const char *text)
{
    if (a->tokens) return print_tokens(tc, text);
    er_text_result r;
    if (er_text_classify_run(tc, text, &r) != ER_OK) return cli_error("%s", er_text_classify_error(tc));
    if (!a->json) {
        if (r.label) printf("%s\t%.4f\n", r.label, r.prob);
        else printf("class %d\t%.4f\n", r.index, r.prob);
        return CLI_OK;
    }
    printf("{\"text\": ");
    cli_json_str(stdout, text);
    printf(", \"label\": ");
    if (r.label) cli_json_str(stdout, r.label);
    else printf("null");
    printf(", \"index\": %d, \"score\": %.6g, \"tokens\": %d, \"probs\": [", r.index, r.prob, r.n_tokens);
    for (int k = 0; k < r.n_classes && k < (int)(sizeof(r.probs) / sizeof(r.probs[0])); k++)
        printf("%s%.6g", k ? ", " : "", r.probs[k]);
    printf("]}\n");
    return CLI_OK;
}

static int classify_stdin(const sentiment_args *a, er_text_classifier *tc)
{
    char *line = malloc(SENTIMENT_MAX_LINE);
    if (!line) return cli_error("out of memory");
    int rc = CLI_OK;
    while (rc == CLI_OK && fgets(line, SENTIMENT_MAX_LINE, stdin)) {
        line[strcspn(line, "\n")] = 0;
        rc = classify_one(a, tc, line);
    }
    free(line);
    return rc;
}

int cmd_sentiment(int argc, char **argv)
{
    sentiment_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    er_text_options opts;
    er_text_options_init(&opts);
    er_msg msg;
    if (er_text_options_load_sidecar(a.model, &opts, NULL, &msg) != ER_OK) return cli_error("%s", msg.text);
    if (a.vocab) snprintf(opts.vocab, sizeof(opts.vocab), "%s", a.vocab);
    if (a.labels) snprintf(opts.labels, sizeof(opts.labels), "%s", a.labels);
    if (a.cased) opts.lowercase = 0;
    if (a.max_length) opts.max_length = a.max_length;
    opts.n_threads = a.n_threads;
    er_text_classifier *tc = NULL;
    if (er_text_classify_create(a.model, &opts, &tc, &msg) != ER_OK) return cli_error("%s", msg.text);
    rc = strcmp(a.text, "-") == 0 ? classify_stdin(&a, tc) : classify_one(&a, tc, a.text);
    er_text_classify_free(tc);
    return rc;
}
