/* Tokenizers on vocabularies built here: SentencePiece-style merges by score with byte
 * fallback and the prefix space, byte-level BPE merges by rank with GPT-2 / Llama 3
 * pre-tokenization, special tokens, and decoding back to the exact text. Agreement with
 * llama.cpp on trained vocabularies is checked by tests/llm_test.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/tokenizer.h"
#include "llm_fixture.h"
#include "check.h"

static er_tokenizer *make(uint8_t *p, size_t n, er_gguf **g)
{
    char err[256];
    er_tokenizer *t = NULL;
    if (er_gguf_parse(p, n, g, err, sizeof err) != ER_OK || er_tokenizer_load(*g, &t, err, sizeof err) != ER_OK)
        printf("tokenizer: %s\n", err);
    return t;
}

/* token texts of an encoding, joined by '|' */
static void pieces(const er_tokenizer *t, er_gguf *g, const char *text, bool bos, bool special, char *out, size_t cap)
{
    int32_t *ids = NULL;
    int n = 0, c = 0;
    char err[128];
    er_tokenize(t, text, strlen(text), bos, special, &ids, &n, &c, err, sizeof err);
    const er_gguf_kv *kv = er_gguf_find(g, "tokenizer.ggml.tokens");
    er_gguf_str *s = malloc(kv->arr_n * sizeof *s);
    er_gguf_arr_strs(kv, s);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%.*s", i ? "|" : "", (int)s[ids[i]].n, s[ids[i]].s);
    }
    free(s);
    free(ids);
}

static void roundtrip(const er_tokenizer *t, const char *text)
{
    int32_t *ids = NULL;
    int n = 0, c = 0;
    char err[128];
    CHECK(er_tokenize(t, text, strlen(text), true, false, &ids, &n, &c, err, sizeof err) == ER_OK, "%s", err);
    char *back = er_detokenize(t, ids, n);
    CHECK(back && strcmp(back, text) == 0, "round trip of '%s' gave '%s'", text, back ? back : "(null)");
    free(back);
    free(ids);
}

static void test_spm(void)
{
    fx_file f = {0};
    fx_vocab(&f, 300);
    size_t n;
    uint8_t *p = fx_finish(&f, &n);
    er_gguf *g;
    er_tokenizer *t = make(p, n, &g);
    if (!t) {
        failures++;
        return;
    }
    char out[512];
    pieces(t, g, "hello world", true, false, out, sizeof out);
    CHECK(strcmp(out, "<s>|\xe2\x96\x81hello|\xe2\x96\x81world") == 0, "spm: %s", out);
    /* "ll" outranks "he", and "▁hel" does not exist, so "hell" stops at he|ll */
    pieces(t, g, "hell", false, false, out, sizeof out);
    CHECK(strcmp(out, "\xe2\x96\x81|he|ll") == 0, "spm hell: %s", out);
    /* é is not a piece: its two UTF-8 bytes fall back to byte tokens */
    pieces(t, g, "\xc3\xa9", false, false, out, sizeof out);
    CHECK(strcmp(out, "\xe2\x96\x81|<0xC3>|<0xA9>") == 0, "spm byte fallback: %s", out);
    /* control tokens only with parse_special; a prefix space follows them */
    pieces(t, g, "<s>hello", false, true, out, sizeof out);
    CHECK(strcmp(out, "<s>|\xe2\x96\x81hello") == 0, "spm special: %s", out);
    pieces(t, g, "<s>", false, false, out, sizeof out);
    CHECK(strcmp(out, "\xe2\x96\x81|<0x3C>|<0x73>|<0x3E>") == 0, "spm no special: %s", out);
    roundtrip(t, "hello world");
    roundtrip(t, "  two  spaces\tand tab\nnewline ");
    roundtrip(t, "h\xc3\xa9llo w\xc3\xb6rld \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80");
    CHECK(er_tokenizer_bos(t) == 1 && er_tokenizer_eos(t) == 2 && er_tokenizer_is_eog(t, 2) && !er_tokenizer_is_eog(t, 5),
          "bos/eos");
    er_tokenizer_free(t);
    er_gguf_free(g);
    free(p);
}

/* byte-level alphabet of the printable ASCII used here is the characters themselves; space
 * is U+0120 'Ġ' and newline U+010A 'Ċ' */
static void test_bpe(const char *pre, const char *text, const char *want)
{
    static char names[300][8];
    const char *tok[300];
    int32_t type[300];
    int nt = 0;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
        unsigned cp = keep ? (unsigned)b : 256u + (unsigned)extra++;
        if (cp < 0x80) names[nt][0] = (char)cp, names[nt][1] = 0;
        else names[nt][0] = (char)(0xc0 | cp >> 6), names[nt][1] = (char)(0x80 | (cp & 0x3f)), names[nt][2] = 0;
        tok[nt] = names[nt], type[nt++] = 1;
    }
    const char *merged[] = {"\xc4\xa0w", "or", "\xc4\xa0wor", "ld", "\xc4\xa0world", "he", "ll", "hell", "hello", "12", "123", "(hello"};
    const char *merges[] = {"\xc4\xa0 w", "o r", "\xc4\xa0w or", "l d", "\xc4\xa0wor ld", "h e", "l l", "he ll", "hell o", "1 2", "12 3", "( hello"};
    for (int i = 0; i < 12; i++) tok[nt] = merged[i], type[nt++] = 1;
    tok[nt] = "<|im_start|>", type[nt++] = 3;
    fx_file f = {0};
    fx_kv_str(&f, "tokenizer.ggml.model", "gpt2");
    fx_kv_str(&f, "tokenizer.ggml.pre", pre);
    fx_kv_strs(&f, "tokenizer.ggml.tokens", tok, nt);
    fx_kv_arr(&f, "tokenizer.ggml.token_type", ER_GGUF_I32, type, nt);
    fx_kv_strs(&f, "tokenizer.ggml.merges", merges, 12);
    size_t n;
    uint8_t *p = fx_finish(&f, &n);
    er_gguf *g;
    er_tokenizer *t = make(p, n, &g);
    if (!t) {
        failures++;
        return;
    }
    char out[512];
    pieces(t, g, text, false, true, out, sizeof out);
    CHECK(strcmp(out, want) == 0, "bpe %s '%s': %s (want %s)", pre, text, out, want);
    roundtrip(t, "hello world 12345 it's\n\n  x\xc3\xa9");
    er_tokenizer_free(t);
    er_gguf_free(g);
    free(p);
}

int main(void)
{
    test_spm();
    test_bpe("gpt2", "hello world", "hello|\xc4\xa0world");
    /* GPT-2 keeps digit runs whole; Llama 3 splits them in threes; Qwen2 one by one */
    test_bpe("gpt2", "12345", "123|4|5");
    test_bpe("llama-bpe", "12345", "123|4|5");
    test_bpe("qwen2", "12345", "1|2|3|4|5");
    test_bpe("gpt2", "a  world", "a|\xc4\xa0|\xc4\xa0world");
    /* Llama 3 attaches one leading punctuation character to a word; GPT-2 does not */
    test_bpe("llama-bpe", "(hello", "(hello");
    test_bpe("gpt2", "(hello", "(|hello");
    test_bpe("llama-bpe", "<|im_start|>hello", "<|im_start|>|hello");
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
