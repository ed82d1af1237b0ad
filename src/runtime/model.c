#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/onnx.h"
#include "runtime/model.h"

static er_status load(const void *data, size_t size, const char *base_dir, bool file_backed,
                      const char *what, er_model **model, er_msg *msg)
{
    char *err = msg ? msg->text : NULL;
    size_t err_size = msg ? sizeof msg->text : 0;
    if (size == 0) return er_fail(err, err_size, ER_ERR_FORMAT, "%s is empty", what);
    er_graph *g = NULL;
    char detail[sizeof msg->text - 128];
    detail[0] = 0;
    er_status st = er_onnx_parse(data, size, base_dir, file_backed, &g, detail, sizeof detail);
    if (st != ER_OK) return er_fail(err, err_size, st, "%s: %s", what, detail);
    er_model *m = calloc(1, sizeof *m);
    if (!m) {
        er_graph_free(g);
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    }
    m->graph = g;
    *model = m;
    return ER_OK;
}

er_status er_model_load_file(const char *path, er_model **model, er_msg *msg)
{
    char *err = msg ? msg->text : NULL;
    size_t err_size = msg ? sizeof msg->text : 0;
    if (!path || !model) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "path and model are required");
    *model = NULL;
    er_mapped file;
    er_status st = er_map_file(path, &file, err, err_size);
    if (st != ER_OK) return st;
    char *dir = strdup(path);
    if (!dir) {
        er_unmap(&file);
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0; else strcpy(dir, ".");
    char what[512];
    snprintf(what, sizeof what, "model '%s'", path);
    st = load(file.data, file.size, dir, true, what, model, msg);
    free(dir);
    if (st != ER_OK) {
        er_unmap(&file);
        return st;
    }
    (*model)->file = file;
    return ER_OK;
}

er_status er_model_load_buffer(const void *data, size_t size, er_model **model, er_msg *msg)
{
    char *err = msg ? msg->text : NULL;
    size_t err_size = msg ? sizeof msg->text : 0;
    if (!model || (!data && size)) return er_fail(err, err_size, ER_ERR_INVALID_ARG, "data and model are required");
    *model = NULL;
    return load(data, size, NULL, false, "model buffer", model, msg);
}

void er_model_free(er_model *model)
{
    if (!model) return;
    er_graph_free(model->graph);
    er_unmap(&model->file);
    free(model);
}

int er_model_num_inputs(const er_model *model) { return model->graph->n_inputs; }
int er_model_num_outputs(const er_model *model) { return model->graph->n_outputs; }

static void fill_info(const er_value *v, er_value_info *info)
{
    memset(info, 0, sizeof *info);
    info->name = v->name;
    info->dtype = v->dtype;
    info->ndim = v->ndim;
    for (int i = 0; i < v->ndim && i < ER_MAX_DIMS; i++) {
        info->dims[i] = v->dims[i];
        info->dim_names[i] = v->dim_names[i];
    }
}

er_status er_model_input_info(const er_model *model, int index, er_value_info *info)
{
    if (index < 0 || index >= model->graph->n_inputs) return ER_ERR_NOT_FOUND;
    fill_info(&model->graph->values[model->graph->inputs[index]], info);
    return ER_OK;
}

er_status er_model_output_info(const er_model *model, int index, er_value_info *info)
{
    if (index < 0 || index >= model->graph->n_outputs) return ER_ERR_NOT_FOUND;
    fill_info(&model->graph->values[model->graph->outputs[index]], info);
    return ER_OK;
}
