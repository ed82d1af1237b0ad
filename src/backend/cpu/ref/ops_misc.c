#include "backend/cpu/op.h"

const er_op er_ops_misc[] = {
    { NULL, NULL, NULL, NULL, 0 },
};
