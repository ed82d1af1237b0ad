/* Driver for tests/llm_test.sh: tokenizes texts (a file of records separated by 0x1e) and
 * prints one line of comma-separated ids per text, then checks that decoding gives the text
 * back (prints "roundtrip N/M"; not with --special, where control tokens decode to nothing).
 *   llm_tokenize MODEL.gguf TEXTS [--special] [--bos] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mapfile.h"
#include "llm/tokenizer.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf TEXTS [--special] [--bos]\n", argv[0]);
        return 2;
    }
    bool special = false, bos = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--special") == 0) special = true;
        if (strcmp(argv[i], "--bos") == 0) bos = true;
    }
    char err[512];
    er_gguf *g;
    er_tokenizer *t;
    er_mapped texts;
    if (er_gguf_open(argv[1], &g, err, sizeof err) != ER_OK || er_tokenizer_load(g, &t, err, sizeof err) != ER_OK ||
        er_map_file(argv[2], &texts, err, sizeof err) != ER_OK) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    const char *p = texts.data, *end = p + texts.size;
    int n_ok = 0, n_all = 0;
    while (p && p < end) {
        const char *e = memchr(p, 0x1e, (size_t)(end - p));
        if (!e) e = end;
        const char *text = p;
        size_t len = (size_t)(e - p);
        p = e + 1;
        int32_t *ids = NULL;
        int n = 0, cap = 0;
        if (er_tokenize(t, text, len, bos, special, &ids, &n, &cap, err, sizeof err) != ER_OK) {
            fprintf(stderr, "error: %s\n", err);
            return 1;
        }
        for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
        printf("\n");
        if (special) {
            free(ids);
            continue;
        }
        char *back = er_detokenize(t, ids, n);
        n_all++;
        if (back && strlen(back) == len && memcmp(back, text, len) == 0) n_ok++;
        else fprintf(stderr, "roundtrip mismatch: [%.*s] -> [%s]\n", (int)len, text, back ? back : "");
        free(back);
        free(ids);
    }
    printf("roundtrip %d/%d\n", n_ok, n_all);
    er_unmap(&texts);
    er_tokenizer_free(t);
    er_gguf_free(g);
    return n_ok == n_all ? 0 : 1;
}
