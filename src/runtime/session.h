#ifndef ER_RUNTIME_SESSION_H
#define ER_RUNTIME_SESSION_H

#include "runtime/model.h"

/* Internal views for tools (inspect, tests): the session's graph and a value's planned
 * tensor (shape always; data when known). NULL before planning or when not inferred. */
const er_graph *er_session_graph(const er_session *s);
const er_tensor *er_session_value(const er_session *s, int value);

#endif
