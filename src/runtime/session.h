#ifndef ER_RUNTIME_SESSION_H
#define ER_RUNTIME_SESSION_H

#include "runtime/model.h"

#endif
