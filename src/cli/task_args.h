/* Options shared by the classify, detect and sentiment subcommands. */
#ifndef ER_CLI_TASK_ARGS_H
#define ER_CLI_TASK_ARGS_H

#include "cli/cli.h"
#include "edgerun_tasks.h"

/* Preprocessing flags given on the command line, applied over the sidecar's values. */
typedef struct task_vision_flags {
    const char *size, *mean, *std, *layout, *labels, *resize;
    bool bgr, no_letterbox;
    int n_threads;
} task_vision_flags;

/* Handles --size, --mean, --std, --layout, --resize, --bgr, --labels, --threads at argv[*i]. Returns 1
 * when consumed, 0 when not one of these, or the usage exit status (> 1) after a message. */
int task_vision_arg(const char *cmd, task_vision_flags *f, int argc, char **argv, int *i);

/* Options from MODEL's sidecar, then the flags. Returns CLI_OK or an exit status. */
int task_vision_options(const char *cmd, const char *model, const task_vision_flags *f,
                        er_vision_options *o);

/* Writes DIR/input.npy and DIR/output.npy (the preprocessed input and raw model output). */
int task_save_tensors(const char *dir, const er_tensor_view *input, const er_tensor_view *output);

/* A float in [lo, hi]; false when s is not one. */
bool task_parse_float(const char *s, float lo, float hi, float *out);

#endif
