/* Weight block formats of GGUF files (numbering and layouts as ggml defines them), their
 * conversion to and from float, and reference dot products against quantized activations.
 * Optimized kernels (quants_avx2.c, quants_avx512.c) implement the same functions and are
 * compared against these. */
#ifndef ER_LLM_QUANTS_H
#define ER_LLM_QUANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum er_qtype {
    ER_Q_F32 = 0,
    ER_Q_F16 = 1,
    ER_Q_Q4_0 = 2,
    ER_Q_Q8_0 = 8,
    ER_Q_Q4_K = 12,
    ER_Q_Q6_K = 14,
    ER_Q_Q8_K = 15,
    ER_Q_BF16 = 30,
    ER_Q_COUNT = 31
} er_qtype;

#define ER_QK 32     /* elements per Q8_0/Q4_0 block */
#define ER_QK_K 256  /* elements per K-quant super-block */

/* d * q; q in [-127, 127]. */
typedef struct er_block_q8_0 {
    uint16_t d;
    int8_t qs[ER_QK];
} er_block_q8_0;

/* d * (q - 8); byte j holds element j (low nibble) and element j + 16 (high nibble). */
typedef struct er_block_q4_0 {
    uint16_t d;
    uint8_t qs[ER_QK / 2];
} er_block_q4_0;

/* Eight sub-blocks of 32: x = d*sc*q - dmin*m with 6-bit sc/m packed in scales[12]; in each
 * 64-element chunk, 32 bytes of qs hold the first sub-block in low nibbles and the second in
 * high nibbles. */
typedef struct er_block_q4_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[ER_QK_K / 2];
} er_block_q4_k;

/* Sixteen sub-blocks of 16: x = d * scales[j] * (q - 32), q 6 bits = 4 in ql + 2 in qh. */
typedef struct er_block_q6_k {
    uint8_t ql[ER_QK_K / 2];
    uint8_t qh[ER_QK_K / 4];
    int8_t scales[ER_QK_K / 16];
    uint16_t d;
} er_block_q6_k;

/* Activation blocks for K-quant dot products; bsums are sums of 16 consecutive qs. */
typedef struct er_block_q8_k {
    float d;
    int8_t qs[ER_QK_K];
    int16_t bsums[ER_QK_K / 16];
} er_block_q8_k;

_Static_assert(sizeof(er_block_q8_0) == 34, "q8_0 block layout");
_Static_assert(sizeof(er_block_q4_0) == 18, "q4_0 block layout");
_Static_assert(sizeof(er_block_q4_k) == 144, "q4_k block layout");
_Static_assert(sizeof(er_block_q6_k) == 210, "q6_k block layout");
_Static_assert(sizeof(er_block_q8_k) == 292, "q8_k block layout");

/* Dot product of one weight row (n elements) with one activation row in vec_dot_type. */
typedef float (*er_vec_dot_fn)(int64_t n, const void *w, const void *a);
/* Converts a float row into the activation format. */
typedef void (*er_from_float_fn)(const float *x, void *y, int64_t n);
typedef void (*er_to_float_fn)(const void *x, float *y, int64_t n);

typedef struct er_qtraits {
    const char *name;
    int block;              /* elements per block (0: type not supported) */
    size_t type_size;       /* bytes per block */
    er_qtype vec_dot_type;  /* activation format of vec_dot */
    er_to_float_fn to_float;
    er_from_float_fn from_float;  /* reference quantizer (round to nearest) */
} er_qtraits;

/* NULL when the type is unknown or unsupported. */
const er_qtraits *er_qtype_traits(uint32_t type);
/* Name of any ggml type id, supported or not ("type 99" style names are not produced:
 * unknown ids give NULL). */
const char *er_qtype_name(uint32_t type);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block or type unknown. */
size_t er_qtype_row_size(uint32_t type, int64_t n);

/* Activations of one token prepared for the interleaved (packed) weight kernels: the Q8_0
 * quantization of the row as int8 (q) and offset to uint8 (uq = q + 128), with each 32-block's
 * scale and sum of q. */
typedef struct er_packed_act {
    const int8_t *q;
    const uint8_t *uq;
    const float *d;
    const int32_t *sum;
} er_packed_act;

/* Rows are packed in groups of this many. */
#define ER_PACK_ROWS 8

/* The kernel set for one ISA level. */
typedef struct er_qkernels {
    er_vec_dot_fn vec_dot[ER_Q_COUNT];
    /* Four weight rows (stride bytes apart) against one activation row at once: rows share
     * the activation loads. NULL: use vec_dot per row. */
    void (*vec_dot_x4[ER_Q_COUNT])(int64_t n, const void *w, size_t stride, const void *a,
                                   float *out);
    /* Four rows against n_tok activation rows (act_stride bytes apart), register-tiled over
     * tokens: y[t * y_stride + r] (+)= row r . act[t] for r < 4. NULL: use the dots. */
    void (*gemm_x4[ER_Q_COUNT])(int64_t n, const void *w, size_t stride, const void *act, size_t act_stride,
                                int n_tok, float *y, int64_t y_stride, int accumulate);
    er_from_float_fn quantize_act[ER_Q_COUNT];   /* indexed by the activation type */
    /* Interleaved layouts of 8-row groups (NULL: this ISA uses the file layout): bytes of one
     * group, the repacking of 8 rows, and the product of a group with n_tok activations,
     * y[t * y_stride + r] (+)= row r . act[t] for r < 8. */
    size_t (*packed_group_bytes[ER_Q_COUNT])(int64_t cols);
    void (*repack[ER_Q_COUNT])(const void *rows, size_t row_bytes, int64_t cols, void *group);
    void (*gemm_packed[ER_Q_COUNT])(int64_t cols, const void *group, const er_packed_act *act, int n_tok,
                                    float *y, int64_t y_stride, int accumulate);
    const char *isa;
} er_qkernels;

/* Kernels for the level er_cpu_isa() allows (EDGERUN_ISA can force a lower one). */
const er_qkernels *er_qkernels_get(void);
const er_qkernels *er_qkernels_ref(void);
/* NULL when the level was not built or the CPU lacks it. */
const er_qkernels *er_qkernels_avx2(void);
const er_qkernels *er_qkernels_avx512(void);

/* Reference functions, shared with the ISA files for tails and conversions. */
void er_quantize_row_q8_0(const float *x, void *y, int64_t n);
void er_quantize_row_q4_0(const float *x, void *y, int64_t n);
void er_quantize_row_q8_k(const float *x, void *y, int64_t n);
void er_quantize_row_q4_k(const float *x, void *y, int64_t n);
void er_quantize_row_q6_k(const float *x, void *y, int64_t n);
void er_dequantize_row_q8_0(const void *x, float *y, int64_t n);
void er_dequantize_row_q4_0(const void *x, float *y, int64_t n);
void er_dequantize_row_q4_k(const void *x, float *y, int64_t n);
void er_dequantize_row_q6_k(const void *x, float *y, int64_t n);
void er_q4_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m);

#endif
