#include "format/pb.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the protobuf reader copies fixed-width and raw data as little-endian bytes"
#endif

#define PB_MAX_VARINT 10

void er_pb_init(er_pb_reader *r, const void *base, const void *data, size_t len, const char *msg)
{
    r->base = base;
    r->p = data;
    r->end = r->p + len;
    r->msg = msg;
}

void er_pb_sub(er_pb_reader *r, const er_pb_reader *parent, const er_pb_field *f, const char *msg)
{
    er_pb_init(r, parent->base, f->data, f->len, msg);
}

/* Returns the bytes consumed, or 0 when the varint runs past end or past 10 bytes. */
static size_t read_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < PB_MAX_VARINT && p + i < end; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static size_t off(const er_pb_reader *r, const uint8_t *p) { return (size_t)(p - r->base); }

er_status er_pb_next(er_pb_reader *r, er_pb_field *f, char *err, size_t err_size)
{
    memset(f, 0, sizeof *f);
    if (r->p >= r->end) return ER_OK;
    const uint8_t *start = r->p;
    uint64_t tag;
    size_t n = read_varint(r->p, r->end, &tag);
    if (!n)
        return er_fail(err, err_size, ER_ERR_FORMAT, "truncated or overlong field tag in %s at offset %zu",
                       r->msg, off(r, start));
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return er_fail(err, err_size, ER_ERR_FORMAT, "invalid field number %llu in %s at offset %zu",
                       (unsigned long long)(tag >> 3), r->msg, off(r, start));
    uint32_t num = (uint32_t)(tag >> 3);
    int wire = (int)(tag & 7);
    const uint8_t *p = r->p + n;
    size_t left = (size_t)(r->end - p);
    switch (wire) {
    case ER_PB_VARINT:
        n = read_varint(p, r->end, &f->u);
        if (!n) goto truncated;
        p += n;
        break;
    case ER_PB_I64:
        if (left < 8) goto truncated;
        memcpy(&f->u, p, 8);
        p += 8;
        break;
    case ER_PB_I32: {
        if (left < 4) goto truncated;
        uint32_t v;
        memcpy(&v, p, 4);
        f->u = v;
        p += 4;
        break;
    }
    case ER_PB_LEN: {
        uint64_t len;
        n = read_varint(p, r->end, &len);
        if (!n || len > left - n) goto truncated;
        f->data = p + n;
        f->len = (size_t)len;
        p += n + (size_t)len;
        break;
    }
    default:
        return er_fail(err, err_size, ER_ERR_FORMAT, "unsupported wire type %d for field %u of %s at offset %zu",
                       wire, num, r->msg, off(r, start));
    }
    f->num = num;
    f->wire = wire;
    f->offset = off(r, start);
    r->p = p;
    return ER_OK;
truncated:
    return er_fail(err, err_size, ER_ERR_FORMAT, "truncated field %u of %s at offset %zu", num, r->msg,
                   off(r, start));
}

static const char *wire_name(int wire)
{
    switch (wire) {
    case ER_PB_VARINT: return "varint";
    case ER_PB_I64: return "fixed64";
    case ER_PB_LEN: return "length-delimited";
    case ER_PB_I32: return "fixed32";
    }
    return "unknown";
}

er_status er_pb_want(const er_pb_reader *r, const er_pb_field *f, int wire, char *err, size_t err_size)
{
    if (f->wire == wire) return ER_OK;
    return er_fail(err, err_size, ER_ERR_FORMAT, "field %u of %s at offset %zu is %s, expected %s", f->num,
                   r->msg, f->offset, wire_name(f->wire), wire_name(wire));
}

er_status er_pb_count(const er_pb_reader *r, const er_pb_field *f, int elem_wire, size_t *count,
                      char *err, size_t err_size)
{
    if (f->wire == elem_wire) {
        *count = 1;
        return ER_OK;
    }
    if (f->wire != ER_PB_LEN) return er_pb_want(r, f, elem_wire, err, err_size);
    size_t width = elem_wire == ER_PB_I32 ? 4 : elem_wire == ER_PB_I64 ? 8 : 0;
    if (width) {
        if (f->len % width)
            return er_fail(err, err_size, ER_ERR_FORMAT,
                           "packed field %u of %s at offset %zu: %zu bytes is not a multiple of %zu", f->num,
                           r->msg, f->offset, f->len, width);
        *count = f->len / width;
        return ER_OK;
    }
    size_t k = 0, run = 0;
    for (size_t i = 0; i < f->len; i++) {
        run++;
        if (run > PB_MAX_VARINT) break;
        if (!(f->data[i] & 0x80)) {
            k++;
            run = 0;
        }
    }
    if (run)
        return er_fail(err, err_size, ER_ERR_FORMAT, "packed field %u of %s at offset %zu holds a %s varint",
                       f->num, r->msg, f->offset, run > PB_MAX_VARINT ? "overlong" : "truncated");
    *count = k;
    return ER_OK;
}

size_t er_pb_unpack(const er_pb_field *f, int elem_wire, void *out, size_t elem_size)
{
    uint8_t *o = out;
    if (f->wire != ER_PB_LEN) {
        memcpy(o, &f->u, elem_size);
        return 1;
    }
    if (elem_wire != ER_PB_VARINT) {
        memcpy(o, f->data, f->len);
        return f->len / elem_size;
    }
    size_t k = 0;
    const uint8_t *p = f->data, *end = f->data + f->len;
    while (p < end) {
        uint64_t v = 0;
        size_t n = read_varint(p, end, &v);
        if (!n) break;
        p += n;
        memcpy(o + k * elem_size, &v, elem_size);
        k++;
    }
    return k;
}
