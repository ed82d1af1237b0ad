/* Pieces shared by the classify, detect and text-classification pipelines: the JSON sidecar
 * reader, model/session opening and image-to-tensor preprocessing. */
#ifndef ER_TASKS_TASK_COMMON_H
#define ER_TASKS_TASK_COMMON_H

#include <stdarg.h>

#include "core/common.h"
#include "edgerun_tasks.h"

/* A flat JSON object as the sidecars use it: string, number, bool and arrays of those. */
#define ER_SIDECAR_MAX_KEYS 32
#define ER_SIDECAR_MAX_ITEMS 8

typedef enum { ER_JSON_NUM, ER_JSON_STR, ER_JSON_BOOL, ER_JSON_ARRAY } er_json_kind;

typedef struct er_json_value {
    char key[64];
    er_json_kind kind;
    double num[ER_SIDECAR_MAX_ITEMS]; /* numbers of an array, or num[0]; bools as 0/1 */
    int n_items;
    char str[ER_TASK_PATH_MAX];
} er_json_value;

typedef struct er_sidecar {
    char dir[ER_TASK_PATH_MAX];       /* folder of the JSON file, for relative paths */
    char path[ER_TASK_PATH_MAX];
    int n;
    er_json_value values[ER_SIDECAR_MAX_KEYS];
} er_sidecar;

/* Finds and parses the sidecar of model_path; *found = 0 (and ER_OK) when none exists. */
er_status er_sidecar_read(const char *model_path, er_sidecar *sc, int *found, er_msg *msg);
/* Reads MODEL's sidecar, when there is one, and hands it to apply(sc, opts, msg): the shared
 * part of every task's *_options_load_sidecar. msg and found may be NULL. */
typedef er_status (*er_sidecar_apply_fn)(const er_sidecar *sc, void *opts, er_msg *msg);
er_status er_sidecar_load(const char *model_path, void *opts, er_sidecar_apply_fn apply, int *found,
                          er_msg *msg);
/* Parses JSON text (exposed for tests). */
er_status er_sidecar_parse(const char *text, er_sidecar *sc, char *err, size_t err_size);
const er_json_value *er_sidecar_get(const er_sidecar *sc, const char *key);
/* dir/rel into out, or rel itself when absolute. */
void er_sidecar_path(const er_sidecar *sc, const char *rel, char *out, size_t size);

/* A loaded model with its session and first input/output. */
typedef struct er_task_net {
    er_model *model;
    er_session *session;
    er_value_info input;
} er_task_net;

er_status er_task_net_open(er_task_net *net, const char *path, int n_threads, er_msg *msg);
void er_task_net_close(er_task_net *net);

/* Formats the message into a fixed buffer and returns st. */
er_status er_task_fail(char *buf, size_t size, er_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Geometry of a letterbox: model pixel = image pixel * scale + pad. */
typedef struct er_letterbox {
    float scale_x, scale_y;
    float pad_x, pad_y;
} er_letterbox;

/* Resizes img to opts' size (stretch or letterbox), normalises and packs it into out
 * (3 * width * height floats, layout and channel order from opts). */
er_status er_vision_preprocess(const er_image *img, const er_vision_options *opts, int width,
                               int height, float *out, er_letterbox *lb);

/* The model's input size: its declared static H and W, else opts' size. Checks the channel
 * dimension is 3 for the layout. */
er_status er_vision_input_size(const er_value_info *in, const er_vision_options *opts,
                               int *width, int *height, char *err, size_t err_size);

/* Numerically stable softmax of n values. */
void er_softmax(const float *x, int n, float *out);

#endif
