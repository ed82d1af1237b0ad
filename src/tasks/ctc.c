#include "tasks/ctc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

/* Dictionaries are a few hundred KB at most; anything far larger is the wrong file. */
#define CHARSET_MAX_BYTES (16u << 20)

static er_status charset_msg(er_msg *msg, er_status st, const char *fmt, const char *path,
                             const char *why)
{
    return er_fail(msg ? msg->text : NULL, msg ? sizeof(msg->text) : 0, st, fmt, path, why);
}

static er_status read_text(const char *path, char **out, size_t *size, er_msg *msg)
{
    FILE *f = fopen(path, "rb");
    if (!f) return charset_msg(msg, ER_ERR_IO, "cannot open dictionary '%s': %s", path, strerror(errno));
    char *buf = malloc(CHARSET_MAX_BYTES + 2);
    if (!buf) {
        fclose(f);
        return charset_msg(msg, ER_ERR_NOMEM, "out of memory reading dictionary '%s'%s", path, "");
    }
    size_t n = fread(buf, 1, CHARSET_MAX_BYTES + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n > CHARSET_MAX_BYTES) {
        free(buf);
        return charset_msg(msg, failed ? ER_ERR_IO : ER_ERR_FORMAT, "cannot read dictionary '%s'%s",
                           path, failed ? ": read error" : ": file too large");
    }
    buf[n] = 0;
    *out = buf;
    *size = n;
    return ER_OK;
}

er_status er_charset_load(const char *path, er_charset *cs, er_msg *msg)
{
    memset(cs, 0, sizeof(*cs));
    char *buf = NULL;
    size_t size = 0;
    er_status st = read_text(path, &buf, &size, msg);
    if (st != ER_OK) return st;
    if (size > 0 && buf[size - 1] == '\n') buf[--size] = 0;
    int lines = 1;
    for (size_t i = 0; i < size; i++) lines += buf[i] == '\n';
    if (size == 0) lines = 0;
    cs->sym = malloc(sizeof(char *) * (size_t)(lines + 1));
    if (!cs->sym) {
        free(buf);
        return charset_msg(msg, ER_ERR_NOMEM, "out of memory reading dictionary '%s'%s", path, "");
    }
    char *p = buf;
    for (int i = 0; i < lines; i++) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        size_t len = strlen(p);
        if (len > 0 && p[len - 1] == '\r') p[len - 1] = 0;
        cs->sym[i] = p;
        p = nl ? nl + 1 : p + len;
    }
    static char space[] = " ";
    cs->sym[lines] = space;
    cs->n = lines + 1;
    cs->buf = buf;
    return ER_OK;
}

void er_charset_free(er_charset *cs)
{
    if (!cs) return;
    free(cs->sym);
    free(cs->buf);
    memset(cs, 0, sizeof(*cs));
}

er_status er_ctc_greedy_path(const float *probs, int T, int C, er_ctc_sym **syms, int *n)
{
    *syms = NULL;
    *n = 0;
    if (T < 0 || C < 2) return ER_ERR_SHAPE;
    er_ctc_sym *out = NULL;
    int count = 0, prev = 0;
    for (int t = 0; t < T; t++) {
        const float *row = probs + (size_t)t * C;
        int k = 0;
        for (int c = 1; c < C; c++)
            if (row[c] > row[k]) k = c;
        if (k != 0 && k == prev) out[count - 1].t1 = t;
        else if (k != 0) {
            if (!out && !(out = malloc(sizeof(*out) * (size_t)T))) return ER_ERR_NOMEM;
            out[count++] = (er_ctc_sym){k, t, t, row[k]};
        }
        prev = k;
    }
    *syms = out;
    *n = count;
    return ER_OK;
}

static int sym_in(const er_charset *cs, int cls, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (strcmp(cs->sym[cls - 1], set[i]) == 0) return 1;
    return 0;
}

/* Punctuation hugs the word it closes or opens, however wide the drawn gap. */
static const char *const NO_SPACE_BEFORE[] = {" ", ",", ".", ";", ":", "!", "?", ")", "]", "}",
                                              "%", "\uff0c", "\u3002", "\uff1b", "\uff1a",
                                              "\uff01", "\uff1f", "\u3001", "\uff09", NULL};
static const char *const NO_SPACE_AFTER[] = {" ", "(", "[", "{", "\uff08", NULL};

static int wants_space(const er_ctc_sym *syms, int i, const er_charset *cs,
                       const uint8_t *space_before)
{
    return space_before && i > 0 && space_before[i] && !sym_in(cs, syms[i].cls, NO_SPACE_BEFORE) &&
           !sym_in(cs, syms[i - 1].cls, NO_SPACE_AFTER);
}

er_status er_ctc_text(const er_ctc_sym *syms, int n, const er_charset *cs,
                      const uint8_t *space_before, char **text, float *score)
{
    *text = NULL;
    *score = 0;
    size_t cap = 1;
    for (int i = 0; i < n; i++) {
        if (syms[i].cls < 1 || syms[i].cls > cs->n) return ER_ERR_SHAPE;
        cap += strlen(cs->sym[syms[i].cls - 1]) + 1;
    }
    char *out = malloc(cap);
    if (!out) return ER_ERR_NOMEM;
    size_t len = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (wants_space(syms, i, cs, space_before)) out[len++] = ' ';
        size_t sl = strlen(cs->sym[syms[i].cls - 1]);
        memcpy(out + len, cs->sym[syms[i].cls - 1], sl);
        len += sl;
        sum += syms[i].prob;
    }
    out[len] = 0;
    *text = out;
    *score = n ? (float)(sum / n) : 0.f;
    return ER_OK;
}

er_status er_ctc_greedy(const float *probs, int T, int C, const er_charset *cs, char **text,
                        float *score)
{
    *text = NULL;
    *score = 0;
    if (T < 0 || C != cs->n + 1) return ER_ERR_SHAPE;
    er_ctc_sym *syms;
    int n;
    er_status st = er_ctc_greedy_path(probs, T, C, &syms, &n);
    if (st == ER_OK) st = er_ctc_text(syms, n, cs, NULL, text, score);
    free(syms);
    return st;
}
