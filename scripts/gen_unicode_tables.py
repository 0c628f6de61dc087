#!/usr/bin/env python3
"""scripts/gen_unicode_tables.py — writes train/text/unicode_tables.cpp from Unicode data.

The tokenizers need real Unicode data, not approximations:
  * letter (L*) and number (N*) categories and White_Space, for the GPT-2 split pattern
    (\\p{L}, \\p{N}, \\s);
  * canonical combining classes, one-level canonical decompositions and the primary composites,
    for NFC.
Hangul syllables are composed and decomposed algorithmically in C++ and are not in the tables.

Versions. To give exactly the reference library's ids (Hugging Face tokenizers 0.23), each table
comes from the Unicode version that library uses, which was measured code point by code point:
  * classes: Unicode 16.0.0 (its regex engine, Oniguruma) — from the unicodedata2==16.0.0 package,
    installed by this script with `pip install --target` into --cache;
  * NFC: Unicode 9.0.0 (its normalisation crate) — from the unicodedata module of a Python 3.6,
    whose Unicode database is 9.0.0 (--nfc-python; e.g. a pyenv 3.6).
Marks added after 9.0 are starters for NFC there, and so here. The data are read in a child
process per source (`--dump`), so each interpreter only runs the small dump function.

Usage: python3 scripts/gen_unicode_tables.py [--nfc-python PATH] [--cache DIR]
The output is deterministic; commit it together with any change to this script.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "train", "unicode_tables.cpp")
MAX_CP = 0x110000
CLASSES_VERSION, NFC_VERSION = "16.0.0", "9.0.0"


# ---- dump mode: runs under the interpreter that has the wanted Unicode version (Python >= 3.6) ----

def ranges(predicate):
    """Maximal runs [first, last] of code points where predicate holds."""
    out, start = [], None
    for cp in range(MAX_CP + 1):
        ok = cp < MAX_CP and predicate(cp)
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


def dump_classes(ud):
    def white_space(cp):  # the White_Space property is exactly these controls plus Z* separators
        return cp in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85) or ud.category(chr(cp)) in ("Zs", "Zl", "Zp")
    return {"version": ud.unidata_version,
            "letters": ranges(lambda cp: ud.category(chr(cp)).startswith("L")),
            "numbers": ranges(lambda cp: ud.category(chr(cp)).startswith("N")),
            "white_space": ranges(white_space)}


def dump_nfc(ud):
    classes = []
    for cp in range(MAX_CP):
        ccc = ud.combining(chr(cp))
        if ccc == 0:
            continue
        if classes and classes[-1][1] == cp - 1 and classes[-1][2] == ccc:
            classes[-1][1] = cp
        else:
            classes.append([cp, cp, ccc])
    decomps, comps = [], []
    for cp in range(MAX_CP):
        d = ud.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue  # none, or a compatibility mapping
        parts = [int(x, 16) for x in d.split()]
        assert 1 <= len(parts) <= 2, (hex(cp), parts)
        decomps.append((cp, parts[0], parts[1] if len(parts) == 2 else 0))
        # A primary composite: a two-code-point mapping that NFC recomposes (not excluded).
        if len(parts) == 2 and ud.normalize("NFC", chr(parts[0]) + chr(parts[1])) == chr(cp):
            comps.append((parts[0], parts[1], cp))
    comps.sort()
    return {"version": ud.unidata_version, "classes": classes, "decompositions": decomps, "compositions": comps}


def dump(kind, module):
    ud = __import__(module)
    json.dump(dump_classes(ud) if kind == "classes" else dump_nfc(ud), sys.stdout)


# ---- generate mode ------------------------------------------------------------------------------

def load(python, kind, module, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([python, os.path.abspath(__file__), "--dump", kind, "--module", module], env=env,
                         check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)


def find_python36():
    # A pyenv install first: pyenv's shim for python3.6 exists even when that version is not active.
    found = next(iter(sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.6*/bin/python3")))), None)
    found = found or shutil.which("python3.6")
    if not found:
        sys.exit("no Python 3.6 found: pass --nfc-python, an interpreter whose unicodedata is Unicode 9.0.0")
    return found


def emit(f, name, ctype, rows, per_line):
    f.write(f"const {ctype} {name}[] = {{\n")
    for i in range(0, len(rows), per_line):
        chunk = rows[i:i + per_line]
        f.write("    " + " ".join("{" + ",".join(f"0x{x:X}" for x in row) + "}," for row in chunk) + "\n")
    f.write("};\n")
    f.write(f"const size_t {name}Size = {len(rows)};\n\n")


def main():
    ap = argparse.ArgumentParser(description="writes train/text/unicode_tables.cpp")
    ap.add_argument("--nfc-python", help="a Python whose unicodedata is Unicode 9.0.0 (default: a Python 3.6)")
    ap.add_argument("--cache", default="/tmp/ssmlab_unicode_data", help="where unicodedata2 is installed")
    ap.add_argument("--dump", choices=["classes", "nfc"], help=argparse.SUPPRESS)
    ap.add_argument("--module", default="unicodedata", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        dump(args.dump, args.module)
        return
    target = os.path.join(args.cache, "unicodedata2-" + CLASSES_VERSION)
    if not glob.glob(os.path.join(target, "unicodedata2*")):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", target,
                        "unicodedata2==" + CLASSES_VERSION], check=True)
    classes = load(sys.executable, "classes", "unicodedata2", pythonpath=target)
    nfc = load(args.nfc_python or find_python36(), "nfc", "unicodedata")
    assert classes["version"] == CLASSES_VERSION, classes["version"]
    assert nfc["version"] == NFC_VERSION, nfc["version"]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(
            "// train/text/unicode_tables.cpp — GENERATED by scripts/gen_unicode_tables.py. Do not edit: change the\n"
            f"// script and rerun it. Classes: Unicode {classes['version']}; NFC: Unicode {nfc['version']} (the\n"
            "// versions the reference tokenizers library uses; see the script). Rows are sorted by their\n"
            "// first code point so lookups can binary-search.\n"
            '#include "train/text/unicode_tables.h"\n\n'
            "namespace ssm::unicode_tables {\n\n"
            f'const char kClassesVersion[] = "{classes["version"]}";\n'
            f'const char kNfcVersion[] = "{nfc["version"]}";\n\n')
        emit(f, "kLetterRanges", "CodeRange", classes["letters"], 6)
        emit(f, "kNumberRanges", "CodeRange", classes["numbers"], 6)
        emit(f, "kWhiteSpaceRanges", "CodeRange", classes["white_space"], 6)
        emit(f, "kCombiningClasses", "ClassRange", nfc["classes"], 5)
        emit(f, "kDecompositions", "Decomposition", nfc["decompositions"], 5)
        emit(f, "kCompositions", "Composition", nfc["compositions"], 5)
        f.write("}  // namespace ssm::unicode_tables\n")
    print(f"wrote {OUT}: {len(classes['letters'])} letter ranges, {len(classes['numbers'])} number ranges, "
          f"{len(nfc['classes'])} class ranges, {len(nfc['decompositions'])} decompositions, "
          f"{len(nfc['compositions'])} compositions", file=sys.stderr)


if __name__ == "__main__":
    main()
