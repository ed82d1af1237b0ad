#include <stddef.h>

#include "llm/quants.h"

const er_qkernels *er_qkernels_avx512(void) { return NULL; }
