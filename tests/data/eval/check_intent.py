#!/usr/bin/env python3
"""Checks intent eval sets: every line parses, fields are valid, no text repeats within the
set; prints counts per file, label and language. Exit 1 on any problem.

Run from anywhere: python3 tests/data/eval/check_intent.py [FILE.jsonl ...]
With no files it checks the first dev/held-out pair (intent_dev.jsonl, intent_heldout.jsonl).
Files are named relative to this folder and checked as one set. A set listed in SETS is also
held to what it was written to hold (see SETS)."""
import json, sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = {"en", "fr", "de", "es", "it", "nl", "pt"}
EXPECTS = {"handover", "smalltalk", "none"}
REASONS = {"requested", "frustrated"}
KEYS = {"text", "expect", "lang", "reason", "previous", "answered"}
DEFAULT = ("intent_dev.jsonl", "intent_heldout.jsonl")

# What each set was written to hold (README-heldout2.md), so that a later edit cannot quietly
# unbalance it: lines per label, lines in all, the share of English lines, and a file its texts
# must not share (the knowledge set written with it).
SETS = {
    ("intent_heldout2.jsonl",): {
        "labels": {"handover/requested": 50, "handover/frustrated": 45, "none": 70, "smalltalk": 45},
        "lines": 210,
        "english_share": (0.55, 0.65),
        "apart_from": "kb_heldout2.jsonl",
    },
}

def label(r):
    return f"handover/{r['reason']}" if r["expect"] == "handover" else r["expect"]

def norm(t):
    return " ".join(t.strip().lower().split())

def check(path):
    errors, recs = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: not JSON ({e})")
            continue
        if not isinstance(r, dict):
            errors.append(f"{where}: not an object"); continue
        bad = set(r) - KEYS
        if bad:
            errors.append(f"{where}: unknown keys {sorted(bad)}")
        if not isinstance(r.get("text"), str) or not r["text"].strip():
            errors.append(f"{where}: text missing or empty")
        if r.get("expect") not in EXPECTS:
            errors.append(f"{where}: expect {r.get('expect')!r} not in {sorted(EXPECTS)}")
        if r.get("lang") not in LANGS:
            errors.append(f"{where}: lang {r.get('lang')!r} not in {sorted(LANGS)}")
        if r.get("expect") == "handover":
            if r.get("reason") not in REASONS:
                errors.append(f"{where}: handover needs reason in {sorted(REASONS)}, got {r.get('reason')!r}")
        elif "reason" in r:
            errors.append(f"{where}: reason only goes with expect=handover")
        if "answered" in r and not isinstance(r["answered"], bool):
            errors.append(f"{where}: answered must be true/false")
        if "previous" in r:
            p = r["previous"]
            if not (isinstance(p, list) and p and all(isinstance(x, str) and x.strip() for x in p)):
                errors.append(f"{where}: previous must be a non-empty list of strings")
            elif r.get("answered") is not True:
                errors.append(f"{where}: a repeat (previous) should carry answered: true")
        if not any(e.startswith(where + ":") for e in errors):
            recs.append(r)
    return errors, recs

def main(names):
    names = tuple(names) or DEFAULT
    rules = SETS.get(names, {})
    splits = [Path(name).stem for name in names]
    errors, seen, counts = [], {}, Counter()
    for split, name in zip(splits, names):
        errs, recs = check(HERE / name)
        errors += errs
        for r in recs:
            key = norm(r["text"])
            if key in seen:
                errors.append(f"{name}: duplicate text {r['text']!r} (also in {seen[key]})")
            seen[key] = split
            counts[(split, label(r), r["lang"])] += 1
    other = HERE / rules.get("apart_from", "")
    if other.is_file():
        shared = {norm(json.loads(l)["text"]) for l in other.read_text(encoding="utf-8").splitlines() if l.strip()}
        for t in sorted(set(seen) & shared):
            errors.append(f"text also in {other.name}: {t!r}")
    labels = sorted({k[1] for k in counts})
    langs = [l for l in ["en", "fr", "de", "es", "it", "nl", "pt"] if any(k[2] == l for k in counts)]
    for split in splits + (["total"] if len(splits) > 1 else []):
        c = lambda lab, lang: sum(v for (s, lb, lg), v in counts.items()
                                  if (split == "total" or s == split) and lb == lab and lg == lang)
        print(f"\n{split}\n{'label':22}" + "".join(f"{l:>5}" for l in langs) + f"{'all':>6}")
        for lab in labels:
            row = [c(lab, l) for l in langs]
            print(f"{lab:22}" + "".join(f"{v:>5}" for v in row) + f"{sum(row):>6}")
        col = [sum(c(lab, l) for lab in labels) for l in langs]
        print(f"{'all':22}" + "".join(f"{v:>5}" for v in col) + f"{sum(col):>6}")
    by_label = Counter()
    for (_, lab, _), v in counts.items():
        by_label[lab] += v
    lines = sum(by_label.values())
    english = sum(v for (_, _, lang), v in counts.items() if lang == "en") / max(1, lines)
    print(f"\nenglish share {english:.0%}")
    for lab, want in rules.get("labels", {}).items():
        if by_label[lab] != want:
            errors.append(f"{lab}: {by_label[lab]} lines, want {want}")
    if "lines" in rules and lines != rules["lines"]:
        errors.append(f"{lines} lines, want {rules['lines']}")
    low, high = rules.get("english_share", (0, 1))
    if not low <= english <= high:
        errors.append(f"english share {english:.0%}, want {low:.0%}-{high:.0%}")
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    if errors:
        return 1
    print("OK")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
