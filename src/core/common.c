#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t er_shape_numel(const int64_t *dims, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

int64_t er_tensor_numel(const er_tensor *t) { return er_shape_numel(t->dims, t->ndim); }

size_t er_tensor_nbytes(const er_tensor *t)
{
    return (size_t)er_tensor_numel(t) * er_dtype_size(t->dtype);
}

bool er_shape_equal(const int64_t *a, int na, const int64_t *b, int nb)
{
    if (na != nb) return false;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return false;
    return true;
}

const char *er_shape_str(const int64_t *dims, int ndim, char *buf, size_t size)
{
    size_t n = 0;
    if (size == 0) return buf;
    buf[0] = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

er_status er_vfail(char *buf, size_t size, er_status st, const char *fmt, va_list ap)
{
    if (buf && size) vsnprintf(buf, size, fmt, ap);
    return st;
}

er_status er_fail(char *buf, size_t size, er_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    er_vfail(buf, size, st, fmt, ap);
    va_end(ap);
    return st;
}

const char *er_status_str(er_status st)
{
    switch (st) {
    case ER_OK: return "ok";
    case ER_ERR_INVALID_ARG: return "invalid argument";
    case ER_ERR_IO: return "i/o error";
    case ER_ERR_FORMAT: return "malformed file";
    case ER_ERR_UNSUPPORTED: return "unsupported";
    case ER_ERR_SHAPE: return "shape mismatch";
    case ER_ERR_DTYPE: return "dtype mismatch";
    case ER_ERR_NOMEM: return "out of memory";
    case ER_ERR_NOT_FOUND: return "not found";
    case ER_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *er_dtype_name(er_dtype dt)
{
    switch (dt) {
    case ER_F32: return "float32";
    case ER_U8: return "uint8";
    case ER_I8: return "int8";
    case ER_U16: return "uint16";
    case ER_I16: return "int16";
    case ER_I32: return "int32";
    case ER_I64: return "int64";
    case ER_STRING: return "string";
    case ER_BOOL: return "bool";
    case ER_F16: return "float16";
    case ER_F64: return "float64";
    case ER_U32: return "uint32";
    case ER_U64: return "uint64";
    case ER_BF16: return "bfloat16";
    case ER_UNDEFINED: break;
    }
    return "undefined";
}

size_t er_dtype_size(er_dtype dt)
{
    switch (dt) {
    case ER_F32: case ER_I32: case ER_U32: return 4;
    case ER_U8: case ER_I8: case ER_BOOL: return 1;
    case ER_U16: case ER_I16: case ER_F16: case ER_BF16: return 2;
    case ER_I64: case ER_F64: case ER_U64: return 8;
    case ER_STRING: case ER_UNDEFINED: break;
    }
    return 0;
}

bool er_dtype_valid(er_dtype dt) { return er_dtype_size(dt) != 0; }

bool er_dtype_is_float(er_dtype dt)
{
    return dt == ER_F32 || dt == ER_F16 || dt == ER_F64 || dt == ER_BF16;
}

bool er_dtype_is_int(er_dtype dt)
{
    return dt == ER_U8 || dt == ER_I8 || dt == ER_U16 || dt == ER_I16 || dt == ER_I32 ||
           dt == ER_I64 || dt == ER_U32 || dt == ER_U64;
}

float er_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            /* subnormal: renormalise */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            man &= 0x3ff;
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | man << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t er_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00);
    if (absx < 0x38800000u) { /* below smallest normal half: subnormal or zero */
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t e = (absx >> 23) - 127 + 15;
    uint32_t m = absx & 0x7fffff;
    uint32_t h = e << 10 | m >> 13;
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float er_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t er_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

double er_get_f64(const void *data, er_dtype dt, int64_t i)
{
    switch (dt) {
    case ER_F32: return ((const float *)data)[i];
    case ER_F64: return ((const double *)data)[i];
    case ER_F16: return er_f16_to_f32(((const uint16_t *)data)[i]);
    case ER_BF16: return er_bf16_to_f32(((const uint16_t *)data)[i]);
    case ER_U8: return ((const uint8_t *)data)[i];
    case ER_BOOL: return ((const uint8_t *)data)[i] != 0;
    case ER_I8: return ((const int8_t *)data)[i];
    case ER_U16: return ((const uint16_t *)data)[i];
    case ER_I16: return ((const int16_t *)data)[i];
    case ER_I32: return ((const int32_t *)data)[i];
    case ER_U32: return ((const uint32_t *)data)[i];
    case ER_I64: return (double)((const int64_t *)data)[i];
    case ER_U64: return (double)((const uint64_t *)data)[i];
    default: return 0;
    }
}

int64_t er_get_i64(const void *data, er_dtype dt, int64_t i)
{
    switch (dt) {
    case ER_I64: return ((const int64_t *)data)[i];
    case ER_U64: return (int64_t)((const uint64_t *)data)[i];
    case ER_I32: return ((const int32_t *)data)[i];
    case ER_U32: return ((const uint32_t *)data)[i];
    case ER_I16: return ((const int16_t *)data)[i];
    case ER_U16: return ((const uint16_t *)data)[i];
    case ER_I8: return ((const int8_t *)data)[i];
    case ER_U8: case ER_BOOL: return ((const uint8_t *)data)[i];
    default: return (int64_t)er_get_f64(data, dt, i);
    }
}

void er_set_f64(void *data, er_dtype dt, int64_t i, double v)
{
    switch (dt) {
    case ER_F32: ((float *)data)[i] = (float)v; break;
    case ER_F64: ((double *)data)[i] = v; break;
    case ER_F16: ((uint16_t *)data)[i] = er_f32_to_f16((float)v); break;
    case ER_BF16: ((uint16_t *)data)[i] = er_f32_to_bf16((float)v); break;
    case ER_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case ER_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case ER_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ER_U16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ER_I16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ER_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case ER_U32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case ER_I64: ((int64_t *)data)[i] = (int64_t)v; break;
    case ER_U64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    default: break;
    }
}

void *er_aligned_alloc(size_t size)
{
    void *p = NULL;
    if (size == 0) size = ER_ALIGN;
    if (posix_memalign(&p, ER_ALIGN, size) != 0) return NULL;
    return p;
}

void er_aligned_free(void *p) { free(p); }

double er_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double er_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t read_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t klen = strlen(key), kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0) {
            kb = (size_t)strtoull(line + klen, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb * 1024;
}

size_t er_peak_rss(void) { return read_status_kb("VmHWM:"); }
size_t er_current_rss(void) { return read_status_kb("VmRSS:"); }
