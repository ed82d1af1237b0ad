/* Erf and Softmax kernels built with the avx512 flags (see eltwise_impl.h). */
#include "backend/cpu/eltwise_impl.h"

void er_ew_erf_avx512(const float *x, float *y, int64_t n) { ew_erf_impl(x, y, n); }

void er_ew_softmax_avx512(const float *x, float *y, int64_t rows, int64_t cols) { ew_softmax_impl(x, y, rows, cols); }
