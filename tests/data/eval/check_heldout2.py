#!/usr/bin/env python3
"""Validates tests/data/eval/kb_heldout2.jsonl (adapted from tests/data/eval/check.py).

Entry ids are derived from the knowledge base itself (shop.toml: [[entries]] in file
order; faq.md: `## ` headings in order). Single file, so the per-entry rule is:
every entry has >= 3 English paraphrases and >= 5 in all; also checks the wanted
totals (150 answer = 90 en + 10 per other language; 80 no_knowledge = 50 en + 5 per
other language; >= 50 near-misses), no duplicate texts, and no overlap with the
texts of intent_heldout2.jsonl. Run: python3 tests/data/eval/check_heldout2.py
"""
import collections, json, pathlib, sys

KB = pathlib.Path(__file__).resolve().parent.parent / "kb"
HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "kb_heldout2.jsonl"
OTHER = HERE / "intent_heldout2.jsonl"
LANGS = {"en", "fr", "de", "es", "it", "nl", "pt"}
EXPECTS = {"answer", "no_knowledge"}
FIELDS = {"text", "expect", "entry", "lang", "note"}
WANT = {("answer", "en"): 90, ("no_knowledge", "en"): 50}
for l in LANGS - {"en"}:
    WANT[("answer", l)] = 10
    WANT[("no_knowledge", l)] = 5


def kb_ids():
    ids = set()
    n = sum(1 for l in (KB / "shop.toml").read_text(encoding="utf-8").splitlines() if l.strip() == "[[entries]]")
    ids |= {f"shop.toml#{i}" for i in range(1, n + 1)}
    n = sum(1 for l in (KB / "faq.md").read_text(encoding="utf-8").splitlines() if l.startswith("## "))
    ids |= {f"faq.md#{i}" for i in range(1, n + 1)}
    return ids


def norm(t):
    return " ".join(t.strip().lower().split())


def main():
    ids = kb_ids()
    errors = []
    texts = collections.Counter()
    by = collections.Counter()
    entries = collections.Counter()
    entries_en = collections.Counter()
    near = 0
    for no, line in enumerate(DATA.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{DATA.name}:{no}"
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
        if "note" in r and (not isinstance(r["note"], str) or not r["note"].strip()):
            errors.append(f"{where}: empty note")
        if r.get("expect") == "answer":
            if r.get("entry") not in ids:
                errors.append(f"{where}: unknown entry {r.get('entry')!r}")
            entries[r.get("entry")] += 1
            if r.get("lang") == "en":
                entries_en[r.get("entry")] += 1
            if str(r.get("note", "")).startswith("near-miss"):
                errors.append(f"{where}: answerable line marked near-miss")
        elif "entry" in r:
            errors.append(f"{where}: no_knowledge case with an entry")
        elif str(r.get("note", "")).startswith("near-miss:"):
            near += 1
        texts[norm(r.get("text", ""))] += 1
        by[(r.get("expect"), r.get("lang"))] += 1
    print(f"== kb_heldout2: {sum(by.values())} lines")
    for exp in sorted(EXPECTS):
        row = {l: by[(exp, l)] for l in sorted(LANGS)}
        print(f"  {exp:13} total {sum(row.values()):4}  " + " ".join(f"{l}={c}" for l, c in row.items()))
    print(f"  near-misses: {near}")
    print("  per entry (en/all): " + " ".join(f"{i}={entries_en[i]}/{entries[i]}" for i in sorted(ids, key=lambda s: (s[0], int(s.split('#')[1])))))
    for t, c in texts.items():
        if c > 1:
            errors.append(f"duplicate text ({c}x): {t!r}")
    if OTHER.exists():
        other = {norm(json.loads(l)["text"]) for l in OTHER.read_text(encoding="utf-8").splitlines() if l.strip()}
        for t in sorted(set(texts) & other):
            errors.append(f"text also in {OTHER.name}: {t!r}")
    for k, w in WANT.items():
        if by[k] != w:
            errors.append(f"{k}: {by[k]} lines, want {w}")
    if near < 50:
        errors.append(f"only {near} near-misses, want >= 50")
    for i in sorted(ids):
        if entries_en[i] < 3 or entries[i] < 5:
            errors.append(f"{i}: {entries_en[i]} English / {entries[i]} total paraphrases (want >= 3 English, >= 5 total)")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
