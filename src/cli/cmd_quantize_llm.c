/* edgerun quantize-llm IN.gguf OUT.gguf --type q8_0|q4_0|q4_k */
#include <string.h>

#include "cli/cli.h"
#include "edgerun_llm.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: edgerun quantize-llm IN.gguf OUT.gguf --type q8_0|q4_0|q4_k|f16\n"
               "\n"
               "Rewrites a GGUF language model with its 2-D weights requantized (rows that do not fit\n"
               "the block size keep their type; K-quants fall back to q8_0). Metadata is copied.\n");
}

int cmd_quantize_llm(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *type = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_OK;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--type", NULL, &v)) != 0) {
            if (r < 0) return cli_usage("quantize-llm", "--type needs a value");
            type = v;
            continue;
        }
        if (argv[i][0] == '-') return cli_usage("quantize-llm", "unknown option '%s'", argv[i]);
        if (!in) in = argv[i];
        else if (!out) out = argv[i];
        else return cli_usage("quantize-llm", "unexpected argument '%s'", argv[i]);
    }
    if (!in || !out) return cli_usage("quantize-llm", "need IN.gguf and OUT.gguf");
    if (!type) return cli_usage("quantize-llm", "missing --type");
    if (strcmp(in, out) == 0) return cli_usage("quantize-llm", "IN and OUT must differ (the input is mapped)");
    er_msg msg;
    if (er_llm_quantize(in, out, type, &msg) != ER_OK) return cli_error("%s", msg.text);
    return CLI_OK;
}
