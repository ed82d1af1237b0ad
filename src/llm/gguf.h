/* GGUF (v2/v3) reader: the file is mapped and every key, string and tensor points into it.
 * Parsing validates every length and offset against the file size, so a truncated or corrupt
 * file is reported, never read past. */
#ifndef ER_LLM_GGUF_H
#define ER_LLM_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "core/mapfile.h"

typedef enum er_gguf_vtype {
    ER_GGUF_U8 = 0, ER_GGUF_I8 = 1, ER_GGUF_U16 = 2, ER_GGUF_I16 = 3,
    ER_GGUF_U32 = 4, ER_GGUF_I32 = 5, ER_GGUF_F32 = 6, ER_GGUF_BOOL = 7,
    ER_GGUF_STRING = 8, ER_GGUF_ARRAY = 9, ER_GGUF_U64 = 10, ER_GGUF_I64 = 11,
    ER_GGUF_F64 = 12
} er_gguf_vtype;

/* A length-delimited string inside the file (not NUL-terminated). */
typedef struct er_gguf_str {
    const char *s;
    uint64_t n;
} er_gguf_str;

typedef struct er_gguf_kv {
    er_gguf_str key;
    uint32_t type;          /* er_gguf_vtype */
    uint32_t arr_type;      /* element type when type == ARRAY */
    uint64_t arr_n;         /* element count when type == ARRAY */
    const uint8_t *data;    /* the value (for arrays: the first element) */
    const uint8_t *end;     /* one past the value */
} er_gguf_kv;

#define ER_GGUF_MAX_DIMS 4

typedef struct er_gguf_tensor {
    er_gguf_str name;
    int n_dims;
    int64_t ne[ER_GGUF_MAX_DIMS];   /* ne[0] is the contiguous (row) dimension */
    uint32_t type;                  /* er_qtype */
    uint64_t offset;                /* relative to the data section */
    const void *data;
    size_t nbytes;
} er_gguf_tensor;

typedef struct er_gguf {
    er_mapped map;
    const uint8_t *base;
    size_t size;
    uint32_t version;
    int64_t n_kv, n_tensors;
    er_gguf_kv *kv;
    er_gguf_tensor *tensors;
    size_t alignment;
    size_t data_offset;
    const uint8_t *kv_begin, *kv_end;   /* the raw metadata section, for rewriting files */
} er_gguf;

er_status er_gguf_open(const char *path, er_gguf **out, char *err, size_t err_size);
/* Parses a caller-owned buffer, which must outlive the result. */
er_status er_gguf_parse(const void *data, size_t size, er_gguf **out, char *err, size_t err_size);
void er_gguf_free(er_gguf *g);

bool er_gguf_str_eq(er_gguf_str s, const char *c);
const er_gguf_kv *er_gguf_find(const er_gguf *g, const char *key);
const er_gguf_tensor *er_gguf_find_tensor(const er_gguf *g, const char *name);

/* Scalar getters convert between integer widths; they fail (return false) when the key is
 * missing or holds a type that cannot represent the request. */
bool er_gguf_get_int(const er_gguf *g, const char *key, int64_t *v);
bool er_gguf_get_float(const er_gguf *g, const char *key, double *v);
bool er_gguf_get_bool(const er_gguf *g, const char *key, bool *v);
bool er_gguf_get_str(const er_gguf *g, const char *key, er_gguf_str *v);
/* Array element i of a numeric array as a double (false when out of range / not numeric). */
bool er_gguf_arr_f64(const er_gguf_kv *kv, uint64_t i, double *v);
/* Fills out[0..arr_n) for an array of strings (validated at parse time). */
bool er_gguf_arr_strs(const er_gguf_kv *kv, er_gguf_str *out);

size_t er_gguf_vtype_size(uint32_t type);
const char *er_gguf_vtype_name(uint32_t type);

#endif
