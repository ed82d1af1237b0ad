#include "llm/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Token types of tokenizer.ggml.token_type. */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* ---- string → int hash map (open addressing, keys point into the GGUF file) ---------- */

typedef struct smap_entry {
    const char *s;
    uint32_t n;
    int32_t value;
} smap_entry;

typedef struct smap {
    smap_entry *e;
    size_t mask;
} smap;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static bool smap_init(smap *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    m->e = calloc(cap, sizeof *m->e);
    m->mask = cap - 1;
    return m->e != NULL;
}

static int32_t smap_get(const smap *m, const char *s, size_t n)
{
    for (size_t i = hash_bytes(s, n) & m->mask;; i = (i + 1) & m->mask) {
        const smap_entry *e = &m->e[i];
        if (!e->s) return -1;
        if (e->n == n && memcmp(e->s, s, n) == 0) return e->value;
    }
}

/* Keeps the first value of a duplicated key (what a lookup by text should find). */
static void smap_put(smap *m, const char *s, size_t n, int32_t v)
{
    for (size_t i = hash_bytes(s, n) & m->mask;; i = (i + 1) & m->mask) {
        smap_entry *e = &m->e[i];
        if (!e->s) {
            e->s = s ? s : "";
            e->n = (uint32_t)n;
            e->value = v;
            return;
        }
        if (e->n == n && memcmp(e->s, s, n) == 0) return;
    }
}

/* ---- tokenizer ------------------------------------------------------------------------ */

struct er_tokenizer {
    er_tok_kind kind;
    er_tok_pre pre;
    int n_vocab;
    er_gguf_str *text;
    float *scores;
    int32_t *type;
    smap vocab, merges;
    int32_t bos, eos, unk, eot;
    bool add_bos, add_space_prefix;
    int32_t byte_token[256];          /* SPM byte fallback pieces */
    uint8_t byte_of_char[0x180];      /* BPE: code point of the byte-level alphabet → byte */
    char byte_char[256][3];           /* BPE: byte → UTF-8 of its stand-in character */
    int32_t *specials;                /* control/user tokens, longest text first */
    int n_specials;
};

static int utf8_len(uint8_t c)
{
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) return 2;
    if ((c & 0xf0) == 0xe0) return 3;
    if ((c & 0xf8) == 0xf0) return 4;
    return 1;
}

/* Decodes one code point; invalid sequences yield the byte itself with length 1. */
static uint32_t utf8_decode(const char *s, size_t avail, int *len)
{
    const uint8_t *u = (const uint8_t *)s;
    int n = utf8_len(u[0]);
    if ((size_t)n > avail) n = 1;
    if (n == 1) {
        *len = 1;
        return u[0];
    }
    uint32_t cp = u[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *len = 1;
            return u[0];
        }
        cp = cp << 6 | (u[i] & 0x3f);
    }
    *len = n;
    return cp;
}

static int utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* GPT-2's byte-level alphabet: printable bytes stand for themselves, the rest are moved to
 * code points from 256 up, so every byte has a visible, reversible character. */
static void init_byte_alphabet(er_tokenizer *t)
{
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
        uint32_t cp = keep ? (uint32_t)b : (uint32_t)(256 + extra++);
        memset(t->byte_char[b], 0, 3);
        utf8_encode(cp, t->byte_char[b]);
        if (cp < sizeof t->byte_of_char) t->byte_of_char[cp] = (uint8_t)b;
    }
}

static er_status load_specials(er_tokenizer *t)
{
    t->specials = malloc((size_t)t->n_vocab * sizeof *t->specials);
    if (!t->specials) return ER_ERR_NOMEM;
    for (int i = 0; i < t->n_vocab; i++)
        if ((t->type[i] == TT_CONTROL || t->type[i] == TT_USER || t->type[i] == TT_UNKNOWN) && t->text[i].n > 0)
            t->specials[t->n_specials++] = i;
    /* insertion sort by length, longest first, stable by id */
    for (int i = 1; i < t->n_specials; i++) {
        int32_t v = t->specials[i];
        int j = i;
        for (; j > 0 && t->text[t->specials[j - 1]].n < t->text[v].n; j--) t->specials[j] = t->specials[j - 1];
        t->specials[j] = v;
    }
    return ER_OK;
}

static int32_t meta_id(const er_gguf *g, const char *key, int32_t def, int n_vocab)
{
    int64_t v;
    if (!er_gguf_get_int(g, key, &v) || v < 0 || v >= n_vocab) return def;
    return (int32_t)v;
}

static er_status load_vocab(er_tokenizer *t, const er_gguf *g, char *err, size_t err_size)
{
    const er_gguf_kv *tok = er_gguf_find(g, "tokenizer.ggml.tokens");
    if (!tok || tok->type != ER_GGUF_ARRAY || tok->arr_type != ER_GGUF_STRING || tok->arr_n == 0 ||
        tok->arr_n > (1u << 24))
        return er_fail(err, err_size, ER_ERR_FORMAT, "gguf: missing or invalid 'tokenizer.ggml.tokens'");
    t->n_vocab = (int)tok->arr_n;
    t->text = malloc((size_t)t->n_vocab * sizeof *t->text);
    t->scores = calloc((size_t)t->n_vocab, sizeof *t->scores);
    t->type = malloc((size_t)t->n_vocab * sizeof *t->type);
    if (!t->text || !t->scores || !t->type || !smap_init(&t->vocab, (size_t)t->n_vocab))
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    er_gguf_arr_strs(tok, t->text);
    const er_gguf_kv *sc = er_gguf_find(g, "tokenizer.ggml.scores");
    const er_gguf_kv *ty = er_gguf_find(g, "tokenizer.ggml.token_type");
    if ((sc && sc->arr_n != tok->arr_n) || (ty && ty->arr_n != tok->arr_n))
        return er_fail(err, err_size, ER_ERR_FORMAT, "gguf: tokenizer scores/types do not match the %d tokens",
                       t->n_vocab);
    for (int i = 0; i < t->n_vocab; i++) {
        double v;
        t->scores[i] = sc && er_gguf_arr_f64(sc, (uint64_t)i, &v) ? (float)v : 0.0f;
        t->type[i] = ty && er_gguf_arr_f64(ty, (uint64_t)i, &v) ? (int32_t)v : TT_NORMAL;
        smap_put(&t->vocab, t->text[i].s, t->text[i].n, i);
    }
    return ER_OK;
}

static er_status load_merges(er_tokenizer *t, const er_gguf *g, char *err, size_t err_size)
{
    const er_gguf_kv *mk = er_gguf_find(g, "tokenizer.ggml.merges");
    if (!mk || mk->type != ER_GGUF_ARRAY || mk->arr_type != ER_GGUF_STRING || mk->arr_n > (1u << 24))
        return er_fail(err, err_size, ER_ERR_FORMAT, "gguf: byte-level BPE vocabulary without 'tokenizer.ggml.merges'");
    er_gguf_str *m = malloc((mk->arr_n ? mk->arr_n : 1) * sizeof *m);
    if (!m || !smap_init(&t->merges, mk->arr_n)) {
        free(m);
        return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    }
    er_gguf_arr_strs(mk, m);
    for (uint64_t i = 0; i < mk->arr_n; i++) smap_put(&t->merges, m[i].s, m[i].n, (int32_t)i);
    free(m);
    return ER_OK;
}

static er_tok_pre pre_from_name(er_gguf_str s)
{
    if (er_gguf_str_eq(s, "llama-bpe") || er_gguf_str_eq(s, "llama3") || er_gguf_str_eq(s, "smaug-bpe"))
        return ER_PRE_LLAMA3;
    if (er_gguf_str_eq(s, "qwen2") || er_gguf_str_eq(s, "deepseek-r1-qwen")) return ER_PRE_QWEN2;
    return ER_PRE_GPT2;
}

static er_status load(er_tokenizer *t, const er_gguf *g, char *err, size_t err_size)
{
    er_gguf_str model;
    if (!er_gguf_get_str(g, "tokenizer.ggml.model", &model))
        return er_fail(err, err_size, ER_ERR_FORMAT, "gguf: missing metadata 'tokenizer.ggml.model'");
    if (er_gguf_str_eq(model, "llama")) t->kind = ER_TOK_SPM;
    else if (er_gguf_str_eq(model, "gpt2")) t->kind = ER_TOK_BPE;
    else
        return er_fail(err, err_size, ER_ERR_UNSUPPORTED, "tokenizer model '%.*s' is not supported (llama, gpt2)",
                       (int)ER_MIN(model.n, 64), model.s);
    er_status st = load_vocab(t, g, err, err_size);
    if (st != ER_OK) return st;
    if (t->kind == ER_TOK_BPE) {
        if ((st = load_merges(t, g, err, err_size)) != ER_OK) return st;
        er_gguf_str pre = {"", 0};
        er_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
        t->pre = pre_from_name(pre);
        init_byte_alphabet(t);
    }
    t->bos = meta_id(g, "tokenizer.ggml.bos_token_id", t->kind == ER_TOK_SPM ? 1 : -1, t->n_vocab);
    t->eos = meta_id(g, "tokenizer.ggml.eos_token_id", t->kind == ER_TOK_SPM ? 2 : -1, t->n_vocab);
    t->unk = meta_id(g, "tokenizer.ggml.unknown_token_id", t->kind == ER_TOK_SPM ? 0 : -1, t->n_vocab);
    t->eot = meta_id(g, "tokenizer.ggml.eot_token_id", -1, t->n_vocab);
    bool b;
    t->add_bos = er_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) ? b : t->kind == ER_TOK_SPM;
    t->add_space_prefix = er_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &b) ? b : t->kind == ER_TOK_SPM;
    for (int i = 0; i < 256; i++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", i);
        t->byte_token[i] = smap_get(&t->vocab, hex, 6);
    }
    if (load_specials(t) != ER_OK) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    return ER_OK;
}

er_status er_tokenizer_load(const er_gguf *g, er_tokenizer **out, char *err, size_t err_size)
{
    *out = NULL;
    er_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory");
    er_status st = load(t, g, err, err_size);
    if (st != ER_OK) {
        er_tokenizer_free(t);
        return st;
    }
    *out = t;
    return ER_OK;
}

void er_tokenizer_free(er_tokenizer *t)
{
    if (!t) return;
    free(t->text);
    free(t->scores);
    free(t->type);
    free(t->vocab.e);
    free(t->merges.e);
    free(t->specials);
    free(t);
}

er_tok_kind er_tokenizer_kind(const er_tokenizer *t) { return t->kind; }
int er_tokenizer_n_vocab(const er_tokenizer *t) { return t->n_vocab; }
int32_t er_tokenizer_bos(const er_tokenizer *t) { return t->bos; }
int32_t er_tokenizer_eos(const er_tokenizer *t) { return t->eos; }
bool er_tokenizer_add_bos(const er_tokenizer *t) { return t->add_bos && t->bos >= 0; }

int32_t er_tokenizer_find(const er_tokenizer *t, const char *text, size_t len)
{
    return smap_get(&t->vocab, text, len);
}

bool er_tokenizer_is_eog(const er_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->n_vocab) return false;
    if (id == t->eos || id == t->eot) return true;
    static const char *eog[] = {"<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end|>", "<end_of_turn>"};
    if (t->type[id] != TT_CONTROL) return false;
    for (size_t i = 0; i < ER_ARRAY_LEN(eog); i++)
        if (er_gguf_str_eq(t->text[id], eog[i])) return true;
    return false;
}

/* ---- output buffer ------------------------------------------------------------------- */

typedef struct ids_buf {
    int32_t **ids;
    int *n, *cap;
    bool oom;
} ids_buf;

static void push(ids_buf *b, int32_t id)
{
    if (b->oom) return;
    if (*b->n == *b->cap) {
        int nc = *b->cap ? *b->cap * 2 : 64;
        int32_t *p = realloc(*b->ids, (size_t)nc * sizeof *p);
        if (!p) {
            b->oom = true;
            return;
        }
        *b->ids = p;
        *b->cap = nc;
    }
    (*b->ids)[(*b->n)++] = id;
}

/* ---- merge engine shared by both tokenizers ------------------------------------------ */

typedef struct sym {
    const char *s;
    int n;
    int prev, next;
} sym;

typedef struct bigram {
    float score;   /* higher merges first */
    int left, right;
    int size;      /* bytes of the merged text, to detect stale entries */
} bigram;

typedef struct heap {
    bigram *a;
    int n, cap;
} heap;

static bool bigram_before(const bigram *x, const bigram *y)
{
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static bool heap_push(heap *h, bigram b)
{
    if (h->n == h->cap) {
        int nc = h->cap ? h->cap * 2 : 64;
        bigram *p = realloc(h->a, (size_t)nc * sizeof *p);
        if (!p) return false;
        h->a = p;
        h->cap = nc;
    }
    int i = h->n++;
    while (i > 0 && bigram_before(&b, &h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = b;
    return true;
}

static bigram heap_pop(heap *h)
{
    bigram top = h->a[0], last = h->a[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bigram_before(&h->a[c + 1], &h->a[c])) c++;
        if (!bigram_before(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = last;
    return top;
}

typedef struct merger {
    const er_tokenizer *t;
    sym *syms;
    int n_syms, cap_syms;
    heap h;
    char *scratch;
    size_t scratch_cap;
    bool oom;
} merger;

/* Score of merging two adjacent symbols, or false when the pair does not merge. */
static bool pair_score(merger *m, int l, int r, float *score)
{
    const sym *a = &m->syms[l], *b = &m->syms[r];
    const er_tokenizer *t = m->t;
    if (t->kind == ER_TOK_SPM) {
        int32_t id = smap_get(&t->vocab, a->s, (size_t)(a->n + b->n));
        if (id < 0) return false;
        *score = t->scores[id];
        return true;
    }
    size_t need = (size_t)a->n + (size_t)b->n + 1;
    if (need > m->scratch_cap) {
        char *p = realloc(m->scratch, need * 2);
        if (!p) {
            m->oom = true;
            return false;
        }
        m->scratch = p;
        m->scratch_cap = need * 2;
    }
    memcpy(m->scratch, a->s, (size_t)a->n);
    m->scratch[a->n] = ' ';
    memcpy(m->scratch + a->n + 1, b->s, (size_t)b->n);
    int32_t rank = smap_get(&t->merges, m->scratch, need);
    if (rank < 0) return false;
    *score = -(float)rank;
    return true;
}

static void try_pair(merger *m, int l, int r)
{
    float score;
    if (l < 0 || r < 0 || !pair_score(m, l, r, &score)) return;
    bigram b = {score, l, r, m->syms[l].n + m->syms[r].n};
    if (!heap_push(&m->h, b)) m->oom = true;
}

/* Splits s into UTF-8 characters and merges adjacent pairs, best first, until none merges.
 * Afterwards the live symbols (n > 0) are the pieces of s. */
static void merge_all(merger *m, const char *s, size_t len)
{
    m->n_syms = 0;
    m->h.n = 0;
    if ((size_t)m->cap_syms < len) {
        sym *p = realloc(m->syms, len * sizeof *p);
        if (!p) {
            m->oom = true;
            return;
        }
        m->syms = p;
        m->cap_syms = (int)len;
    }
    for (size_t off = 0; off < len;) {
        int n = ER_MIN(utf8_len((uint8_t)s[off]), (int)(len - off));
        m->syms[m->n_syms] = (sym){s + off, n, m->n_syms - 1, m->n_syms + 1};
        m->n_syms++;
        off += (size_t)n;
    }
    if (m->n_syms) m->syms[m->n_syms - 1].next = -1;
    for (int i = 1; i < m->n_syms; i++) try_pair(m, i - 1, i);
    while (m->h.n > 0) {
        bigram b = heap_pop(&m->h);
        sym *l = &m->syms[b.left], *r = &m->syms[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) m->syms[r->next].prev = b.left;
        try_pair(m, l->prev, b.left);
        try_pair(m, b.left, l->next);
    }
}

/* ---- SentencePiece-style ------------------------------------------------------------- */

static void spm_fragment(merger *m, ids_buf *out, const char *text, size_t len, bool prefix)
{
    const er_tokenizer *t = m->t;
    /* spaces become U+2581 (3 bytes), plus the optional leading one */
    size_t cap = (len + 1) * 3;
    char *buf = malloc(cap);
    if (!buf) {
        m->oom = true;
        return;
    }
    size_t n = 0;
    if (prefix) {
        memcpy(buf, "\xe2\x96\x81", 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(buf + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            buf[n++] = text[i];
        }
    }
    merge_all(m, buf, n);
    for (int i = 0; !m->oom && m->n_syms && i >= 0; i = m->syms[i].next) {
        const sym *s = &m->syms[i];
        int32_t id = smap_get(&t->vocab, s->s, (size_t)s->n);
        if (id >= 0) {
            push(out, id);
        } else {
            for (int k = 0; k < s->n; k++) {
                int32_t b = t->byte_token[(uint8_t)s->s[k]];
                push(out, b >= 0 ? b : t->unk);
            }
        }
    }
    free(buf);
}

/* ---- byte-level BPE pre-tokenizer ---------------------------------------------------- */

static bool is_space_cp(uint32_t c)
{
    return (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

static bool is_number_cp(uint32_t c)
{
    return (c >= '0' && c <= '9') || c == 0xb2 || c == 0xb3 || c == 0xb9 || (c >= 0xbc && c <= 0xbe) ||
           (c >= 0x660 && c <= 0x669) || (c >= 0x6f0 && c <= 0x6f9) || (c >= 0x966 && c <= 0x96f) ||
           (c >= 0x2070 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089) || (c >= 0x2150 && c <= 0x218b) ||
           (c >= 0x2460 && c <= 0x249b) || (c >= 0xff10 && c <= 0xff19);
}

/* Letters by exclusion above ASCII: Unicode tables are approximated by the punctuation,
 * symbol, mark and emoji blocks that ordinary text uses. */
static bool is_letter_cp(uint32_t c)
{
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    if (c < 0xc0) return c == 0xaa || c == 0xb5 || c == 0xba;
    if (c == 0xd7 || c == 0xf7) return false;
    if (is_space_cp(c) || is_number_cp(c)) return false;
    if (c >= 0x300 && c <= 0x36f) return false;    /* combining marks */
    if (c >= 0x2000 && c <= 0x2bff) return false;  /* punctuation, currency, arrows, math, shapes */
    if (c >= 0x3000 && c <= 0x303f) return false;  /* CJK punctuation */
    if (c >= 0xfe00 && c <= 0xfe0f) return false;  /* variation selectors */
    if (c >= 0xff01 && c <= 0xff0f) return false;
    if (c >= 0xff1a && c <= 0xff20) return false;
    if (c >= 0x1f000 && c <= 0x1faff) return false; /* emoji and pictographs */
    if (c >= 0xe0000) return false;
    return true;
}

enum { C_LETTER, C_NUMBER, C_SPACE, C_OTHER };

typedef struct cps {
    uint32_t *cp;
    int *off;   /* byte offset of each code point; off[n] = length */
    int n;
} cps;

static int cls(const cps *c, int i)
{
    if (i >= c->n) return -1;
    uint32_t x = c->cp[i];
    if (is_letter_cp(x)) return C_LETTER;
    if (is_number_cp(x)) return C_NUMBER;
    if (is_space_cp(x)) return C_SPACE;
    return C_OTHER;
}

static uint32_t lower_ascii(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int match_contraction(const cps *c, int i, bool ci)
{
    if (i >= c->n || c->cp[i] != '\'') return 0;
    uint32_t a = i + 1 < c->n ? c->cp[i + 1] : 0, b = i + 2 < c->n ? c->cp[i + 2] : 0;
    if (ci) {
        a = lower_ascii(a);
        b = lower_ascii(b);
    }
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    return 0;
}

static bool is_nl(uint32_t c) { return c == '\r' || c == '\n'; }

static int run_of(const cps *c, int i, int k)
{
    int j = i;
    while (cls(c, j) == k) j++;
    return j - i;
}

/* `\s+(?!\S)|\s+` at i (i is whitespace). */
static int match_space_run(const cps *c, int i)
{
    int n = run_of(c, i, C_SPACE);
    if (i + n < c->n && n > 1) return n - 1;
    return n;
}

/* One pre-token starting at i, in code points, for the GPT-2 pattern
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static int next_gpt2(const cps *c, int i)
{
    int n = match_contraction(c, i, false);
    if (n) return n;
    int sp = c->cp[i] == ' ' ? 1 : 0;
    int k = cls(c, i + sp);
    if (k == C_LETTER || k == C_NUMBER || k == C_OTHER) return sp + run_of(c, i + sp, k);
    return match_space_run(c, i);
}

/* Llama 3 / Qwen2 pattern:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+   (Qwen2: \p{N} one digit at a time) */
static int next_llama3(const cps *c, int i, int max_digits)
{
    int n = match_contraction(c, i, true);
    if (n) return n;
    int k = cls(c, i);
    if (k == C_LETTER) return run_of(c, i, C_LETTER);
    if (k != C_NUMBER && !is_nl(c->cp[i]) && cls(c, i + 1) == C_LETTER) return 1 + run_of(c, i + 1, C_LETTER);
    if (k == C_NUMBER) return ER_MIN(run_of(c, i, C_NUMBER), max_digits);
    int sp = c->cp[i] == ' ' ? 1 : 0;
    if (cls(c, i + sp) == C_OTHER) {
        int j = i + sp + run_of(c, i + sp, C_OTHER);
        while (j < c->n && is_nl(c->cp[j])) j++;
        return j - i;
    }
    /* whitespace: through the last newline of the run when it has one */
    int ws = run_of(c, i, C_SPACE), last_nl = -1;
    for (int j = i; j < i + ws; j++)
        if (is_nl(c->cp[j])) last_nl = j;
    if (last_nl >= 0) return last_nl + 1 - i;
    return match_space_run(c, i);
}

static void bpe_piece(merger *m, ids_buf *out, const char *s, size_t len)
{
    const er_tokenizer *t = m->t;
    char *buf = malloc(len * 2 + 1);
    if (!buf) {
        m->oom = true;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const char *bc = t->byte_char[(uint8_t)s[i]];
        size_t bl = strlen(bc);
        memcpy(buf + n, bc, bl);
        n += bl;
    }
    merge_all(m, buf, n);
    for (int i = 0; !m->oom && m->n_syms && i >= 0; i = m->syms[i].next) {
        const sym *sy = &m->syms[i];
        int32_t id = smap_get(&t->vocab, sy->s, (size_t)sy->n);
        if (id >= 0) {
            push(out, id);
            continue;
        }
        for (int k = 0; k < sy->n;) {
            int cl = ER_MIN(utf8_len((uint8_t)sy->s[k]), sy->n - k);
            int32_t b = smap_get(&t->vocab, sy->s + k, (size_t)cl);
            if (b >= 0) push(out, b);
            k += cl;
        }
    }
    free(buf);
}

static void bpe_fragment(merger *m, ids_buf *out, const char *text, size_t len)
{
    cps c = {malloc((len + 1) * sizeof(uint32_t)), malloc((len + 1) * sizeof(int)), 0};
    if (!c.cp || !c.off) {
        free(c.cp);
        free(c.off);
        m->oom = true;
        return;
    }
    for (size_t off = 0; off < len;) {
        int l;
        c.cp[c.n] = utf8_decode(text + off, len - off, &l);
        c.off[c.n++] = (int)off;
        off += (size_t)l;
    }
    c.off[c.n] = (int)len;
    for (int i = 0; i < c.n && !m->oom;) {
        int n = m->t->pre == ER_PRE_GPT2 ? next_gpt2(&c, i)
                : next_llama3(&c, i, m->t->pre == ER_PRE_QWEN2 ? 1 : 3);
        if (n <= 0) n = 1;
        bpe_piece(m, out, text + c.off[i], (size_t)(c.off[i + n] - c.off[i]));
        i += n;
    }
    free(c.cp);
    free(c.off);
}

/* ---- special tokens and the driver --------------------------------------------------- */

typedef struct frag {
    int32_t id;          /* >= 0: a special token */
    size_t off, len;     /* raw text otherwise */
} frag;

/* Splits raw fragments at every occurrence of each special token, longest tokens first. */
static frag *split_specials(const er_tokenizer *t, const char *text, size_t len, bool parse_special, int *n_out)
{
    int cap = 16, n = 1;
    frag *f = malloc((size_t)cap * sizeof *f);
    if (!f) return NULL;
    f[0] = (frag){-1, 0, len};
    for (int s = 0; s < t->n_specials; s++) {
        int32_t id = t->specials[s];
        if (!parse_special && t->type[id] != TT_USER) continue;
        const er_gguf_str *st = &t->text[id];
        for (int i = 0; i < n; i++) {
            if (f[i].id >= 0 || f[i].len < st->n) continue;
            const char *base = text + f[i].off;
            const char *hit = memmem(base, f[i].len, st->s, st->n);
            if (!hit) continue;
            if (n + 2 > cap) {
                cap *= 2;
                frag *p = realloc(f, (size_t)cap * sizeof *p);
                if (!p) {
                    free(f);
                    return NULL;
                }
                f = p;
            }
            size_t pre = (size_t)(hit - base), post = f[i].len - pre - st->n;
            frag after = {-1, f[i].off + pre + st->n, post};
            memmove(&f[i + 3], &f[i + 1], (size_t)(n - i - 1) * sizeof *f);
            f[i + 1] = (frag){id, 0, 0};
            f[i + 2] = after;
            f[i].len = pre;
            n += 2;
        }
    }
    *n_out = n;
    return f;
}

er_status er_tokenize(const er_tokenizer *t, const char *text, size_t len, bool add_bos,
                      bool parse_special, int32_t **ids, int *n, int *cap, char *err, size_t err_size)
{
    ids_buf out = {ids, n, cap, false};
    if (add_bos && t->bos >= 0) push(&out, t->bos);
    int nf;
    frag *f = split_specials(t, text, len, parse_special, &nf);
    if (!f) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory while tokenizing");
    merger m = {.t = t};
    bool prev_special = true;   /* the SentencePiece prefix space starts the text and follows specials */
    for (int i = 0; i < nf && !m.oom; i++) {
        if (f[i].id >= 0) {
            push(&out, f[i].id);
            prev_special = true;
            continue;
        }
        if (f[i].len == 0) continue;
        if (t->kind == ER_TOK_SPM) spm_fragment(&m, &out, text + f[i].off, f[i].len, t->add_space_prefix && prev_special);
        else bpe_fragment(&m, &out, text + f[i].off, f[i].len);
        prev_special = false;
    }
    free(f);
    free(m.syms);
    free(m.h.a);
    free(m.scratch);
    if (m.oom || out.oom) return er_fail(err, err_size, ER_ERR_NOMEM, "out of memory while tokenizing");
    return ER_OK;
}

/* ---- decoding ------------------------------------------------------------------------ */

static size_t emit(char *buf, size_t cap, size_t n, const char *s, size_t len)
{
    if (n + len <= cap) memcpy(buf + n, s, len);
    return n + len;
}

size_t er_token_to_piece(const er_tokenizer *t, int32_t id, char *buf, size_t cap)
{
    if (id < 0 || id >= t->n_vocab) return 0;
    int ty = t->type[id];
    if (ty == TT_CONTROL || ty == TT_UNUSED) return 0;
    const er_gguf_str *s = &t->text[id];
    size_t n = 0;
    if (t->kind == ER_TOK_SPM) {
        unsigned b;
        if (ty == TT_BYTE && s->n == 6 && sscanf(s->s, "<0x%2X>", &b) == 1) {
            char c = (char)b;
            return emit(buf, cap, 0, &c, 1);
        }
        for (size_t i = 0; i < s->n;) {
            if (i + 3 <= s->n && memcmp(s->s + i, "\xe2\x96\x81", 3) == 0) {
                n = emit(buf, cap, n, " ", 1);
                i += 3;
            } else {
                n = emit(buf, cap, n, s->s + i, 1);
                i++;
            }
        }
        return n;
    }
    if (ty == TT_USER) return emit(buf, cap, 0, s->s, s->n);
    for (size_t i = 0; i < s->n;) {
        int l;
        uint32_t cp = utf8_decode(s->s + i, s->n - i, &l);
        char c = cp < 0x180 ? (char)t->byte_of_char[cp] : '?';
        n = emit(buf, cap, n, &c, 1);
        i += (size_t)l;
    }
    return n;
}

char *er_detokenize(const er_tokenizer *t, const int32_t *ids, int n)
{
    size_t cap = 256, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        size_t need = er_token_to_piece(t, ids[i], NULL, 0);
        if (len + need + 1 > cap) {
            while (len + need + 1 > cap) cap *= 2;
            char *p = realloc(out, cap);
            if (!p) {
                free(out);
                return NULL;
            }
            out = p;
        }
        len += er_token_to_piece(t, ids[i], out + len, cap - len);
    }
    out[len] = 0;
    if (t->kind == ER_TOK_SPM && t->add_space_prefix && len > 0 && out[0] == ' ') memmove(out, out + 1, len);
    return out;
}
