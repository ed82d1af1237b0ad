/* Per-tensor float32 → uint8/int8 quantization kernels (QuantizeLinear's common case). */
#ifndef ER_BACKEND_CPU_QQUANT_H
#define ER_BACKEND_CPU_QQUANT_H

#include <stdbool.h>
#include <stdint.h>

void er_quantize_f32_q8_avx512(const float *x, int64_t n, float scale, int32_t zp, bool is_signed, void *y);

#endif
