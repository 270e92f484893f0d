#!/usr/bin/env python3
"""Validate knowledge eval sets and print counts per file, expect and language.

Run from anywhere: python3 tests/data/eval/check.py [FILE.jsonl ...]
With no files it checks the first dev/held-out pair (kb_dev.jsonl, kb_heldout.jsonl). Files
are named relative to this folder and checked as one set: no text repeats within it.

Entry ids are derived from the knowledge base itself (shop.toml: [[entries]] in file
order; faq.md: `## ` headings in order), so a renumbered KB makes this fail loudly.
A set listed in SETS is also held to what it was written to hold (see SETS).
"""
import collections, json, pathlib, sys

HERE = pathlib.Path(__file__).resolve().parent
KB = HERE.parent / "kb"
LANGS = {"en", "fr", "de", "es", "it", "nl", "pt"}
EXPECTS = {"answer", "no_knowledge"}
FIELDS = {"text", "expect", "entry", "lang", "note"}
DEFAULT = ("kb_dev.jsonl", "kb_heldout.jsonl")


def halves(per_file, i, english):
    """A set split into dev/held-out halves: 9-13 paraphrases an entry, every half has some."""
    counts = [entries[i] for entries in per_file.values()]
    if not (9 <= sum(counts) <= 13) or 0 in counts:
        shown = " + ".join(f"{c} {name}" for name, c in zip(per_file, counts))
        return f"{i}: {shown} paraphrases (want 9-13, every half)"


def alone(per_file, i, english):
    """A set measured on its own: at least 3 English and 5 paraphrases in all an entry."""
    total = sum(entries[i] for entries in per_file.values())
    if english[i] < 3 or total < 5:
        return f"{i}: {english[i]} English / {total} total paraphrases (want >= 3 English, >= 5 total)"


def totals(answer_en, no_knowledge_en, answer_other, no_knowledge_other):
    want = {("answer", "en"): answer_en, ("no_knowledge", "en"): no_knowledge_en}
    for l in LANGS - {"en"}:
        want[("answer", l)] = answer_other
        want[("no_knowledge", l)] = no_knowledge_other
    return want


# What each set was written to hold (README.md, README-heldout2.md, README-heldout4.md), so that a later edit
# cannot quietly unbalance it: the per-entry rule, the line counts by (expect, lang), the least
# number of near-misses, and a file its texts must not share (the intent set written with it).
SETS = {
    DEFAULT: {"per_entry": halves},
    ("kb_heldout2.jsonl",): {
        "per_entry": alone,
        "totals": totals(90, 50, 10, 5),
        "near_misses": 50,
        "apart_from": "intent_heldout2.jsonl",
    },
    ("kb_heldout3.jsonl",): {
        "per_entry": alone,
        "totals": totals(120, 56, 10, 4),
        "near_misses": 57,
        "apart_from": "intent_heldout4.jsonl",
    },
}


def kb_ids():
    ids = set()
    n = sum(1 for l in (KB / "shop.toml").read_text(encoding="utf-8").splitlines() if l.strip() == "[[entries]]")
    ids |= {f"shop.toml#{i}" for i in range(1, n + 1)}
    n = sum(1 for l in (KB / "faq.md").read_text(encoding="utf-8").splitlines() if l.startswith("## "))
    ids |= {f"faq.md#{i}" for i in range(1, n + 1)}
    return ids


def norm(t):
    return " ".join(t.strip().lower().split())


def entry_order(i):
    name, n = i.split("#")
    return (name, int(n))


def main(names):
    names = tuple(names) or DEFAULT
    rules = SETS.get(names, {})
    ids = kb_ids()
    errors = []
    texts = collections.Counter()
    by = collections.Counter()
    per_file = {}
    english = collections.Counter()
    near = 0
    for name in names:
        path = HERE / name
        by_file = collections.Counter()
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
            if "note" in r and (not isinstance(r["note"], str) or not r["note"].strip()):
                errors.append(f"{where}: empty note")
            if r.get("expect") == "answer":
                if r.get("entry") not in ids:
                    errors.append(f"{where}: unknown entry {r.get('entry')!r}")
                entries[r.get("entry")] += 1
                if r.get("lang") == "en":
                    english[r.get("entry")] += 1
                if str(r.get("note", "")).startswith("near-miss"):
                    errors.append(f"{where}: answerable line marked near-miss")
            elif "entry" in r:
                errors.append(f"{where}: no_knowledge case with an entry")
            elif str(r.get("note", "")).startswith("near-miss:"):
                near += 1
            texts[norm(str(r.get("text", "")))] += 1
            by_file[(r.get("expect"), r.get("lang"))] += 1
        per_file[path.stem] = entries
        by.update(by_file)
        print(f"== {path.stem}: {sum(by_file.values())} lines")
        for exp in sorted(EXPECTS):
            row = {l: by_file[(exp, l)] for l in sorted(LANGS)}
            print(f"  {exp:13} total {sum(row.values()):4}  " + " ".join(f"{l}={c}" for l, c in row.items()))
    print(f"  near-misses: {near}")
    print("  per entry (en/all): " + " ".join(
        f"{i}={english[i]}/{sum(e[i] for e in per_file.values())}" for i in sorted(ids, key=entry_order)))
    for t, c in texts.items():
        if c > 1:
            errors.append(f"duplicate text ({c}x): {t!r}")
    other = HERE / rules.get("apart_from", "")
    if other.is_file():
        shared = {norm(json.loads(l)["text"]) for l in other.read_text(encoding="utf-8").splitlines() if l.strip()}
        for t in sorted(set(texts) & shared):
            errors.append(f"text also in {other.name}: {t!r}")
    for k, w in rules.get("totals", {}).items():
        if by[k] != w:
            errors.append(f"{k}: {by[k]} lines, want {w}")
    if near < rules.get("near_misses", 0):
        errors.append(f"only {near} near-misses, want >= {rules['near_misses']}")
    if "per_entry" in rules:
        for i in sorted(ids):
            problem = rules["per_entry"](per_file, i, english)
            if problem:
                errors.append(problem)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1:])
