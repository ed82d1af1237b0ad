#ifndef ER_RUNTIME_MODEL_H
#define ER_RUNTIME_MODEL_H

#include "core/mapfile.h"
#include "ir/graph.h"

struct er_model {
    er_graph *graph;
    er_mapped file;       /* the mapped model file, when loaded from a path */
};

#endif
