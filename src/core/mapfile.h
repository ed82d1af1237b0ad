/* Read-only file mappings: model weights are pointed into, never copied. */
#ifndef ER_CORE_MAPFILE_H
#define ER_CORE_MAPFILE_H

#include <stddef.h>

#include "core/common.h"

typedef struct er_mapped {
    void *data;
    size_t size;
} er_mapped;

/* Maps the whole file read-only. An empty file maps to data == NULL, size == 0. */
er_status er_map_file(const char *path, er_mapped *m, char *err, size_t err_size);
void er_unmap(er_mapped *m);

/* Gives back the resident pages wholly inside [p, p+n) of a read-only file mapping; they fault
 * back in from the page cache if read again. Never call it on anonymous memory: there it
 * would discard the data. */
void er_release_file_pages(const void *p, size_t n);

#endif
