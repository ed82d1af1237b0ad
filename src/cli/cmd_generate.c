/* edgerun generate MODEL.gguf -p PROMPT ...: streams generated text to stdout. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/threadpool.h"
#include "edgerun_llm.h"

#define MAX_STOPS 16

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: edgerun generate MODEL.gguf -p PROMPT [OPTIONS]\n"
            "\n"
            "Generates text with a GGUF language model (llama, qwen2), streaming it to stdout.\n"
            "\n"
            "  -p, --prompt TEXT     prompt (required)\n"
            "  -n, --max-tokens N    tokens to generate (default 128, -1: until the context is full)\n"
            "  --temp T              temperature, 0 = greedy (default 0.8)\n"
            "  --top-k K             (default 40, 0 = off)\n"
            "  --top-p P             (default 0.95, 1 = off)\n"
            "  --min-p P             (default 0.05, 0 = off)\n"
            "  --repeat-penalty R    (default 1.0 = off)\n"
            "  --seed S              sampling seed (default 0)\n"
            "  --stop TEXT           stop when TEXT is generated (repeatable)\n"
            "  --threads N           threads (default: all cores)\n"
            "  --ctx N               context length (default: the model's, at most 4096)\n"
            "  --chat                wrap the prompt in the model's chat template\n"
            "  --json                print one JSON object: text, tokens/s, time to first token, peak RSS\n");
}

typedef struct out_ctx {
    bool json;
    char *text;
    size_t len, cap;
    bool oom;
} out_ctx;

static int on_text(void *user, const char *s, size_t n)
{
    out_ctx *o = user;
    if (!o->json) {
        fwrite(s, 1, n, stdout);
        fflush(stdout);
        return 0;
    }
    if (o->len + n + 1 > o->cap) {
        size_t nc = (o->len + n + 1) * 2;
        char *p = realloc(o->text, nc);
        if (!p) {
            o->oom = true;
            return 1;
        }
        o->text = p;
        o->cap = nc;
    }
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = 0;
    return 0;
}

static bool parse_float(const char *s, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) return false;
    *out = (float)v;
    return true;
}

typedef struct gen_args {
    const char *model, *prompt;
    er_llm_options opts;
    er_llm_gen_params gp;
    const char *stops[MAX_STOPS];
    bool json;
} gen_args;

/* Returns -1 to continue, otherwise the exit code. */
static int parse_args(int argc, char **argv, gen_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        long long iv;
        int r;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--chat") == 0) { a->gp.chat = 1; continue; }
        if (strcmp(argv[i], "--json") == 0) { a->json = true; continue; }
#define OPT(name, alias) ((r = cli_opt_value(argc, argv, &i, name, alias, &v)) != 0)
        if (OPT("--prompt", "-p")) { if (r < 0) return cli_usage("generate", "%s needs a value", argv[i]); a->prompt = v; continue; }
        if (OPT("--max-tokens", "-n")) {
            if (r < 0 || !cli_parse_int(v, -1, 1 << 24, &iv)) return cli_usage("generate", "-n needs an integer >= -1");
            a->gp.max_tokens = (int)iv;
            continue;
        }
        if (OPT("--seed", NULL)) {
            if (r < 0 || !cli_parse_int(v, 0, INT64_MAX, &iv)) return cli_usage("generate", "--seed needs a non-negative integer");
            a->gp.seed = (uint64_t)iv;
            continue;
        }
        if (OPT("--top-k", NULL)) {
            if (r < 0 || !cli_parse_int(v, 0, 1 << 24, &iv)) return cli_usage("generate", "--top-k needs an integer >= 0");
            a->gp.top_k = (int)iv;
            continue;
        }
        if (OPT("--threads", "-t")) {
            if (r < 0 || !cli_parse_int(v, 1, 1024, &iv)) return cli_usage("generate", "--threads needs an integer >= 1");
            a->opts.n_threads = (int)iv;
            continue;
        }
        if (OPT("--ctx", "-c")) {
            if (r < 0 || !cli_parse_int(v, 8, 1 << 20, &iv)) return cli_usage("generate", "--ctx needs an integer >= 8");
            a->opts.n_ctx = (int)iv;
            continue;
        }
        if (OPT("--temp", NULL)) { if (r < 0 || !parse_float(v, &a->gp.temperature)) return cli_usage("generate", "--temp needs a number"); continue; }
        if (OPT("--top-p", NULL)) { if (r < 0 || !parse_float(v, &a->gp.top_p)) return cli_usage("generate", "--top-p needs a number"); continue; }
        if (OPT("--min-p", NULL)) { if (r < 0 || !parse_float(v, &a->gp.min_p)) return cli_usage("generate", "--min-p needs a number"); continue; }
        if (OPT("--repeat-penalty", NULL)) {
            if (r < 0 || !parse_float(v, &a->gp.repeat_penalty) || a->gp.repeat_penalty <= 0)
                return cli_usage("generate", "--repeat-penalty needs a positive number");
            continue;
        }
        if (OPT("--stop", NULL)) {
            if (r < 0 || a->gp.n_stop == MAX_STOPS) return cli_usage("generate", "--stop needs a value (at most %d)", MAX_STOPS);
            a->stops[a->gp.n_stop++] = v;
            continue;
        }
#undef OPT
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage("generate", "unknown option '%s'", argv[i]);
        if (a->model) return cli_usage("generate", "unexpected argument '%s'", argv[i]);
        a->model = argv[i];
    }
    if (!a->model) return cli_usage("generate", "missing MODEL.gguf");
    if (!a->prompt) return cli_usage("generate", "missing -p PROMPT");
    a->gp.stop = a->stops;
    return -1;
}

static void print_json(const out_ctx *o, const er_llm_stats *st, const er_llm_info *info, int n_threads)
{
    printf("{\"text\": ");
    cli_json_str(stdout, o->text ? o->text : "");
    printf(", \"prompt_tokens\": %d, \"generated_tokens\": %d", st->n_prompt, st->n_generated);
    printf(", \"prompt_tokens_per_s\": %.3f", st->prompt_seconds > 0 ? st->n_prompt / st->prompt_seconds : 0.0);
    printf(", \"generation_tokens_per_s\": %.3f", st->decode_seconds > 0 ? st->n_decoded / st->decode_seconds : 0.0);
    printf(", \"time_to_first_token_ms\": %.3f", st->first_token_seconds * 1e3);
    printf(", \"peak_rss_bytes\": %zu, \"file_bytes\": %zu, \"kv_cache_bytes\": %zu", er_peak_rss(), info->file_bytes,
           info->kv_cache_bytes);
    printf(", \"threads\": %d, \"kernels\": \"%s\", \"stop_reason\": \"%s\"}\n", n_threads, info->kernels,
           st->stop_reason ? st->stop_reason : "");
}

int cmd_generate(int argc, char **argv)
{
    gen_args a = {0};
    er_llm_options_init(&a.opts);
    er_llm_gen_params_init(&a.gp);
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    er_msg msg;
    er_llm *llm;
    if (er_llm_load(a.model, &a.opts, &llm, &msg) != ER_OK) return cli_error("%s", msg.text);
    er_llm_info info;
    er_llm_get_info(llm, &info);
    out_ctx o = {.json = a.json};
    er_llm_stats st;
    er_status s = er_llm_generate(llm, a.prompt, &a.gp, on_text, &o, &st);
    if (s != ER_OK) {
        rc = cli_error("%s", er_llm_error(llm));
    } else if (o.oom) {
        rc = cli_error("out of memory");
    } else {
        if (a.json) print_json(&o, &st, &info, a.opts.n_threads > 0 ? a.opts.n_threads : er_cpu_count());
        else printf("\n");
        rc = CLI_OK;
    }
    free(o.text);
    er_llm_free(llm);
    return rc;
}
