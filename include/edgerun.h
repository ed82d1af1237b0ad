/* edgerun — edge inference engine. Public C API.
 *
 * Phases: load a model (immutable, shareable between threads) → create a session
 * (plans shapes and memory) → bind inputs → run → read outputs.
 * Every call returns an er_status. Constructors report a message through an optional
 * er_msg; methods on a session keep the last message in the session (er_session_error).
 * The library keeps no global mutable state: two sessions may run in two threads at once. */
#ifndef EDGERUN_H
#define EDGERUN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ER_VERSION_STRING "0.1.0"
#define ER_MAX_DIMS 8

typedef enum er_status {
    ER_OK = 0,
    ER_ERR_INVALID_ARG,   /* caller passed something unusable */
    ER_ERR_IO,            /* file missing or unreadable */
    ER_ERR_FORMAT,        /* malformed model or data file */
    ER_ERR_UNSUPPORTED,   /* valid, but an op/dtype/feature edgerun does not implement */
    ER_ERR_SHAPE,         /* shapes do not agree */
    ER_ERR_DTYPE,         /* element types do not agree */
    ER_ERR_NOMEM,
    ER_ERR_NOT_FOUND,     /* no input/output of that name */
    ER_ERR_INTERNAL
} er_status;

/* Element types use ONNX TensorProto numbering so model files map 1:1. */
typedef enum er_dtype {
    ER_UNDEFINED = 0,
    ER_F32 = 1,
    ER_U8 = 2,
    ER_I8 = 3,
    ER_U16 = 4,
    ER_I16 = 5,
    ER_I32 = 6,
    ER_I64 = 7,
    ER_STRING = 8,
    ER_BOOL = 9,
    ER_F16 = 10,
    ER_F64 = 11,
    ER_U32 = 12,
    ER_U64 = 13,
    ER_BF16 = 16
} er_dtype;

typedef enum er_backend {
    ER_BACKEND_CPU = 0,
    ER_BACKEND_CUDA = 1
} er_backend;

/* Readable message from a failed constructor. */
typedef struct er_msg {
    char text[1024];
} er_msg;

typedef struct er_model er_model;
typedef struct er_session er_session;

typedef struct er_session_options {
    int n_threads;        /* 0: one per available core */
    er_backend backend;
    int opt_level;        /* 0: no graph optimization, 1: all (default) */
    int profile;          /* 1: time every executed node (er_session_profile_get) */
} er_session_options;

/* A view of a tensor owned by the session. Valid until the next run or free. */
typedef struct er_tensor_view {
    const char *name;
    er_dtype dtype;
    int ndim;
    int64_t dims[ER_MAX_DIMS];
    const void *data;
    size_t nbytes;
} er_tensor_view;

/* Description of a graph input or output as declared by the model. A dim of -1 is
 * symbolic or unknown; dim_names[i] names it when the model does. */
typedef struct er_value_info {
    const char *name;
    er_dtype dtype;
    int ndim;             /* -1 when the rank is unknown */
    int64_t dims[ER_MAX_DIMS];
    const char *dim_names[ER_MAX_DIMS];
} er_value_info;

const char *er_status_str(er_status st);
const char *er_dtype_name(er_dtype dt);
size_t er_dtype_size(er_dtype dt);

void er_session_options_init(er_session_options *opts);

/* Models. A model loaded from a file maps it and points into it; one loaded from a buffer
 * points into the caller's buffer, which must outlive the model. */
er_status er_model_load_file(const char *path, er_model **model, er_msg *msg);
er_status er_model_load_buffer(const void *data, size_t size, er_model **model, er_msg *msg);
void er_model_free(er_model *model);

int er_model_num_inputs(const er_model *model);
int er_model_num_outputs(const er_model *model);
er_status er_model_input_info(const er_model *model, int index, er_value_info *info);
er_status er_model_output_info(const er_model *model, int index, er_value_info *info);

/* Sessions. Planning (shape inference, constant folding, memory plan) happens at creation
 * when every input shape is known, otherwise at the first run with bound inputs; binding
 * inputs of a new shape plans again. */
er_status er_session_create(const er_model *model, const er_session_options *opts,
                            er_session **session, er_msg *msg);
void er_session_free(er_session *session);
const char *er_session_error(const er_session *session);

/* Copies the data into the session. */
er_status er_session_set_input(er_session *session, const char *name, er_dtype dtype,
                               const int64_t *dims, int ndim, const void *data);
/* Binds only the shape of an input (data must still be set before run), so a session with
 * symbolic input dims can be planned and inspected. */
er_status er_session_set_input_shape(er_session *session, const char *name, const int64_t *dims,
                                     int ndim);
/* Plans for the bound input shapes now (run does it when needed). */
er_status er_session_prepare(er_session *session);
er_status er_session_run(er_session *session);
int er_session_num_outputs(const er_session *session);
er_status er_session_output(const er_session *session, int index, er_tensor_view *view);
er_status er_session_output_by_name(const er_session *session, const char *name,
                                    er_tensor_view *view);

/* Planning report: bytes of the activation arena, and of constants the session computed. */
typedef struct er_session_stats {
    size_t arena_bytes;
    size_t folded_bytes;
    int n_model_nodes;    /* nodes in the model file */
    int n_optimized_nodes;/* nodes after graph passes */
    int n_nodes;          /* nodes left to execute per run, after constant folding */
    int dynamic;          /* 1 when some shape depends on data and is found at run time */
} er_session_stats;
er_status er_session_stats_get(const er_session *session, er_session_stats *stats);

/* Per executed node, with opts.profile set: accumulated seconds over all runs so far. */
typedef struct er_node_profile {
    const char *op_type;
    const char *node_name;
    int node;             /* index into er_session_graph(session)->nodes */
    double seconds;
    int64_t calls;
} er_node_profile;
/* index in [0, stats.n_nodes). */
er_status er_session_profile_get(const er_session *session, int index, er_node_profile *prof);

#ifdef __cplusplus
}
#endif
#endif
