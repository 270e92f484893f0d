#!/usr/bin/env python3
"""Checks the intent eval files: every line parses, fields are valid, no text repeats;
prints counts per split, label and language. Exit 1 on any problem."""
import json, sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {"dev": HERE / "intent_dev.jsonl", "heldout": HERE / "intent_heldout.jsonl"}
LANGS = {"en", "fr", "de", "es", "it", "nl", "pt"}
EXPECTS = {"handover", "smalltalk", "none"}
REASONS = {"requested", "frustrated"}
KEYS = {"text", "expect", "lang", "reason", "previous", "answered"}

def label(r):
    return f"handover/{r['reason']}" if r["expect"] == "handover" else r["expect"]

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
        if not any(e.startswith(where + ":") for e in errors):
            recs.append(r)
    return errors, recs

def main():
    errors, seen, counts = [], {}, Counter()
    for split, path in FILES.items():
        errs, recs = check(path)
        errors += errs
        for r in recs:
            key = (tuple(r.get("previous", [])), r["text"].strip().lower())
            if key in seen:
                errors.append(f"{path.name}: duplicate text {r['text']!r} (also in {seen[key]})")
            seen[key] = split
            counts[(split, label(r), r["lang"])] += 1
    labels = sorted({k[1] for k in counts})
    langs = [l for l in ["en", "fr", "de", "es", "it", "nl", "pt"] if any(k[2] == l for k in counts)]
    for split in list(FILES) + ["total"]:
        c = lambda lab, lang: sum(v for (s, lb, lg), v in counts.items()
                                  if (split == "total" or s == split) and lb == lab and lg == lang)
        print(f"\n{split}\n{'label':22}" + "".join(f"{l:>5}" for l in langs) + f"{'all':>6}")
        for lab in labels:
            row = [c(lab, l) for l in langs]
            print(f"{lab:22}" + "".join(f"{v:>5}" for v in row) + f"{sum(row):>6}")
        col = [sum(c(lab, l) for lab in labels) for l in langs]
        print(f"{'all':22}" + "".join(f"{v:>5}" for v in col) + f"{sum(col):>6}")
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    return 1 if errors else 0

if __name__ == "__main__":
    sys.exit(main())
