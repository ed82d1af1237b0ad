/* Shared pieces of the edgerun command-line tool: exit codes, messages, option parsing,
 * input binding and a minimal JSON writer. */
#ifndef ER_CLI_H
#define ER_CLI_H

#include <stdio.h>

#include "core/common.h"
#include "edgerun.h"
#include "ir/graph.h"

enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

#define CLI_MAX_ITEMS 64

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_ocr(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_sentiment(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_quantize_llm(int argc, char **argv);

/* "edgerun: <message>" on stderr; returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like cli_error, plus a hint to `edgerun <cmd> --help`; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool cli_is_help(const char *arg);

/* Matches argv[*i] against an option taking a value ("--name V", "--name=V", or the short
 * alias followed by V). Returns 1 with *val set (and *i advanced past a separate value),
 * 0 when argv[*i] is another argument, -1 when the value is missing. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char *alias,
                  const char **val);

/* Integer in [min, max]; false when s is not one. */
bool cli_parse_int(const char *s, long long min, long long max, long long *out);

/* Options shared by the subcommands that open a session. */
typedef struct cli_dim {
    char name[128];
    int64_t value;
    bool used;
} cli_dim;

typedef struct cli_input_spec {
    const char *arg;      /* NAME=FILE.npy or FILE.npy as given */
} cli_input_spec;

typedef struct cli_common {
    er_session_options opts;
    cli_dim dims[CLI_MAX_ITEMS];
    int n_dims;
    cli_input_spec inputs[CLI_MAX_ITEMS];
    int n_inputs;
} cli_common;

void cli_common_init(cli_common *c);
/* Handles --threads, --opt and, when wanted, --dim and -i/--input at argv[*i]. Returns 1
 * when consumed, 0 when not one of these, -1 after printing a usage error. */
int cli_common_arg(const char *cmd, cli_common *c, int argc, char **argv, int *i,
                   bool want_inputs, bool want_dims);

/* Loads the model and creates a session, printing the message on failure. */
int cli_open(const char *path, const er_session_options *opts, er_model **model,
             er_session **session);

/* The shape planning uses for a declared input: symbolic dims come from --dim NAME=VALUE
 * (matched by dim name) or default to 1. Fails (printed) when the rank is unknown. */
int cli_planning_shape(const er_value_info *info, cli_dim *dims, int n_dims, int64_t *shape);
/* Reports --dim names that matched no symbolic dimension. */
int cli_check_dims_used(const char *cmd, const cli_dim *dims, int n_dims);

/* Reads each -i file and binds it; *bound[k] is set for model input k that got data.
 * Messages name the input and the expected vs. given dtype/shape. */
int cli_bind_inputs(const char *cmd, const er_model *model, er_session *s,
                    const cli_input_spec *specs, int n_specs, bool *bound);

/* "[batch,3,224,224]": symbolic dims by name, unnamed unknown ones as '?'. */
const char *cli_declared_shape_str(const er_value_info *info, char *buf, size_t size);

/* JSON output: strings escaped per RFC 8259. */
void cli_json_str(FILE *f, const char *s);
void cli_json_declared_shape(FILE *f, const er_value_info *info);
void cli_json_shape(FILE *f, const int64_t *dims, int ndim);

/* "12.3 MiB" style. */
const char *cli_bytes_str(double bytes, char *buf, size_t size);

/* Multiply-accumulates of one node of er_session_graph(s) from its planned shapes. Returns
 * false for ops that are not counted; *macs = -1 when the shapes needed are unknown. */
bool cli_node_macs(const er_session *s, const er_node *n, int64_t *macs);

#endif
