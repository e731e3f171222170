#!/usr/bin/env python3
"""Makes the reference token ids and embeddings that the Swift parity tests compare against.

Runs the reference implementation (sentence-transformers on PyTorch, CPU) over a list of texts and
writes, for each text, the Hugging Face tokenizer's ids (truncated to the model's 256 tokens, with
[CLS]/[SEP]), its untruncated token count, and the 384-d embedding rounded to 6 decimals.

Setup (CPU-only torch wheel; a plain `torch` pulls gigabytes of CUDA):
    pip install torch==2.13.0 sentence-transformers
    scripts/fetch-model.sh

Usage:
    scripts/make-reference-embeddings.py                      # built-in texts -> the test fixture
    scripts/make-reference-embeddings.py --texts new.json --output /tmp/new-reference.json
    EMBED_BERT_REFERENCE=/tmp/new-reference.json swift test --filter EmbedKitBERTTests

--texts takes a JSON array of strings, or any other file as one text per line.

Every code point, tokenized alone by the Hugging Face normalizer and pre-tokenizer (about 20 MB, not
committed; the Swift test compares all of them when EMBED_BERT_CODEPOINTS names the file):
    scripts/make-reference-embeddings.py --codepoints /tmp/codepoints.tsv
    EMBED_BERT_CODEPOINTS=/tmp/codepoints.tsv swift test --filter EmbedKitBERTTests
"""

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPO, "Tests", "EmbedKitBERTTests", "Fixtures", "reference-embeddings.json")

PARAGRAPH = (
    "PostgreSQL is a powerful, open source object-relational database system. It uses and extends "
    "the SQL language combined with many features that safely store and scale the most complicated "
    "data workloads. The origins of PostgreSQL date back to 1986 as part of the POSTGRES project at "
    "the University of California at Berkeley and has more than 35 years of active development on "
    "the core platform. "
)


def builtin_texts(tokenizer):
    texts = [
        "",
        " ",
        "hello",
        "The quick brown fox jumps over the lazy dog.",
        "HeLLo WoRLD, ThIs Is MiXeD CaSe AND SHOUTING",
        "Café crème brûlée à la française, naïve résumé, Ångström, São Paulo, Łódź, Dvořák",
        "我爱自然语言处理。東京は日本の首都です。",
        "안녕하세요, 세계! 한국어 문장입니다.",
        "Привет, мир! Съешь же ещё этих мягких французских булок.",
        "مرحبا بالعالم، هذه جملة عربية.",
        "I love pizza 🍕🍕 and cats 🐱‍👤 👍🏽 🥲 ❤️",
        "func add(_ a: Int, _ b: Int) -> Int { return a + b } // sum\n\tlet x = [1, 2, 3].map { $0 * 2 }",
        "See https://www.postgresql.org/docs/15/sql-select.html?foo=bar&baz=1#anchor or mail me@example.com",
        "Pi is 3.14159, e ≈ 2.71828; 1,000,000 people; the 42nd run; 0x1F; 1e-12; -273.15°C",
        "Wait... what?!?! -- (really) [yes] {no} <<>> ''\"\" ***___~~~ $$$ ^^^ ||| `` ++ == @@ ##",
        "zero\u200bwidth\u200djoiner soft\u00adhyphen nul\u0000char bell\u0007 replacement\ufffd "
        "tab\tnew\nline\r\nend\u2028sep\u00a0nbsp\u3000ideographic",
        PARAGRAPH * 6,
        "x" * 120 + " short " + "ab" * 60,
        "Σίσυφος ΣΣ ς ΌΛΟΙ — Ἀθῆναι",
        "Straße groß ẞ Maßstab",
        "İstanbul ıİ DİYARBAKIR",
        "नमस्ते दुनिया, यह हिंदी है।",
        "สวัสดีครับ ภาษาไทย",
        "カタカナとひらがなと漢字",
        "שָׁלוֹם עֲלֵיכֶם",
        "∑ x² ≤ ∞ → ∀ε>0 ∃δ ½ ⅓ № ™ © ®",
        "ＡＢＣ１２３！ fullwidth",
        "ﬁnance ﬂow ﬀ Ⅻ ①",
        "Tiếng Việt có dấu rất đẹp",
        "\ue000private use \U0010fffd and unassigned \U000e0001\u0378 chars",
        "unbelievably antidisestablishmentarianism tokenization hyperparameterization",
        "!!!",
        "\t\n \u3000 \u00a0 \r\n",
        "# Title\n\nSome *markdown* with `code` and a list:\n- one\n- two\n\n```swift\nprint(\"hi\")\n```",
        "𠀀𠀁 𪜀 CJK extension B and C characters",
        "e\u0301 a\u0308 n\u0303 combining sequences vs é ä ñ",
        "€100 £50 ¥1000 $5 ₹20 ₿0.5",
        "a\u0000\u0000b\u200b\u200bc",
        "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days' ORDER BY name;",
    ]
    # Inputs whose model input is exactly 256 and 257 tokens ([CLS] + 254/255 + [SEP]), and 256/257
    # tokens without the special tokens: one vocabulary word per token, so the count is exact.
    for count in (254, 255, 256, 257):
        text = " ".join(["alpha", "beta", "gamma", "delta"][i % 4] for i in range(count))
        assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) == count
        texts.append(text)
    return texts


def load_texts(path):
    with open(path, encoding="utf-8") as f:
        content = f.read()
    if path.endswith(".json"):
        texts = json.loads(content)
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            sys.exit(f"{path}: expected a JSON array of strings")
        return texts
    return content.split("\n")


def write_codepoints(model_dir, path):
    """One line per code point: hex code point, tab, its words (each as dot-joined hex code points)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    normalizer, pre_tokenizer = tokenizer.normalizer, tokenizer.pre_tokenizer
    with open(path, "w", encoding="ascii") as out:
        for cp in range(0x110000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            words = [w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(chr(cp)))]
            out.write("%x\t%s\n" % (cp, " ".join(".".join("%x" % ord(ch) for ch in w) for w in words)))
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", help="JSON array of strings, or a file with one text per line")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="where to write the JSON (default: the test fixture)")
    parser.add_argument("--model", default=os.environ.get("EMBED_MODEL_DIR", os.path.join(REPO, "models", "all-MiniLM-L6-v2")))
    parser.add_argument("--codepoints", help="write the words of every code point to this file and exit")
    args = parser.parse_args()

    if args.codepoints:
        write_codepoints(args.model, args.codepoints)
        return

    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu")
    tokenizer = model.tokenizer
    max_length = model.get_max_seq_length()
    assert max_length == 256, max_length

    texts = load_texts(args.texts) if args.texts else builtin_texts(tokenizer)
    cases = []
    for text in texts:
        ids = tokenizer(text, truncation=True, max_length=max_length)["input_ids"]
        count = len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        # One text per call: no padding, the cleanest reference.
        vector = model.encode([text], batch_size=1, convert_to_numpy=True)[0]
        cases.append({
            "text": text,
            "ids": ids,
            "tokenCount": count,
            "embedding": [round(float(v), 6) for v in vector],
        })

    import sentence_transformers
    import tokenizers
    document = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "maxLength": max_length,
        "generator": (f"scripts/make-reference-embeddings.py with sentence-transformers "
                      f"{sentence_transformers.__version__}, torch {torch.__version__}, "
                      f"tokenizers {tokenizers.__version__}"),
        "cases": cases,
    }
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.output} ({os.path.getsize(args.output)} bytes)")


if __name__ == "__main__":
    main()
