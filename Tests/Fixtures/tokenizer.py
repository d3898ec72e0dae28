"""Tokenizer parity fixture: a small BERT-style vocab, a hostile corpus and the ids that
HuggingFace's slow Python BertTokenizer (do_lower_case=True) produces for it.

In transformers 5.x `BertTokenizer` is the Rust-backed fast tokenizer; the slow pure-Python
one the Swift port mirrors is `BertTokenizerLegacy` (tokenization_bert_legacy.py). Older
releases call it `BertTokenizer`; both are tried.

Writes into out_dir:
  vocab.txt            BERT layout: [PAD]=0, [unused0..98]=1..99, [UNK]=100, [CLS]=101,
                       [SEP]=102, [MASK]=103, a few more [unusedK], then real pieces.
  corpus.jsonl         one {"text": ...} per line (JSON, ASCII-escaped, so control characters,
                       NUL, CR and U+2028 survive line splitting).
  expected_full.txt    line i: space-separated ids of tokenizer.encode(corpus[i]).
  expected_max8.txt    same with max_length=8, truncation=True.
  expected_tokens.txt  line i: the wordpiece strings (no specials), for readable diffs.
"""
import json
import os
import tempfile

try:
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBert
except ImportError:  # transformers < 5
    from transformers import BertTokenizer as SlowBert

MAX_LEN = 8


def build_vocab():
    toks = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    toks += [f"[unused{i}]" for i in range(99, 110)]
    # Every ASCII punctuation/symbol character as its own token, plus some Unicode P* ones.
    toks += [chr(c) for c in list(range(33, 48)) + list(range(58, 65)) + list(range(91, 97)) + list(range(123, 127))]
    toks += ["«", "»", "—", "–", "…", "¿", "¡", "、", "。", "“", "”", "‘", "’", "§"]
    toks += [str(d) for d in range(10)]
    toks += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    # Continuation letters, deliberately without ##q ##x ##z so some words fail mid-way.
    toks += ["##" + chr(c) for c in range(ord("a"), ord("z") + 1) if chr(c) not in "qxz"]
    toks += ["##" + str(d) for d in range(10)]
    words = """the a an and but not is it 's film movie good bad great charming moving boring never
    dull actors story un ##aff ##able ##s ##ing ##ed ##ly ##er ##ness ##ful cafe naive angstrom resume
    hello world over play re ##imagin stirring funny finally transporting of beauty beast horror films
    1930s this that was n't no one funn ##y ##iest ##est best worst ever i you he she they
    mov ##ie ##ies act ##or ##ors emoji fa ##cade ubermensch strasse ##ß ß ﬁ ##ﬁ € ##€""".split()
    toks += [w for w in words if w not in toks]  # single letters are already present
    toks += ["中", "文", "日", "本", "人", "##中"]           # 語 and 国 deliberately absent
    toks += ["ᄒ", "##ᅡ", "##ᆫ", "ᄀ", "##ᅮ", "##ᆨ", "한"]  # jamo pieces plus precomposed 한 (must NOT match NFD jamo)
    toks += ["ο", "##δ", "##ο", "οδος", "σ", "ς"]            # final sigma: python lowers ΟΔΟΣ to οδος
    toks += ["😀", "👨", "##👩", "##👧", "##🏽", "👍", "ह", "##ि", "##ं", "##द", "##ी", "##ः"]
    seen = set()
    for t in toks:
        assert t not in seen, t
        seen.add(t)
    return toks


def build_corpus():
    long101 = "a" * 101
    long100 = "a" * 100
    c = [
        "a stirring , funny and finally transporting re-imagining of beauty and the beast and 1930s horror films",
        "it 's a charming and moving film .",
        "Hello, World!",
        "HELLO WORLD",
        "unaffable",
        "UnAffable films",
        "Café naïve Ångström résumé",
        "cafe\u0301 nai\u0308ve",                 # decomposed e+U+0301, i+U+0308
        "Fac\u0327ade FAÇADE",
        "Übermensch Straße STRASSE",
        "ﬁ ﬁlm",
        "中文 日本人 日本語 中国",
        "hello中world",
        "한국 한 국",
        "\u1112\u1161\u11ab",                     # already-decomposed 한
        "ΟΔΟΣ οδος Σ ΣΟ",
        "$5 ^caret `tick` a+b <tag> a=b x|y ~tilde",
        "price: 5€ § 3 — «quoted» … ¿qué? ¡sí!",
        "tabs\tand\tnewlines\nand\rreturns",
        "ctrl\x01char\x07s and\x1fmore\x7f",
        "nul\x00here and \ufffdreplacement",
        "zero\u200bwidth\u200cjoiner\u200dmark\ufeffbom soft\u00adhyphen",
        "nbsp\u00a0ideographic\u3000space thin\u2009space",
        "line\u2028separator para\u2029separator",
        "next\u0085line vtab\x0bformfeed\x0c",
        "private\ue000use unassigned\u0378 nonchar\uffff",
        long100,
        long101,
        "the " + long101 + " film",
        "é" * 60,
        "e\u0301" * 101,
        "qu quiz xylophone zebra",
        "unknownword and anotherunknown",
        "MiXeD CaSe MoViE NeVeR BoRiNg",
        "😀 great film 👍🏽 🎬",
        "👨\u200d👩\u200d👧 family",
        "हिंदी",
        "it 's not bad , but never great",
        "n't no one ever",
        "hello [SEP] world",
        "x[MASK]y [sep] [CLS]",
        "[SE\x00P] control inside special",
        "",
        "   ",
        "\t\n",
        ".,;:!?",
        "...the end...",
        "1930s 2024 3.14 1,000",
        "İstanbul",
        "the funniest movies ever",
        "actors act ; actor acts",
        "a " * 20,
    ]
    return c


def main(out_dir):
    toks = build_vocab()
    vocab_path = os.path.join(out_dir, "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8", newline="\n") as f:
        for t in toks:
            f.write(t + "\n")
    tok = SlowBert(vocab_path, do_lower_case=True)
    corpus = build_corpus()
    with open(os.path.join(out_dir, "corpus.jsonl"), "w", encoding="ascii", newline="\n") as f:
        for s in corpus:
            f.write(json.dumps({"text": s}, ensure_ascii=True) + "\n")
    full, trunc, pieces = [], [], []
    for s in corpus:
        full.append(" ".join(str(i) for i in tok.encode(s)))
        trunc.append(" ".join(str(i) for i in tok.encode(s, max_length=MAX_LEN, truncation=True)))
        pieces.append(" ".join(tok.tokenize(s)))
    for name, lines in [("expected_full.txt", full), (f"expected_max{MAX_LEN}.txt", trunc),
                        ("expected_tokens.txt", pieces)]:
        with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
    # Informational: how the fast (Rust) tokenizer compares on the same corpus.
    try:
        from transformers import BertTokenizer  # Rust-backed in transformers 5.x
        from transformers.models.bert.tokenization_bert import load_vocab
        fast = BertTokenizer(vocab=load_vocab(vocab_path), do_lower_case=True)
        diff = [i for i, s in enumerate(corpus) if fast.encode(s) != tok.encode(s)]
        print(f"tokenizer: {len(corpus)} lines, fast tokenizer differs on lines {[d + 1 for d in diff]}")
    except Exception as e:  # pragma: no cover - informational only
        print("tokenizer: fast comparison skipped:", e)
