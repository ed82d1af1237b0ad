/* edgerun command-line tool: dispatches to the subcommands. */
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: edgerun COMMAND [OPTIONS]\n"
            "\n"
            "Commands:\n"
            "  inspect MODEL     inputs, outputs, op histogram, parameters, MACs, memory plan\n"
            "  run MODEL         run a model on .npy inputs and write .npy outputs\n"
            "  bench MODEL       measure load time, latency, throughput and peak memory\n"
            "  ocr IMAGE         read text in an image (PP-OCR models)\n"
            "  classify MODEL IMAGE   top classes of an image\n"
            "  detect MODEL IMAGE     objects in an image (YOLO-family models)\n"
            "  sentiment MODEL TEXT   classify text (BERT-family models)\n"
            "  quantize IN OUT   INT8 post-training quantization into a QDQ ONNX model\n"
            "  generate MODEL    generate text with a GGUF language model\n"
            "  quantize-llm IN OUT  requantize a GGUF language model (q8_0, q4_0, q4_k)\n"
            "\n"
            "Options:\n"
            "  -h, --help        show this help (also after a command)\n"
            "  --version         print the version\n"
            "\n"
            "Exit status: 0 success, 1 error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "edgerun: missing command\n");
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd)) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("edgerun %s\n", ER_VERSION_STRING);
        return CLI_OK;
    }
    if (strcmp(cmd, "inspect") == 0) return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "ocr") == 0) return cmd_ocr(argc - 1, argv + 1);
    if (strcmp(cmd, "classify") == 0) return cmd_classify(argc - 1, argv + 1);
    if (strcmp(cmd, "detect") == 0) return cmd_detect(argc - 1, argv + 1);
    if (strcmp(cmd, "sentiment") == 0) return cmd_sentiment(argc - 1, argv + 1);
    if (strcmp(cmd, "quantize") == 0) return cmd_quantize(argc - 1, argv + 1);
    if (strcmp(cmd, "generate") == 0) return cmd_generate(argc - 1, argv + 1);
    if (strcmp(cmd, "quantize-llm") == 0) return cmd_quantize_llm(argc - 1, argv + 1);
    if (cmd[0] == '-') return cli_usage(NULL, "unknown option '%s'", cmd);
    return cli_usage(NULL, "unknown command '%s'", cmd);
}
