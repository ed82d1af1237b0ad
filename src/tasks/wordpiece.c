#include "tasks/wordpiece.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#define MAX_WORD_CHARS 100  /* longer words become [UNK], as in BERT */
#define MAX_PIECE_BYTES 512 /* "##" plus MAX_WORD_CHARS code points of up to 4 bytes */

struct er_wordpiece {
    char *text;          /* the vocabulary file, lines NUL-terminated in place */
    char **pieces;       /* id -> piece */
    int n_pieces;
    int32_t *slots;      /* open-addressing hash table of ids, -1 empty */
    uint32_t mask;
    int lowercase;
    int unk, cls, sep, pad;
};

/* ---- vocabulary ---- */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int lookup(const er_wordpiece *wp, const char *s, size_t n)
{
    for (uint32_t i = hash_bytes(s, n) & wp->mask;; i = (i + 1) & wp->mask) {
        int32_t id = wp->slots[i];
        if (id < 0) return -1;
        const char *p = wp->pieces[id];
        if (strncmp(p, s, n) == 0 && p[n] == 0) return id;
    }
}

static er_status build_table(er_wordpiece *wp)
{
    uint32_t size = 1;
    while (size < (uint32_t)wp->n_pieces * 2u) size <<= 1;
    wp->slots = malloc(sizeof(int32_t) * size);
    if (!wp->slots) return ER_ERR_NOMEM;
    memset(wp->slots, 0xff, sizeof(int32_t) * size);
    wp->mask = size - 1;
    for (int id = 0; id < wp->n_pieces; id++) {
        const char *p = wp->pieces[id];
        size_t n = strlen(p);
        if (lookup(wp, p, n) >= 0) continue; /* the first of duplicate lines wins */
        uint32_t i = hash_bytes(p, n) & wp->mask;
        while (wp->slots[i] >= 0) i = (i + 1) & wp->mask;
        wp->slots[i] = id;
    }
    return ER_OK;
}

static er_status read_file(const char *path, char **text, size_t *size, er_msg *msg)
{
    FILE *f = fopen(path, "rb");
    if (!f) return er_fail(msg->text, sizeof(msg->text), ER_ERR_IO, "cannot open vocabulary '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 1 >= cap) {
            cap = cap ? cap * 2 : 1 << 16;
            char *g = cap < ((size_t)1 << 30) ? realloc(buf, cap) : NULL;
            if (!g) {
                free(buf);
                fclose(f);
                return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "vocabulary '%s' is too large", path);
            }
            buf = g;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    buf[n] = 0;
    *text = buf;
    *size = n;
    return ER_OK;
}

static er_status split_lines(er_wordpiece *wp, size_t size)
{
    int lines = 1;
    for (size_t i = 0; i < size; i++) lines += wp->text[i] == '\n';
    wp->pieces = malloc(sizeof(char *) * (size_t)lines);
    if (!wp->pieces) return ER_ERR_NOMEM;
    char *line = wp->text;
    while (*line) {
        char *end = strchr(line, '\n');
        char *next = end ? end + 1 : line + strlen(line);
        if (end) *end = 0;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r') line[n - 1] = 0;
        wp->pieces[wp->n_pieces++] = line;
        line = next;
    }
    return ER_OK;
}

er_status er_wordpiece_load(const char *path, int lowercase, er_wordpiece **out, er_msg *msg)
{
    er_msg local;
    if (!msg) msg = &local;
    *out = NULL;
    er_wordpiece *wp = calloc(1, sizeof(*wp));
    if (!wp) return er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    wp->lowercase = lowercase;
    size_t size = 0;
    er_status st = read_file(path, &wp->text, &size, msg);
    if (st == ER_OK && memchr(wp->text, 0, size))
        st = er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT, "vocabulary '%s' is not a text file", path);
    if (st == ER_OK && (split_lines(wp, size) != ER_OK || build_table(wp) != ER_OK))
        st = er_fail(msg->text, sizeof(msg->text), ER_ERR_NOMEM, "out of memory");
    if (st == ER_OK) {
        wp->unk = lookup(wp, "[UNK]", 5);
        wp->cls = lookup(wp, "[CLS]", 5);
        wp->sep = lookup(wp, "[SEP]", 5);
        wp->pad = lookup(wp, "[PAD]", 5);
        if (wp->pad < 0) wp->pad = 0;
        if (wp->unk < 0 || wp->cls < 0 || wp->sep < 0)
            st = er_fail(msg->text, sizeof(msg->text), ER_ERR_FORMAT,
                         "vocabulary '%s' (%d lines) lacks [UNK], [CLS] or [SEP]; is it a WordPiece vocab.txt?",
                         path, wp->n_pieces);
    }
    if (st != ER_OK) {
        er_wordpiece_free(wp);
        return st;
    }
    *out = wp;
    return ER_OK;
}

void er_wordpiece_free(er_wordpiece *wp)
{
    if (!wp) return;
    free(wp->text);
    free(wp->pieces);
    free(wp->slots);
    free(wp);
}

int er_wordpiece_vocab_size(const er_wordpiece *wp) { return wp->n_pieces; }

int er_wordpiece_pad_id(const er_wordpiece *wp) { return wp->pad; }

/* ---- Unicode ---- */

/* Decodes one UTF-8 sequence; malformed bytes give U+FFFD (which cleaning drops). */
static uint32_t utf8_next(const unsigned char **ps)
{
    const unsigned char *s = *ps;
    uint32_t c = s[0];
    int len = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (len == 1) {
        *ps = s + 1;
        return c;
    }
    for (int k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80) len = 0;
    if (len == 0) {
        *ps = s + 1;
        return 0xFFFD;
    }
    c &= 0x3fu >> (len - 1);
    for (int k = 1; k < len; k++) c = (c << 6) | (s[k] & 0x3f);
    bool overlong = (len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF));
    bool surrogate = c >= 0xD800 && c <= 0xDFFF;
    *ps = s + len;
    return overlong || surrogate ? 0xFFFD : c;
}

static int utf8_put(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

static bool is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Unicode categories Cc and Cf (format characters such as the soft hyphen and zero-width
 * joiners), plus private use: BERT drops them. */
static bool is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF ||
           (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xE000 && c <= 0xF8FF);
}

static bool is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i][0] && c <= r[i][1]) return true;
    return false;
}

/* All ASCII symbols count as punctuation (BERT's rule), plus Unicode category P*. */
static bool is_punct(uint32_t c)
{
    static const uint32_t P[][2] = {
        {0x21, 0x2F},     {0x3A, 0x40},     {0x5B, 0x60},     {0x7B, 0x7E},     {0xA1, 0xA1},
        {0xA7, 0xA7},     {0xAB, 0xAB},     {0xB6, 0xB7},     {0xBB, 0xBB},     {0xBF, 0xBF},
        {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E}, {0x3001, 0x3003},
        {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030}, {0x303D, 0x303D}, {0x30A0, 0x30A0},
        {0x30FB, 0x30FB}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B},
        {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D},
        {0xFF5F, 0xFF65},
    };
    return in_ranges(c, P, ER_ARRAY_LEN(P));
}

/* Combining marks (category Mn) that NFD leaves after a base letter. */
static bool is_mark(uint32_t c)
{
    static const uint32_t M[][2] = {{0x300, 0x36F}, {0x483, 0x489}, {0x1AB0, 0x1AFF},
                                    {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0xFE20, 0xFE2F}};
    return in_ranges(c, M, ER_ARRAY_LEN(M));
}

static uint32_t to_lower(uint32_t c)
{
    if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (c == 0x178) return 0xFF;
    if (c == 0x130) return 'i'; /* İ lowercases to i + U+0307, which accent stripping drops */
    if (((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && !(c & 1)) return c + 1;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c & 1)) return c + 1;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c == 0x38C) return 0x3CC;
    if (c == 0x38E || c == 0x38F) return c + 63;
    return c;
}

/* The base letter NFD leaves once its combining marks are dropped; c itself when NFD does
 * not decompose it. */
static uint32_t strip_accent(uint32_t c)
{
    static const char LATIN1[] = "AAAAAA?CEEEEIIII?NOOOOO??UUUUY??aaaaaa?ceeeeiiii?nooooo??uuuuy?y";
    static const char LATIN_A[] = "AaAaAaCcCcCcCcDd??EeEeEeEeEeGgGgGgGgHh??IiIiIiIiI???JjKk?LlLlLl?"
                                  "???NnNnNn???OoOoOo??RrRrRrSsSsSsSsTtTt??UuUuUuUuUuUuWwYyYZzZzZz?";
    static const uint32_t MAP[][2] = {
        {0x3AC, 0x3B1}, {0x3AD, 0x3B5}, {0x3AE, 0x3B7}, {0x3AF, 0x3B9}, {0x3CC, 0x3BF},
        {0x3CD, 0x3C5}, {0x3CE, 0x3C9}, {0x3CA, 0x3B9}, {0x3CB, 0x3C5}, {0x390, 0x3B9},
        {0x3B0, 0x3C5}, {0x386, 0x391}, {0x388, 0x395}, {0x389, 0x397}, {0x38A, 0x399},
        {0x38C, 0x39F}, {0x38E, 0x3A5}, {0x38F, 0x3A9}, {0x3AA, 0x399}, {0x3AB, 0x3A5},
        {0x450, 0x435}, {0x451, 0x435}, {0x453, 0x433}, {0x457, 0x456}, {0x45C, 0x43A},
        {0x45D, 0x438}, {0x45E, 0x443}, {0x439, 0x438}, {0x400, 0x415}, {0x401, 0x415},
        {0x403, 0x413}, {0x407, 0x406}, {0x40C, 0x41A}, {0x40D, 0x418}, {0x40E, 0x423},
        {0x419, 0x418},
    };
    if (c >= 0xC0 && c <= 0xFF && LATIN1[c - 0xC0] != '?') return (uint8_t)LATIN1[c - 0xC0];
    if (c >= 0x100 && c <= 0x17F && LATIN_A[c - 0x100] != '?') return (uint8_t)LATIN_A[c - 0x100];
    for (size_t i = 0; i < ER_ARRAY_LEN(MAP); i++)
        if (MAP[i][0] == c) return MAP[i][1];
    return c;
}

/* ---- tokenization ---- */

/* Growing id list that counts past its capacity so callers learn the full length. */
typedef struct id_sink {
    int32_t *ids;
    int cap;
    int n;
    int limit;           /* word pieces allowed (max_length - 2) */
    int pieces;
} id_sink;

static void emit(id_sink *s, int id)
{
    if (s->n < s->cap) s->ids[s->n] = id;
    s->n++;
}

static void emit_piece(id_sink *s, int id)
{
    if (s->pieces >= s->limit) return;
    s->pieces++;
    emit(s, id);
}

/* Greedy longest-match-first over the code points word[0..n). */
static void wordpieces(const er_wordpiece *wp, const uint32_t *word, int n, id_sink *s)
{
    if (n > MAX_WORD_CHARS) {
        emit_piece(s, wp->unk);
        return;
    }
    int found[MAX_WORD_CHARS], n_found = 0;
    char buf[MAX_PIECE_BYTES];
    for (int start = 0; start < n;) {
        int id = -1, end = n;
        for (; end > start && id < 0; end--) {
            int len = start ? 2 : 0;
            if (start) memcpy(buf, "##", 2);
            for (int k = start; k < end; k++) len += utf8_put(word[k], buf + len);
            id = lookup(wp, buf, (size_t)len);
        }
        if (id < 0) {
            emit_piece(s, wp->unk);
            return;
        }
        found[n_found++] = id;
        start = end + 1;
    }
    for (int k = 0; k < n_found; k++) emit_piece(s, found[k]);
}

/* Splits one whitespace-free token at punctuation (each punctuation mark alone) after
 * optional lowercasing and accent stripping. */
static void split_word(const er_wordpiece *wp, uint32_t *w, int n, id_sink *s)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        uint32_t c = w[i];
        if (wp->lowercase) {
            if (is_mark(c)) continue;
            c = strip_accent(to_lower(c));
        }
        w[m++] = c;
    }
    int start = 0;
    for (int i = 0; i < m; i++) {
        if (!is_punct(w[i])) continue;
        if (i > start) wordpieces(wp, w + start, i - start, s);
        wordpieces(wp, w + i, 1, s);
        start = i + 1;
    }
    if (m > start) wordpieces(wp, w + start, m - start, s);
}

er_status er_wordpiece_encode(const er_wordpiece *wp, const char *text, int max_length,
                              int32_t *ids, int cap, int *n)
{
    size_t len = strlen(text);
    uint32_t *cps = malloc(sizeof(uint32_t) * (len + 1));
    if (!cps) return ER_ERR_NOMEM;
    id_sink s = {ids, cap, 0, max_length > 2 ? max_length - 2 : 0, 0};
    emit(&s, wp->cls);
    const unsigned char *p = (const unsigned char *)text;
    int w = 0;
    while (*p) {
        uint32_t c = utf8_next(&p);
        bool space = is_space(c);
        if (c == 0xFFFD || (!space && is_control(c)) || (space && w == 0)) continue;
        if (space || is_cjk(c)) {
            /* CJK characters are words of their own, as if surrounded by spaces. */
            if (w) split_word(wp, cps, w, &s);
            w = 0;
            if (is_cjk(c)) {
                cps[0] = c;
                split_word(wp, cps, 1, &s);
            }
            continue;
        }
        cps[w++] = c;
    }
    if (w) split_word(wp, cps, w, &s);
    emit(&s, wp->sep);
    free(cps);
    *n = s.n;
    return ER_OK;
}
