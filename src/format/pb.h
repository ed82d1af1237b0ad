/* Protobuf wire-format reader. Zero-copy: length-delimited payloads are pointers into the
 * caller's buffer. Every read is bounds-checked; malformed input yields ER_ERR_FORMAT with
 * the message type, field number and byte offset, never a read past the end.
 * The reader knows nothing of schemas: callers dispatch on field numbers and skip the rest. */
#ifndef ER_FORMAT_PB_H
#define ER_FORMAT_PB_H

#include "core/common.h"

enum {
    ER_PB_VARINT = 0,
    ER_PB_I64 = 1,
    ER_PB_LEN = 2,
    ER_PB_I32 = 5
};

typedef struct er_pb_reader {
    const uint8_t *base;  /* start of the whole buffer: offsets in messages count from it */
    const uint8_t *p, *end;
    const char *msg;      /* message type being read, for messages */
} er_pb_reader;

typedef struct er_pb_field {
    uint32_t num;         /* 0 once the message is exhausted */
    int wire;
    uint64_t u;           /* varint, fixed32 or fixed64 payload */
    const uint8_t *data;  /* length-delimited payload */
    size_t len;
    size_t offset;        /* of the field's tag, from base */
} er_pb_field;

void er_pb_init(er_pb_reader *r, const void *base, const void *data, size_t len, const char *msg);
/* A reader over a length-delimited field's payload, as message type msg. */
void er_pb_sub(er_pb_reader *r, const er_pb_reader *parent, const er_pb_field *f, const char *msg);

/* Reads the next field into *f; f->num == 0 at the end of the message. */
er_status er_pb_next(er_pb_reader *r, er_pb_field *f, char *err, size_t err_size);

/* Fails unless the field has the given wire type. */
er_status er_pb_want(const er_pb_reader *r, const er_pb_field *f, int wire, char *err, size_t err_size);

/* Elements a repeated scalar field occurrence carries: 1 when unpacked (wire == elem_wire),
 * the packed count when length-delimited. elem_wire is ER_PB_VARINT, ER_PB_I32 or ER_PB_I64. */
er_status er_pb_count(const er_pb_reader *r, const er_pb_field *f, int elem_wire, size_t *count,
                      char *err, size_t err_size);

/* Stores the elements of an occurrence already validated by er_pb_count into out, each
 * truncated to elem_size little-endian bytes (ONNX keeps int8..int16/f16 in int32 varints).
 * Fixed-width elements need elem_size equal to their width. Returns the element count. */
size_t er_pb_unpack(const er_pb_field *f, int elem_wire, void *out, size_t elem_size);

#endif
