#!/usr/bin/env python3
"""Validate the knowledge eval sets and print counts per split, expect and language.

Entry ids are derived from the knowledge base itself (shop.toml: [[entries]] in file
order; faq.md: `## ` headings in order), so a renumbered KB makes this fail loudly.
Run from the repository root: python3 tests/data/eval/check.py
"""
import collections, json, pathlib, sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
KB = ROOT / "tests/data/kb"
EVAL = ROOT / "tests/data/eval"
LANGS = {"en", "fr", "de", "es", "it", "nl", "pt"}
EXPECTS = {"answer", "no_knowledge"}
FIELDS = {"text", "expect", "entry", "lang", "note"}


def kb_ids():
    ids = set()
    n = sum(1 for l in (KB / "shop.toml").read_text(encoding="utf-8").splitlines() if l.strip() == "[[entries]]")
    ids |= {f"shop.toml#{i}" for i in range(1, n + 1)}
    n = sum(1 for l in (KB / "faq.md").read_text(encoding="utf-8").splitlines() if l.startswith("## "))
    ids |= {f"faq.md#{i}" for i in range(1, n + 1)}
    return ids


def main():
    ids = kb_ids()
    errors = []
    texts = collections.Counter()
    per_entry = {}
    for split in ("kb_dev", "kb_heldout"):
        path = EVAL / f"{split}.jsonl"
        by = collections.Counter()
        entries = collections.Counter()
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{no}"
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{where}: not JSON: {e}")
                continue
            if not isinstance(r, dict):
                errors.append(f"{where}: not an object"); continue
            extra = set(r) - FIELDS
            if extra:
                errors.append(f"{where}: unknown fields {sorted(extra)}")
            if not isinstance(r.get("text"), str) or not r["text"].strip():
                errors.append(f"{where}: empty or missing text")
            if r.get("expect") not in EXPECTS:
                errors.append(f"{where}: bad expect {r.get('expect')!r}")
            if r.get("lang") not in LANGS:
                errors.append(f"{where}: bad lang {r.get('lang')!r}")
            if r.get("expect") == "answer":
                if r.get("entry") not in ids:
                    errors.append(f"{where}: unknown entry {r.get('entry')!r}")
                entries[r.get("entry")] += 1
            elif "entry" in r:
                errors.append(f"{where}: no_knowledge case with an entry")
            texts[r.get("text", "").strip().lower()] += 1
            by[(r.get("expect"), r.get("lang"))] += 1
        per_entry[split] = entries
        print(f"== {split}: {sum(by.values())} lines")
        for exp in sorted(EXPECTS):
            row = {l: by[(exp, l)] for l in sorted(LANGS)}
            print(f"  {exp:13} total {sum(row.values()):4}  " + " ".join(f"{l}={c}" for l, c in row.items()))
    for t, c in texts.items():
        if c > 1:
            errors.append(f"duplicate text ({c}x): {t!r}")
    for i in sorted(ids):
        d, h = per_entry["kb_dev"][i], per_entry["kb_heldout"][i]
        if not (9 <= d + h <= 13) or d == 0 or h == 0:
            errors.append(f"{i}: {d} dev + {h} held-out paraphrases (want 9-13, both halves)")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
